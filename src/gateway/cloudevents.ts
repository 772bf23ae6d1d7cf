import { parseJsonLimited } from "../util/json-depth.js";
import { HttpError, parseJsonObject } from "./http-util.js";
import { headerToText, textToHeader } from "./header-text.js";
import { isStrictBase64 } from "./strict-base64.js";

/**
 * CloudEvents (spec 1.0) across the HTTP and NATS bindings.
 *
 * - HTTP binary mode: attributes in `ce-<name>` request headers, `Content-Type` = datacontenttype,
 *   the body is the data. They map one to one onto NATS headers (NATS binding: `ce-<name>`,
 *   `content-type`), so a binary event needs no translation beyond the header copy.
 * - HTTP structured mode: `Content-Type: application/cloudevents+json`, the whole event as JSON.
 *   It is stored in binary form (attributes → `ce-*` headers, data → payload), so NATS consumers
 *   see the same message either way, and it can be served back in either mode.
 */
export const CE_STRUCTURED_TYPE = "application/cloudevents+json";
/** The prefix of CloudEvents attribute headers, in HTTP and in NATS (lower case, as both bindings write it). */
export const CE_HEADER_PREFIX = "ce-";
/** At most this many attributes (extensions included) in one event. */
export const MAX_CE_ATTRIBUTES = 64;

const REQUIRED = ["id", "source", "type", "specversion"] as const;
/** Attribute names: lower-case ASCII letters and digits (spec 1.0 §3.1.1). */
const NAME_RE = /^[a-z0-9]{1,20}$/;

/** An event turned into what a NATS message carries. */
export interface CeMessage {
  headers: Array<[string, string]>;
  data: Buffer;
  id: string;
}

/** The last content type `isStructured` looked at, and its answer (clients repeat theirs). */
let lastContentType = "";
let lastStructured = false;

/** Is this content type the structured JSON mode? */
export function isStructured(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  // A string compare instead of a split, trim and lower-casing on every publish (bench/http.ts).
  if (contentType === lastContentType) return lastStructured;
  lastStructured = contentType.split(";")[0]?.trim().toLowerCase() === CE_STRUCTURED_TYPE;
  lastContentType = contentType;
  return lastStructured;
}

/**
 * Decode a structured-mode event: required attributes present and strings, specversion 1.0,
 * `data` (JSON value, string for text types) or `data_base64` (strict base64). 400 naming the
 * attribute otherwise. Attribute values become header values as their UTF-8 bytes (header blocks
 * are byte strings, one char a byte), so text outside Latin-1 is stored as sent.
 */
export function fromStructured(body: Buffer): CeMessage {
  const e = parseJsonObject(body, "CloudEvent");
  for (const k of REQUIRED) {
    if (typeof e[k] !== "string" || e[k] === "") throw new HttpError(400, `CloudEvent attribute "${k}" is required and must be a non-empty string`);
  }
  if (e["specversion"] !== "1.0") throw new HttpError(400, `CloudEvent specversion "${String(e["specversion"])}" is not supported (1.0 is)`);
  if ("data" in e && "data_base64" in e) throw new HttpError(400, "CloudEvent has both data and data_base64");
  const keys = Object.keys(e);
  if (keys.length > MAX_CE_ATTRIBUTES) throw new HttpError(400, `CloudEvent has more than ${MAX_CE_ATTRIBUTES} attributes`);
  const headers: Array<[string, string]> = [];
  const ctRaw = e["datacontenttype"];
  if (ctRaw !== undefined && ctRaw !== null && (typeof ctRaw !== "string" || ctRaw === "")) throw new HttpError(400, 'CloudEvent attribute "datacontenttype" must be a non-empty string');
  const contentType = typeof ctRaw === "string" ? ctRaw : undefined;
  for (const k of keys) {
    if (k === "data" || k === "data_base64" || k === "datacontenttype") continue;
    if (!NAME_RE.test(k)) throw new HttpError(400, `CloudEvent attribute name "${k.slice(0, 40)}" is not lower-case letters and digits`);
    const v = e[k];
    if (v === null) continue;
    if (typeof v !== "string" && typeof v !== "number" && typeof v !== "boolean") throw new HttpError(400, `CloudEvent attribute "${k}" must be a string, number or boolean`);
    headers.push([CE_HEADER_PREFIX + k, headerText(String(v), k)]);
  }
  let data: Buffer;
  const b64 = e["data_base64"];
  if (b64 !== undefined && b64 !== null) {
    // JSON Event Format 1.0 §3.1.1: data_base64 is Base64 per RFC 4648, read here as §4 writes it.
    if (typeof b64 !== "string" || !isStrictBase64(b64)) {
      throw new HttpError(400, 'CloudEvent attribute "data_base64" is not base64 (RFC 4648: standard alphabet, "=" padding, no whitespace)');
    }
    data = Buffer.from(b64, "base64");
  } else if (!("data" in e)) {
    data = Buffer.alloc(0);
  } else if (typeof e["data"] === "string" && contentType !== undefined && !isJsonType(contentType)) {
    data = Buffer.from(e["data"], "utf8");
  } else {
    data = Buffer.from(JSON.stringify(e["data"]), "utf8");
  }
  const ct = contentType ?? ("data" in e ? "application/json" : undefined);
  if (ct !== undefined) headers.push(["content-type", headerText(ct, "datacontenttype")]);
  return { headers, data, id: headerText(e["id"] as string, "id") };
}

