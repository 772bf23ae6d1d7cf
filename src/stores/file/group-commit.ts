import { clampTimerMs } from "../../util/timer.js";
import type { StoreWriteState } from "../types.js";
import type { Segment } from "./segment-io.js";
import type { SegmentWriter } from "./segment-writer.js";
import { WriteOutage, type StoreLog } from "./write-outage.js";

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
 * What the group commit asks of its store, once per batch or per failure, never per message: the
 * index is the store's; the group commit decides when changes are durable and what a failure takes
 * back.
 */
export interface CommitStore {
  /** The last sequence handed out: a batch started now holds everything up to it. */
  lastSeq(): number;
  /** The time of the last message (what a roll-back to this batch restores). */
  lastTimeNs(): bigint;
  /** Queue a first-sequence record if the front moved since the last one. */
  noteFirst(): void;
  /** Tell the stream that sequences up to `seq` are durable (err null), or were taken back (err). */
  durable(seq: number, err: Error | null): void;
  /** A batch was acknowledged: closed segments that hold nothing any more may go. */
  batchAcknowledged(): void;
  /**
   * Make the index what the acknowledged batches left on disk: forget every message above `seq`
   * (the last one stored at `timeNs`), put back those dropped since the last acknowledged batch
   * at or below it.
   */
  takeBack(seq: number, timeNs: bigint): void;
  /** How many drops the store has logged so far (a batch's drops end at the count when it starts). */
  undoMark(): number;
  /** The drops before `mark`, and the records up to `seq`, are on disk for good. */
  acknowledgedUpTo(seq: number, mark: number): void;
  /**
   * A batch took its place (before its write): the message records of `bufs` (`seqs[i]` the
   * sequence of bufs[i], 0 for other records) lie in `seg` one after another from offset `first`.
   */
  placed(seqs: number[], bufs: Buffer[], seg: Segment, first: number): void;
  /**
   * A batch started: every change made so far is in it or in a batch before it, and has its place
   * (what the index holds is what the segments will hold once `done` resolves and nothing failed).
   */
  batchStarted(done: Promise<void>): void;
  /** Stop reading a segment the cut after a failure removed. */
  forget(seg: Segment): Promise<void>;
}

/** What a group commit works with: the store's writer, and how it reports failures. */
export interface GroupCommitOptions {
  /** Names the store in log lines (its directory). */
  what: string;
  writer: SegmentWriter;
  store: CommitStore;
  /** Waits before retrying after a failed write. */
  backoffMs: readonly number[];
  log: StoreLog;
}

interface Waiter {
  resolve: () => void;
  reject: (err: Error) => void;
}

