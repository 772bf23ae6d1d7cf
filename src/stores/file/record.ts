import { crc32c } from "../../util/crc32c.js";
import { sharedSlab, type Slab } from "../../util/slab.js";

/**
 * One record of a file-store segment. Little endian:
 *
 * | offset | size | field                                                    |
 * |--------|------|----------------------------------------------------------|
 * | 0      | 4    | `len`: bytes after this field (type through crc)         |
 * | 4      | 1    | type: 1 message, 2 delete, 3 first-sequence, 4 batch     |
 * | 5      | 8    | sequence (u64)                                           |
 * | 13     | 8    | time, ns since the epoch (i64)                           |
 * | 21     | 2    | subject length S                                         |
 * | 23     | 4    | header length H (0: no headers)                          |
 * | 27     | 4    | payload length D                                         |
 * | 31     | S    | subject (UTF-8)                                          |
 * | 31+S   | H    | header block                                             |
 * | 31+S+H | D    | payload                                                  |
 * | end-4  | 4    | CRC-32C of bytes [4, end-4)                              |
 *
 * A delete record names the sequence removed; a first-sequence record says every sequence below
 * its own is gone (purge, limits), and carries the last sequence forward across an empty stream.
 * A batch record opens a batch written while another was still on its way to the disk (and the
 * batch after such a one); in the sequence field it holds the offset in its segment below which
 * every byte was durable when the batch was written. Recovery uses it to tell a write that never
 * finished (bytes after it missing while a later batch landed) from damage to durable bytes.
 */
export const RecordType = { MSG: 1, DELETE: 2, FIRST: 3, BATCH: 4 } as const;
export type RecordTypeValue = (typeof RecordType)[keyof typeof RecordType];

/** Fixed bytes of a record besides subject, headers and payload. */
export const RECORD_OVERHEAD_BYTES = 35;
/** Largest record a reader accepts: bounds the allocation a corrupt length could ask for. */
export const MAX_RECORD_BYTES = 64 * 1024 * 1024;
/** Longest subject a record can hold (u16 length). */
export const MAX_SUBJECT_BYTES = 0xffff;

/** A decoded record. */
export interface DecodedRecord {
  type: RecordTypeValue;
  seq: number;
  timeNs: bigint;
  subject: string;
  headers: Buffer | null;
  data: Buffer;
  /** Total bytes of the record, length field included. */
  size: number;
}

/** Subjects up to this long are checked for ASCII and copied by a loop (cheaper than a native call). */
const SMALL_SUBJECT_CHARS = 64;

/** The last time encoded, as the two u32 halves written (nowNs hands out one BigInt per millisecond). */
let lastTime = -1n;
let lastTimeLo = 0;
let lastTimeHi = 0;

/**
 * Encode one record, into a piece of `slab`: a record kept after it is written (a message in the
 * tail cache) comes from its store's own slab, one written and dropped from the shared one.
 */
export function encodeRecord(type: RecordTypeValue, seq: number, timeNs: bigint, subject: string, headers: Buffer | null, data: Buffer, slab: Slab = sharedSlab): Buffer {
  const ascii = subject.length <= SMALL_SUBJECT_CHARS && isAscii(subject);
  const s = ascii ? subject.length : Buffer.byteLength(subject);
  if (s > MAX_SUBJECT_BYTES) throw new RangeError(`subject longer than ${MAX_SUBJECT_BYTES} bytes`);
  const h = headers?.length ?? 0;
  const total = RECORD_OVERHEAD_BYTES + s + h + data.length;
  if (total > MAX_RECORD_BYTES) throw new RangeError(`record larger than ${MAX_RECORD_BYTES} bytes`);
  const b = slab.alloc(total);
  const v = slab.lastSlabView();
  const at = b.byteOffset - v.byteOffset;
  if (timeNs !== lastTime) {
    lastTime = timeNs;
    lastTimeLo = Number(BigInt.asUintN(32, timeNs));
    lastTimeHi = Number(BigInt.asIntN(32, timeNs >> 32n));
  }
  v.setUint32(at, total - 4, true);
  b[4] = type;
  // u64 as two u32 halves: sequences stay below 2^53, and no BigInt is made per record.
  v.setUint32(at + 5, seq >>> 0, true);
  v.setUint32(at + 9, Math.floor(seq / 0x1_0000_0000), true);
  v.setUint32(at + 13, lastTimeLo, true);
  v.setInt32(at + 17, lastTimeHi, true);
  v.setUint16(at + 21, s, true);
  v.setUint32(at + 23, h, true);
  v.setUint32(at + 27, data.length, true);
  let o = 31;
  if (ascii) for (let i = 0; i < s; i++) b[o++] = subject.charCodeAt(i);
  else o += b.write(subject, 31, "utf8");
  if (headers !== null) o += headers.copy(b, o);
  o += data.copy(b, o);
  v.setUint32(at + o, crc32c(b, 4, o), true);
  return b;
}

