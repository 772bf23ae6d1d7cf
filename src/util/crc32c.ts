/**
 * CRC-32C (Castagnoli, polynomial 0x82F63B78, reflected), as used by iSCSI, ext4 and many logs.
 * Table-driven, slicing by 8: eight bytes per step through eight 256-entry tables.
 */
const POLY = 0x82f63b78;
const T = new Int32Array(8 * 256);
for (let i = 0; i < 256; i++) {
  let c = i;
  for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
  T[i] = c;
}
for (let i = 0; i < 256; i++) {
  for (let t = 1; t < 8; t++) {
    const prev = T[(t - 1) * 256 + i] as number;
    T[t * 256 + i] = (prev >>> 8) ^ (T[prev & 0xff] as number);
  }
}

/** Is this machine little-endian (words read through a Uint32Array hold bytes in file order)? */
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
/** Below this many bytes the word path is not worth its set-up. */
const WORD_PATH_MIN_BYTES = 32;

/**
 * Buffers up to this size keep their word view for the next call (records are cut from shared
 * slabs, checksummed one after another); a larger one (a whole index file) gets a view of its own
 * that is not kept, so the module never holds a big buffer alive after the call.
 */
const KEPT_VIEW_MAX_BYTES = 4 * 1024 * 1024;

/** A Uint32Array over the whole of the last (small enough) ArrayBuffer seen. */
let wordsOf: ArrayBufferLike | null = null;
let words: Uint32Array<ArrayBufferLike> = new Uint32Array(0);

/**
 * One slicing-by-8 step: the CRC after eight bytes, given the low word already xor-ed with the CRC
 * so far and the high word (small enough for V8 to inline into both loops).
 */
function step8(lo: number, hi: number): number {
  return (
    (T[1792 + (lo & 0xff)] as number) ^
    (T[1536 + ((lo >>> 8) & 0xff)] as number) ^
    (T[1280 + ((lo >>> 16) & 0xff)] as number) ^
    (T[1024 + (lo >>> 24)] as number) ^
    (T[768 + (hi & 0xff)] as number) ^
    (T[512 + ((hi >>> 8) & 0xff)] as number) ^
    (T[256 + ((hi >>> 16) & 0xff)] as number) ^
    (T[hi >>> 24] as number)
  );
}

/** CRC-32C of `buf[start, end)`, continuing from `crc` (0 to start). */
export function crc32c(buf: Uint8Array, start = 0, end = buf.length, crc = 0): number {
  let c = ~crc;
  let i = start;
  const at = buf.byteOffset + start;
  if (LITTLE_ENDIAN && end - start >= WORD_PATH_MIN_BYTES && (at & 3) === 0) {
    // Aligned: two 32-bit loads per eight bytes instead of eight byte loads and shifts.
    let w = words;
    if (buf.buffer !== wordsOf) {
      w = new Uint32Array(buf.buffer, 0, buf.buffer.byteLength >>> 2);
      if (buf.buffer.byteLength <= KEPT_VIEW_MAX_BYTES) {
        wordsOf = buf.buffer;
        words = w;
      }
    }
    let k = at >>> 2;
    const stop = k + ((end - start) >>> 3) * 2;
    for (; k < stop; k += 2) {
      const lo = c ^ (w[k] as number);
      const hi = w[k + 1] as number;
      c = step8(lo, hi);
    }
    i = start + (((end - start) >>> 3) << 3);
  }
  for (; i + 8 <= end; i += 8) {
    const lo = c ^ ((buf[i] as number) | ((buf[i + 1] as number) << 8) | ((buf[i + 2] as number) << 16) | ((buf[i + 3] as number) << 24));
    const hi = (buf[i + 4] as number) | ((buf[i + 5] as number) << 8) | ((buf[i + 6] as number) << 16) | ((buf[i + 7] as number) << 24);
    c = step8(lo, hi);
  }
  for (; i < end; i++) c = (c >>> 8) ^ (T[(c ^ (buf[i] as number)) & 0xff] as number);
  return ~c >>> 0;
}
