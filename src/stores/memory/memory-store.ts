import { MsgIndex } from "../index/msg-index.js";
import { checkDiscardNew, dropExpired, dropOverLimits } from "../index/limits.js";
import {
  NoLimits,
  nowNs,
  storedSize,
  type DurableListener,
  type PurgeRequest,
  type StoreLimits,
  type StoreWriteState,
  type StoredMsg,
  type StreamState,
  type StreamStore,
} from "../types.js";

/** A copy in a buffer of its own (small ones come from Node's shared pool). */
function copyOf(b: Buffer): Buffer {
  const c = Buffer.allocUnsafe(b.length);
  b.copy(c);
  return c;
}

/** What a memory store reports: it never fails a write. */
const WRITING: StoreWriteState = { error: null, failingSinceMs: 0, failedWrites: 0 };

/** Leading holes `msgs` keeps before it is cut (and only once they are half of it): dropping the oldest stays O(1). */
export const LEADING_HOLES_COMPACT_MIN = 1024;

/**
 * The reference store: the shared message index (MsgIndex) for everything but payloads, and the
 * messages themselves in a sequence-indexed array (holes for deletes). Everything is durable only
 * as long as the process lives.
 */
export class MemoryStore implements StreamStore {
  private readonly index = new MsgIndex();
  /** msgs[i] holds sequence base + i. */
  private msgs: Array<StoredMsg | undefined> = [];
  private base = 1;
  private limits: StoreLimits;
  private readonly dropOne = (seq: number): void => void this.drop(seq);

  constructor(limits: StoreLimits = NoLimits) {
    this.limits = { ...limits };
  }

  async append(subject: string, headers: Buffer | null, data: Buffer, timeNs: bigint = nowNs()): Promise<number> {
    return this.appendNoWait(subject, headers, data, timeNs);
  }

  /** Memory is as durable as this store gets: the message is durable once appended. */
  appendNoWait(subject: string, headers: Buffer | null, data: Buffer, timeNs: bigint): number {
    const index = this.index;
    const size = storedSize(subject, headers, data);
    checkDiscardNew(index, this.limits, size, subject);
    const seq = index.lastSeq + 1;
    const id = index.add(seq, subject, size, timeNs);
    if (this.msgs.length === 0) this.base = seq;
    while (this.base + this.msgs.length < seq) this.msgs.push(undefined);
    // The caller's buffers may be slices of a socket read: keep copies. The subject string is the
    // one the index holds for every message of this subject.
    this.msgs.push({ seq, subject: index.subjects.name(id), timeNs, headers: headers === null ? null : copyOf(headers), data: copyOf(data) });
    dropOverLimits(index, this.limits, subject, this.dropOne);
    return seq;
  }

  durableSequence(): number {
    return this.index.lastSeq;
  }

  /** The memory store never calls it: every append is durable as it returns (see durableSequence). */
  setDurableListener(_fn: DurableListener): void {}

  /** Remove one message; false when absent. */
  private drop(seq: number): boolean {
    if (!this.index.remove(seq)) return false;
    this.msgs[seq - this.base] = undefined;
    // Cut leading holes so the array does not grow without bound; only once they are half of it,
    // so dropping the oldest message one at a time costs O(1) on average.
    const k = this.index.firstSeq() - this.base;
    if (k >= this.msgs.length) {
      this.msgs = [];
      this.base = this.index.lastSeq + 1;
    } else if (k >= LEADING_HOLES_COMPACT_MIN && k * 2 >= this.msgs.length) {
      this.msgs = this.msgs.slice(k);
      this.base += k;
    }
    return true;
  }

  private at(seq: number): StoredMsg | null {
    return seq === 0 ? null : (this.msgs[seq - this.base] ?? null);
  }

  async load(seq: number): Promise<StoredMsg | null> {
    return this.at(seq);
  }

  loadNow(seq: number): StoredMsg | null {
    return this.at(seq);
  }

  async loadNext(filter: string, fromSeq: number): Promise<StoredMsg | null> {
    return this.at(this.index.next(filter, fromSeq));
  }

  loadNextNow(filter: string, fromSeq: number): StoredMsg | null | undefined {
    return this.at(this.index.next(filter, fromSeq));
  }

  async loadLast(filter: string): Promise<StoredMsg | null> {
    return this.at(this.index.prev(filter, this.index.lastSeq));
  }

  async scan(fromSeq: number, fn: (m: StoredMsg) => void): Promise<void> {
    for (let seq = this.index.next("", fromSeq); seq !== 0; seq = this.index.next("", seq + 1)) fn(this.at(seq) as StoredMsg);
  }

  async remove(seq: number): Promise<boolean> {
    return this.drop(seq);
  }

  async purge(req: PurgeRequest = {}): Promise<number> {
    const victims = this.index.purgeVictims(req);
    for (const seq of victims) this.drop(seq);
    return victims.length;
  }

  async seqForTime(timeNs: bigint): Promise<number> {
    return this.index.seqForTime(timeNs);
  }

  subjects(filter: string): Map<string, number> {
    return this.index.subjectCounts(filter);
  }

  lastSequenceOf(subject: string): number {
    return this.index.lastSequenceOf(subject);
  }

  deletedSequences(max: number): number[] {
    return this.index.deletedSequences(max);
  }

  numPending(filter: string, fromSeq: number): number {
    return this.index.numPending(filter, fromSeq);
  }

  async setLimits(limits: StoreLimits): Promise<void> {
    this.limits = { ...limits };
    dropOverLimits(this.index, this.limits, null, this.dropOne);
    await this.expire();
  }

  async expire(now: bigint = nowNs()): Promise<number> {
    return dropExpired(this.index, this.limits, now, this.dropOne);
  }

  lastSequence(): number {
    return this.index.lastSeq;
  }

  writeState(): StoreWriteState {
    return WRITING;
  }

  state(): StreamState {
    return this.index.state();
  }

  settle(): Promise<void> {
    return Promise.resolve();
  }

  async close(): Promise<void> {
    // Nothing to release.
  }
}
