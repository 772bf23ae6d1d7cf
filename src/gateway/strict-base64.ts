/**
 * Strict base64 checks for what clients send the gateway. `Buffer.from(s, "base64")` skips any
 * character outside the alphabet and accepts either alphabet, missing padding and stray bits, so
 * `"!!!"` decodes to nothing and `"aGk!"` to "hi": a payload the client did not mean is stored
 * without a word. These scans run before decoding; they allocate nothing.
 */

/** Value of each ASCII code in the standard alphabet (RFC 4648 §4), -1 outside it. */
const STD = alphabet("+/");
/** The same for the URL and filename safe alphabet (RFC 4648 §5). */
const URL_SAFE = alphabet("-_");
const PAD = 0x3d; // "="

function alphabet(last2: string): Int8Array {
  const t = new Int8Array(128).fill(-1);
  const chars = `ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789${last2}`;
  for (let i = 0; i < chars.length; i++) t[chars.charCodeAt(i)] = i;
  return t;
}

/**
 * Is `s` base64 exactly as RFC 4648 §4 writes it: the standard alphabet, no whitespace or line
 * breaks (§3.1, §3.3: characters outside the alphabet are rejected), padded to a multiple of four
 * with `=` (§3.2), and the bits past the last byte zero (§3.5), so each byte string has exactly
 * one encoding. The empty string is valid (no bytes).
 */
export function isStrictBase64(s: string): boolean {
  return check(s, STD, true);
}

/**
 * Is `s` base64url (RFC 4648 §5) without padding, as cuebus writes its own tokens: URL-safe
 * alphabet, no `=`, no whitespace, zero bits past the last byte, and not a length no encoder
 * writes (one character left over).
 */
export function isStrictBase64Url(s: string): boolean {
  return check(s, URL_SAFE, false);
}

function check(s: string, table: Int8Array, padded: boolean): boolean {
  const n = s.length;
  let end = n;
  if (padded) {
    if (n % 4 !== 0) return false;
    if (n > 0 && s.charCodeAt(n - 1) === PAD) end--;
    if (end < n && end > 0 && s.charCodeAt(end - 1) === PAD) end--;
  } else if (n % 4 === 1) {
    return false;
  }
  let last = 0;
  for (let i = 0; i < end; i++) {
    const c = s.charCodeAt(i);
    const v = c < 128 ? (table[c] as number) : -1;
    if (v < 0) return false;
    last = v;
  }
  // A final group of two characters holds one byte (4 bits left over), of three two bytes (2 bits).
  const rest = end % 4;
  if (rest === 1) return false;
  if (rest === 2) return (last & 0x0f) === 0;
  if (rest === 3) return (last & 0x03) === 0;
  return true;
}
