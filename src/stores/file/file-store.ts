import { mkdir, open, unlink, type FileHandle } from "node:fs/promises";
import { Slab } from "../../util/slab.js";
import { MemoryStore } from "../memory/memory-store.js";
import { NoLimits, fileStoredSize, nowNs, type PurgeRequest, type StoreLimits, type StoreWriteState, type StoredMsg } from "../types.js";
import { FileEntry } from "./file-entry.js";
import { GroupCommit } from "./group-commit.js";
import { RecordType, decodeRecord, encodeRecord, viewRecord } from "./record.js";
import { ReadAhead } from "./read-ahead.js";
import { SegmentWriter } from "./segment-writer.js";
import { SegmentWindow, recoverSegments, type Segment, type StoreDamage } from "./segment-io.js";
import { TailCache } from "./tail-cache.js";
import { WRITE_RETRY_BACKOFF_MS, type StoreLog } from "./write-outage.js";

export type { StoreDamage } from "./segment-io.js";
export { EAGER_BATCH_BYTES, EAGER_BATCH_RECORDS, MAX_WRITES_IN_FLIGHT } from "./group-commit.js";
export { TAIL_CACHE_BYTES } from "./tail-cache.js";

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
}

/**
 * Append-only segment files with an in-memory index (the memory store's structures, holding where
 * each record is rather than its payload; a bounded tail cache keeps the newest). This class is the
 * store's surface: recovery at open, the changes (each queues its records), reads and queries, and
 * dropping segments nothing lives in any more. Getting the records to the disk, acknowledging them
 * and taking back a failed batch is the group commit's (see GroupCommit): one durable write per
 * batch, then every append of the batch resolves.
 */
export class FileStore extends MemoryStore {
  readonly damage: StoreDamage[] = [];
  private readonly segments: Segment[] = [];
  private readonly writer: SegmentWriter;
  /** The durable write path: batches, writes in flight, acknowledgements, failures. */
  private readonly commits: GroupCommit;
  private readonly tail = new TailCache();
  private readonly readers = new Map<Segment, Promise<FileHandle>>();
  /** This store's message records are cut from slabs of its own (see Slab: shared ones were pinned by other stores' caches). */
  private readonly slab = new Slab(STORE_SLAB_BYTES);
  private readonly readAhead = new ReadAhead((seg) => this.reader(seg));
  private dropping: Promise<void> | null = null;
  private recovering = false;
  /** Taking back what was not written: drops log no record and are not themselves undone. */
  private undoing = false;
  /** Dropping a record found corrupt: not put back by a roll-back. */
  private droppingCorrupt = false;
  private lastFirst = 0;

