/**
 * nats-server's configuration syntax (behaviour learned from `conf/lex.go` and `conf/parse.go`):
 * `key: value`, `key = value` and `key value`; blocks `{}`; arrays `[]` separated by commas or
 * newlines; `#` and `//` comments; double- and single-quoted strings; bare strings; integers and
 * floats; booleans (true/false, yes/no, on/off); `include <path>`; `$VAR` variables (an earlier key
 * in scope, else the environment).
 *
 * Values with a unit (`1MB`, `2m`, `500ms`) stay strings: what a unit means depends on the key, so
 * the options layer converts them (`toBytes`, `toDurationMs`).
 */

/** A parsed value. */
export type ConfValue = string | number | boolean | ConfValue[] | ConfMap;
/** A block of keys. */
export interface ConfMap {
  [key: string]: ConfValue;
}

/** Reads an included file (relative paths resolve against the including file's folder). */
export type IncludeReader = (path: string) => string;

/** A syntax error with its line number. */
export class ConfSyntaxError extends Error {
  constructor(
    message: string,
    readonly line: number,
  ) {
    super(`config line ${line}: ${message}`);
    this.name = "ConfSyntaxError";
  }
}

/** Deepest include nesting allowed (guards include cycles). */
export const MAX_INCLUDE_DEPTH = 10;

const isSpace = (c: string): boolean => c === " " || c === "\t" || c === "\r";
const BARE_END = new Set([" ", "\t", "\r", "\n", ",", "}", "]", "#", ";"]);

class ConfParser {
  private pos = 0;
  private line = 1;

  constructor(
    private readonly src: string,
    private readonly env: Record<string, string | undefined>,
    private readonly include: IncludeReader | undefined,
    private readonly depth: number,
  ) {}

  parseTop(): ConfMap {
    const map: ConfMap = {};
    this.parseEntries(map, [map], null);
    return map;
  }

  private err(msg: string): never {
    throw new ConfSyntaxError(msg, this.line);
  }

  private peek(o = 0): string {
    return this.src[this.pos + o] ?? "";
  }

  /** Skip spaces, comments and (when `newlines`) line breaks and separators. */
  private skip(newlines: boolean): void {
    for (;;) {
      const c = this.peek();
      if (isSpace(c)) this.pos++;
      else if (c === "#" || (c === "/" && this.peek(1) === "/")) {
        while (this.pos < this.src.length && this.peek() !== "\n") this.pos++;
      } else if (newlines && (c === "\n" || c === "," || c === ";")) {
        if (c === "\n") this.line++;
        this.pos++;
      } else return;
    }
  }

  /** Parse `key value` entries until `close` (or the end of input when null). */
  private parseEntries(map: ConfMap, scopes: ConfMap[], close: string | null): void {
    for (;;) {
      this.skip(true);
      if (this.pos >= this.src.length) {
        if (close !== null) this.err(`missing '${close}'`);
        return;
      }
      if (close !== null && this.peek() === close) {
        this.pos++;
        return;
      }
      const key = this.parseKey();
      this.skip(false);
      if (key === "include" && this.peek() !== ":" && this.peek() !== "=") {
        this.doInclude(map, scopes);
        continue;
      }
      if (this.peek() === ":" || this.peek() === "=") {
        this.pos++;
        this.skip(false);
      }
      map[key] = this.parseValue(scopes);
    }
  }

  private parseKey(): string {
    const c = this.peek();
    if (c === '"' || c === "'") return this.parseQuoted();
    const start = this.pos;
    while (this.pos < this.src.length) {
      const d = this.peek();
      if (isSpace(d) || d === ":" || d === "=" || d === "\n" || d === "{" || d === "[") break;
      this.pos++;
    }
    if (this.pos === start) this.err(`expected a key, found '${c}'`);
    return this.src.slice(start, this.pos);
  }

  private doInclude(map: ConfMap, scopes: ConfMap[]): void {
    const c = this.peek();
    const path = c === '"' || c === "'" ? this.parseQuoted() : this.parseBare();
    if (this.include === undefined) this.err("include is not available here");
    if (this.depth >= MAX_INCLUDE_DEPTH) this.err(`includes nested deeper than ${MAX_INCLUDE_DEPTH}`);
    const text = this.include(path);
    const sub = new ConfParser(text, this.env, this.include, this.depth + 1);
    sub.parseEntries(map, scopes, null);
  }

