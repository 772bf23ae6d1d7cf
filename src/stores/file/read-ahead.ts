import type { FileHandle } from "node:fs/promises";
import { readFully, type Segment } from "./segment-io.js";

/**
 * How much of a segment one disk read brings in when a read continues where an earlier one ended
 * (a consumer replaying history): one read per stretch instead of one per message.
 */
export const READ_AHEAD_BYTES = 256 * 1024;
/**
 * How much a read that continues nothing brings in when it goes through the thread pool (a direct
 * get of a random sequence, or the first read of a replay, while lone reads are not made on the
 * spot: see RecordReader): a page or so. Reading READ_AHEAD_BYTES for each random 16 B message made
 * random direct gets from a 10 M-message stream 0.07x nats-server (bench:scale).
 */
export const RANDOM_READ_BYTES = 4096;
/**
 * Lone reads (made on the spot by the reader, see `noteLoneRead`) whose ends are remembered, so
 * that the read after one, if it starts where that one ended (a replay's second message), brings
 * in a stretch. Several, so that random gets going on at the same time do not push a replay's out.
 */
export const LONE_READS_NOTED = 16;
/**
 * Stretches a store keeps (a few consumers replaying different parts at once); the least
 * recently used goes first. READ_AHEAD_WINDOWS * READ_AHEAD_BYTES bounds the memory per store.
 */
export const READ_AHEAD_WINDOWS = 4;

interface Stretch {
  readonly seg: Segment;
  readonly start: number;
  /** End of the bytes asked for; the read may come back shorter. */
  readonly end: number;
  readonly bytes: Promise<Buffer>;
  /** The bytes once the read has come back. */
  loaded: Buffer | null;
}

/**
 * Recently read stretches of segment files. A stretch only ever covers bytes the store had fully
 * written when it was read (`seg.size` grows after a write completes), and segments are append-only,
 * so a stretch never goes stale; it goes when its segment is dropped or newer stretches push it out.
 * Concurrent readers of one stretch share its read.
 */
export class ReadAhead {
  private stretches: Stretch[] = [];
  /** Where the newest lone reads ended: a ring of LONE_READS_NOTED (segment, end) pairs. */
  private readonly loneSegs: Array<Segment | null> = new Array<Segment | null>(LONE_READS_NOTED).fill(null);
  private readonly loneEnds: number[] = new Array<number>(LONE_READS_NOTED).fill(0);
  private loneAt = 0;

  constructor(private readonly handle: (seg: Segment) => Promise<FileHandle>) {}

  /** Bytes [off, off + len) of `seg`; shorter only when the file is. */
  async read(seg: Segment, off: number, len: number): Promise<Buffer> {
    const list = this.stretches;
    for (let i = 0; i < list.length; i++) {
      const s = list[i] as Stretch;
      if (s.seg !== seg || off < s.start || off + len > s.end) continue;
      if (i > 0) {
        list.splice(i, 1);
        list.unshift(s);
      }
      const buf = await s.bytes;
      const at = off - s.start;
      if (at + len <= buf.length) return buf.subarray(at, at + len);
      break; // the stretch came back short: read the record on its own
    }
    if (len >= READ_AHEAD_BYTES) return readFully(await this.handle(seg), off, len);
    const stretch = this.continues(seg, off) ? READ_AHEAD_BYTES : RANDOM_READ_BYTES;
    const end = Math.max(off + len, Math.min(off + stretch, seg.size));
    const s: Stretch = { seg, start: off, end, bytes: this.handle(seg).then((fh) => readFully(fh, off, end - off)), loaded: null };
    void s.bytes.then((b) => (s.loaded = b), () => {});
    // A failed read is not kept: the next reader tries again (and gets the error itself).
    s.bytes.catch(() => this.drop((x) => x === s));
    list.unshift(s);
    if (list.length > READ_AHEAD_WINDOWS) list.pop();
    const buf = await s.bytes;
    return buf.subarray(0, Math.min(len, buf.length));
  }

  /** Does a read at `off` start inside a stretch of `seg`, or where one or a lone read ends (a replay going on)? */
  private continues(seg: Segment, off: number): boolean {
    for (const s of this.stretches) if (s.seg === seg && off >= s.start && off <= s.end) return true;
    const segs = this.loneSegs;
    for (let i = 0; i < segs.length; i++) if (segs[i] === seg && this.loneEnds[i] === off) return true;
    return false;
  }

  /**
   * Did one of the newest lone reads of `seg` end inside [from, to)? A read from an anchor over
   * that stretch would most likely continue it (a replay), which read-ahead serves better.
   */
  loneEndWithin(seg: Segment, from: number, to: number): boolean {
    const segs = this.loneSegs;
    for (let i = 0; i < segs.length; i++) {
      const end = this.loneEnds[i] as number;
      if (segs[i] === seg && end >= from && end < to) return true;
    }
    return false;
  }

  /**
   * Is a read of bytes [off, off + len) of `seg` a lone one: no stretch holds them or is bringing
   * them in, and it does not continue a read made before? Then the reader may make it on its own
   * (see `noteLoneRead`) instead of through `read`.
   */
  alone(seg: Segment, off: number, len: number): boolean {
    if (len >= READ_AHEAD_BYTES) return false;
    for (const s of this.stretches) if (s.seg === seg && off >= s.start && off + len <= s.end) return false;
    return !this.continues(seg, off);
  }

  /** A lone read of `seg` ending at `end` was made outside: a read starting there continues it. */
  noteLoneRead(seg: Segment, end: number): void {
    const i = this.loneAt;
    this.loneSegs[i] = seg;
    this.loneEnds[i] = end;
    this.loneAt = i + 1 === LONE_READS_NOTED ? 0 : i + 1;
  }

  /**
   * Bytes [off, off + len) of `seg` when a stretch already read holds all of them, else null (then
   * `read`). A stretch peeked becomes the most recently used, as one read does.
   */
  peek(seg: Segment, off: number, len: number): Buffer | null {
    const list = this.stretches;
    for (let i = 0; i < list.length; i++) {
      const s = list[i] as Stretch;
      const b = s.loaded;
      if (b === null || s.seg !== seg || off < s.start || off + len > s.start + b.length) continue;
      if (i > 0) {
        list.splice(i, 1);
        list.unshift(s);
      }
      const at = off - s.start;
      return b.subarray(at, at + len);
    }
    return null;
  }

  /** Forget a segment's stretches (it is being unlinked). */
  forget(seg: Segment): void {
    this.drop((s) => s.seg === seg);
    for (let i = 0; i < LONE_READS_NOTED; i++) if (this.loneSegs[i] === seg) this.loneSegs[i] = null;
  }

  clear(): void {
    this.stretches = [];
    this.loneSegs.fill(null);
  }

  private drop(which: (s: Stretch) => boolean): void {
    this.stretches = this.stretches.filter((s) => !which(s));
  }
}