function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return false;
  return true;
}

/**
 * Decode the record at `pos`, or return why it cannot be: `"short"` when the buffer ends inside it
 * (a torn tail), `"corrupt"` when its length, fields or checksum are wrong.
 */
export function decodeRecord(buf: Buffer, pos: number, copy = true): DecodedRecord | "short" | "corrupt" {
  if (pos + 4 > buf.length) return "short";
  const len = buf.readUInt32LE(pos);
  if (len < RECORD_OVERHEAD_BYTES - 4 || len > MAX_RECORD_BYTES) return "corrupt";
  const end = pos + 4 + len;
  if (end > buf.length) return "short";
  const type = buf[pos + 4];
  if (type !== RecordType.MSG && type !== RecordType.DELETE && type !== RecordType.FIRST && type !== RecordType.BATCH) return "corrupt";
  const s = buf.readUInt16LE(pos + 21);
  const h = buf.readUInt32LE(pos + 23);
  const d = buf.readUInt32LE(pos + 27);
  if (RECORD_OVERHEAD_BYTES + s + h + d !== len + 4) return "corrupt";
  if (crc32c(buf, pos + 4, end - 4) !== buf.readUInt32LE(end - 4)) return "corrupt";
  const seq = buf.readUInt32LE(pos + 5) + buf.readUInt32LE(pos + 9) * 0x1_0000_0000;
  const o = pos + 31;
  return {
    type,
    seq,
    timeNs: decodedTime(buf.readUInt32LE(pos + 13), buf.readInt32LE(pos + 17)),
    subject: decodedSubject(buf, o, o + s),
    // With `copy`, the result does not pin `buf` (a whole segment read at recovery).
    headers: h === 0 ? null : copy ? Buffer.from(buf.subarray(o + s, o + s + h)) : buf.subarray(o + s, o + s + h),
    data: copy ? Buffer.from(buf.subarray(o + s + h, o + s + h + d)) : buf.subarray(o + s + h, o + s + h + d),
    size: len + 4,
  };
}

/** The last time decoded, as its two halves: records written within one millisecond share one BigInt. */
let decodedLo = -1;
let decodedHi = 0;
let decodedNs = 0n;

function decodedTime(lo: number, hi: number): bigint {
  if (lo !== decodedLo || hi !== decodedHi) {
    decodedLo = lo;
    decodedHi = hi;
    decodedNs = (BigInt(hi) << 32n) | BigInt(lo);
  }
  return decodedNs;
}

/** The last subject decoded and its bytes: a run of records on one subject shares one string. */
let lastSubject = "";
let lastSubjectBytes: Buffer = Buffer.alloc(0);

function decodedSubject(buf: Buffer, start: number, end: number): string {
  const n = end - start;
  if (n === lastSubjectBytes.length) {
    let same = true;
    for (let i = 0; i < n; i++) {
      if (buf[start + i] !== lastSubjectBytes[i]) {
        same = false;
        break;
      }
    }
    if (same) return lastSubject;
  }
  lastSubject = buf.toString("utf8", start, end);
  lastSubjectBytes = Buffer.from(buf.subarray(start, end));
  return lastSubject;
}

/**
 * A message record this process encoded itself (no checksum needed): views into it, no copies. The
 * caller's index already holds the sequence, time and subject, so they are not decoded again.
 */
export function viewRecord(rec: Buffer, seq: number, timeNs: bigint, subject: string): DecodedRecord {
  const s = rec.readUInt16LE(21);
  const h = rec.readUInt32LE(23);
  const d = rec.readUInt32LE(27);
  const o = 31 + s;
  return {
    type: RecordType.MSG,
    seq,
    timeNs,
    subject,
    headers: h === 0 ? null : rec.subarray(o, o + h),
    data: rec.subarray(o + h, o + h + d),
    size: rec.length,
  };
}
