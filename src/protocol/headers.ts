/**
 * NATS header blocks (ADR-4): `NATS/1.0[ <status>[ <description>]]\r\n` then `Key: Value\r\n` lines
 * and a blank line. Keys keep their case as sent; lookups here are case-sensitive first, then
 * case-insensitive, which is how clients read them.
 */
export interface HeaderBlock {
  /** Status code (0 when none), e.g. 503, 404, 408, 409. */
  status: number;
  description: string;
  /** Header lines in order; a key may repeat. */
  entries: Array<[string, string]>;
}

const PREFIX = "NATS/1.0";

/** Parse a header block; null when it does not start with `NATS/1.0`. */
export function parseHeaders(block: Buffer | null): HeaderBlock | null {
  if (block === null || block.length < PREFIX.length) return null;
  const text = block.toString("latin1");
  if (!text.startsWith(PREFIX)) return null;
  const lines = text.split("\r\n");
  const first = (lines[0] ?? "").slice(PREFIX.length).trim();
  let status = 0;
  let description = "";
  if (first.length > 0) {
    const sp = first.indexOf(" ");
    status = Number(sp < 0 ? first : first.slice(0, sp)) || 0;
    description = sp < 0 ? "" : first.slice(sp + 1).trim();
  }
  const entries: Array<[string, string]> = [];
  for (let i = 1; i < lines.length; i++) {
    const l = lines[i] as string;
    if (l === "") continue;
    const c = l.indexOf(":");
    if (c <= 0) continue;
    entries.push([l.slice(0, c).trim(), l.slice(c + 1).trim()]);
  }
  return { status, description, entries };
}

/** First value of `key` (exact case first, then any case). */
export function headerValue(h: HeaderBlock | null, key: string): string | undefined {
  if (h === null) return undefined;
  for (const [k, v] of h.entries) if (k === key) return v;
  const lower = key.toLowerCase();
  for (const [k, v] of h.entries) if (k.toLowerCase() === lower) return v;
  return undefined;
}

/** Encode a header block. */
export function encodeHeaders(entries: Array<[string, string]>, status = 0, description = ""): Buffer {
  let s = PREFIX;
  if (status > 0) s += ` ${status}${description === "" ? "" : ` ${description}`}`;
  s += "\r\n";
  for (const [k, v] of entries) s += `${k}: ${v}\r\n`;
  s += "\r\n";
  return Buffer.from(s, "latin1");
}
