import { mkdir, unlink } from "node:fs/promises";
import { Slab } from "../../util/slab.js";
import { checkDiscardNew, dropExpired, dropOverLimits } from "../index/limits.js";
import { CHUNK_MSGS } from "../index/chunk.js";
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
import { GroupCommit } from "./group-commit.js";
import { LocTable, NO_SEGMENT } from "./loc-table.js";
import { RecordReader } from "./record-reader.js";
import { RecordCache } from "./record-cache.js";
import { RecordType, encodeRecord, type DecodedRecord } from "./record.js";
import { SegmentWriter } from "./segment-writer.js";
import { recoverSegments, type ResumeAt, type Segment, type StoreDamage } from "./segment-io.js";
import { encodeIndexFile } from "./index-file.js";
import { IndexKeeper } from "./index-keeper.js";
import { recoverIndex, type IndexRecovery } from "./store-recovery.js";
import { IndexPages } from "./index-pages.js";
import { LostMessages } from "./lost-messages.js";
import { UndoJournal } from "./undo-journal.js";
import { WRITE_RETRY_BACKOFF_MS, type StoreLog } from "./write-outage.js";

export type { StoreDamage } from "./segment-io.js";
export type { IndexRecovery } from "./store-recovery.js";
export { LOST_SEQS_MAX } from "./lost-messages.js";
export { EAGER_BATCH_BYTES, EAGER_BATCH_RECORDS, MAX_WRITES_IN_FLIGHT } from "./group-commit.js";
export { TAIL_CACHE_BYTES } from "./record-cache.js";

/** A segment is closed and a new one started once it passes this size. */
export const SEGMENT_MAX_BYTES = 64 * 1024 * 1024;
/** Bytes read at a time while recovering a segment. */
export const RECOVERY_CHUNK_BYTES = 4 * 1024 * 1024;
/** The largest slab a store cuts its message records from (its first is 4 KiB; each next doubles). */
export const STORE_SLAB_BYTES = 64 * 1024;

/**
 * `always` (default): every batch of appends is on disk before any of them is acknowledged (group
 * commit: the segment is opened O_DSYNC, so each batch's one write returns once its data, and the
 * file size that reaches it, are durable, as a write then fdatasync would). `interval`:
 * acknowledged once written to the OS, fsynced every `syncIntervalMs`; a power cut or kernel crash
 * (not a process crash) can lose what was acknowledged in that window.
 */
export type SyncMode = "always" | "interval";

/** File store options. */
export interface FileStoreOptions {
  dir: string;
  limits?: StoreLimits;
  sync?: SyncMode;
  syncIntervalMs?: number;
  segmentMaxBytes?: number;
  /** Bytes read at a time while recovering (tests make it tiny to cross chunk edges). */
  recoveryChunkBytes?: number;
  /**
   * Told how long each group commit's durable write took (for the fsync latency histogram of
   * `/metrics`): one call per batch, whatever the number of messages it covers.
   */
  observeSyncSeconds?: (seconds: number) => void;
  /** Waits before retrying after a failed write (default WRITE_RETRY_BACKOFF_MS; tests shorten it). */
  retryBackoffMs?: readonly number[];
  /** Told when writes start failing and when they succeed again (nothing is said when absent). */
  log?: StoreLog;
  /**
   * Load and save the index file (default true). Off, every start reads every record, as tests
   * of damage to segment bytes want.
   */
  indexFile?: boolean;
  /** Record bytes appended between saves of the index (default INDEX_SAVE_BYTES; tests make it small). */
  indexSaveBytes?: number;
}

/**
 * Append-only segment files. In memory: the shared message index (MsgIndex: subject, size and time
 * of each message in typed arrays, per-subject counts), where each record lies (LocTable), and the
 * newest records (RecordCache); payloads are read back from the segments (RecordReader). This
 * class is the store's surface: recovery at open, the changes (each queues its records), reads and
 * queries, and dropping segments nothing lives in any more. Getting the records to the disk, acknowledging them
 * and taking back a failed batch is the group commit's (see GroupCommit): one durable write per
 * batch, then every append of the batch resolves.
 */
