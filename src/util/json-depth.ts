/**
 * Deepest nesting of arrays and objects a JSON request body may have: a `$JS.API` request, an
 * HTTP management body, a CONNECT. No request cuebus understands nests past four levels (a
 * consumer create's `config.metadata`); the bound is well above that and well below where
 * JSON.stringify and structuredClone (both recursive) run out of stack (about 10,000 levels on
 * Node 20). Go's encoding/json, which nats-server uses, stops at 10,000.
 */
export const MAX_JSON_DEPTH = 64;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;

/**
 * Does `text` (JSON, as UTF-8 bytes) nest arrays and objects deeper than `maxDepth`? One pass over
 * the bytes, skipping string contents, before anything is parsed: a body that is too deep is refused
 * without building it. Malformed JSON is not judged here (the parser refuses it).
 */
export function jsonTooDeep(text: Uint8Array, maxDepth = MAX_JSON_DEPTH): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as number;
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) inString = true;
    else if (c === OPEN_BRACKET || c === OPEN_BRACE) {
      if (++depth > maxDepth) return true;
    } else if (c === CLOSE_BRACKET || c === CLOSE_BRACE) depth--;
  }
  return false;
}

/** The answer of `parseJsonLimited`: the value, or why it was refused. */
export type JsonParseResult = { ok: true; value: unknown } | { ok: false; reason: string };

/**
 * Parse a JSON body after checking its nesting depth. `reason` is the parser's own message, or
 * names the depth limit.
 */
export function parseJsonLimited(body: Uint8Array, maxDepth = MAX_JSON_DEPTH): JsonParseResult {
  if (jsonTooDeep(body, maxDepth)) return { ok: false, reason: `nesting deeper than ${maxDepth} levels` };
  try {
    return { ok: true, value: JSON.parse(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString("utf8")) as unknown };
  } catch (err) {
    return { ok: false, reason: err instanceof Error ? err.message : String(err) };
  }
}
