import { mkdir, open, unlink, type FileHandle } from "node:fs/promises";
import { MemoryStore } from "../memory/memory-store.js";
import { NoLimits, fileStoredSize, nowNs, type PurgeRequest, type StoreLimits, type StoreWriteState, type StoredMsg } from "../types.js";
import { FileEntry } from "./file-entry.js";
import { RecordType, decodeRecord, encodeRecord, viewRecord } from "./record.js";
import { ReadAhead } from "./read-ahead.js";
import { SegmentWriter } from "./segment-writer.js";
import { SegmentWindow, recoverSegments, type Segment, type StoreDamage } from "./segment-io.js";
import { TailCache } from "./tail-cache.js";
import { WRITE_RETRY_BACKOFF_MS, WriteOutage, type StoreLog } from "./write-outage.js";

export type { StoreDamage } from "./segment-io.js";
export { TAIL_CACHE_BYTES } from "./tail-cache.js";

/** A segment is closed and a new one started once it passes this size. */
export const SEGMENT_MAX_BYTES = 64 * 1024 * 1024;
/** Bytes read at a time while recovering a segment. */
export const RECOVERY_CHUNK_BYTES = 4 * 1024 * 1024;
/**
 * A batch is started at once, without waiting for the event loop turn to end, when this many
 * bytes are pending: a large burst (256 publishes of 1 KiB) is then written in parts, the first
 * part's durable write overlapping the parsing of the rest, instead of all of it after the parse.
 */
export const EAGER_BATCH_BYTES = 64 * 1024;
/**
 * Or when this many records are pending: a window of 256 small publishes is then written as two
 * halves, the first half's durable write overlapping the parsing of the second.
 */
export const EAGER_BATCH_RECORDS = 128;
/**
 * Batches on their way to the disk at once, each one durable write at its own offset: a batch need
 * not wait for the one before it to reach the disk, only to be acknowledged (acks go in order).
 * Two let the halves of a window of 256 publishes be on the disk together.
 */
export const MAX_WRITES_IN_FLIGHT = 2;

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

interface Waiter {
  resolve: () => void;
  reject: (err: Error) => void;
}

/**
 * Append-only segment files with an in-memory index (the memory store's structures, holding where
 * each record is rather than its payload; a bounded tail cache keeps the newest). Appends are
 * batched: one durable write per batch, then every append of the batch resolves.
 *
 * A failed write (a full disk) is not sticky. It fails its batch, every batch started and not yet
 * acknowledged, and every append queued; the index is taken back to what the acknowledged batches
 * hold (rollBack), so state always equals what can be read and the next append gets the sequence
 * after the last one stored; once no write is in flight the segment is cut back to where those
 * batches end (SegmentWriter.rollBack). Meanwhile appends are refused at once with the error; after
 * a backoff (WRITE_RETRY_BACKOFF_MS) they are taken again, their batch being the retry: if it
 * fails, the next wait is longer; once one succeeds the outage is over. WriteOutage reports it (a
 * log line, writeState()) while it lasts.
 */
export class FileStore extends MemoryStore {
  readonly damage: StoreDamage[] = [];
  private readonly segments: Segment[] = [];
  private readonly writer: SegmentWriter;
  private pending: Buffer[] = [];
  /** Bytes of the pending buffers. */
  private pendingBytes = 0;
  /** The entry of each pending buffer (null for tombstones). */
  private pendingEntries: Array<FileEntry | null> = [];
  private readonly tail = new TailCache();
  private readonly readers = new Map<Segment, Promise<FileHandle>>();
  private readonly readAhead = new ReadAhead((seg) => this.reader(seg));
  private waiters: Waiter[] = [];
  /** Batches started and not yet past their durable write (at most MAX_WRITES_IN_FLIGHT). */
  private writes = 0;
  private scheduled = false;
  /** Batches written or being written and not yet acknowledged. */
  private inflight = 0;
  private lastBatch: Promise<void> = Promise.resolve();
  /** Highest sequence whose batch is synced (or, under `sync: interval`, written). */
  private durableSeq = 0;
  /** Time of the last message as of the last acknowledged batch (what a roll-back restores). */
  private durableTimeNs = 0n;
  private dropping: Promise<void> | null = null;
  /** Why writes fail while they do, the backoff and the reporting (see WriteOutage). */
  private readonly outage: WriteOutage;
  /**
   * Messages dropped since the last acknowledged batch, in the order dropped: put back if the batch
   * holding their delete (or first-sequence) record fails. Trimmed as batches are acknowledged.
   */
  private undoDrops: FileEntry[] = [];
  /** Drops logged before undoDrops[0]: a batch marks where its drops end by this count. */
  private undoBase = 0;
  /** Bumped by each failure: a batch started before it is failed too, whatever its own write did. */
  private epoch = 0;
  /** After a failed write, true once the segment is cut back and reopened (appends wait for it). */
  private repaired = true;
  private repairing: Promise<void> | null = null;
  private recovering = false;
  /** Taking back what was not written: drops log no record and are not themselves undone. */
  private undoing = false;
  /** Dropping a record found corrupt: not put back by a roll-back. */
  private droppingCorrupt = false;
  private closed = false;
  private lastFirst = 0;
  private syncTimer: NodeJS.Timeout | null = null;
  private readonly sync: SyncMode;