  private constructor(private readonly opts: FileStoreOptions) {
    super(opts.limits ?? NoLimits);
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
      tail: this.tail,
      backoffMs: opts.retryBackoffMs ?? WRITE_RETRY_BACKOFF_MS,
      log: opts.log ?? ((): void => {}),
      store: {
        lastSeq: () => this.lastSeq,
        lastTimeNs: () => this.lastTimeNs,
        noteFirst: () => this.noteFirst(),
        durable: (seq, err) => this.durableListener?.(seq, err),
        batchAcknowledged: () => void this.dropDeadSegments(),
        takeBack: (seq, timeNs, drops) => this.takeBack(seq, timeNs, drops),
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

  /** Rebuild the index from the segments on disk (see recoverSegments). */
  private async recover(): Promise<void> {
    this.recovering = true;
    const segs = await recoverSegments(this.opts.dir, this.opts.recoveryChunkBytes ?? RECOVERY_CHUNK_BYTES, this.damage, (r, seg, off) =>
      this.apply(r.type, r.seq, r.timeNs, r.subject, seg, off, r.size, r.headers, r.data),
    );
    this.segments.push(...segs);
    this.recovering = false;
    this.lastFirst = this.state().firstSeq;
    this.commits.recovered(this.lastSeq, this.lastTimeNs);
    await this.writer.resume();
  }

  private apply(type: number, seq: number, timeNs: bigint, subject: string, seg: Segment, off: number, len: number, headers: Buffer | null, data: Buffer): void {
    if (type === RecordType.MSG) {
      if (seq > this.lastSeq) {
        const entry = new FileEntry(seq, this.shared(subject), timeNs, fileStoredSize(subject, headers, data), seg, off, len, null);
        this.insert(entry);
      }
    } else if (type === RecordType.DELETE) {
      this.drop(seq);
    } else {
      this.applyFirst(seq);
    }
  }

  /** Everything below `seq` is gone; the last sequence is at least seq - 1. */
  private applyFirst(seq: number): void {
    for (let s = this.state().firstSeq; s < seq && this.count > 0; s = this.state().firstSeq) this.drop(s);
    if (this.lastSeq < seq - 1) this.lastSeq = seq - 1;
    if (this.count === 0) {
      this.resetMsgs(this.lastSeq + 1);
    }
  }

  protected override sizeOf(subject: string, headers: Buffer | null, data: Buffer): number {
    return fileStoredSize(subject, headers, data);
  }

  protected override sizeOfMsg(m: StoredMsg): number {
    return (m as FileEntry).size;
  }

  /** The message of an index entry: from its cached record, or read back from its segment and checked. */
  protected override materialize(m: StoredMsg): StoredMsg | null | Promise<StoredMsg | null> {
    const e = m as FileEntry;
    if (e.rec !== null) return viewRecord(e.rec, e.seq, e.timeNs, e.subject);
    return this.readEntry(e);
  }

  /**
   * A whole-store read (start-up's dedup rebuild): cached records from memory, the rest through a
   * window over each segment, read in RECOVERY_CHUNK_BYTES pieces instead of a read per message.
   * A record that no longer checks out is skipped, never handed on (a load of it reports it).
   */
  override async scan(fromSeq: number, fn: (m: StoredMsg) => void): Promise<void> {
    let seg: Segment | null = null;
    let fh: FileHandle | null = null;
    let win: SegmentWindow | null = null;
    try {
      for (let seq = Math.max(fromSeq, this.base); seq <= this.lastSeq; seq++) {
        const e = this.msgs[seq - this.base] as FileEntry | undefined;
        if (e === undefined) continue;
        if (e.rec !== null) {
          fn(viewRecord(e.rec, e.seq, e.timeNs, e.subject));
          continue;
        }
        if (e.seg !== seg || win === null) {
          await fh?.close();
          fh = null;
          seg = e.seg as Segment;
          fh = await open(seg.path, "r");
          win = new SegmentWindow(fh, seg.size, this.opts.recoveryChunkBytes ?? RECOVERY_CHUNK_BYTES);
        }
        const r = win.decodeLoaded(e.off) ?? (await win.decodeAt(e.off));
        if (typeof r !== "string" && r.seq === e.seq && r.type === RecordType.MSG) fn(r);
      }
    } finally {
      await fh?.close();
    }
  }

  /** A read handle on a segment, opened once. */
  private reader(seg: Segment): Promise<FileHandle> {
    let fh = this.readers.get(seg);
    if (fh === undefined) {
      fh = open(seg.path, "r");
      this.readers.set(seg, fh);
    }
    return fh;
  }

  private async readEntry(e: FileEntry): Promise<StoredMsg | null> {
    return this.checked(e, await this.readAhead.read(e.seg as Segment, e.off, e.len));
  }

  /** From the tail cache or from bytes already read back (no waiting); undefined when a read is needed. */
  protected override materializeNow(m: StoredMsg): StoredMsg | null | undefined {
    const e = m as FileEntry;
    if (e.rec !== null) return viewRecord(e.rec, e.seq, e.timeNs, e.subject);
    const buf = this.readAhead.peek(e.seg as Segment, e.off, e.len);
    return buf === null ? undefined : this.checked(e, buf);
  }

  /** The record read back for `e`, if it checks out; else reported, dropped from the index, and null. */
  private checked(e: FileEntry, buf: Buffer): StoredMsg | null {
    const r = buf.length === e.len ? decodeRecord(buf, 0, false) : "short";
    if (typeof r !== "string" && r.seq === e.seq) return r;
    // Changed on disk since it was written or recovered: report it, never serve it, forget it.
    const seg = e.seg as Segment;
    this.damage.push({ segment: seg.path.slice(this.opts.dir.length + 1), offset: e.off, bytes: e.len, kind: "corrupt" });
    if (this.msgs[e.seq - this.base] === e) {
      this.droppingCorrupt = true;
      try {
        this.drop(e.seq);
      } finally {
        this.droppingCorrupt = false;
      }
    }
    return null;
  }

  protected override drop(seq: number): StoredMsg | null {
    const quiet = this.recovering || this.undoing;
    const wasFirst = !quiet && this.count > 0 && seq === this.firstSeq();
    const m = super.drop(seq);
    if (m !== null && !quiet) {
      if (!this.droppingCorrupt) this.commits.dropped(m as FileEntry);
      if (!wasFirst) this.commits.queue(encodeRecord(RecordType.DELETE, seq, 0n, "", null, EMPTY), null);
    }
    return m;
  }

  /** After a change: log a first-sequence record when the front moved. */
  private noteFirst(): void {
    const first = this.count === 0 ? this.lastSeq + 1 : this.firstSeq();
    if (first !== this.lastFirst) {
      this.lastFirst = first;
      this.commits.queue(encodeRecord(RecordType.FIRST, first, 0n, "", null, EMPTY), null);
    }
  }

  override async append(subject: string, headers: Buffer | null, data: Buffer, timeNs: bigint = nowNs()): Promise<number> {
    const seq = this.appendNoWait(subject, headers, data, timeNs);
    await this.commits.commit();
    await this.dropDeadSegments();
    return seq;
  }

  override appendNoWait(subject: string, headers: Buffer | null, data: Buffer, timeNs: bigint): number {
    const commits = this.commits;
    if (!commits.writable()) throw commits.error as Error;
    const seq = this.lastSeq + 1;
    const size = this.sizeOf(subject, headers, data);
    this.checkDiscardNew(size, subject);
    // The record is the one copy of the caller's bytes (they may be slices of a socket read).
    const rec = encodeRecord(RecordType.MSG, seq, timeNs, subject, headers, data, this.slab);
    const entry = new FileEntry(seq, this.shared(subject), timeNs, size, null, 0, rec.length, rec);
    commits.queue(rec, entry);
    this.insert(entry);
    this.enforceAfterAppend(subject);
    this.noteFirst();
    commits.appended();
    return seq;
  }

  override durableSequence(): number {
    return this.commits.durableSequence();
  }

  override writeState(): StoreWriteState {
    return this.commits.writeState();
  }

  override async remove(seq: number): Promise<boolean> {
    if (!this.commits.writable()) throw this.commits.error as Error;
    const ok = await super.remove(seq);
    this.noteFirst();
    if (ok) await this.commits.commit();
    return ok;
  }

  override settle(): Promise<void> {
    // A failed batch has already been reported to its appends (and the durable listener).
    return this.commits.commit().catch(() => {});
  }

  override async purge(req: PurgeRequest = {}): Promise<number> {
    if (!this.commits.writable()) throw this.commits.error as Error;
    const n = await super.purge(req);
    this.noteFirst();
    await this.commits.commit();
    await this.dropDeadSegments();
    return n;
  }

  override async setLimits(limits: StoreLimits): Promise<void> {
    await super.setLimits(limits);
    this.noteFirst();
    await this.commits.commit();
    await this.dropDeadSegments();
  }

  override async expire(now: bigint = nowNs()): Promise<number> {
    // Nothing expires while nothing can be written: the drops would only be taken back.
    if (!this.commits.writable()) return 0;
    const n = await super.expire(now);
    if (n > 0) {
      this.noteFirst();
      await this.commits.commit();
      await this.dropDeadSegments();
    }
    return n;
  }

  /**
   * The index as the acknowledged batches left it on disk (a write failed): every message above
   * `seq` forgotten, every message dropped since put back (see GroupCommit.rollBack).
   */
  private takeBack(seq: number, timeNs: bigint, drops: FileEntry[]): void {
    this.undoing = true;
    try {
      this.rewindTo(seq, timeNs);
      drops.sort((a, b) => a.seq - b.seq);
      for (const m of drops) if (m.seq <= seq) this.restore(m);
    } finally {
      this.undoing = false;
    }
    this.lastFirst = this.count === 0 ? this.lastSeq + 1 : this.firstSeq();
  }

  /** Bytes of records held in memory (tail cache and records not yet written); for tests and metrics. */
  get cachedRecordBytes(): number {
    return this.tail.bytes + this.commits.pendingRecordBytes;
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
    const first = this.state().firstSeq;
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
    this.readAhead.forget(seg);
    const r = this.readers.get(seg);
    this.readers.delete(seg);
    if (r !== undefined) await r.then((h) => h.close()).catch(() => {});
  }

  override async close(): Promise<void> {
    await this.commits.close();
    await this.writer.close();
    this.readAhead.clear();
    for (const r of this.readers.values()) await r.then((h) => h.close()).catch(() => {});
    this.readers.clear();
  }
}

const EMPTY = Buffer.alloc(0);
