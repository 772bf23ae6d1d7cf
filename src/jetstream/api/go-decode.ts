import { JsonNumber, JsonObject } from "./exact-json.js";

/**
 * Go's `encoding/json` rules, as nats-server applies them when it unmarshals a `$JS.API` body into
 * its request structs, written as a table of field kinds per request (see request-schema.ts):
 * unknown fields are ignored; a field name matches exactly or, failing that, case-insensitively;
 * `null` leaves a field at its zero value, except for nats-server's enum types, whose
 * UnmarshalJSON refuses it; integers must be integer literals within the Go type's range; bools
 * only true/false; strings only strings; `time.Time` an RFC 3339 string. One wrongly typed value
 * anywhere refuses the whole request (nats-server: 400 / 10025 invalid JSON).
 *
 * Values may come from `parseJsonExact` (a request body: numbers as literal text) or from
 * `JSON.parse` (a config cuebus stored itself: numbers as JS numbers); both decode alike.
 */

/** Go integer types of the request fields; `int` is 64 bits on every platform nats-server runs on. */
export type GoIntType = "int" | "int32" | "int64" | "uint64" | "time.Duration";

/** What one field may hold. */
export type Kind = StringKind | BoolKind | IntKind | EnumKind<string> | TimeKind | ArrayKind<Kind> | MapKind<Kind> | StructKind<Schema>;
/** Field name -> kind, for one Go struct. */
export type Schema = Readonly<Record<string, Kind>>;

/** Go `string`. */
export interface StringKind {
  readonly kind: "string";
}
/** Go `bool`. */
export interface BoolKind {
  readonly kind: "bool";
}
/** A Go integer type (durations are int64 nanoseconds). */
export interface IntKind {
  readonly kind: "int";
  readonly type: GoIntType;
}
/** One of nats-server's policy types, whose UnmarshalJSON takes only its names (never null). */
export interface EnumKind<V extends string> {
  readonly kind: "enum";
  readonly values: readonly V[];
  /** Extra spellings accepted for a value (DeliverPolicy takes "undefined" for "all"). */
  readonly aliases?: Readonly<Record<string, V>>;
  /** DiscardPolicy compares lower-cased text. */
  readonly foldCase?: boolean;
}
/** `*time.Time`: an RFC 3339 string, or null. */
export interface TimeKind {
  readonly kind: "time";
}
/** A Go slice; a null element is the element's zero value. */
export interface ArrayKind<E extends Kind> {
  readonly kind: "array";
  readonly of: E;
}
/** `map[string]T`; a null value is T's zero value. */
export interface MapKind<E extends Kind> {
  readonly kind: "map";
  readonly of: E;
}
/** A Go struct (or pointer to one): its fields by JSON name. */
export interface StructKind<S extends Schema> {
  readonly kind: "struct";
  readonly fields: S;
}

/** The JS value a kind decodes to. */
export type KindValue<K> = K extends StringKind
  ? string
  : K extends BoolKind
    ? boolean
    : K extends IntKind
      ? number
      : K extends EnumKind<infer V>
        ? V
        : K extends TimeKind
          ? string
          : K extends ArrayKind<infer E>
            ? Array<KindValue<E>>
            : K extends MapKind<infer E>
              ? Record<string, KindValue<E>>
              : K extends StructKind<infer S>
                ? Decoded<S>
                : never;

/** A decoded struct: the fields that were present and not null. */
export type Decoded<S extends Schema> = { -readonly [F in keyof S]?: KindValue<S[F]> };

