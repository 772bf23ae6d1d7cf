import { parseJsonLimited } from "../../util/json-depth.js";

/**
 * A JSON number as it was written. nats-server decodes integer fields from the literal text with
 * Go's strconv: `1.0`, `1e3` and `9223372036854775808` are refused where a JS number would hold
 * 1, 1000 and 2^63 and could no longer tell them apart.
 */
export class JsonNumber {
  constructor(readonly text: string) {}
}

/** A JSON object as its members in order, duplicates kept (Go decodes each in turn; the last wins). */
export class JsonObject {
  constructor(readonly members: ReadonlyArray<readonly [string, JsonValue]>) {}
}

/** A parsed JSON value whose numbers keep their text. */
export type JsonValue = null | boolean | string | JsonNumber | JsonObject | JsonValue[];

/** The answer of `parseJsonExact`: the value, or the reason it is not JSON. */
export type ExactJsonResult = { ok: true; value: JsonValue } | { ok: false; reason: string };

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * Parse a request body keeping number literals and member order. The body is first checked by
 * `parseJsonLimited` (nesting depth, then syntax, with the parser's reason), so the reader below
 * only ever sees well-formed JSON nested at most MAX_JSON_DEPTH levels, and may recurse.
 */
export function parseJsonExact(body: Uint8Array): ExactJsonResult {
  const checked = parseJsonLimited(body);
  if (!checked.ok) return checked;
  const text = Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString("utf8");
  const reader = new Reader(text);
  return { ok: true, value: reader.value() };
}

/** Reads JSON already known to be well formed. */
class Reader {
  private pos = 0;

  constructor(private readonly text: string) {}

  value(): JsonValue {
    this.skipSpace();
    const c = this.text[this.pos];
    switch (c) {
      case "{":
        return this.object();
      case "[":
        return this.array();
      case '"':
        return this.string();
      case "t":
        this.pos += 4;
        return true;
      case "f":
        this.pos += 5;
        return false;
      case "n":
        this.pos += 4;
        return null;
      default:
        return this.number();
    }
  }

  private object(): JsonObject {
    const members: Array<[string, JsonValue]> = [];
    this.pos++; // {
    this.skipSpace();
    if (this.text[this.pos] === "}") {
      this.pos++;
      return new JsonObject(members);
    }
    for (;;) {
      this.skipSpace();
      const key = this.string();
      this.skipSpace();
      this.pos++; // :
      members.push([key, this.value()]);
      this.skipSpace();
      if (this.text[this.pos++] === "}") return new JsonObject(members);
    }
  }

  private array(): JsonValue[] {
    const items: JsonValue[] = [];
    this.pos++; // [
    this.skipSpace();
    if (this.text[this.pos] === "]") {
      this.pos++;
      return items;
    }
    for (;;) {
      items.push(this.value());
      this.skipSpace();
      if (this.text[this.pos++] === "]") return items;
    }
  }

  private string(): string {
    const start = this.pos;
    let i = start + 1;
    let escaped = false;
    for (;;) {
      const c = this.text.charCodeAt(i);
      if (c === BACKSLASH) {
        escaped = true;
        i += 2;
      } else if (c === QUOTE) break;
      else i++;
    }
    this.pos = i + 1;
    return escaped ? (JSON.parse(this.text.slice(start, i + 1)) as string) : this.text.slice(start + 1, i);
  }

  private number(): JsonNumber {
    const start = this.pos;
    while (this.pos < this.text.length && "+-0123456789.eE".includes(this.text[this.pos] as string)) this.pos++;
    return new JsonNumber(this.text.slice(start, this.pos));
  }

  private skipSpace(): void {
    while (this.pos < this.text.length) {
      const c = this.text.charCodeAt(this.pos);
      if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) return;
      this.pos++;
    }
  }
}
