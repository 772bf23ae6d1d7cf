import { endianness } from "node:os";
import { crc32c } from "../../util/crc32c.js";
import { CHUNK_BITS_BYTES, CHUNK_MSGS, Chunk, newArrays } from "../index/chunk.js";
import type { MsgIndex } from "../index/msg-index.js";
import { NO_SEGMENT } from "./segment-io.js";
import type { Segment } from "./segment-io.js";

/**
 * The file store's saved index, beside its segments: what start-up loads instead of reading every
 * record. Written at a clean stop and after a start-up that had to read records, always whole
 * (temp file, fsync, rename). Little endian:
 *
 * | size | field                                                                   |
 * |------|-------------------------------------------------------------------------|
 * | 4    | magic "CBIX"                                                            |
 * | 4    | version (1)                                                             |
 * | 8    | body length (f64)                                                       |
 * | 4    | CRC-32C of the body                                                     |
 * | 4    | reserved (0)                                                            |
 * | body | last sequence (f64), last time (i64)                                    |
 * |      | segments: count (u32); each: first sequence, size, last sequence (f64)  |
 * |      | subjects: count (u32); each: id (u32), count, first, last (f64),        |
 * |      |   name length (u32), name (UTF-8)                                       |
 * |      | chunks: count (u32); each: number (f64), messages (u32), bytes (f64),   |
 * |      |   newest time (i64), flags (u32: 1 paged, 2 every slot held), when      |
 * |      |   paged its page's CRC-32C (u32), unless every slot is held its         |
 * |      |   liveness bits (512 bytes), its subjects: count (u32), each id and     |
 * |      |   messages (u32, u32); when not paged its arrays: slots S (u32), S      |
 * |      |   subject ids (u32), S sizes (u32), S times (i64), S segment positions  |
 * |      |   in the list above (u32, 0xffffffff: none), S offsets, S lengths (u32) |
 *
 * A paged chunk's arrays are in its page (see index-pages.ts), written and fsynced before any index
 * file names it; the index file holds only what every chunk keeps in memory. So its size grows
 * with the number of chunks (about 60 bytes each for a stream of few subjects), not with the
 * messages, and a start reads it in milliseconds.
 *
 * The saved state holds every record up to the end of the last listed segment (its `size`): a
 * start-up after a crash reads only what lies after it. The file is trusted only when its length,
 * checksum and version check out and the segments on disk agree with it (see FileStore.recover).
 */
export const INDEX_FILE_NAME = "index.snap";

const MAGIC = 0x58494243;
const VERSION = 2;
const PAGED = 1;
const ALL_HELD = 2;
const HEADER_BYTES = 24;
const NONE = 0xffffffff;
/** The index file's CRC-32C (crc32c keeps no view of a buffer this large, so the file's bytes can go). */
function checksum(b: Uint8Array, start: number, end: number): number {
  return crc32c(b, start, end);
}

/** A segment as the index file lists it. */
export interface SavedSegment {
  firstSeq: number;
  size: number;
  lastSeq: number;
}

/** An index file read back and checked: its segments, and how to put its state into an index. */
export interface SavedIndex {
  lastSeq: number;
  lastTimeNs: bigint;
  segments: SavedSegment[];
  /** Fill `index` from the file; `segs[i]` is the segment listed i-th. */
  apply(index: MsgIndex, segs: Segment[]): void;
}

/** Typed arrays are saved as their bytes: only on a little-endian host (the file says little endian). */
export const canSaveIndex = (): boolean => endianness() === "LE";

class Out {
  readonly parts: Buffer[] = [];
  bytes = 0;
  private cur = Buffer.allocUnsafe(64 * 1024);
  private at = 0;

  private room(n: number): void {
    if (this.at + n <= this.cur.length) return;
    this.flush();
    this.cur = Buffer.allocUnsafe(Math.max(64 * 1024, n));
  }

  flush(): void {
    if (this.at > 0) this.push(this.cur.subarray(0, this.at));
    // What is left of the current buffer is used on (a fresh one per flush cost 64 KiB per chunk).
    this.cur = this.cur.length - this.at >= 4096 ? this.cur.subarray(this.at) : Buffer.allocUnsafe(64 * 1024);
    this.at = 0;
  }

  /** Bytes copied in. */
  copy(v: Uint8Array): void {
    this.room(v.length);
    this.cur.set(v, this.at);
    this.at += v.length;
  }

  private push(b: Buffer): void {
    this.parts.push(b);
    this.bytes += b.length;
  }