  private parseValue(scopes: ConfMap[]): ConfValue {
    const c = this.peek();
    if (c === "{") {
      this.pos++;
      const block: ConfMap = {};
      this.parseEntries(block, [...scopes, block], "}");
      return block;
    }
    if (c === "[") {
      this.pos++;
      return this.parseArray(scopes);
    }
    if (c === '"' || c === "'") return this.parseQuoted();
    if (c === "" || c === "\n") this.err("missing value");
    if (c === "$") {
      this.pos++;
      const name = this.parseBare();
      return this.lookup(name, scopes);
    }
    return typedBare(this.parseBare());
  }

  private lookup(name: string, scopes: ConfMap[]): ConfValue {
    for (let i = scopes.length - 1; i >= 0; i--) {
      const v = (scopes[i] as ConfMap)[name];
      if (v !== undefined) return v;
    }
    const e = this.env[name];
    if (e !== undefined) return typedBare(e);
    this.err(`variable reference for '${name}' on line ${this.line} can not be found`);
  }

  private parseArray(scopes: ConfMap[]): ConfValue[] {
    const out: ConfValue[] = [];
    for (;;) {
      this.skip(true);
      if (this.pos >= this.src.length) this.err("missing ']'");
      if (this.peek() === "]") {
        this.pos++;
        return out;
      }
      out.push(this.parseValue(scopes));
    }
  }

  private parseBare(): string {
    const start = this.pos;
    while (this.pos < this.src.length && !BARE_END.has(this.peek())) {
      if (this.peek() === "/" && this.peek(1) === "/") break;
      this.pos++;
    }
    return this.src.slice(start, this.pos);
  }

  private parseQuoted(): string {
    const q = this.peek();
    this.pos++;
    let out = "";
    for (;;) {
      if (this.pos >= this.src.length) this.err("unterminated string");
      const c = this.peek();
      this.pos++;
      if (c === q) return out;
      if (c === "\n") this.line++;
      if (c === "\\" && q === '"') {
        const e = this.peek();
        this.pos++;
        switch (e) {
          case "n": out += "\n"; break;
          case "t": out += "\t"; break;
          case "r": out += "\r"; break;
          case '"': out += '"'; break;
          case "\\": out += "\\"; break;
          case "u": {
            const hex = this.src.slice(this.pos, this.pos + 4);
            if (!/^[0-9a-fA-F]{4}$/.test(hex)) this.err("bad \\u escape");
            out += String.fromCharCode(parseInt(hex, 16));
            this.pos += 4;
            break;
          }
          default: this.err(`invalid escape character '${e}'`);
        }
      } else {
        out += c;
      }
    }
  }
}

/** Type a bare token: integers, floats and booleans; everything else stays a string. */
function typedBare(tok: string): ConfValue {
  if (/^-?\d+$/.test(tok)) return Number(tok);
  if (/^-?\d+\.\d+$/.test(tok)) return Number(tok);
  switch (tok.toLowerCase()) {
    case "true": case "yes": case "on": return true;
    case "false": case "no": case "off": return false;
    default: return tok;
  }
}

/** Parse a configuration text. */
export function parseConf(text: string, opts: { env?: Record<string, string | undefined>; include?: IncludeReader } = {}): ConfMap {
  return new ConfParser(text, opts.env ?? {}, opts.include, 0).parseTop();
}

/** `1024`, `"1KB"`, `"1MB"`, `"2G"`: a size in bytes (K/KB/KiB = 1024, as nats-server's sizes). */
export function toBytes(v: ConfValue | undefined, key: string): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v === "number") return v;
  if (typeof v === "string") {
    const m = /^(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b?)$/i.exec(v.trim());
    if (m !== null) {
      const mult = { "": 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 }[(m[2] ?? "").toLowerCase()] ?? 1;
      return Math.round(Number(m[1]) * mult);
    }
  }
  throw new Error(`${key}: expected a size like 1048576 or "1MB", got ${JSON.stringify(v)}`);
}

/** `"2m"`, `"10s"`, `"500ms"`, `"1h30m"`, or a number of seconds: a duration in milliseconds. */
export function toDurationMs(v: ConfValue | undefined, key: string): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v === "number") return v * 1000;
  if (typeof v === "string") {
    const unit: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
    const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g;
    let total = 0;
    let consumed = 0;
    for (let m = re.exec(v); m !== null; m = re.exec(v)) {
      total += Number(m[1]) * (unit[m[2] as string] ?? 0);
      consumed += m[0].length;
    }
    if (consumed === v.length && consumed > 0) return total;
  }
  throw new Error(`${key}: expected a duration like "2m" or "500ms", got ${JSON.stringify(v)}`);
}
