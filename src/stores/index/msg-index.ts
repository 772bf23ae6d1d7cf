import type { PurgeRequest, StreamState } from "../types.js";
import { CHUNK_MSGS, type Chunk, type ChunkArrays, type ChunkPager } from "./chunk.js";
import { ChunkList } from "./chunk-list.js";
import { ALL, ChunkScan, NONE, SOME } from "./chunk-scan.js";
import { SubjectTable } from "./subject-table.js";
import { FilterMemory, isLiteral, matchesFilter } from "./filter-memo.js";

export { FILTERS_REMEMBERED, isLiteral, matchesFilter } from "./filter-memo.js";

const chunkOf = (seq: number): number => Math.floor(seq / CHUNK_MSGS);
const slotOf = (seq: number): number => seq % CHUNK_MSGS;

/**
 * The index both stores hold (by composition): which sequences hold a message, each one's subject,
 * size and time, and per subject its count and first and last sequence. Per message it keeps only
 * typed-array data in chunks of CHUNK_MSGS sequences (see Chunk), whose per-slot arrays a pager may
 * keep on disk while they are not in use; per subject one entry (see SubjectTable). Everything a
 * store answers without its payloads is answered here: the first sequence, counts, bytes, the next
 * or last message matching a filter, num_pending, subjects, deleted sequences, the sequence for a
 * time, and what a purge takes. Payloads (the memory store's buffers, the file store's records on
 * disk) are the backend's. Queries that only need which slots hold a message, or a chunk's subject
 * counts, never bring a paged-out chunk back.
 */
export class MsgIndex {
  readonly subjects = new SubjectTable();
  /** The chunks by number (see ChunkList). */
  private readonly list: ChunkList;
  /** Messages held and the bytes they count for. */
  count = 0;
  bytes = 0;
  /** The last sequence assigned (held or not) and the time of the last message stored. */
  lastSeq = 0;
  lastTimeNs = 0n;
  /** No message below `lead`: where the search for the first one starts. */
  private lead = 0;
  /** Which subjects the wildcard filters asked about match (see FilterMemory). */
  private readonly filters = new FilterMemory(this.subjects);
  private readonly scan: ChunkScan;

  constructor(
    /** Pages chunks' arrays out and in (null: every chunk keeps them). */
    private readonly pager: ChunkPager | null = null,
    /** Chunks keep where each record lies (the file store's LocTable). */
    withLoc = false,
  ) {
    this.list = new ChunkList(pager, withLoc);
    this.scan = new ChunkScan(this.list, this.subjects, this.filters);
  }

  // ---- changes ----

  /** Index a message at `seq` (not held: above the last, or put back below it); returns its subject id. */
  add(seq: number, subject: string, size: number, timeNs: bigint): number {
    const subjects = this.subjects;
    const id = subjects.add(subject, seq);
    if (subjects.created) this.filters.subjectCreated(subject);
    const slot = slotOf(seq);
    const c = this.list.make(chunkOf(seq), slot);
    const a = c.arrays as ChunkArrays;
    if (c.pageCrc !== -1 && (a.subj[slot] !== id || a.size[slot] !== size || a.time[slot] !== timeNs)) this.pager?.changed(c);
    a.subj[slot] = id;
    a.size[slot] = size;
    a.time[slot] = timeNs;
    c.setBit(slot);
    if (timeNs > c.maxTimeNs) c.maxTimeNs = timeNs;
    c.live++;
    c.bytes += size;
    c.subjects.set(id, (c.subjects.get(id) ?? 0) + 1);
    this.count++;
    this.bytes += size;
    if (seq > this.lastSeq) {
      this.lastSeq = seq;
      this.lastTimeNs = timeNs;
    }
    if (seq < this.lead) this.lead = seq;
    return id;
  }

  /** Forget the message at `seq`; false when none is held there. */
  remove(seq: number): boolean {
    const n = chunkOf(seq);
    const c = this.chunk(n);
    const slot = slotOf(seq);
    if (c === undefined || !c.has(slot)) return false;
    const a = this.arraysOf(c);
    const id = a.subj[slot] as number;
    const size = a.size[slot] as number;
    this.bytes -= size;
    c.bytes -= size;
    c.clearBit(slot);
    c.live--;
    this.count--;
    const k = (c.subjects.get(id) as number) - 1;
    if (k === 0) c.subjects.delete(id);
    else c.subjects.set(id, k);
    if (c.live === 0) this.list.drop(n);
    const subjects = this.subjects;
    if (subjects.remove(id)) this.filters.subjectFreed(id);
    else if (seq === subjects.first(id)) subjects.setFirst(id, this.scan.nextOfSubject(id, seq + 1));
    else if (seq === subjects.last(id)) subjects.setLast(id, this.scan.prevOfSubject(id, seq - 1));
    return true;
  }

  /** Every sequence below `seq` is gone and the last sequence is at least seq - 1 (a first-sequence record). */
  skipTo(seq: number): void {
    if (this.lastSeq < seq - 1) this.lastSeq = seq - 1;
  }