  u32(v: number): void {
    this.room(4);
    this.at = this.cur.writeUInt32LE(v, this.at);
  }

  f64(v: number): void {
    this.room(8);
    this.at = this.cur.writeDoubleLE(v, this.at);
  }

  i64(v: bigint): void {
    this.room(8);
    this.at = this.cur.writeBigInt64LE(v, this.at);
  }

  /**
   * A string: its UTF-8 length (u32), then its bytes, written into the current buffer. (Written as
   * a part of its own, each subject cost a fresh 64 KiB buffer: a KV bucket with 1 M keys allocated
   * 64 GB per save and crawled.)
   */
  str(v: string): void {
    const n = Buffer.byteLength(v, "utf8");
    this.u32(n);
    this.room(n);
    this.at += this.cur.write(v, this.at, "utf8");
  }

  raw(a: ArrayBufferView): void {
    this.flush();
    this.push(Buffer.from(a.buffer, a.byteOffset, a.byteLength));
  }
}

/**
 * The bytes of an index file for this state: every listed segment up to where the batches started
 * in it end (`written`: once they are durable, the segments hold this state).
 */
export function encodeIndexFile(index: MsgIndex, segments: readonly Segment[]): Buffer {
  const o = new Out();
  o.f64(index.lastSeq);
  o.i64(index.lastTimeNs);
  o.u32(segments.length);
  const position = new Map<number, number>();
  segments.forEach((s, i) => {
    position.set(s.ord, i);
    o.f64(s.firstSeq);
    o.f64(s.written);
    o.f64(s.lastSeq);
  });
  const t = index.subjects;
  o.u32(t.size);
  for (const [subject, id] of t.entries()) {
    o.u32(id);
    o.f64(t.count(id));
    o.f64(t.first(id));
    o.f64(t.last(id));
    o.str(subject);
  }
  const chunks = index.heldChunks();
  o.u32(chunks.length);
  for (const c of chunks) {
    const paged = c.pageCrc !== -1;
    o.f64(c.n);
    o.u32(c.live);
    o.f64(c.bytes);
    o.i64(c.maxTimeNs);
    o.u32((paged ? PAGED : 0) | (c.full() ? ALL_HELD : 0));
    if (paged) o.u32(c.pageCrc);
    if (!c.full()) o.copy(c.bits);
    o.u32(c.subjects.size);
    for (const [id, k] of c.subjects) {
      o.u32(id);
      o.u32(k);
    }
    if (paged) continue;
    const a = c.arrays as NonNullable<Chunk["arrays"]>;
    const cap = a.size.length;
    o.u32(cap);
    o.raw(a.subj);
    o.raw(a.size);
    o.raw(a.time);
    const seg = new Uint32Array(cap);
    const off = new Uint32Array(cap);
    const len = new Uint32Array(cap);
    for (let slot = 0; slot < cap; slot++) {
      if (!c.has(slot)) continue;
      const ord = a.loc[slot * 3] as number;
      seg[slot] = ord === NO_SEGMENT ? NONE : (position.get(ord) ?? NONE);
      off[slot] = a.loc[slot * 3 + 1] as number;
      len[slot] = a.loc[slot * 3 + 2] as number;
    }
    o.raw(seg);
    o.raw(off);
    o.raw(len);
  }
  o.flush();
  // One copy of the state (the parts include views of the live arrays, which change after this).
  const file = Buffer.allocUnsafe(HEADER_BYTES + o.bytes);
  let at = HEADER_BYTES;
  for (const p of o.parts) at += p.copy(file, at);
  file.fill(0, 0, HEADER_BYTES);
  file.writeUInt32LE(MAGIC, 0);
  file.writeUInt32LE(VERSION, 4);
  file.writeDoubleLE(o.bytes, 8);
  file.writeUInt32LE(checksum(file, HEADER_BYTES, file.length), 16);
  return file;
}

class In {
  at = 0;
  constructor(private readonly b: Buffer) {}

  private need(n: number): void {
    if (this.at + n > this.b.length) throw new RangeError("index file ends inside a field");
  }

  u32(): number {
    this.need(4);
    const v = this.b.readUInt32LE(this.at);
    this.at += 4;
    return v;
  }

  f64(): number {
    this.need(8);
    const v = this.b.readDoubleLE(this.at);
    this.at += 8;
    return v;
  }

  i64(): bigint {
    this.need(8);
    const v = this.b.readBigInt64LE(this.at);
    this.at += 8;
    return v;
  }

