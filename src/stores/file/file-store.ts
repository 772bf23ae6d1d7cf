import { mkdir } from "node:fs/promises";
import { Slab } from "../../util/slab.js";
import { checkDiscardNew, dropExpired, dropOverLimits } from "../index/limits.js";
import { MsgIndex } from "../index/msg-index.js";
import {
  NoLimits,
  fileStoredSize,
  nowNs,
  type DurableListener,
  type PurgeRequest,
  type StoreLimits,
  type StoreWriteState,
  type StoredMsg,
  type StreamState,
  type StreamStore,
} from "../types.js";
import { Drops } from "./drops.js";
import { RECOVERY_CHUNK_BYTES, SEGMENT_MAX_BYTES, STORE_SLAB_BYTES, type FileStoreOptions } from "./file-store-options.js";
import { GroupCommit } from "./group-commit.js";
import { LocTable, NO_SEGMENT } from "./loc-table.js";
import { RecordReader } from "./record-reader.js";
import { RecordCache } from "./record-cache.js";
import { RecordType, encodeRecord } from "./record.js";
import { SegmentWriter } from "./segment-writer.js";
import type { Segment, StoreDamage } from "./segment-io.js";
import { IndexKeeper } from "./index-keeper.js";
import { recoverIndex, type IndexRecovery } from "./store-recovery.js";
import { IndexPages } from "./index-pages.js";
import { LostMessages } from "./lost-messages.js";
import { TakeBack } from "./take-back.js";
import { WRITE_RETRY_BACKOFF_MS, type StoreLog } from "./write-outage.js";

export type { StoreDamage } from "./segment-io.js";
export type { IndexRecovery } from "./store-recovery.js";
export { LOST_SEQS_MAX } from "./lost-messages.js";
export { EAGER_BATCH_BYTES, EAGER_BATCH_RECORDS, MAX_WRITES_IN_FLIGHT } from "./group-commit.js";
export { TAIL_CACHE_BYTES } from "./record-cache.js";
export { RECOVERY_CHUNK_BYTES, SEGMENT_MAX_BYTES, STORE_SLAB_BYTES, type FileStoreOptions, type SyncMode } from "./file-store-options.js";

/**
 * Append-only segment files. In memory: the shared message index (MsgIndex: subject, size and time
 * of each message in typed arrays, per-subject counts), where each record lies (LocTable), and the
 * newest records (RecordCache); payloads are read back from the segments (RecordReader). This
 * class is the store's surface: recovery at open, the changes (each queues its records), reads and
 * queries. Dropping messages and then the segments they leave empty is Drops'; getting the records
 * to the disk and acknowledging them is the group commit's (see GroupCommit: one durable write per
 * batch, then every append of the batch resolves); what a failed batch takes back is TakeBack's.
 */
export class FileStore implements StreamStore {
  readonly damage: StoreDamage[] = [];
  readonly recovery: IndexRecovery = { index: "rebuilt", reason: "none saved", recordsRead: 0 };
  /** Pages the index's per-message arrays out to disk and back (see IndexPages). */
  private readonly pages: IndexPages;
  private index: MsgIndex;
  private locs: LocTable;
  private readonly cache = new RecordCache();
  private readonly segments: Segment[] = [];
  /** Segments by their number (Segment.ord), as the location table names them. */
  private readonly segByOrd = new Map<number, Segment>();
  private readonly writer: SegmentWriter;
  /** The durable write path: batches, writes in flight, acknowledgements, failures. */
  private readonly commits: GroupCommit;
  /** This store's message records are cut from slabs of its own (see Slab: shared ones were pinned by other stores' caches). */
  private readonly slab = new Slab(STORE_SLAB_BYTES);
  /** The read path: cached records, reads back from the segments, checked. */
  private readonly records: RecordReader;
  /** What a failed batch takes back: the drops journalled since the last acknowledged batch. */
  private readonly takeBack: TakeBack;
  /** Messages dropped (logged as records), then the segments they leave empty. */
  private readonly drops: Drops;
  private limits: StoreLimits;
  private durableListener: DurableListener | null = null;
  private closing = false;
  /** When the index file is read and saved (see IndexKeeper). */
  private readonly keeper: IndexKeeper;
  /** Messages lost to damage since open (reported in state().lost). */
  private readonly lost: LostMessages;

