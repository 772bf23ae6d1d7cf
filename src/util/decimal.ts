/**
 * Write a non-negative integer (below 2^53) in decimal into `buf` at `at`; returns the offset after
 * it. For hot paths: no string is made and no native call is crossed.
 */
export function writeDecimal(buf: Uint8Array, at: number, v: number): number {
  if (v < 10) {
    buf[at] = 48 + v;
    return at + 1;
  }
  let digits = 0;
  for (let x = v; x > 0; x = Math.floor(x / 10)) digits++;
  const end = at + digits;
  let o = end;
  for (let x = v; x > 0; x = Math.floor(x / 10)) buf[--o] = 48 + (x % 10);
  return end;
}

/** Bytes the longest integer `writeDecimal` writes takes (2^53 has 16 digits). */
export const MAX_DECIMAL_BYTES = 16;