  /** Forget every message above `seq` and make `seq` the last sequence, stored at `timeNs`. */
  rewind(seq: number, timeNs: bigint): void {
    for (let s = this.prev("", this.lastSeq); s > seq; s = this.prev("", s - 1)) this.remove(s);
    this.lastSeq = seq;
    this.lastTimeNs = timeNs;
  }

  /** The chunks holding messages, oldest first (what an index file saves). */
  heldChunks(): Chunk[] {
    return this.list.held();
  }

  /**
   * Take back a state saved in an index file: its chunks, each with its liveness bits, counts,
   * bytes and subject counts set (its arrays in memory or paged out), after the subjects were
   * restored into `subjects`.
   */
  adopt(chunks: Chunk[], lastSeq: number, lastTimeNs: bigint): void {
    this.list.replace(chunks);
    this.count = 0;
    this.bytes = 0;
    for (const c of this.list.held()) {
      this.count += c.live;
      this.bytes += c.bytes;
    }
    this.lastSeq = lastSeq;
    this.lastTimeNs = lastTimeNs;
    this.lead = 0;
  }

  // ---- chunks (for the file store's location table and pager) ----

  /** The chunk `seq` falls in, if it holds a message. */
  chunkAt(seq: number): Chunk | undefined {
    return this.chunk(chunkOf(seq));
  }

  /** `c`'s arrays, brought back from its page when paged out. */
  arraysOf(c: Chunk): ChunkArrays {
    return this.list.arraysOf(c);
  }

  // ---- one message ----

  has(seq: number): boolean {
    const c = this.chunk(chunkOf(seq));
    return c !== undefined && c.has(slotOf(seq));
  }

  /** The subject of a message held (undefined when none is). */
  subjectOf(seq: number): string | undefined {
    const c = this.chunk(chunkOf(seq));
    const slot = slotOf(seq);
    if (c === undefined || !c.has(slot)) return undefined;
    if (c.subjects.size === 1) for (const id of c.subjects.keys()) return this.subjects.name(id);
    return this.subjects.name(this.arraysOf(c).subj[slot] as number);
  }

  /** The bytes a message held counts for (0 when none is held). */
  sizeOf(seq: number): number {
    const c = this.chunk(chunkOf(seq));
    const slot = slotOf(seq);
    return c !== undefined && c.has(slot) ? (this.arraysOf(c).size[slot] as number) : 0;
  }

  /** The time of a message held (0 when none is). */
  timeOf(seq: number): bigint {
    const c = this.chunk(chunkOf(seq));
    const slot = slotOf(seq);
    return c !== undefined && c.has(slot) ? (this.arraysOf(c).time[slot] as bigint) : 0n;
  }

  // ---- queries ----

  /** The stream's state as `STREAM.INFO` reports it (both stores report it from here). */
  state(): StreamState {
    const first = this.firstSeq();
    return {
      messages: this.count,
      bytes: this.bytes,
      firstSeq: first,
      firstTimeNs: this.firstTimeNs(),
      lastSeq: this.lastSeq,
      lastTimeNs: this.lastTimeNs,
      numDeleted: this.count === 0 ? 0 : this.lastSeq - first + 1 - this.count,
      numSubjects: this.subjects.size,
    };
  }

  /** The lowest sequence held (lastSeq + 1 when empty). */
  firstSeq(): number {
    if (this.count === 0) return this.lastSeq + 1;
    const s = this.scan.scanUp(Math.max(this.lead, this.list.base * CHUNK_MSGS), null);
    this.lead = s;
    return s;
  }

  firstTimeNs(): bigint {
    return this.count === 0 ? 0n : this.timeOf(this.firstSeq());
  }

  /** The first sequence >= `fromSeq` whose subject matches `filter`; 0 when none. */
  next(filter: string, fromSeq: number): number {
    if (this.count === 0 || fromSeq > this.lastSeq) return 0;
    if (isLiteral(filter)) {
      const t = this.subjects;
      const id = t.idOf(filter);
      if (id < 0 || fromSeq > t.last(id)) return 0;
      return fromSeq <= t.first(id) ? t.first(id) : this.scan.nextOfSubject(id, fromSeq);
    }
    const from = Math.max(fromSeq, this.firstSeq());
    return this.scan.scanUp(from, filter === "" || filter === ">" ? null : this.filters.memo(filter));
  }

  /** The last sequence <= `atMost` whose subject matches `filter`; 0 when none. */
  prev(filter: string, atMost: number): number {
    if (this.count === 0 || atMost < 1) return 0;
    if (isLiteral(filter)) {
      const t = this.subjects;
      const id = t.idOf(filter);
      if (id < 0 || atMost < t.first(id)) return 0;
      return atMost >= t.last(id) ? t.last(id) : this.scan.prevOfSubject(id, atMost);
    }
    return this.scan.scanDown(Math.min(atMost, this.lastSeq), filter === "" || filter === ">" ? null : this.filters.memo(filter));
  }

