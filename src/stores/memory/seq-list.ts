/** Leading removed slots a SeqList keeps before it compacts (and only once they are half of it). */
export const SEQ_LIST_COMPACT_MIN = 1024;

/**
 * The ascending sequences of one subject. Limits drop a stream's oldest messages one at a time, so
 * taking the first is O(1) (a moving head, compacted when half the array is behind it) rather than
 * a splice that shifts the whole list: on a 2M-entry list, `splice(0, 1)` costs about 0.4 ms.
 * Removing from the middle (a single delete) still shifts what follows.
 */
export class SeqList {
  private a: number[] = [];
  private head = 0;

  /** `subject`: the one string every stored message of this subject shares (not one per message). */
  constructor(readonly subject: string) {}

  get length(): number {
    return this.a.length - this.head;
  }

  /** The i-th sequence (0 is the oldest). */
  at(i: number): number {
    return this.a[this.head + i] as number;
  }

  /** Append a sequence above every one held. */
  push(seq: number): void {
    this.a.push(seq);
  }

  /** Insert a sequence in order, if not held (a store putting back a message it had dropped). */
  insert(seq: number): void {
    const a = this.a;
    const j = this.head + this.lowerBound(seq);
    if (j < a.length && a[j] === seq) return;
    if (j === this.head && this.head > 0) {
      // Below every one held: the slot before the head is free.
      a[--this.head] = seq;
      return;
    }
    if (j === a.length) a.push(seq);
    else a.splice(j, 0, seq);
  }

  /** Index of the first sequence >= `seq` (length when none). */
  lowerBound(seq: number): number {
    const a = this.a;
    let lo = this.head;
    let hi = a.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((a[mid] as number) < seq) lo = mid + 1;
      else hi = mid;
    }
    return lo - this.head;
  }

  /** Remove `seq` if held; false when it was not. */
  remove(seq: number): boolean {
    const a = this.a;
    if (a[this.head] === seq) {
      this.head++;
      if (this.head === a.length) {
        this.a = [];
        this.head = 0;
      } else if (this.head >= SEQ_LIST_COMPACT_MIN && this.head * 2 >= a.length) {
        this.a = a.slice(this.head);
        this.head = 0;
      }
      return true;
    }
    const j = this.head + this.lowerBound(seq);
    if (a[j] !== seq) return false;
    if (j === a.length - 1) a.pop();
    else a.splice(j, 1);
    return true;
  }

  /** Append every sequence held, oldest first, to `out`. */
  appendTo(out: number[]): void {
    const a = this.a;
    for (let i = this.head; i < a.length; i++) out.push(a[i] as number);
  }
}
