import { parseJsonLimited } from "../util/json-depth.js";
import { HttpError, parseJsonObject } from "./http-util.js";

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
 * `data` (JSON value, string for text types) or `data_base64`. 400 otherwise.
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
  const contentType = typeof e["datacontenttype"] === "string" ? (e["datacontenttype"] as string) : undefined;
  for (const k of keys) {
    if (k === "data" || k === "data_base64" || k === "datacontenttype") continue;
    if (!NAME_RE.test(k)) throw new HttpError(400, `CloudEvent attribute name "${k.slice(0, 40)}" is not lower-case letters and digits`);
    const v = e[k];
    if (v === null) continue;
    if (typeof v !== "string" && typeof v !== "number" && typeof v !== "boolean") throw new HttpError(400, `CloudEvent attribute "${k}" must be a string, number or boolean`);
    const s = String(v);
    if (/[\r\n]/.test(s)) throw new HttpError(400, `CloudEvent attribute "${k}" holds a line break`);
    headers.push([CE_HEADER_PREFIX + k, s]);
  }
  let data: Buffer;
  if (typeof e["data_base64"] === "string") {
    data = Buffer.from(e["data_base64"], "base64");
  } else if (!("data" in e)) {
    data = Buffer.alloc(0);
  } else if (typeof e["data"] === "string" && contentType !== undefined && !isJsonType(contentType)) {
    data = Buffer.from(e["data"], "utf8");
  } else {
    data = Buffer.from(JSON.stringify(e["data"]), "utf8");
  }
  const ct = contentType ?? ("data" in e ? "application/json" : undefined);
  if (ct !== undefined) headers.push(["content-type", ct]);
  return { headers, data, id: e["id"] as string };
}

/** Build the structured JSON of an event stored in binary form (its `ce-*` headers and payload). */
export function toStructured(headers: Array<[string, string]>, data: Buffer): Record<string, unknown> {
  const ev: Record<string, unknown> = {};
  let ct: string | undefined;
  for (const [k, v] of headers) {
    const lk = k.toLowerCase();
    if (lk.startsWith(CE_HEADER_PREFIX)) ev[lk.slice(CE_HEADER_PREFIX.length)] = v;
    else if (lk === "content-type") ct = v;
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
