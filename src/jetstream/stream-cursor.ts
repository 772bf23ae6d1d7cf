import type { StoredMsg } from "../stores/types.js";
import { subjectMatches } from "../subjects/validate.js";
import type { ConsumerConfig } from "./consumer-config.js";
import { isoToNs } from "./json.js";
import type { Stream } from "./stream.js";

/** A message to deliver, its delivery count, and where it came from (to put it back). */
export interface NextMsg {
  msg: StoredMsg;
  dc: number;
  from: "rdq" | "lss" | "stream";
}

/**
 * A consumer's way through its stream, first deliveries only (redeliveries are the AckTracker's):
 * its filter subjects, the next stream sequence to consider, where the deliver policy starts it
 * (nats-server's `selectStartingSeqNo`), the last-per-subject list it sends first, and how many
 * messages are still ahead of it (`num_pending`).
 */
export class StreamCursor {
  /** Next stream sequence to consider. */
  sseq = 1;
  /** deliver last_per_subject: the sequences still to send first, then resume after `lssResume`. */
  private lss: number[] | null = null;
  private lssResume = 0;

  /** `filters`: the filter subjects ([] = everything in the stream). */
  constructor(
    private readonly stream: Stream,
    readonly filters: readonly string[],
  ) {}

  /** Choose the first sequence from the deliver policy (a new consumer; a restored one has state). */
  async selectStart(c: ConsumerConfig): Promise<void> {
    const store = this.stream.store;
    const st = store.state();
    switch (c.deliver_policy) {
      case "all":
        this.sseq = st.firstSeq;
        break;
      case "last": {
        this.sseq = st.lastSeq;
        if (this.filters.length > 0) {
          let last = 0;
          for (const f of this.filters) last = Math.max(last, (await store.loadLast(f))?.seq ?? 0);
          this.sseq = last;
        }
        break;
      }
      case "last_per_subject": {
        const seqs: number[] = [];
        for (const f of this.filters) {
          for (const subj of store.subjects(f).keys()) {
            const m = await store.loadLast(subj);
            if (m !== null) seqs.push(m.seq);
          }
        }
        seqs.sort((a, b) => a - b);
        if (seqs.length > 0) {
          this.lss = seqs;
          this.lssResume = st.lastSeq;
          this.sseq = seqs[0] as number;
        } else this.sseq = st.lastSeq;
        break;
      }
      case "new":
        this.sseq = st.lastSeq + 1;
        break;
      case "by_start_sequence":
        this.sseq = c.opt_start_seq ?? 1;
        break;
      case "by_start_time":
        this.sseq = await store.seqForTime(isoToNs(c.opt_start_time as string) ?? 0n);
        if (this.sseq === 0) this.sseq = st.lastSeq + 1;
        break;
    }
    if (st.messages === 0) this.sseq = st.lastSeq + 1;
    else if (this.sseq < st.firstSeq) this.sseq = st.firstSeq;
    else if (this.sseq > st.lastSeq) this.sseq = st.lastSeq + 1;
  }

  /** Does the filter take `subject`? */
  matches(subject: string): boolean {
    const f = this.filters;
    if (f.length === 0) return true;
    for (let i = 0; i < f.length; i++) {
      const x = f[i] as string;
      if (x === subject || subjectMatches(x, subject)) return true;
    }
    return false;
  }

  /** Messages not yet delivered that this consumer will deliver (info `num_pending`). */
  numPending(): number {
    if (this.lss !== null) return this.lss.length + this.countFrom(this.lssResume + 1);
    return this.countFrom(this.sseq);
  }

  private countFrom(seq: number): number {
    const store = this.stream.store;
    if (this.filters.length === 0) return store.numPending("", seq);
    let n = 0;
    for (const f of this.filters) n += store.numPending(f, seq);
    return n;
  }

  /** The stream dropped everything below `firstSeq` (purge): move past it. */
  purged(firstSeq: number): void {
    if (this.sseq < firstSeq) this.sseq = firstSeq;
    if (this.lss !== null) {
      this.lss = this.lss.filter((s) => s >= firstSeq);
      if (this.lss.length === 0) this.lss = null;
    }
  }

  /** Put a message back: it will be the next one considered. */
  putBack(seq: number, from: "lss" | "stream"): void {
    if (from === "lss") {
      if (this.lss === null) this.lss = [seq];
      else this.lss.unshift(seq);
    } else this.sseq = seq;
  }

  /** The next message to deliver for the first time: the last-per-subject list first, then the stream. */
  async next(): Promise<NextMsg | null> {
    const store = this.stream.store;
    while (this.lss !== null) {
      const seq = this.lss.shift() as number;
      if (this.lss.length === 0) {
        this.lss = null;
        this.sseq = this.lssResume + 1;
      } else this.sseq = seq + 1;
      const m = await store.load(seq);
      if (m !== null) return { msg: m, dc: 1, from: "lss" };
    }
    return this.fromStream(await this.loadNextMatching(this.sseq));
  }

  /**
   * next without waiting, in its common case (no skip list, one filter, the message in memory);
   * undefined when only next can tell.
   */
  nextNow(): NextMsg | null | undefined {
    if (this.lss !== null || this.filters.length > 1) return undefined;
    const m = this.stream.store.loadNextNow(this.filters[0] ?? "", this.sseq);
    return m === undefined ? undefined : this.fromStream(m);
  }

  /** The next message from the stream itself (`m`: the first at or after sseq that the filter takes). */
  private fromStream(m: StoredMsg | null): NextMsg | null {
    const durable = this.stream.durableSeq;
    if (m === null || m.seq > durable) {
      // Nothing (durable) to deliver: skip what the filter does not want, up to the durable end.
      if (m === null && this.sseq <= durable) this.sseq = durable + 1;
      return null;
    }
    this.sseq = m.seq + 1;
    return { msg: m, dc: 1, from: "stream" };
  }

  private async loadNextMatching(from: number): Promise<StoredMsg | null> {
    const store = this.stream.store;
    if (this.filters.length <= 1) return store.loadNext(this.filters[0] ?? "", from);
    let best: StoredMsg | null = null;
    for (const f of this.filters) {
      const m = await store.loadNext(f, from);
      if (m !== null && (best === null || m.seq < best.seq)) best = m;
    }
    return best;
  }
}
