/** Recently written records kept in memory so consumers reading the tail do not read the disk. */
export const TAIL_CACHE_BYTES = 8 * 1024 * 1024;
/**
 * And at most this many written records: each costs a Buffer object (about 100 bytes of heap)
 * besides its bytes, so 8 MiB of 16-byte messages' records (150,000) held 14 MB of heap.
 */
export const TAIL_CACHE_RECORDS = 16 * 1024;

/**
 * The records of the newest messages, by sequence: every record not yet written (it is the only
 * copy until its batch is on disk) and, once written, the newest up to TAIL_CACHE_BYTES; older ones
 * (and TAIL_CACHE_RECORDS) are let go, oldest first, and read back from their segments. Appends put records in sequence
 * order, so the cache is one run of sequences [base, base + length); a removed message's record
 * stays until it is let go like any other (the index, not the cache, says what is held).
 */
export class RecordCache {
  private recs: Array<Buffer | undefined> = [];
  private head = 0;
  /** Sequence of recs[head]. */
  private base = 0;
  /** Records up to this sequence are written and may be let go. */
  private written = 0;
  /** Bytes of the records held. */
  bytes = 0;

  /** The record of a newly appended message (its sequence follows the last one put). */
  put(seq: number, rec: Buffer): void {
    if (this.head === this.recs.length) {
      this.recs = [];
      this.head = 0;
      this.base = seq;
    }
    while (this.base + this.recs.length - this.head < seq) this.recs.push(undefined);
    this.recs.push(rec);
    this.bytes += rec.length;
  }

  /** The record held for `seq`, if any. */
  get(seq: number): Buffer | undefined {
    const i = seq - this.base;
    return i >= 0 ? this.recs[this.head + i] : undefined;
  }

  /** Records up to `seq` are on disk: let the oldest go while the cache holds more than its budget. */
  writtenUpTo(seq: number): void {
    if (seq > this.written) this.written = seq;
    const recs = this.recs;
    while ((this.bytes > TAIL_CACHE_BYTES || recs.length - this.head > TAIL_CACHE_RECORDS) && this.head < recs.length && this.base <= this.written) {
      const r = recs[this.head];
      recs[this.head++] = undefined;
      this.base++;
      if (r !== undefined) this.bytes -= r.length;
    }
    if (this.head > 4096 && this.head * 2 > this.recs.length) {
      this.recs = recs.slice(this.head);
      this.head = 0;
    }
  }

  /** Forget every record above `seq` (appends taken back after a failed write). */
  truncateAbove(seq: number): void {
    while (this.recs.length > this.head && this.base + this.recs.length - this.head - 1 > seq) {
      const r = this.recs.pop();
      if (r !== undefined) this.bytes -= r.length;
    }
    if (this.written > seq) this.written = seq;
  }

  clear(): void {
    this.recs = [];
    this.head = 0;
    this.bytes = 0;
  }
}
