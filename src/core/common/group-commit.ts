export interface GroupCommitOptions {
  /** Items per statement at most. */
  maxBatch: number;
  /** Statements running at once at most; further items wait and go together in the next one. */
  maxInFlight: number;
  /**
   * Whether a batch's failure is about the database rather than its items (an outage): then every
   * item gets that error. Any other failure of a batch is retried item by item, so one bad item
   * fails alone.
   */
  failsEveryItem: (error: unknown) => boolean;
}

interface Waiting<I, R> {
  item: I;
  resolve: (result: R) => void;
  reject: (error: unknown) => void;
}

/**
 * Group commit: many small writes become few statements. An item that finds a free slot goes at
 * once, so a quiet system adds no delay; while `maxInFlight` statements run, new items queue and
 * the next free slot takes up to `maxBatch` of them in one statement. A busy system thus pays one
 * round trip and one commit per batch instead of per item. `run` answers each batch with one
 * result per item, in the items' order.
 */
export class GroupCommit<I, R> {
  private readonly queue: Array<Waiting<I, R>> = [];
  private inFlight = 0;

  constructor(
    private readonly run: (items: I[]) => Promise<R[]>,
    private readonly options: GroupCommitOptions,
  ) {}

  submit(item: I): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      this.drain();
    });
  }

  private drain(): void {
    while (this.inFlight < this.options.maxInFlight && this.queue.length > 0) {
      const batch = this.queue.splice(0, this.options.maxBatch);
      this.inFlight++;
      void this.commit(batch).finally(() => {
        this.inFlight--;
        this.drain();
      });
    }
  }

  private async commit(batch: Array<Waiting<I, R>>): Promise<void> {
    try {
      const results = await this.run(batch.map((w) => w.item));
      if (results.length !== batch.length) throw new Error(`group commit: ${results.length} results for ${batch.length} items`);
      batch.forEach((w, i) => w.resolve(results[i]));
    } catch (error) {
      if (batch.length === 1 || this.options.failsEveryItem(error)) {
        for (const w of batch) w.reject(error);
        return;
      }
      await Promise.all(batch.map((w) => this.commit([w])));
    }
  }
}
