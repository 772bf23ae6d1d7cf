import { writevSync } from "node:fs";
import { open, type FileHandle } from "node:fs/promises";
import { MAX_RECORD_BYTES, RECORD_OVERHEAD_BYTES, decodeRecord, type DecodedRecord } from "./record.js";

/** Segment file I/O for the file store: whole writes, a recovery read window, directory sync. */

const EMPTY = Buffer.alloc(0);

/** writev until every byte of `bufs` is written (a write can stop short, on a full disk say). */
export function writeAll(fd: number, bufs: Buffer[], bytes: number): void {
  let rest = bufs;
  let written = writevSync(fd, rest);
  let left = bytes - written;
  while (left > 0) {
    // Drop what was written, including the written part of a buffer cut short.
    let i = 0;
    while (written >= (rest[i] as Buffer).length) written -= (rest[i++] as Buffer).length;
    rest = rest.slice(i);
    rest[0] = (rest[0] as Buffer).subarray(written);
    written = writevSync(fd, rest);
    if (written === 0) throw new Error("write made no progress");
    left -= written;
  }
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
    const len = Math.min(Math.max(n, this.chunk), this.size - off);
    const buf = Buffer.allocUnsafe(len);
    let got = 0;
    while (got < len) {
      const { bytesRead } = await this.fh.read(buf, got, len - got, off + got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    this.buf = buf.subarray(0, got);
    this.start = off;
    return got >= n;
  }

  /** The record at `off`; `short` when the file ends inside it, `corrupt` when it does not check out. */
  async decodeAt(off: number): Promise<DecodedRecord | "short" | "corrupt"> {
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

/** fsync a directory so a new file's entry survives a crash. */
export async function syncDir(dir: string): Promise<void> {
  const d = await open(dir, "r");
  try {
    await d.sync();
  } finally {
    await d.close();
  }
}