/** A `string` field. */
export const str: StringKind = { kind: "string" };
/** A `bool` field. */
export const bool: BoolKind = { kind: "bool" };
/** An integer field of the given Go type. */
export const int = (type: GoIntType): IntKind => ({ kind: "int", type });
/** A `time.Duration` field: int64 nanoseconds. */
export const duration: IntKind = int("time.Duration");
/** A `*time.Time` field. */
export const time: TimeKind = { kind: "time" };
/** A policy enum taking these names. */
export const oneOf = <V extends string>(values: readonly V[], extra: Omit<EnumKind<V>, "kind" | "values"> = {}): EnumKind<V> => ({ kind: "enum", values, ...extra });
/** A slice of `of`. */
export const arrayOf = <E extends Kind>(of: E): ArrayKind<E> => ({ kind: "array", of });
/** A `map[string]` of `of`. */
export const mapOf = <E extends Kind>(of: E): MapKind<E> => ({ kind: "map", of });
/** A nested struct. */
export const struct = <S extends Schema>(fields: S): StructKind<S> => ({ kind: "struct", fields });

const TWO_63 = 2n ** 63n;
const RANGES: Record<GoIntType, readonly [bigint, bigint]> = {
  int: [-TWO_63, TWO_63 - 1n],
  int64: [-TWO_63, TWO_63 - 1n],
  "time.Duration": [-TWO_63, TWO_63 - 1n],
  int32: [-(2n ** 31n), 2n ** 31n - 1n],
  uint64: [0n, 2n ** 64n - 1n],
};

/**
 * The largest doubles below 2^63 and 2^64. A JS number cannot hold 2^63-1: it rounds to 2^63,
 * which prints as 9223372036854776000, a value Go refuses for an int64. Values that round to the
 * bound are kept one step below it, so what cuebus prints and stores is again a valid Go integer
 * (a change of under 1024 ns for a duration of 292 years).
 */
export const MAX_INT64_NUMBER = 9223372036854774784;
export const MAX_UINT64_NUMBER = 18446744073709549568;

/** A value refused by the rules above; `message` names the field and what it must be. */
export class GoTypeError extends Error {}

const INTEGER_LITERAL = /^-?(0|[1-9][0-9]*)$/;
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|[+-](\d{2}):(\d{2}))$/;
const SHOWN_MAX_CHARS = 40;

function describe(kind: Kind): string {
  switch (kind.kind) {
    case "string":
      return "a string";
    case "bool":
      return "true or false";
    case "int": {
      const [min, max] = RANGES[kind.type];
      return `an integer from ${min} to ${max}${kind.type === "time.Duration" ? " (nanoseconds)" : ""}`;
    }
    case "enum":
      return `one of ${kind.values.map((v) => JSON.stringify(v)).join(", ")}`;
    case "time":
      return 'an RFC 3339 time such as "2006-01-02T15:04:05Z"';
    case "array":
      return "an array";
    case "map":
    case "struct":
      return "an object";
  }
}

function shown(v: unknown): string {
  if (v instanceof JsonNumber) return v.text;
  if (v instanceof JsonObject || (typeof v === "object" && v !== null && !Array.isArray(v))) return "an object";
  if (Array.isArray(v)) return "an array";
  const s = JSON.stringify(v) ?? String(v);
  return s.length > SHOWN_MAX_CHARS ? `${s.slice(0, SHOWN_MAX_CHARS)}..."` : s;
}

function refuse(path: string, kind: Kind, v: unknown): never {
  throw new GoTypeError(`${path === "" ? "request" : path} must be ${describe(kind)} (got ${shown(v)})`);
}

/** A JSON object's members, whether parsed exactly or by JSON.parse; null when `v` is no object. */
function membersOf(v: unknown): ReadonlyArray<readonly [string, unknown]> | null {
  if (v instanceof JsonObject) return v.members;
  if (typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof JsonNumber)) return Object.entries(v);
  return null;
}

function decodeInt(v: unknown, kind: IntKind, path: string): number {
  const [min, max] = RANGES[kind.type];
  let n: number;
  if (v instanceof JsonNumber) {
    if (!INTEGER_LITERAL.test(v.text)) refuse(path, kind, v);
    const b = BigInt(v.text);
    if (b < min || b > max) refuse(path, kind, v);
    n = Number(b);
  } else if (typeof v === "number") {
    // A stored config: the number was printed by cuebus, so it may be a bound rounded up (see above).
    if (!Number.isInteger(v) || v < Number(min) || v > Number(max)) refuse(path, kind, v);
    n = v;
  } else refuse(path, kind, v);
  const top = kind.type === "uint64" ? MAX_UINT64_NUMBER : MAX_INT64_NUMBER;
  if (n > top) return top;
  if (n < -top) return -top;
  return n === 0 ? 0 : n; // no -0
}