export class FileStore implements StreamStore {
  readonly damage: StoreDamage[] = [];
  readonly recovery: IndexRecovery = { index: "rebuilt", reason: "none saved", recordsRead: 0 };
  /** Pages the index's per-message arrays out to disk and back (see IndexPages). */
  private readonly pages: IndexPages;
  private index: MsgIndex;
  private locs: LocTable;
  private readonly cache = new RecordCache();
  private readonly undo = new UndoJournal();
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
  private limits: StoreLimits;
  private durableListener: DurableListener | null = null;
  private dropping: Promise<void> | null = null;
  private recovering = false;
  /** Taking back what was not written: drops log no record and are not themselves undone. */
  private undoing = false;
  /** Dropping a record found corrupt: not put back by a roll-back. */
  private droppingCorrupt = false;
  private lastFirst = 0;
  private closing = false;
  /** When the index file is read and saved (see IndexKeeper). */
  private readonly keeper: IndexKeeper;
  private readonly dropOne = (seq: number): void => void this.drop(seq);
  /** Messages lost to damage since open (reported in state().lost). */
  private readonly lost: LostMessages;

  private constructor(private readonly opts: FileStoreOptions) {
    this.limits = { ...(opts.limits ?? NoLimits) };
    this.lost = new LostMessages(opts.dir, (l) => this.log(l));
    this.keeper = new IndexKeeper(opts.dir, opts.indexFile !== false, (l) => this.log(l), opts.indexSaveBytes);
    const segByOrd = this.segByOrd;
    this.pages = new IndexPages({
      dir: opts.dir,
      segByOrd,
      segments: () => [...segByOrd.values()].sort((a, b) => a.firstSeq - b.firstSeq),
      subjectId: (subject) => this.index.subjects.idOf(subject),
      log: (l) => this.log(l),
    });
    this.index = new MsgIndex(this.pages, true);
    this.locs = new LocTable(this.index, this.pages);
    // Getters: recovery replaces the index and the location table when it rebuilds them.
    const store = this;
    this.records = new RecordReader({
      get index() {
        return store.index;
      },
      get locs() {
        return store.locs;
      },
      cache: this.cache,
      segByOrd: this.segByOrd,
      scanChunkBytes: opts.recoveryChunkBytes ?? RECOVERY_CHUNK_BYTES,
      corrupt: (seq, seg, off, len) => this.corrupt(seq, seg, off, len),
    });
    this.writer = new SegmentWriter({
      dir: opts.dir,
      sync: opts.sync ?? "always",
      segmentMax: opts.segmentMaxBytes ?? SEGMENT_MAX_BYTES,
      segments: this.segments,
      observeSyncSeconds: opts.observeSyncSeconds,
    });
    this.commits = new GroupCommit({
      what: opts.dir,
      writer: this.writer,
      backoffMs: opts.retryBackoffMs ?? WRITE_RETRY_BACKOFF_MS,
      log: opts.log ?? ((): void => {}),
      store: {
        lastSeq: () => this.index.lastSeq,
        lastTimeNs: () => this.index.lastTimeNs,
        noteFirst: () => this.noteFirst(),
        durable: (seq, err) => this.durableListener?.(seq, err),
        batchAcknowledged: () => {
          void this.dropDeadSegments();
          void this.pages.flush(this.commits.durableSequence());
        },
        batchStarted: (done) => this.batchStarted(done),
        takeBack: (seq, timeNs) => this.takeBack(seq, timeNs),
        undoMark: () => this.undo.mark,
        acknowledgedUpTo: (seq, mark) => {
          this.undo.acknowledged(mark);
          this.cache.writtenUpTo(seq);
        },
        placed: (seqs, bufs, seg, first) => this.placed(seqs, bufs, seg, first),
        forget: (seg) => this.forgetSegment(seg),
      },
    });
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
    this.recovering = true;
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
      drop: (seq) => void store.drop(seq),
    });
    this.segments.push(...segs);
    this.recovering = false;
    this.lastFirst = this.index.firstSeq();
    this.commits.recovered(this.index.lastSeq, this.index.lastTimeNs);
    await this.writer.resume();
    void this.pages.flush(this.index.lastSeq);
    if (this.keeper.unsaved) this.saveIndex();
  }

  /**
   * A batch started (see CommitStore.batchStarted): if enough was appended since the index was
   * last saved (see IndexKeeper.wantsSave), take the index as it is now, which is what the segments
   * hold once this batch is durable, and save it then (unless a write failed meanwhile). A start
   * after a crash then reads at most what was appended since, even while publishing never pauses.
   */
  private batchStarted(done: Promise<void>): void {
    if (this.closing || !this.keeper.wantsSave()) return;
    const w = this.commits.writeState();
    if (w.error !== null) return;
    const first = this.firstChunk();
    this.keeper.save(encodeIndexFile(this.index, this.segments), done, () => this.commits.writeState().failedWrites === w.failedWrites, () => this.pages.release(first));
  }

  /** Save the index now (nothing is on its way to the disk: at open and at close). */
  private saveIndex(): void {
    const first = this.firstChunk();
    this.keeper.save(encodeIndexFile(this.index, this.segments), null, () => true, () => this.pages.release(first));
  }

  /** The chunk of the first message (page files wholly below it are not needed once an index file saying so is saved). */
  private firstChunk(): number {
    return Math.floor(this.index.firstSeq() / CHUNK_MSGS);
  }



  private log(line: string): void {
    this.opts.log?.(line);
  }

  /** A batch's write returned: its message records now have a place on disk. */
  private placed(seqs: number[], bufs: Buffer[], seg: Segment, first: number): void {
    if (!this.segByOrd.has(seg.ord)) this.segByOrd.set(seg.ord, seg);
    let off = first;
    for (let i = 0; i < bufs.length; i++) {
      const len = (bufs[i] as Buffer).length;
      const seq = seqs[i] as number;
      if (seq !== 0) this.locs.set(seq, seg.ord, off, len);
      off += len;
    }
  }

  /** A record read back for `seq` no longer checks out (see RecordReader.checked): report it, never serve it, forget it. */
  private corrupt(seq: number, seg: Segment, off: number, len: number): void {
    this.damage.push({ segment: seg.path.slice(this.opts.dir.length + 1), offset: off, bytes: len, kind: "corrupt" });
    if (!this.index.has(seq)) return;
    this.lost.note(seq, seq, len, seg, off);
    this.droppingCorrupt = true;
    try {
      this.drop(seq);
    } finally {
      this.droppingCorrupt = false;
    }
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

  /** Remove one message from the index, logging the change (a delete record, unless the front moved); false when absent. */
  private drop(seq: number): boolean {
    const index = this.index;
    if (!index.has(seq)) return false;
    const quiet = this.recovering || this.undoing;
    this.keeper.unsaved = true;
    if (quiet) return index.remove(seq);
    const wasFirst = seq === index.firstSeq();
    if (!this.droppingCorrupt) {
      const locs = this.locs;
      this.undo.push(seq, index.subjectOf(seq) as string, index.sizeOf(seq), index.timeOf(seq), locs.seg(seq), locs.off(seq), locs.len(seq));
    }
    index.remove(seq);
    if (!wasFirst) this.commits.queue(encodeRecord(RecordType.DELETE, seq, 0n, "", null, EMPTY), 0);
    return true;
  }

  /** After a change: log a first-sequence record when the front moved. */
  private noteFirst(): void {
    const first = this.index.firstSeq();
    if (first !== this.lastFirst) {
      this.lastFirst = first;
      this.commits.queue(encodeRecord(RecordType.FIRST, first, 0n, "", null, EMPTY), 0);
    }
  }

  async append(subject: string, headers: Buffer | null, data: Buffer, timeNs: bigint = nowNs()): Promise<number> {
    const seq = this.appendNoWait(subject, headers, data, timeNs);
    await this.commits.commit();
    await this.dropDeadSegments();
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
    dropOverLimits(index, this.limits, subject, this.dropOne);
    this.noteFirst();
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
    const ok = this.drop(seq);
    this.noteFirst();
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
    for (const seq of victims) this.drop(seq);
    this.noteFirst();
    await this.commits.commit();
    await this.dropDeadSegments();
    return victims.length;
  }

  async setLimits(limits: StoreLimits): Promise<void> {
    this.limits = { ...limits };
    dropOverLimits(this.index, this.limits, null, this.dropOne);
    await this.expire();
    this.noteFirst();
    await this.commits.commit();
    await this.dropDeadSegments();
  }

  async expire(now: bigint = nowNs()): Promise<number> {
    // Nothing expires while nothing can be written: the drops would only be taken back.
    if (!this.commits.writable()) return 0;
    const n = dropExpired(this.index, this.limits, now, this.dropOne);
    if (n > 0) {
      this.noteFirst();
      await this.commits.commit();
      await this.dropDeadSegments();
    }
    return n;
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

  /**
   * The index as the acknowledged batches left it on disk (a write failed): every message above
   * `seq` forgotten, every message dropped since put back (see GroupCommit.rollBack).
   */
  private takeBack(seq: number, timeNs: bigint): void {
    this.undoing = true;
    this.keeper.unsaved = true;
    try {
      this.index.rewind(seq, timeNs);
      this.cache.truncateAbove(seq);
      this.undo.takeAll((s, subject, size, t, segOrd, off, len) => {
        if (s > seq || this.index.has(s)) return;
        this.index.add(s, subject, size, t);
        this.locs.set(s, segOrd, off, len);
      });
    } finally {
      this.undoing = false;
    }
    this.lastFirst = this.index.firstSeq();
  }

  /** Bytes of records held in memory (the record cache, records not yet written included); for tests and metrics. */
  get cachedRecordBytes(): number {
    return this.cache.bytes;
  }

  /** Chunks of the index whose per-message arrays are in memory (tests: memory stays bounded), and pages rebuilt since open. */
  get indexPages(): { inMemory: number; rebuilt: number } {
    return { inMemory: this.pages.inMemory, rebuilt: this.pages.rebuilt };
  }

  /** Where the record of a message held ends in its segment (tests: what must be durable before its ack). */
  recordEnd(seq: number): number {
    return this.locs.off(seq) + this.locs.len(seq);
  }

  /** Unlink closed segments that hold nothing at or above the first sequence (one run at a time). */
  private dropDeadSegments(): Promise<void> {
    const oldest = this.segments[0];
    if (this.segments.length < 2 || oldest === undefined || oldest.lastSeq >= this.lastFirst) return Promise.resolve();
    this.dropping ??= this.unlinkDeadSegments().finally(() => {
      this.dropping = null;
    });
    return this.dropping;
  }

  private async unlinkDeadSegments(): Promise<void> {
    const first = this.index.firstSeq();
    while (this.segments.length > 1) {
      const seg = this.segments[0] as Segment;
      if (seg.lastSeq >= first) break;
      this.segments.shift();
      await this.forgetSegment(seg);
      await unlink(seg.path).catch(() => {});
    }
  }

  /** Stop reading a segment that is going away. */
  private async forgetSegment(seg: Segment): Promise<void> {
    this.segByOrd.delete(seg.ord);
    await this.records.forget(seg);
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
    if (this.keeper.unsaved && this.commits.writeState().error === null) this.saveIndex();
    await this.keeper.settled();
    this.pages.close();
    await this.records.close();
  }
}

const EMPTY = Buffer.alloc(0);
