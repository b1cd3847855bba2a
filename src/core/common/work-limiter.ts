/** The work did not get a slot (`queued`) or did not finish (`running`) within its time bound. */
export class WorkTimeoutError extends Error {
  constructor(
    readonly phase: 'queued' | 'running',
    timeoutMs: number,
  ) {
    super(phase === 'queued' ? `no slot freed up within ${timeoutMs} ms` : `not finished within ${timeoutMs} ms`);
    this.name = 'WorkTimeoutError';
  }
}

interface Waiter {
  key: string;
  admit: () => void;
}

/**
 * At most `total` pieces of work at once, at most `perKey` of them for one key, each bounded in
 * time. Work that overruns its bound keeps its slot until it really ends: the caller stops waiting
 * but the slot stays taken, so work that never ends (a read on a stuck file system, holding a
 * libuv thread) can take `total` slots at most, never more, and one key's stuck work at most
 * `perKey` of them.
 */
export class WorkLimiter {
  private running = 0;
  private readonly runningPerKey = new Map<string, number>();
  private readonly waiters: Waiter[] = [];

  constructor(private readonly limits: { total: number; perKey: number }) {
    if (!(limits.total >= 1 && limits.perKey >= 1)) throw new RangeError('work limits must be at least 1');
  }

  async run<T>(key: string, timeoutMs: number, work: () => Promise<T>): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    await this.acquire(key, timeoutMs);
    const running = Promise.resolve()
      .then(work)
      .finally(() => this.release(key));
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        running,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new WorkTimeoutError('running', timeoutMs)), Math.max(0, deadline - Date.now()));
        }),
      ]);
    } finally {
      clearTimeout(timer);
      running.catch(() => undefined); // an overrun's eventual failure has nobody left to tell
    }
  }

  /** Slots in use (for tests and metrics). */
  get inUse(): number {
    return this.running;
  }

  private acquire(key: string, timeoutMs: number): Promise<void> {
    if (this.hasRoom(key)) {
      this.take(key);
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        key,
        admit: () => {
          clearTimeout(timer);
          this.take(key);
          resolve();
        },
      };
      const timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        reject(new WorkTimeoutError('queued', timeoutMs));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  private hasRoom(key: string): boolean {
    return this.running < this.limits.total && (this.runningPerKey.get(key) ?? 0) < this.limits.perKey;
  }

  private take(key: string): void {
    this.running++;
    this.runningPerKey.set(key, (this.runningPerKey.get(key) ?? 0) + 1);
  }

  private release(key: string): void {
    this.running--;
    const left = this.runningPerKey.get(key)! - 1;
    if (left === 0) this.runningPerKey.delete(key);
    else this.runningPerKey.set(key, left);
    // The first waiter that fits, in arrival order (a waiter of a full key does not block others).
    const index = this.waiters.findIndex((w) => this.hasRoom(w.key));
    if (index >= 0) this.waiters.splice(index, 1)[0].admit();
  }
}
