/**
 * CRC-32C (Castagnoli, polynomial 0x82F63B78, reflected), as used by iSCSI, ext4 and many logs.
 * Table-driven, slicing by 4.
 */
const POLY = 0x82f63b78;
const T = new Int32Array(4 * 256);
for (let i = 0; i < 256; i++) {
  let c = i;
  for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
  T[i] = c;
}
for (let i = 0; i < 256; i++) {
  for (let t = 1; t < 4; t++) {
    const prev = T[(t - 1) * 256 + i] as number;
    T[t * 256 + i] = (prev >>> 8) ^ (T[prev & 0xff] as number);
  }
}

/** CRC-32C of `buf[start, end)`, continuing from `crc` (0 to start). */
export function crc32c(buf: Uint8Array, start = 0, end = buf.length, crc = 0): number {
  let c = ~crc;
  let i = start;
  for (; i + 4 <= end; i += 4) {
    c ^= (buf[i] as number) | ((buf[i + 1] as number) << 8) | ((buf[i + 2] as number) << 16) | ((buf[i + 3] as number) << 24);
    c =
      (T[768 + (c & 0xff)] as number) ^
      (T[512 + ((c >>> 8) & 0xff)] as number) ^
      (T[256 + ((c >>> 16) & 0xff)] as number) ^
      (T[(c >>> 24) & 0xff] as number);
  }
  for (; i < end; i++) c = (c >>> 8) ^ (T[(c ^ (buf[i] as number)) & 0xff] as number);
  return ~c >>> 0;
}
