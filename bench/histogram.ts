/**
 * A small HDR-style histogram: log-linear buckets (64 sub-buckets per power of two) over
 * nanoseconds, so percentiles are within ~1.6% whatever the range. No allocation per record.
 */
export class Histogram {
  private readonly counts = new Float64Array(64 * 64);
  total = 0;

  record(ns: number): void {
    const v = Math.max(1, Math.floor(ns));
    const exp = Math.floor(Math.log2(v));
    const sub = exp < 6 ? v : Math.floor(v / 2 ** (exp - 6)) - 64;
    const idx = exp < 6 ? v : (exp - 5) * 64 + sub;
    this.counts[Math.min(idx, this.counts.length - 1)]! += 1;
    this.total++;
  }

  /** Value at percentile p (0..100), in nanoseconds (bucket's lower bound). */
  percentile(p: number): number {
    const want = Math.ceil((p / 100) * this.total);
    let seen = 0;
    for (let i = 0; i < this.counts.length; i++) {
      seen += this.counts[i] as number;
      if (seen >= want && seen > 0) {
        if (i < 64) return i;
        const exp = Math.floor(i / 64) + 5;
        return (64 + (i % 64)) * 2 ** (exp - 6);
      }
    }
    return 0;
  }

  merge(counts: number[]): void {
    for (let i = 0; i < counts.length; i++) this.counts[i]! += counts[i] as number;
    this.total += counts.reduce((a, b) => a + b, 0);
  }

  toArray(): number[] {
    return Array.from(this.counts);
  }
}
