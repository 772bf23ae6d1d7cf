import { CHUNK_MSGS, type Chunk } from "../index/chunk.js";
import { RECORD_OVERHEAD_BYTES, RecordType } from "./record.js";

/**
 * Sparse record places kept in memory for chunks whose arrays are paged out, so that a direct get
 * of an old message is one read (of the records from an anchor on) instead of two (its page row,
 * then its record): each read from the page cache is a system call, 2-5 us on this machine, most
 * of what a random get cost.
 *
 * Per group of ANCHOR_SLOTS slots, the place (segment number * 2^32 + offset) of the record of the
 * group's first message held when the anchors were taken; -1 for a group holding none. Records of
 * one chunk are written in sequence order, so the record of a later slot of the group lies after
 * that place: the reader reads from there (at most ANCHOR_READ_MAX_BYTES, to the next anchor when
 * it is in the same segment) and walks the record headers to the one with the sequence wanted,
 * checked by its CRC as every record read is. A walk that does not find it (a record moved, a
 * group across two segments, records larger than the read) falls back to the page row.
 *
 * Taken when a chunk's arrays are paged out, dropped when a place in the chunk changes: 8 bytes per
 * ANCHOR_SLOTS messages (0.125 B a message, 1.25 MB for 10 M).
 */
export const ANCHOR_SLOTS = 64;
/** Most bytes read from an anchor for one get (a group of 64 records of 250 B). */
export const ANCHOR_READ_MAX_BYTES = 16 * 1024;
const GROUPS = CHUNK_MSGS / ANCHOR_SLOTS;
const SEG_SHIFT = 0x1_0000_0000;

/** Take the anchors of `c` from its record places (`loc`: 3 entries a slot; the arrays in memory). */
export function takeAnchors(c: Chunk, loc: Uint32Array): void {
  if (loc.length === 0) return;
  const anchors = c.anchors ?? new Float64Array(GROUPS);
  for (let g = 0; g < GROUPS; g++) {
    let at = -1;
    const end = Math.min((g + 1) * ANCHOR_SLOTS, loc.length / 3);
    for (let slot = g * ANCHOR_SLOTS; slot < end; slot++) {
      if (!c.has(slot)) continue;
      at = (loc[slot * 3] as number) * SEG_SHIFT + (loc[slot * 3 + 1] as number);
      break;
    }
    anchors[g] = at;
  }
  c.anchors = anchors;
}

/**
 * Where to read for `slot` of `c` from its anchor: into `out`, [segment number, offset, bytes];
 * false when the chunk has no anchor for it.
 */
export function anchoredStretch(c: Chunk, slot: number, out: Float64Array): boolean {
  const anchors = c.anchors;
  if (anchors === null) return false;
  const g = Math.floor(slot / ANCHOR_SLOTS);
  const at = anchors[g] as number;
  if (at < 0) return false;
  const seg = Math.floor(at / SEG_SHIFT);
  const off = at - seg * SEG_SHIFT;
  let bytes = ANCHOR_READ_MAX_BYTES;
  for (let n = g + 1; n < GROUPS; n++) {
    const next = anchors[n] as number;
    if (next < 0) continue;
    if (Math.floor(next / SEG_SHIFT) === seg && next - at < bytes) bytes = next - at;
    break;
  }
  out[0] = seg;
  out[1] = off;
  out[2] = bytes;
  return true;
}

/**
 * The offset in `buf` (bytes [0, got) read from an anchor) of the message record of `seq`, or -1
 * when the records read do not hold it whole. Only the headers are looked at: the caller decodes
 * the record found, checking its CRC.
 */
export function findRecord(buf: Buffer, got: number, seq: number): number {
  for (let p = 0; p + RECORD_OVERHEAD_BYTES <= got; ) {
    const size = buf.readUInt32LE(p) + 4;
    if (size < RECORD_OVERHEAD_BYTES || p + size > got) return -1;
    if (buf[p + 4] === RecordType.MSG) {
      const s = buf.readUInt32LE(p + 5) + buf.readUInt32LE(p + 9) * SEG_SHIFT;
      if (s === seq) return p;
      if (s > seq) return -1;
    }
    p += size;
  }
  return -1;
}
