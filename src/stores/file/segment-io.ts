import { readSync, writevSync } from "node:fs";
import { open, readdir, truncate, type FileHandle } from "node:fs/promises";
import { join } from "node:path";
import { MAX_RECORD_BYTES, RECORD_OVERHEAD_BYTES, RecordType, decodeRecord, type DecodedRecord } from "./record.js";

/** Segment file I/O for the file store: whole writes, recovery, directory sync. */

/** One segment file: the sequences it holds and its size. */
export interface Segment {
  path: string;
  firstSeq: number;
  lastSeq: number;
  size: number;
  /** A number naming this segment in the store's location table (never 0: see NO_SEGMENT). */
  readonly ord: number;
  /**
   * Where the batches started in it end (ahead of `size`, which moves once they are acknowledged):
   * what the index holds is placed up to here.
   */
  written: number;
}

/** A segment number that names no segment: the record is not written yet (it is in the record cache). */
export const NO_SEGMENT = 0;

/** Segment numbers handed out in this process (1, 2, ...: unique across stores). */
let lastOrd = 0;

/** A segment object for the file at `path`, named by its first sequence. */
export function newSegment(path: string, firstSeq: number, size: number): Segment {
  lastOrd = lastOrd === 0xffffffff ? 1 : lastOrd + 1;
  return { path, firstSeq, lastSeq: 0, size, ord: lastOrd, written: size };
}

/** Damage found while opening the store; reported, never served. */
export interface StoreDamage {
  segment: string;
  offset: number;
  bytes: number;
  kind: "corrupt" | "torn-tail";
}

/** A segment's file name: its first sequence, zero-padded so names sort in creation order. */
export const segmentName = (firstSeq: number): string => `${String(firstSeq).padStart(20, "0")}.seg`;

const EMPTY = Buffer.alloc(0);

/** writev until every byte of `bufs` is written (a write can stop short, on a full disk say). */
export function writeAll(fd: number, bufs: Buffer[], bytes: number): void {
  let rest = bufs;
  let left = bytes;
  for (;;) {
    const written = writevSync(fd, rest);
    left -= written;
    if (left <= 0) return;
    if (written === 0) throw new Error("write made no progress");
    rest = unwritten(rest, written);
  }
}

/**
 * writev on the thread pool until every byte of `bufs` is written: on a handle opened O_DSYNC,
 * durable when this resolves.
 */
export async function writeAllDurable(fh: FileHandle, bufs: Buffer[], bytes: number, position: number): Promise<void> {
  let rest = bufs;
  let left = bytes;
  let at = position;
  for (;;) {
    const { bytesWritten } = await fh.writev(rest, at);
    left -= bytesWritten;
    at += bytesWritten;
    if (left <= 0) return;
    if (bytesWritten === 0) throw new Error("write made no progress");
    rest = unwritten(rest, bytesWritten);
  }
}

/** The part of `bufs` after its first `written` bytes (a buffer cut short keeps its tail). */
function unwritten(bufs: Buffer[], written: number): Buffer[] {
  let i = 0;
  let w = written;
  while (w >= (bufs[i] as Buffer).length) w -= (bufs[i++] as Buffer).length;
  const rest = bufs.slice(i);
  rest[0] = (rest[0] as Buffer).subarray(w);
  return rest;
}

