import { constants } from "node:fs";
import { open, unlink, type FileHandle } from "node:fs/promises";
import { join } from "node:path";
import { RecordType, encodeRecord } from "./record.js";
import { newSegment, segmentName, syncDir, writeAll, writeAllDurable, type Segment } from "./segment-io.js";

export interface SegmentWriterOptions {
  dir: string;
  /** `always`: O_DSYNC writes at explicit offsets, durable on return; `interval`: appends into the OS. */
  sync: "always" | "interval";
  segmentMax: number;
  /** The store's segments, oldest first: the writer adds new ones at the end. */
  segments: Segment[];
  observeSyncSeconds?: (seconds: number) => void;
}

const EMPTY = Buffer.alloc(0);

function ignoreMissing(err: unknown): void {
  if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
}

/**
 * Writes batches of records at the end of the newest segment, rolling to a new one when it is full.
 * Batches may be on their way to the disk together: each takes its place when it starts, so batches
 * lie in the file in the order they started. A batch written while another is unfinished, and the
 * one after it, opens with a batch record (RecordType.BATCH) saying how far the segment was durable
 * then, which recovery uses to tell a write that never finished from damage (see segment-io).
 */
export class SegmentWriter {
  private fh: FileHandle | null = null;
  /** Where the next batch goes in the current segment (ahead of its size while writes are in flight). */
  private end = 0;
  /** Offsets in the current segment of the batches whose write has not returned, oldest first. */
  private unfinished: number[] = [];
  /**
   * The last batch opened with a batch record while another was in flight, or the segment was cut
   * back after a failed write: the next batch gets one too (closing them off).
   */
  private marked = false;

  constructor(private readonly opts: SegmentWriterOptions) {}

  /** Go on writing at the end of the newest segment (after recovery). */
  async resume(): Promise<void> {
    const cur = this.opts.segments[this.opts.segments.length - 1];
    if (cur === undefined) return;
    this.fh = await this.openSegment(cur.path);
    this.end = cur.size;
  }

  /** Overlapping writes ended and no batch has closed them off yet (one should, even an empty one). */
  get needsClosing(): boolean {
    return this.marked && this.unfinished.length === 0;
  }

  /** The next `bytes` go into a new segment (which is started only with no write in flight). */
  needsNewSegment(bytes: number): boolean {
    return this.opts.segments.length === 0 || this.fh === null || (this.end > 0 && this.end + bytes > this.opts.segmentMax);
  }