  bytes(n: number): Buffer {
    this.need(n);
    const v = this.b.subarray(this.at, this.at + n);
    this.at += n;
    return v;
  }

  /** `n` elements of `size` bytes, copied into an aligned array buffer of their own. */
  array(n: number, size: number): ArrayBuffer {
    const src = this.bytes(n * size);
    const ab = new ArrayBuffer(n * size);
    new Uint8Array(ab).set(src);
    return ab;
  }
}

/** Read an index file's bytes back; a string says why they cannot be trusted. */
export function decodeIndexFile(buf: Buffer): SavedIndex | string {
  if (!canSaveIndex()) return "this host is not little endian";
  if (buf.length < HEADER_BYTES) return `shorter (${buf.length} bytes) than its header`;
  if (buf.readUInt32LE(0) !== MAGIC) return "not an index file (magic)";
  if (buf.readUInt32LE(4) !== VERSION) return `version ${buf.readUInt32LE(4)}, not ${VERSION}`;
  const bodyLen = buf.readDoubleLE(8);
  if (bodyLen !== buf.length - HEADER_BYTES) return `length ${buf.length - HEADER_BYTES}, header says ${bodyLen}`;
  const body = buf.subarray(HEADER_BYTES);
  if (checksum(body, 0, body.length) !== buf.readUInt32LE(16)) return "checksum mismatch";
  try {
    const r = new In(body);
    const lastSeq = r.f64();
    const lastTimeNs = r.i64();
    const segments: SavedSegment[] = [];
    for (let n = r.u32(), i = 0; i < n; i++) segments.push({ firstSeq: r.f64(), size: r.f64(), lastSeq: r.f64() });
    const subjects: Array<[number, string, number, number, number]> = [];
    for (let n = r.u32(), i = 0; i < n; i++) {
      const id = r.u32();
      const count = r.f64();
      const first = r.f64();
      const last = r.f64();
      subjects.push([id, r.bytes(r.u32()).toString("utf8"), count, first, last]);
    }
    const chunks: Array<{ c: Chunk; seg: Uint32Array | null }> = [];
    for (let n = r.u32(), i = 0; i < n; i++) {
      const c = new Chunk(r.f64(), 1, false);
      c.arrays = null;
      c.live = r.u32();
      c.bytes = r.f64();
      c.maxTimeNs = r.i64();
      const flags = r.u32();
      if ((flags & PAGED) !== 0) c.pageCrc = r.u32();
      if ((flags & ALL_HELD) !== 0) c.bits.fill(0xff);
      else c.bits.set(r.bytes(CHUNK_BITS_BYTES));
      for (let k = r.u32(), j = 0; j < k; j++) c.subjects.set(r.u32(), r.u32());
      if ((flags & PAGED) !== 0) {
        chunks.push({ c, seg: null });
        continue;
      }
      const cap = r.u32();
      if (cap > CHUNK_MSGS) throw new RangeError(`chunk of ${cap} slots`);
      const a = newArrays(cap, true);
      a.subj.set(new Uint32Array(r.array(cap, 4)));
      a.size.set(new Uint32Array(r.array(cap, 4)));
      a.time.set(new BigInt64Array(r.array(cap, 8)));
      const seg = new Uint32Array(r.array(cap, 4));
      const off = new Uint32Array(r.array(cap, 4));
      const len = new Uint32Array(r.array(cap, 4));
      for (let slot = 0; slot < cap; slot++) {
        a.loc[slot * 3 + 1] = off[slot] as number;
        a.loc[slot * 3 + 2] = len[slot] as number;
      }
      c.arrays = a;
      chunks.push({ c, seg });
    }
    if (r.at !== body.length) return "bytes after its last chunk";
    return {
      lastSeq,
      lastTimeNs,
      segments,
      apply(index, segs) {
        for (const [id, name, count, first, last] of subjects) index.subjects.restore(id, name, count, first, last);
        index.subjects.restored();
        for (const { c, seg } of chunks) {
          if (seg === null || c.arrays === null) continue;
          const loc = c.arrays.loc;
          for (let slot = 0; slot < seg.length; slot++) {
            const at = seg[slot] as number;
            loc[slot * 3] = at === NONE ? NO_SEGMENT : ((segs[at] as Segment | undefined)?.ord ?? NO_SEGMENT);
          }
        }
        index.adopt(
          chunks.map((x) => x.c),
          lastSeq,
          lastTimeNs,
        );
      },
    };
  } catch (err) {
    return `malformed: ${(err as Error).message}`;
  }
}