const daysIn = (year: number, month: number): number => new Date(Date.UTC(year, month, 0)).getUTCDate();

/** Go's time.Time.UnmarshalJSON: RFC 3339, fields in range. */
export function isRfc3339(s: string): boolean {
  const m = RFC3339.exec(s);
  if (m === null) return false;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  if (month < 1 || month > 12 || day < 1 || day > daysIn(year, month)) return false;
  if (hour > 23 || minute > 59 || second > 59) return false;
  if (m[9] !== undefined && (Number(m[9]) > 23 || Number(m[10]) > 59)) return false;
  return true;
}

/** The zero value an element or map value takes for JSON null. */
function zeroOf(kind: Kind, path: string): unknown {
  switch (kind.kind) {
    case "string":
      return "";
    case "bool":
      return false;
    case "int":
      return 0;
    case "enum":
      return refuse(path, kind, null);
    case "array":
      return [];
    case "map":
    case "struct":
      return {};
    case "time":
      return undefined;
  }
}

/** Decode one value; `undefined` means absent (JSON null where Go leaves the zero value). */
export function decodeValue(v: unknown, kind: Kind, path: string): unknown {
  if (v === null || v === undefined) return kind.kind === "enum" ? refuse(path, kind, null) : undefined;
  switch (kind.kind) {
    case "string":
      return typeof v === "string" ? v : refuse(path, kind, v);
    case "bool":
      return typeof v === "boolean" ? v : refuse(path, kind, v);
    case "int":
      return decodeInt(v, kind, path);
    case "enum": {
      if (typeof v !== "string") return refuse(path, kind, v);
      const s = kind.foldCase === true ? v.toLowerCase() : v;
      const found = kind.values.find((x) => x === s) ?? kind.aliases?.[s];
      return found ?? refuse(path, kind, v);
    }
    case "time":
      return typeof v === "string" && isRfc3339(v) ? v : refuse(path, kind, v);
    case "array": {
      if (!Array.isArray(v)) return refuse(path, kind, v);
      return v.map((x: unknown, i) => (x === null ? zeroOf(kind.of, `${path}[${i}]`) : decodeValue(x, kind.of, `${path}[${i}]`)));
    }
    case "map": {
      const members = membersOf(v);
      if (members === null) return refuse(path, kind, v);
      const out: Record<string, unknown> = {};
      for (const [k, x] of members) {
        const p = `${path}.${k}`;
        Object.defineProperty(out, k, { value: x === null ? zeroOf(kind.of, p) : decodeValue(x, kind.of, p), enumerable: true, writable: true, configurable: true });
      }
      return out;
    }
    case "struct":
      return decodeStruct(v, kind.fields, path);
  }
}

/** Which schema field a JSON member name sets: the exact name, else one equal ignoring case. */
function fieldFor(fields: Schema, name: string): string | undefined {
  if (Object.hasOwn(fields, name)) return name;
  const lower = name.toLowerCase();
  return Object.keys(fields).find((f) => f === lower);
}

/** Decode a struct: only its known fields, each checked; a null member leaves its field as it was. */
export function decodeStruct<S extends Schema>(v: unknown, fields: S, path: string): Decoded<S> {
  const members = membersOf(v);
  if (members === null) return refuse(path, struct(fields), v);
  const out: Record<string, unknown> = {};
  for (const [name, x] of members) {
    const f = fieldFor(fields, name);
    if (f === undefined) continue;
    // null leaves the field as it was (Go: "no effect on the value").
    const value = decodeValue(x, fields[f] as Kind, path === "" ? f : `${path}.${f}`);
    if (value !== undefined) out[f] = value;
  }
  return out as Decoded<S>;
}
