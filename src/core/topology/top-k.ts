/** A bounded best-k collection: the probe planning keeps only the riskiest inferred pairs. */

export interface TopEntry {
  score: number;
  a: number;
  b: number;
  ub: number;
  bound: number;
}

/** Keeps the `cap` highest-scoring entries (ties: smaller a, then smaller b), as a min-heap. */
export class TopK {
  private readonly heap: TopEntry[] = [];
  seen = 0;
  constructor(private readonly cap: number) {}

  /** True if x ranks below y (x would be evicted first). */
  private static lower(x: TopEntry, y: TopEntry): boolean {
    return x.score < y.score || (x.score === y.score && (x.a > y.a || (x.a === y.a && x.b > y.b)));
  }

  push(score: number, a: number, b: number, ub: number, bound: number): void {
    this.seen++;
    if (this.cap <= 0) return;
    const h = this.heap;
    if (h.length >= this.cap) {
      const top = h[0];
      if (score < top.score || (score === top.score && (a > top.a || (a === top.a && b >= top.b)))) return;
    }
    const e = { score, a, b, ub, bound };
    if (h.length < this.cap) {
      h.push(e);
      let i = h.length - 1;
      while (i > 0) {
        const p = (i - 1) >> 1;
        if (!TopK.lower(h[i], h[p])) break;
        [h[i], h[p]] = [h[p], h[i]];
        i = p;
      }
      return;
    }
    if (!TopK.lower(h[0], e)) return;
    h[0] = e;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let s = i;
      if (l < h.length && TopK.lower(h[l], h[s])) s = l;
      if (r < h.length && TopK.lower(h[r], h[s])) s = r;
      if (s === i) break;
      [h[i], h[s]] = [h[s], h[i]];
      i = s;
    }
  }

  /** Highest first. */
  items(): TopEntry[] {
    return [...this.heap].sort((x, y) => (TopK.lower(x, y) ? 1 : TopK.lower(y, x) ? -1 : 0));
  }
}