/** Bytes [off, off + len) of a file, read until all are in (a read can stop short); shorter only at its end. */
export async function readFully(fh: FileHandle, off: number, len: number): Promise<Buffer> {
  const buf = Buffer.allocUnsafe(len);
  let got = 0;
  while (got < len) {
    const { bytesRead } = await fh.read(buf, got, len - got, off + got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  return got === len ? buf : buf.subarray(0, got);
}

/**
 * Bytes [off, off + buf.length) of the file `fd` into `buf`, read on the spot (a positioned read on
 * this thread) until all are in; returns how many, fewer only at the file's end.
 */
export function readFullySync(fd: number, buf: Buffer, off: number): number {
  let got = 0;
  while (got < buf.length) {
    const n = readSync(fd, buf, got, buf.length - got, off + got);
    if (n === 0) break;
    got += n;
  }
  return got;
}

/**
 * A moving window over one segment file for recovery: holds up to a chunk (or one record, if
 * larger) and reads forward as decoding moves on.
 */
export class SegmentWindow {
  private buf: Buffer = EMPTY;
  private start = 0;

  constructor(
    private readonly fh: FileHandle,
    private readonly size: number,
    private readonly chunk: number,
  ) {}

  /** Make bytes [off, off + n) available; false when they run past the end of the file. */
  private async ensure(off: number, n: number): Promise<boolean> {
    if (off + n > this.size) return false;
    if (off >= this.start && off + n <= this.start + this.buf.length) return true;
    this.buf = await readFully(this.fh, off, Math.min(Math.max(n, this.chunk), this.size - off));
    this.start = off;
    return this.buf.length >= n;
  }

  /**
   * The record at `off` when the window already holds all of it (or its length field is bad:
   * `corrupt`); null when bytes must be read first (then `decodeAt`). No promise per record for
   * the records of a chunk already read.
   */
  decodeLoaded(off: number): DecodedRecord | "short" | "corrupt" | null {
    const at = off - this.start;
    if (at < 0 || at + 4 > this.buf.length) return null;
    const len = this.buf.readUInt32LE(at);
    if (len < RECORD_OVERHEAD_BYTES - 4 || len > MAX_RECORD_BYTES) return "corrupt";
    if (at + 4 + len > this.buf.length) return null;
    return decodeRecord(this.buf, at, false);
  }

  /** The record at `off`; `short` when the file ends inside it, `corrupt` when it does not check out. */
  async decodeAt(off: number): Promise<DecodedRecord | "short" | "corrupt"> {
    const loaded = this.decodeLoaded(off);
    if (loaded !== null) return loaded;
    if (!(await this.ensure(off, 4))) return "short";
    const len = this.buf.readUInt32LE(off - this.start);
    if (len < RECORD_OVERHEAD_BYTES - 4 || len > MAX_RECORD_BYTES) return "corrupt";
    if (!(await this.ensure(off, 4 + len))) return "short";
    return decodeRecord(this.buf, off - this.start, false);
  }

  /** Offset of the next intact record at or after `from`, or -1. */
  async resync(from: number): Promise<number> {
    for (let p = from; p + 4 <= this.size; p++) {
      // Cheap checks on what is loaded before a full decode.
      if (p >= this.start && p + 4 <= this.start + this.buf.length) {
        const len = this.buf.readUInt32LE(p - this.start);
        if (len < RECORD_OVERHEAD_BYTES - 4 || len > MAX_RECORD_BYTES || p + 4 + len > this.size) continue;
      }
      const r = await this.decodeAt(p);
      if (typeof r !== "string") return p;
    }
    return -1;
  }
}

/**
 * Whether damage at `at` in the last segment is a write that never finished rather than damage to
 * durable bytes: some batch record after it (from `from` on) says the segment was durable only
 * below `at` when its batch was written, and none says more. Batches are acknowledged in order, so
 * nothing at or after `at` was acknowledged: a later batch reached the disk, an earlier one did not.
 */
async function unfinishedWrite(win: SegmentWindow, size: number, at: number, from: number): Promise<boolean> {
  let marked = false;
  for (let pos = from; pos !== -1 && pos < size; ) {
    const r = win.decodeLoaded(pos) ?? (await win.decodeAt(pos));
    if (typeof r === "string") {
      pos = await win.resync(pos + 1);
      continue;
    }
    if (r.type === RecordType.BATCH) {
      if (r.seq > at) return false;
      marked = true;
    }
    pos += r.size;
  }
  return marked;
}

/**
 * Read every segment in `dir`, oldest first, in windows of `chunk` bytes (never a whole segment at
 * once), handing each intact record to `apply`. Damage is pushed to `damage`, never applied: bytes
 * between intact records are skipped as corrupt, and a damaged end of the last segment (a write
 * torn by a crash, or batches after one that never finished: see unfinishedWrite) is truncated
 * away so appends continue after the last intact record.
 */
export async function recoverSegments(
  dir: string,
  chunk: number,
  damage: StoreDamage[],
  apply: (r: DecodedRecord, seg: Segment, off: number) => void,
  resume: ResumeAt | null = null,
): Promise<Segment[]> {
  const names = await segmentNames(dir);
  const segments: Segment[] = [];
  for (let i = 0; i < names.length; i++) {
    const name = names[i] as string;
    const path = join(dir, name);
    const known = resume === null ? undefined : resume.segments.get(name);
    if (resume !== null && known !== undefined && name < resume.name) {
      // Wholly in the saved index: not read.
      segments.push(known);
      continue;
    }
    const fh = await open(path, "r");
    try {
      const size = (await fh.stat()).size;
      const seg = known ?? newSegment(path, Number(name.slice(0, 20)), size);
      seg.size = size;
      seg.written = size;
      const win = new SegmentWindow(fh, size, chunk);
      const last = i === names.length - 1;
      let pos = resume !== null && known !== undefined && name === resume.name ? resume.offset : 0;
      while (pos < size) {
        const r = win.decodeLoaded(pos) ?? (await win.decodeAt(pos));
        if (typeof r !== "string") {
          if (r.type !== RecordType.BATCH) {
            apply(r, seg, pos);
            seg.lastSeq = Math.max(seg.lastSeq, r.seq);
          }
          pos += r.size;
          continue;
        }
        // Look for the next intact record; what lies between is damage.
        const next = await win.resync(pos + 1);
        if (next === -1 || (last && (await unfinishedWrite(win, size, pos, next)))) {
          damage.push({ segment: name, offset: pos, bytes: size - pos, kind: last && (r === "short" || next !== -1) ? "torn-tail" : "corrupt" });
          if (last) {
            await truncate(path, pos);
            seg.size = pos;
            seg.written = pos;
          }
          break;
        }
        damage.push({ segment: name, offset: pos, bytes: next - pos, kind: "corrupt" });
        pos = next;
      }
      segments.push(seg);
    } finally {
      await fh.close();
    }
  }
  return segments;
}

/** Where a saved index ends: segments before `name` are wholly in it, `name` up to `offset`. */
export interface ResumeAt {
  name: string;
  offset: number;
  /** The segments the saved index lists, by file name (their sequences already known). */
  segments: Map<string, Segment>;
}

/** The segment files in `dir`, oldest first. */
export async function segmentNames(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((n) => n.endsWith(".seg")).sort();
}

/** fsync a directory so a new file's entry survives a crash. */
export async function syncDir(dir: string): Promise<void> {
  const d = await open(dir, "r");
  try {
    await d.sync();
  } finally {
    await d.close();
  }
}