  private constructor(private readonly opts: FileStoreOptions) {
    this.limits = { ...(opts.limits ?? NoLimits) };
    const log = (line: string): void => opts.log?.(line);
    this.lost = new LostMessages(opts.dir, log);
    const segByOrd = this.segByOrd;
    this.pages = new IndexPages({
      dir: opts.dir,
      segByOrd,
      segments: () => [...segByOrd.values()].sort((a, b) => a.firstSeq - b.firstSeq),
      subjectId: (subject) => this.index.subjects.idOf(subject),
      log,
    });
    this.index = new MsgIndex(this.pages, true);
    this.locs = new LocTable(this.index, this.pages);
    // What the index keeper, the reader, the take-back and the drops work on (each its own few of
    // them). Getters: recovery replaces the index and the location table when it rebuilds them.
    const store = this;
    const parts = {
      get index() {
        return store.index;
      },
      get locs() {
        return store.locs;
      },
      get keeper() {
        return store.keeper;
      },
      cache: this.cache,
      pages: this.pages,
      segments: this.segments,
      segByOrd,
      scanChunkBytes: opts.recoveryChunkBytes ?? RECOVERY_CHUNK_BYTES,
      corrupt: (seq: number, seg: Segment, off: number, len: number) => this.corrupt(seq, seg, off, len),
      writeState: () => this.commits.writeState(),
    };
    this.keeper = new IndexKeeper(opts.dir, opts.indexFile !== false, log, parts, opts.indexSaveBytes);
    this.records = new RecordReader(parts);
    this.writer = new SegmentWriter({
      dir: opts.dir,
      sync: opts.sync ?? "always",
      segmentMax: opts.segmentMaxBytes ?? SEGMENT_MAX_BYTES,
      segments: this.segments,
      observeSyncSeconds: opts.observeSyncSeconds,
    });
    this.takeBack = new TakeBack(parts);
    this.commits = new GroupCommit({
      what: opts.dir,
      writer: this.writer,
      backoffMs: opts.retryBackoffMs ?? WRITE_RETRY_BACKOFF_MS,
      log,
      store: {
        lastSeq: () => this.index.lastSeq,
        lastTimeNs: () => this.index.lastTimeNs,
        noteFirst: () => this.drops.noteFirst(),
        durable: (seq, err) => this.durableListener?.(seq, err),
        batchAcknowledged: () => {
          void this.drops.deadSegments();
          void this.pages.flush(this.commits.durableSequence());
        },
        batchStarted: (done) => {
          if (!this.closing) this.keeper.batchStarted(done);
        },
        takeBack: (seq, timeNs) => {
          this.takeBack.takeBack(seq, timeNs);
          this.drops.frontKnown();
        },
        undoMark: () => this.takeBack.mark,
        acknowledgedUpTo: (seq, mark) => {
          this.takeBack.acknowledged(mark);
          this.cache.writtenUpTo(seq);
        },
        placed: (seqs, bufs, seg, first) => {
          if (!segByOrd.has(seg.ord)) segByOrd.set(seg.ord, seg);
          this.locs.place(seqs, bufs, seg.ord, first);
        },
        forget: (seg) => this.drops.forget(seg),
      },
    });
    this.drops = new Drops(parts, this.commits, this.takeBack, this.records);
  }

  /** Open (or create) the store in `opts.dir`, recovering what is on disk. */
  static async open(opts: FileStoreOptions): Promise<FileStore> {
    const s = new FileStore(opts);
    await mkdir(opts.dir, { recursive: true });
    await s.recover();
    if (opts.sync === "interval") s.commits.syncEvery(opts.syncIntervalMs ?? 1000);
    return s;
  }

  /** Recover what is on disk (see recoverIndex), then take appends after it. */
  private async recover(): Promise<void> {
    const drops = this.drops;
    drops.recovering = true;
    const store = this;
    const segs = await recoverIndex({
      dir: this.opts.dir,
      chunkBytes: this.opts.recoveryChunkBytes ?? RECOVERY_CHUNK_BYTES,
      indexFileOff: this.opts.indexFile === false,
      keeper: this.keeper,
      pages: this.pages,
      damage: this.damage,
      lost: this.lost,
      recovery: this.recovery,
      segByOrd: this.segByOrd,
      index: () => store.index,
      locs: () => store.locs,
      freshIndex: () => {
        store.index = new MsgIndex(store.pages, true);
        store.locs = new LocTable(store.index, store.pages);
      },
      drop: drops.dropOne,
    });
    this.segments.push(...segs);
    drops.recovering = false;
    drops.frontKnown();
    this.commits.recovered(this.index.lastSeq, this.index.lastTimeNs);
    await this.writer.resume();
    void this.pages.flush(this.index.lastSeq);
    if (this.keeper.unsaved) this.keeper.saveNow();
  }

  /** A record read back for `seq` no longer checks out (see RecordReader.checked): report it, never serve it, forget it. */
  private corrupt(seq: number, seg: Segment, off: number, len: number): void {
    this.damage.push({ segment: seg.path.slice(this.opts.dir.length + 1), offset: off, bytes: len, kind: "corrupt" });
    if (!this.index.has(seq)) return;
    this.lost.note(seq, seq, len, seg, off);
    this.drops.dropCorrupt(seq);
  }

  async load(seq: number): Promise<StoredMsg | null> {
    return this.index.has(seq) ? this.records.message(seq) : null;
  }

  loadNow(seq: number): StoredMsg | null | undefined {
    return this.index.has(seq) ? this.records.messageNow(seq, true) : null;
  }

  loadNext(filter: string, fromSeq: number): Promise<StoredMsg | null> {
    return this.records.next(filter, fromSeq);
  }

  loadNextNow(filter: string, fromSeq: number): StoredMsg | null | undefined {
    return this.records.nextNow(filter, fromSeq);
  }

