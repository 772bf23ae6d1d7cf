/**
 * Messages a file store dropped since its last acknowledged batch, in the order dropped: put back
 * if the batch holding their delete (or first-sequence) record fails. Parallel arrays (no object
 * per drop); trimmed as batches are acknowledged. A drop is numbered by how many were logged
 * before it, so a batch marks where its drops end by a count.
 */
export class UndoJournal {
  private seqs: number[] = [];
  private subjects: string[] = [];
  private sizes: number[] = [];
  private times: bigint[] = [];
  private segs: number[] = [];
  private offs: number[] = [];
  private lens: number[] = [];
  /** Drops logged before seqs[0]. */
  private base = 0;

  /** How many drops have been logged so far. */
  get mark(): number {
    return this.base + this.seqs.length;
  }

  push(seq: number, subject: string, size: number, timeNs: bigint, seg: number, off: number, len: number): void {
    this.seqs.push(seq);
    this.subjects.push(subject);
    this.sizes.push(size);
    this.times.push(timeNs);
    this.segs.push(seg);
    this.offs.push(off);
    this.lens.push(len);
  }

  /** The drops before `mark` are for good (their batch was acknowledged). */
  acknowledged(mark: number): void {
    const k = mark - this.base;
    if (k <= 0) return;
    if (k >= this.seqs.length) this.reset();
    else {
      this.seqs = this.seqs.slice(k);
      this.subjects = this.subjects.slice(k);
      this.sizes = this.sizes.slice(k);
      this.times = this.times.slice(k);
      this.segs = this.segs.slice(k);
      this.offs = this.offs.slice(k);
      this.lens = this.lens.slice(k);
    }
    this.base = mark;
  }

  /** Hand every drop logged, oldest sequence first, to `fn`, and forget them all. */
  takeAll(fn: (seq: number, subject: string, size: number, timeNs: bigint, seg: number, off: number, len: number) => void): void {
    const order = this.seqs.map((_, i) => i).sort((a, b) => (this.seqs[a] as number) - (this.seqs[b] as number));
    for (const i of order) fn(this.seqs[i] as number, this.subjects[i] as string, this.sizes[i] as number, this.times[i] as bigint, this.segs[i] as number, this.offs[i] as number, this.lens[i] as number);
    this.base += this.seqs.length;
    this.reset();
  }

  private reset(): void {
    this.seqs = [];
    this.subjects = [];
    this.sizes = [];
    this.times = [];
    this.segs = [];
    this.offs = [];
    this.lens = [];
  }
}