  /** Messages matching `filter` with sequence >= `fromSeq`. */
  numPending(filter: string, fromSeq: number): number {
    if (this.count === 0 || fromSeq > this.lastSeq) return 0;
    const from = Math.max(fromSeq, 1);
    if (isLiteral(filter)) {
      const t = this.subjects;
      const id = t.idOf(filter);
      if (id < 0 || from > t.last(id)) return 0;
      if (from <= t.first(id)) return t.count(id);
      return this.scan.countFrom(from, (c) => c.subjects.get(id) ?? 0, (c) => (!c.subjects.has(id) ? NONE : c.subjects.size === 1 ? ALL : SOME), (subj) => subj === id, t.count(id));
    }
    if (filter === "" || filter === ">" || this.filters.matchesAll(filter)) {
      const first = this.firstSeq();
      if (from <= first) return this.count;
      if (this.lastSeq - first + 1 === this.count) return this.lastSeq - from + 1;
      return this.scan.countFrom(from, (c) => c.live, () => ALL, () => true, this.count);
    }
    const memo = this.filters.memo(filter);
    let total = -1;
    const inChunk = (c: Chunk): number => {
      let n = 0;
      for (const [id, k] of c.subjects) if (this.filters.matchId(memo, id)) n += k;
      return n;
    };
    // Counting below `from` needs the total matching: only worth it with few subjects.
    if (this.subjects.size <= this.list.span) {
      total = 0;
      for (const id of this.subjects.entries()) if (this.filters.matchId(memo, id[1])) total += this.subjects.count(id[1]);
    }
    return this.scan.countFrom(from, inChunk, (c) => this.scan.matchKind(c, memo), (subj) => this.filters.matchId(memo, subj), total);
  }

  /** Per-subject message counts for subjects matching `filter`. */
  subjectCounts(filter: string): Map<string, number> {
    const out = new Map<string, number>();
    const t = this.subjects;
    if (isLiteral(filter)) {
      const id = t.idOf(filter);
      if (id >= 0) out.set(filter, t.count(id));
      return out;
    }
    for (const [subject, id] of t.entries()) if (matchesFilter(filter, subject)) out.set(subject, t.count(id));
    return out;
  }

  /** The sequence of the last message on this literal subject (0 when none). */
  lastSequenceOf(subject: string): number {
    const id = this.subjects.idOf(subject);
    return id < 0 ? 0 : this.subjects.last(id);
  }

  /** The first message of this literal subject (0 when none). */
  firstSequenceOf(subject: string): number {
    const id = this.subjects.idOf(subject);
    return id < 0 ? 0 : this.subjects.first(id);
  }

  /** Messages held on this literal subject. */
  countOf(subject: string): number {
    const id = this.subjects.idOf(subject);
    return id < 0 ? 0 : this.subjects.count(id);
  }

  /** The deleted sequences from the first message to the last sequence, ascending, at most `max`. */
  deletedSequences(max: number): number[] {
    const out: number[] = [];
    if (this.count === 0) return out;
    const first = this.firstSeq();
    const want = Math.min(max, this.lastSeq - first + 1 - this.count);
    for (let seq = first + 1; seq <= this.lastSeq && out.length < want; seq++) {
      const c = this.chunk(chunkOf(seq));
      if (c === undefined) {
        // A whole chunk without messages: every sequence of it (up to the last) is a hole.
        const end = Math.min((chunkOf(seq) + 1) * CHUNK_MSGS - 1, this.lastSeq);
        for (; seq <= end && out.length < want; seq++) out.push(seq);
        seq--;
        continue;
      }
      if (!c.has(slotOf(seq))) out.push(seq);
    }
    return out;
  }

  /** The first sequence whose message is not older than `timeNs` (0 when none). */
  seqForTime(timeNs: bigint): number {
    if (this.count === 0) return 0;
    const first = this.firstSeq();
    for (let n = chunkOf(first); n < this.list.end; n++) {
      const c = this.chunk(n);
      if (c === undefined || c.maxTimeNs < timeNs) continue;
      const time = this.arraysOf(c).time;
      for (let slot = c.nextLive(n === chunkOf(first) ? slotOf(first) : 0); slot < CHUNK_MSGS; slot = c.nextLive(slot + 1)) {
        if ((time[slot] as bigint) >= timeNs) return n * CHUNK_MSGS + slot;
      }
    }
    return 0;
  }

  /** Sequences a purge request removes, oldest first. */
  purgeVictims(req: PurgeRequest): number[] {
    const filter = req.filter ?? "";
    const below = req.seq !== undefined && req.seq > 0 ? req.seq : Infinity;
    let seqs: number[] = [];
    for (let s = this.next(filter, 1); s !== 0 && s < below; s = this.next(filter, s + 1)) seqs.push(s);
    if (req.keep !== undefined && req.keep > 0) seqs = seqs.slice(0, Math.max(0, seqs.length - req.keep));
    return seqs;
  }

  // ---- inside ----

  private chunk(n: number): Chunk | undefined {
    return this.list.get(n);
  }
}
