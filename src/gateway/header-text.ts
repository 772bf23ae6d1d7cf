import { isUtf8 } from "node:buffer";

/**
 * NATS header blocks are bytes; `parseHeaders` and `encodeHeaders` hold them as strings of one
 * char per byte (Latin-1), which is also how Node hands over HTTP header values. Text that goes
 * into a header from JSON, or out of one into JSON, is converted here so UTF-8 survives both ways
 * (nats.js writes and reads header values as UTF-8). ASCII, nearly every header, is returned as
 * it is after one scan, without allocating.
 */

function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return false;
  return true;
}

/** Text as a header value: its UTF-8 bytes, one char each. */
export function textToHeader(text: string): string {
  return isAscii(text) ? text : Buffer.from(text, "utf8").toString("latin1");
}

/**
 * A header value (one char a byte) as text: its bytes read as UTF-8 when they are UTF-8, else
 * as Latin-1 (what an HTTP client sending raw Latin-1 meant), so nothing turns into U+FFFD.
 */
export function headerToText(value: string): string {
  if (isAscii(value)) return value;
  const bytes = Buffer.from(value, "latin1");
  return isUtf8(bytes) ? bytes.toString("utf8") : value;
}