  /**
   * Write one batch (`batch`, `bytes` in all). Its place is taken before the first await. Under
   * `sync: always` the write is durable when this resolves; under `interval` it is in the OS.
   * `placed` hears where batch[0] goes (the rest follow it) before the first wait.
   * Returns the segment, where batch[0] went (`first`) and the end of the batch:
   * the caller moves the segment's size, which readers trust, once every earlier batch has ended too.
   */
  async write(batch: Buffer[], bytes: number, lastSeq: number, placed?: (seg: Segment, first: number) => void): Promise<{ seg: Segment; first: number; end: number }> {
    let bufs = batch;
    const segments = this.opts.segments;
    let opening: Promise<void> | null = null;
    if (this.needsNewSegment(bytes)) {
      const old = this.fh;
      const last = segments[segments.length - 1];
      // Names must sort in creation order: never reuse the previous segment's number.
      const id = Math.max(lastSeq, (last?.firstSeq ?? 0) + 1);
      const seg = newSegment(join(this.opts.dir, segmentName(id)), id, 0);
      segments.push(seg);
      this.end = 0;
      this.unfinished = [];
      this.marked = false;
      this.fh = null;
      opening = (async (): Promise<void> => {
        // Close the old segment (under `interval`, after its own sync), even when that sync fails.
        if (old !== null) {
          try {
            await old.datasync();
          } finally {
            await old.close();
          }
        }
        this.fh = await this.openSegment(seg.path);
        await syncDir(this.opts.dir);
      })();
    }
    const cur = segments[segments.length - 1] as Segment;
    const start = this.end;
    const overlapping = this.unfinished.length > 0;
    let lead = 0;
    if (overlapping || this.marked) {
      const rec = encodeRecord(RecordType.BATCH, overlapping ? (this.unfinished[0] as number) : start, 0n, "", null, EMPTY);
      bufs = [rec, ...bufs];
      bytes += rec.length;
      lead = rec.length;
    }
    this.marked = overlapping;
    const first = start + lead;
    const off = start + bytes;
    this.end = off;
    cur.written = off;
    cur.lastSeq = lastSeq;
    // Told before the first wait: every record queued so far has its place once this returns.
    placed?.(cur, first);
    this.unfinished.push(start);
    try {
      if (opening !== null) await opening;
      const fh = this.fh as FileHandle | null;
      if (fh === null) throw new Error("segment not open");
      if (this.opts.sync === "always") {
        const observe = this.opts.observeSyncSeconds;
        const startedNs = observe === undefined ? 0n : process.hrtime.bigint();
        await writeAllDurable(fh, bufs, bytes, start);
        if (observe !== undefined) observe(Number(process.hrtime.bigint() - startedNs) / 1e9);
      } else {
        // Into the page cache, on the event loop: tens of microseconds for a batch.
        writeAll(fh.fd, bufs, bytes);
      }
    } finally {
      // A roll (only with nothing in flight) starts a fresh list: this one is then gone already.
      const i = cur === segments[segments.length - 1] ? this.unfinished.indexOf(start) : -1;
      if (i !== -1) this.unfinished.splice(i, 1);
    }
    return { seg: cur, first, end: off };
  }

  /**
   * After a failed write, with none in flight: make the newest segment end where the acknowledged
   * batches end (its `size`: nothing after it was acknowledged), so that it holds no torn record and
   * no batch record that points past its end, as recovery would leave it. Segments started since,
   * which hold nothing acknowledged, are removed. The cut is fsynced before the segment is reopened
   * for writing, so no later write can land before stale bytes that outlive a crash; the next batch
   * opens with a batch record closing off any overlapping batches before the cut (see `marked`).
   * Safe to call again when it fails part way. Returns the segments removed.
   */
  async rollBack(): Promise<Segment[]> {
    const segments = this.opts.segments;
    const fh = this.fh;
    this.fh = null;
    this.unfinished = [];
    if (fh !== null) await fh.close().catch(() => {});
    const removed: Segment[] = [];
    for (;;) {
      const last = segments[segments.length - 1];
      if (last === undefined || last.size > 0 || segments.length === 1) break;
      await unlink(last.path).catch(ignoreMissing);
      segments.pop();
      removed.push(last);
    }
    const cur = segments[segments.length - 1];
    this.end = cur?.size ?? 0;
    if (cur !== undefined) cur.written = cur.size;
    if (cur !== undefined) {
      // An empty segment may be missing (its creation failed); one holding records must be there.
      const h = await open(cur.path, cur.size === 0 ? constants.O_WRONLY | constants.O_CREAT : constants.O_WRONLY);
      try {
        await h.truncate(cur.size);
        await h.datasync();
      } finally {
        await h.close();
      }
      this.fh = await this.openSegment(cur.path);
    }
    this.marked = true;
    return removed;
  }

  /** fsync what was written (under `interval`, on its timer). */
  async datasync(): Promise<void> {
    await this.fh?.datasync();
  }

  async close(): Promise<void> {
    await this.fh?.datasync().catch(() => {});
    await this.fh?.close();
    this.fh = null;
  }

  /** O_DSYNC under `sync: always` (each write, at its own offset, durable on return); appending under `interval`. */
  private openSegment(path: string): Promise<FileHandle> {
    return open(path, this.opts.sync === "always" ? constants.O_WRONLY | constants.O_CREAT | constants.O_DSYNC : "a");
  }
}