/**
 * A file store's durable write path: records queued by the store's changes are written in batches
 * (group commit: one durable write per batch, then every append of the batch resolves), up to
 * MAX_WRITES_IN_FLIGHT at once, acknowledged in order.
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
export class GroupCommit {
  private readonly writer: SegmentWriter;
  private readonly store: CommitStore;
  private pending: Buffer[] = [];
  /** Bytes of the pending buffers. */
  private pendingBytes = 0;
  /** The sequence of each pending message record (0 for other records). */
  private pendingSeqs: number[] = [];
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
  /** Why writes fail while they do, the backoff and the reporting (see WriteOutage). */
  private readonly outage: WriteOutage;
  /** Bumped by each failure: a batch started before it is failed too, whatever its own write did. */
  private epoch = 0;
  /** After a failed write, true once the segment is cut back and reopened (appends wait for it). */
  private repaired = true;
  private repairing: Promise<void> | null = null;
  private closed = false;
  private syncTimer: NodeJS.Timeout | null = null;

  constructor(opts: GroupCommitOptions) {
    this.writer = opts.writer;
    this.store = opts.store;
    this.outage = new WriteOutage({ what: opts.what, backoffMs: opts.backoffMs, log: opts.log, retry: () => this.retryWrites() });
  }

  /** Recovery found everything up to `seq` (the last at `timeNs`) on disk. */
  recovered(seq: number, timeNs: bigint): void {
    this.durableSeq = seq;
    this.durableTimeNs = timeNs;
  }

  /** Under `sync: interval`: fsync what was written every `ms`; a failed fsync fails what it covers. */
  syncEvery(ms: number): void {
    this.syncTimer = setInterval(() => {
      void this.writer.datasync().catch((err: unknown) => this.fail(err));
    }, clampTimerMs(ms));
    this.syncTimer.unref();
  }

  /** Highest sequence whose batch is acknowledged. */
  durableSequence(): number {
    return this.durableSeq;
  }

  writeState(): StoreWriteState {
    return this.outage.state();
  }

  /** Why writes fail, while they do (what a refused change is told). */
  get error(): Error | null {
    return this.outage.error;
  }

  /**
   * Changes are taken: writes succeed, or after a failure the segment is cut back and the backoff
   * is over (the next batch is then the retry).
   */
  writable(): boolean {
    return this.outage.error === null || (this.repaired && this.outage.waited);
  }

  /** A record for the next batch: a message's (`seq`, told where it lands) or another (seq 0). */
  queue(rec: Buffer, seq: number): void {
    this.pending.push(rec);
    this.pendingSeqs.push(seq);
    this.pendingBytes += rec.length;
  }

  /** An append was queued: start a batch now when enough is pending, else once this turn has queued what it will. */
  appended(): void {
    if (this.writes >= MAX_WRITES_IN_FLIGHT) return; // a write that ends starts the next batch
    if (this.pendingBytes >= EAGER_BATCH_BYTES || this.pending.length >= EAGER_BATCH_RECORDS) this.startBatch();
    else this.schedule();
  }

  /** Bytes of records queued and not yet written. */
  get pendingRecordBytes(): number {
    return this.pendingBytes;
  }

  /**
   * Wait until everything appended so far is on disk. Group commit: the appends that arrive while
   * batches are being written form the next batch, one write for all of them; up to
   * MAX_WRITES_IN_FLIGHT batches are written at once, each at its own offset. Under `sync: always`
   * a write is durable when it returns (O_DSYNC, on the thread pool, so the event loop goes on
   * parsing meanwhile); batches end, and are acknowledged, in order.
   */
  commit(): Promise<void> {
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
    this.store.noteFirst();
    // Once overlapping writes have all returned, one more batch record closes them off even with
    // nothing to append, so that damage found later in their bytes is not taken for a write
    // that never finished (see unfinishedWrite in segment-io).
    const closing = this.writer.needsClosing && this.writes === 0 && this.pending.length === 0;
    if (this.waiters.length === 0 && this.pending.length === 0 && !closing) return;
    // A new segment is started only with no write in flight: the last write to end starts it.
    if (this.writes > 0 && this.writer.needsNewSegment(this.pendingBytes)) return;
    const batchSeq = this.store.lastSeq();
    const batchTimeNs = this.store.lastTimeNs();
    const undoMark = this.store.undoMark();
    const epoch = this.epoch;
    const records = this.pending.length;
    const bytes = this.pendingBytes;
    const bufs = this.pending;
    const seqs = this.pendingSeqs;
    const waiters = this.waiters;
    this.pending = [];
    this.pendingSeqs = [];
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
        let written: { seg: Segment; first: number; end: number } | null = null;
        if (records > 0 || closing) {
          try {
            written = await this.writer.write(bufs, bytes, batchSeq, (seg, first) => this.store.placed(seqs, bufs, seg, first));
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
        this.acknowledged(batchSeq, batchTimeNs, undoMark);
        for (const w of waiters) w.resolve();
        if (records > 0) {
          this.store.durable(this.durableSeq, null);
          // Only changes written say the disk takes writes again: a 35-byte batch record alone can
          // fit where no publish does.
          this.outage.recovered();
        }
        this.store.batchAcknowledged();
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
    this.store.batchStarted(done);
  }

  /** A batch is acknowledged: what it holds is durable, and the drops before it are for good. */
  private acknowledged(batchSeq: number, batchTimeNs: bigint, undoMark: number): void {
    if (batchSeq >= this.durableSeq) {
      this.durableSeq = batchSeq;
      this.durableTimeNs = batchTimeNs;
    }
    this.store.acknowledgedUpTo(batchSeq, undoMark);
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
    const assigned = this.store.lastSeq();
    this.rollBack();
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w.reject(e);
    if (assigned > this.durableSeq) this.store.durable(assigned, e);
    return e;
  }

  /**
   * Make the index what the acknowledged batches left on disk: forget every message above the
   * last acknowledged sequence (its record was not written), put back every message dropped since
   * (its delete or first-sequence record was not written), and drop what was queued.
   */
  private rollBack(): void {
    this.store.takeBack(this.durableSeq, this.durableTimeNs);
    this.pending = [];
    this.pendingSeqs = [];
    this.pendingBytes = 0;
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
      for (const seg of removed) await this.store.forget(seg);
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

  /** The background fsync (`sync: interval`) failed: what was written since the last may not be on disk. */
  private fail(err: unknown): void {
    if (this.closed || this.repairing !== null) return;
    this.writeFailed(err);
    this.repairSoon();
  }

  /**
   * Write what is queued and wait for every batch on its way, then take no more; the store closes
   * the segment after this.
   */
  async close(): Promise<void> {
    if (this.syncTimer !== null) clearInterval(this.syncTimer);
    await this.commit().catch(() => {});
    // Batches started meanwhile (the closing batch record of overlapping writes) end first.
    while (this.inflight > 0) await this.lastBatch;
    this.closed = true;
    this.outage.close();
    await this.repairing;
  }
}

function toError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}