  loadLast(filter: string): Promise<StoredMsg | null> {
    return this.records.last(filter);
  }

  /** A whole-store read (start-up's dedup rebuild; see RecordReader.scan). */
  scan(fromSeq: number, fn: (m: StoredMsg) => void): Promise<void> {
    return this.records.scan(fromSeq, fn);
  }

  async append(subject: string, headers: Buffer | null, data: Buffer, timeNs: bigint = nowNs()): Promise<number> {
    const seq = this.appendNoWait(subject, headers, data, timeNs);
    await this.commits.commit();
    await this.drops.deadSegments();
    return seq;
  }

  appendNoWait(subject: string, headers: Buffer | null, data: Buffer, timeNs: bigint): number {
    const commits = this.commits;
    if (!commits.writable()) throw commits.error as Error;
    const index = this.index;
    const seq = index.lastSeq + 1;
    const size = fileStoredSize(subject, headers, data);
    checkDiscardNew(index, this.limits, size, subject);
    // The record is the one copy of the caller's bytes (they may be slices of a socket read).
    const rec = encodeRecord(RecordType.MSG, seq, timeNs, subject, headers, data, this.slab);
    commits.queue(rec, seq);
    this.keeper.unsaved = true;
    index.add(seq, subject, size, timeNs);
    this.cache.put(seq, rec);
    this.keeper.appendedSinceSave += rec.length;
    this.locs.set(seq, NO_SEGMENT, 0, rec.length);
    const drops = this.drops;
    dropOverLimits(index, this.limits, subject, drops.dropOne);
    drops.noteFirst();
    commits.appended();
    return seq;
  }

  durableSequence(): number {
    return this.commits.durableSequence();
  }

  setDurableListener(fn: DurableListener): void {
    this.durableListener = fn;
  }

  writeState(): StoreWriteState {
    return this.commits.writeState();
  }

  async remove(seq: number): Promise<boolean> {
    if (!this.commits.writable()) throw this.commits.error as Error;
    const ok = this.drops.drop(seq);
    this.drops.noteFirst();
    if (ok) await this.commits.commit();
    return ok;
  }

  settle(): Promise<void> {
    // A failed batch has already been reported to its appends (and the durable listener). An index
    // save under way ends too: a stream delete removes the directory next.
    return this.commits
      .commit()
      .catch(() => {})
      .then(() => this.pages.settled())
      .then(() => this.keeper.settled());
  }

  async purge(req: PurgeRequest = {}): Promise<number> {
    if (!this.commits.writable()) throw this.commits.error as Error;
    const victims = this.index.purgeVictims(req);
    for (const seq of victims) this.drops.drop(seq);
    await this.committed();
    return victims.length;
  }

  async setLimits(limits: StoreLimits): Promise<void> {
    this.limits = { ...limits };
    dropOverLimits(this.index, this.limits, null, this.drops.dropOne);
    await this.expire();
    await this.committed();
  }

  async expire(now: bigint = nowNs()): Promise<number> {
    // Nothing expires while nothing can be written: the drops would only be taken back.
    if (!this.commits.writable()) return 0;
    const n = dropExpired(this.index, this.limits, now, this.drops.dropOne);
    if (n > 0) await this.committed();
    return n;
  }

  /** After drops: log the front if it moved, wait for the batch, then drop the segments left empty. */
  private async committed(): Promise<void> {
    this.drops.noteFirst();
    await this.commits.commit();
    await this.drops.deadSegments();
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

  state(): StreamState {
    const st = this.index.state();
    const lost = this.lost.report();
    if (lost !== undefined) st.lost = lost;
    return st;
  }

  lastSequence(): number {
    return this.index.lastSeq;
  }

  /** Bytes of records held in memory (the record cache, records not yet written included); for tests and metrics. */
  get cachedRecordBytes(): number {
    return this.cache.bytes;
  }

  /**
   * Chunks of the index whose per-message arrays are in memory (tests: memory stays bounded), pages
   * rebuilt since open, and records read from a chunk's anchor (one read, see record-anchors.ts).
   */
  get indexPages(): { inMemory: number; rebuilt: number; anchoredReads: number } {
    return { inMemory: this.pages.inMemory, rebuilt: this.pages.rebuilt, anchoredReads: this.records.anchoredReads };
  }

  /** Where the record of a message held ends in its segment (tests: what must be durable before its ack). */
  recordEnd(seq: number): number {
    return this.locs.off(seq) + this.locs.len(seq);
  }

  async close(): Promise<void> {
    this.closing = true;
    await this.commits.close();
    await this.writer.close();
    // Every record is durable now: every chunk whose sequences are all assigned gets its page.
    await this.pages.settled();
    await this.pages.flush(this.index.lastSeq);
    // Saved only while writes succeed: after a failure the segment may hold bytes past what was
    // acknowledged until it is cut back, and the saved state must be what the disk holds.
    if (this.keeper.unsaved && this.commits.writeState().error === null) this.keeper.saveNow();
    await this.keeper.settled();
    this.pages.close();
    await this.records.close();
  }
}