/** An attribute value as a header value: refused (400) with a line break, which would end the header line. */
function headerText(v: string, attribute: string): string {
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c === 13 || c === 10) throw new HttpError(400, `CloudEvent attribute "${attribute}" holds a line break`);
  }
  return textToHeader(v);
}

/**
 * Check a binary-mode event (HTTP binding 1.0 §3.1: `ce-*` request headers). It is an event only
 * when `ce-specversion` is there (without it `ce-*` headers are headers like any other, copied as
 * sent); then it must be 1.0, name each attribute once in lower-case letters and digits, and carry
 * non-empty `ce-id`, `ce-source` and `ce-type`, as a structured event must. 400 naming the header.
 * `entries` are lower-case names for `ce-*` (as forwardedHeaders gives them).
 */
export function checkBinary(entries: Array<[string, string]>): void {
  let spec: string | undefined;
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i] as [string, string];
    if (e[0] === "ce-specversion") spec = e[1];
  }
  if (spec === undefined) return;
  if (spec !== "1.0") throw new HttpError(400, `CloudEvent header ce-specversion "${spec.slice(0, 40)}" is not supported (1.0 is)`);
  const seen = new Set<string>();
  for (const [k, v] of entries) {
    if (!k.startsWith(CE_HEADER_PREFIX)) continue;
    const name = k.slice(CE_HEADER_PREFIX.length);
    if (!NAME_RE.test(name)) throw new HttpError(400, `CloudEvent header "${k.slice(0, 40)}" does not name an attribute (lower-case letters and digits)`);
    if (seen.has(name)) throw new HttpError(400, `CloudEvent header "${k}" is given more than once`);
    seen.add(name);
    if ((name === "id" || name === "source" || name === "type") && v === "") throw new HttpError(400, `CloudEvent header "${k}" must not be empty`);
  }
  for (const k of REQUIRED) if (!seen.has(k)) throw new HttpError(400, `CloudEvent header "ce-${k}" is required with ce-specversion`);
  if (seen.size > MAX_CE_ATTRIBUTES) throw new HttpError(400, `CloudEvent has more than ${MAX_CE_ATTRIBUTES} attributes`);
}

/** Build the structured JSON of an event stored in binary form (its `ce-*` headers and payload). */
export function toStructured(headers: Array<[string, string]>, data: Buffer): Record<string, unknown> {
  const ev: Record<string, unknown> = {};
  let ct: string | undefined;
  for (const [k, v] of headers) {
    const lk = k.toLowerCase();
    if (lk.startsWith(CE_HEADER_PREFIX)) ev[lk.slice(CE_HEADER_PREFIX.length)] = headerToText(v);
    else if (lk === "content-type") ct = headerToText(v);
  }
  if (ct !== undefined) ev["datacontenttype"] = ct;
  if (data.length > 0) {
    if (ct === undefined || isJsonType(ct)) {
      // The event goes out through JSON.stringify, which recurses: data nested past the limit
      // (or not JSON after all) falls through to text or base64, losing nothing.
      const parsed = parseJsonLimited(data);
      if (parsed.ok) {
        ev["data"] = parsed.value;
        return ev;
      }
    }
    const text = data.toString("utf8");
    if (ct !== undefined && ct.startsWith("text/") && Buffer.byteLength(text) === data.length) ev["data"] = text;
    else ev["data_base64"] = data.toString("base64");
  }
  return ev;
}

function isJsonType(ct: string): boolean {
  const t = ct.split(";")[0]?.trim().toLowerCase() ?? "";
  return t === "application/json" || t.endsWith("+json");
}