  private constructor(private readonly opts: FileStoreOptions) {
    super(opts.limits ?? NoLimits);
    this.sync = opts.sync ?? "always";
    this.writer = new SegmentWriter({
      dir: opts.dir,
      sync: this.sync,
      segmentMax: opts.segmentMaxBytes ?? SEGMENT_MAX_BYTES,
      segments: this.segments,
      observeSyncSeconds: opts.observeSyncSeconds,
    });
    this.outage = new WriteOutage({ what: opts.dir, backoffMs: opts.retryBackoffMs ?? WRITE_RETRY_BACKOFF_MS, log: opts.log ?? ((): void => {}), retry: () => this.retryWrites() });
  }

  /** Open (or create) the store in `opts.dir`, recovering what is on disk. */
  static async open(opts: FileStoreOptions): Promise<FileStore> {
    const s = new FileStore(opts);
    await mkdir(opts.dir, { recursive: true });
    await s.recover();
    if (s.sync === "interval") {
      s.syncTimer = setInterval(() => {
        void s.writer.datasync().catch((err: unknown) => s.fail(err));
      }, opts.syncIntervalMs ?? 1000);
      s.syncTimer.unref();
    }
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
    this.durableSeq = this.lastSeq;
    this.durableTimeNs = this.lastTimeNs;
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
      if (!this.droppingCorrupt) this.undoDrops.push(m as FileEntry);
      if (!wasFirst) this.queue(encodeRecord(RecordType.DELETE, seq, 0n, "", null, EMPTY), null);
    }
    return m;
  }

  /** After a change: log a first-sequence record when the front moved. */
  private noteFirst(): void {
    const first = this.count === 0 ? this.lastSeq + 1 : this.firstSeq();
    if (first !== this.lastFirst) {
      this.lastFirst = first;
      this.queue(encodeRecord(RecordType.FIRST, first, 0n, "", null, EMPTY), null);
    }
  }

  override async append(subject: string, headers: Buffer | null, data: Buffer, timeNs: bigint = nowNs()): Promise<number> {
    const seq = this.appendNoWait(subject, headers, data, timeNs);
    await this.commit();
    await this.dropDeadSegments();
    return seq;
  }

  override appendNoWait(subject: string, headers: Buffer | null, data: Buffer, timeNs: bigint): number {
    if (!this.writable()) throw this.outage.error as Error;
    const seq = this.lastSeq + 1;
    const size = this.sizeOf(subject, headers, data);
    this.checkDiscardNew(size);
    // The record is the one copy of the caller's bytes (they may be slices of a socket read).
    const rec = encodeRecord(RecordType.MSG, seq, timeNs, subject, headers, data);
    const entry = new FileEntry(seq, this.shared(subject), timeNs, size, null, 0, rec.length, rec);
    this.queue(rec, entry);
    this.insert(entry);
    this.enforceAfterAppend(subject);
    this.noteFirst();
    if (this.writes >= MAX_WRITES_IN_FLIGHT) return seq; // a write that ends starts the next batch
    if (this.pendingBytes >= EAGER_BATCH_BYTES || this.pending.length >= EAGER_BATCH_RECORDS) this.startBatch();
    else this.schedule();
    return seq;
  }

  /** A record for the next batch, and the entry told where it lands (null for tombstones and the like). */
  private queue(rec: Buffer, entry: FileEntry | null): void {
    this.pending.push(rec);
    this.pendingEntries.push(entry);
    this.pendingBytes += rec.length;
  }

  override durableSequence(): number {
    return this.durableSeq;
  }

  override writeState(): StoreWriteState {
    return this.outage.state();
  }

  /**
   * Changes are taken: writes succeed, or after a failure the segment is cut back and the backoff
   * is over (the next batch is then the retry).
   */
  private writable(): boolean {
    return this.outage.error === null || (this.repaired && this.outage.waited);
  }

  override async remove(seq: number): Promise<boolean> {
    if (!this.writable()) throw this.outage.error as Error;
    const ok = await super.remove(seq);
    this.noteFirst();
    if (ok) await this.commit();
    return ok;
  }

  override async purge(req: PurgeRequest = {}): Promise<number> {
    if (!this.writable()) throw this.outage.error as Error;
    const n = await super.purge(req);
    this.noteFirst();
    await this.commit();
    await this.dropDeadSegments();
    return n;
  }

  override async setLimits(limits: StoreLimits): Promise<void> {
    await super.setLimits(limits);
    this.noteFirst();
    await this.commit();
    await this.dropDeadSegments();
  }

  override async expire(now: bigint = nowNs()): Promise<number> {
    // Nothing expires while nothing can be written: the drops would only be taken back.
    if (!this.writable()) return 0;
    const n = await super.expire(now);
    if (n > 0) {
      this.noteFirst();
      await this.commit();
      await this.dropDeadSegments();
    }
    return n;
  }

  /**
   * Wait until everything appended so far is on disk. Group commit: the appends that arrive while
   * batches are being written form the next batch, one write for all of them; up to
   * MAX_WRITES_IN_FLIGHT batches are written at once, each at its own offset. Under `sync: always`
   * a write is durable when it returns (O_DSYNC, on the thread pool, so the event loop goes on
   * parsing meanwhile); batches end, and are acknowledged, in order.
   */
  private commit(): Promise<void> {
    if (this.pending.length === 0 && this.inflight === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.waiters.push({ resolve, reject });
      this.schedule();
    });
  }

  /** Start a batch once this event loop turn has queued what it will. */
  private schedule(): void {
    if (this.scheduled || this.writes >= MAX_WRITES_IN_FLIGHT) return;
    this.scheduled = true;
    setImmediate(this.startBatchNow);
  }

  private readonly startBatchNow = (): void => this.startBatch();

  private startBatch(): void {
    this.scheduled = false;
    if (this.writes >= MAX_WRITES_IN_FLIGHT) return;
    if (!this.writable() || this.closed) {
      // Nothing is written until the retry: whoever waits for a commit hears why now.
      const waiters = this.waiters;
      this.waiters = [];
      for (const w of waiters) w.reject(this.outage.error ?? new Error("store closed"));
      return;
    }
    // The first-sequence record of every drop so far goes in this batch with the drops: a batch
    // acknowledged without it would leave dropped messages on disk that no roll-back puts back.
    this.noteFirst();
    // Once overlapping writes have all returned, one more batch record closes them off even with
    // nothing to append, so that damage found later in their bytes is not taken for a write
    // that never finished (see unfinishedWrite in segment-io).
    const closing = this.writer.needsClosing && this.writes === 0 && this.pending.length === 0;
    if (this.waiters.length === 0 && this.pending.length === 0 && !closing) return;
    // A new segment is started only with no write in flight: the last write to end starts it.
    if (this.writes > 0 && this.writer.needsNewSegment(this.pendingBytes)) return;
    const batchSeq = this.lastSeq;
    const batchTimeNs = this.lastTimeNs;
    const undoMark = this.undoBase + this.undoDrops.length;
    const epoch = this.epoch;
    const records = this.pending.length;
    const bytes = this.pendingBytes;
    const bufs = this.pending;
    const entries = this.pendingEntries;
    const waiters = this.waiters;
    this.pending = [];
    this.pendingEntries = [];
    this.pendingBytes = 0;
    this.waiters = [];
    this.writes++;
    this.inflight++;
    let holding = true;
    const release = (): void => {
      if (holding) {
        holding = false;
        this.writes--;
      }
    };
    const previous = this.lastBatch;
    const done = (async (): Promise<void> => {
      try {
        let written: { seg: Segment; end: number } | null = null;
        if (records > 0 || closing) {
          try {
            written = await this.writer.write(bufs, entries, bytes, this.lastSeq);
          } catch (err) {
            this.outage.failedWrites++;
            throw err;
          }
        }
        release();
        this.startBatch();
        // Batches end in order: none is acknowledged before every batch started before it.
        await previous;
        // A failure since this batch started took back all that was not acknowledged, this too.
        if (epoch !== this.epoch) throw this.outage.error ?? new Error("store write failed");
        if (written !== null && written.end > written.seg.size) written.seg.size = written.end;
        this.tail.add(entries);
        this.acknowledged(batchSeq, batchTimeNs, undoMark);
        for (const w of waiters) w.resolve();
        if (records > 0) {
          this.durableListener?.(this.durableSeq, null);
          // Only changes written say the disk takes writes again: a 35-byte batch record alone can
          // fit where no publish does.
          this.outage.recovered();
        }
        void this.dropDeadSegments();
      } catch (err) {
        release();
        const e = epoch === this.epoch ? this.writeFailed(err) : (this.outage.error ?? toError(err));
        for (const w of waiters) w.reject(e);
        // Failed or not, batches end in order: the last one started ends last (close waits on it).
        await previous;
      } finally {
        this.inflight--;
        this.repairSoon();
      }
    })();
    this.lastBatch = done;
  }

  /** A batch is acknowledged: what it holds is durable, and the drops before it are for good. */
  private acknowledged(batchSeq: number, batchTimeNs: bigint, undoMark: number): void {
    if (batchSeq >= this.durableSeq) {
      this.durableSeq = batchSeq;
      this.durableTimeNs = batchTimeNs;
    }
    const k = undoMark - this.undoBase;
    if (k > 0) {
      this.undoDrops = k >= this.undoDrops.length ? [] : this.undoDrops.slice(k);
      this.undoBase = undoMark;
    }
  }

  /**
   * A write failed (or, under `sync: interval`, a background fsync): nothing not yet acknowledged
   * will be. Every batch started and not acknowledged fails with it (epoch), the index goes back to
   * what the acknowledged batches hold (rollBack), every queued append fails, and the stream hears
   * of every sequence taken back. The segment is cut back once no write is in flight (repairSoon).
   */
  private writeFailed(err: unknown): Error {
    const e = toError(err);
    this.epoch++;
    this.repaired = false;
    this.outage.failed(e);
    const assigned = this.lastSeq;
    this.rollBack();
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w.reject(e);
    if (assigned > this.durableSeq) this.durableListener?.(assigned, e);
    return e;
  }

  /**
   * Make the index what the acknowledged batches left on disk: forget every message above the
   * last acknowledged sequence (its record was not written), put back every message dropped since
   * (its delete or first-sequence record was not written), and drop what was queued.
   */
  private rollBack(): void {
    const drops = this.undoDrops;
    this.undoBase += drops.length;
    this.undoDrops = [];
    this.undoing = true;
    try {
      this.rewindTo(this.durableSeq, this.durableTimeNs);
      drops.sort((a, b) => a.seq - b.seq);
      for (const m of drops) if (m.seq <= this.durableSeq) this.restore(m);
    } finally {
      this.undoing = false;
    }
    this.pending = [];
    this.pendingEntries = [];
    this.pendingBytes = 0;
    this.lastFirst = this.count === 0 ? this.lastSeq + 1 : this.firstSeq();
  }

  /** After a failure, once no write is in flight: cut the segment back, then retry after the backoff. */
  private repairSoon(): void {
    if (this.repaired || this.repairing !== null || this.inflight > 0 || this.closed) return;
    this.repairing = this.repair().finally(() => {
      this.repairing = null;
    });
  }

  private async repair(): Promise<void> {
    try {
      const removed = await this.writer.rollBack();
      for (const seg of removed) await this.forgetSegment(seg);
      this.repaired = true;
    } catch (err) {
      // Even the cut failed (the directory is gone, say): try it again after the next step.
      this.outage.failedWrites++;
      this.outage.failed(toError(err));
    }
  }

  /** The backoff is over: appends are taken again (the next batch is the retry); repair first if the last cut failed. */
  private retryWrites(): void {
    if (!this.repaired) this.repairSoon();
  }

  /** Bytes of records held in memory (tail cache and records not yet written); for tests and metrics. */
  get cachedRecordBytes(): number {
    let pending = 0;
    for (const e of this.pendingEntries) if (e !== null && e.rec !== null) pending += e.len;
    return this.tail.bytes + pending;
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

  /** The background fsync (`sync: interval`) failed: what was written since the last may not be on disk. */
  private fail(err: unknown): void {
    if (this.closed || this.repairing !== null) return;
    this.writeFailed(err);
    this.repairSoon();
  }

  override async close(): Promise<void> {
    if (this.syncTimer !== null) clearInterval(this.syncTimer);
    await this.commit().catch(() => {});
    // Batches started meanwhile (the closing batch record of overlapping writes) end first.
    while (this.inflight > 0) await this.lastBatch;
    this.closed = true;
    this.outage.close();
    await this.repairing;
    await this.writer.close();
    this.readAhead.clear();
    for (const r of this.readers.values()) await r.then((h) => h.close()).catch(() => {});
    this.readers.clear();
  }
}

const EMPTY = Buffer.alloc(0);

function toError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}
