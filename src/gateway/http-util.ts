import type { IncomingMessage, ServerResponse } from "node:http";
import { jsonTooDeep, MAX_JSON_DEPTH } from "../util/json-depth.js";

/**
 * Largest request body the `/v1` routes read, unless the route names its own limit. The NATS
 * payload limit still applies on top (a publish over `max_payload` is refused with 413).
 */
export const MAX_HTTP_BODY_BYTES = 8 * 1024 * 1024;
/** Largest JSON body of a management route (stream/consumer/webhook configs, `/events`). */
export const MAX_JSON_BODY_BYTES = 1024 * 1024;

/**
 * The query of a request without one: shared, read-only by convention (handlers only read
 * queries), and recognised by identity so an absent query costs no lookup.
 */
export const NO_QUERY = new URLSearchParams();

/**
 * An HTTP request refused: answered with `status` and the JSON body
 * `{"error":{"code":status,"description":..,"err_code"?:..}}`.
 * `errCode` carries a JetStream API `err_code` when the refusal came from `$JS.API`.
 */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly description: string,
    readonly errCode?: number,
    readonly headers?: Record<string, string>,
  ) {
    super(description);
  }
}

/** Answer with JSON. */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers?: Record<string, string>): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text), ...headers });
  res.end(text);
}

/** Answer with the JSON error shape every route uses. */
export function sendError(res: ServerResponse, err: HttpError): void {
  const error: Record<string, unknown> = { code: err.status, description: err.description };
  if (err.errCode !== undefined) error["err_code"] = err.errCode;
  if (res.headersSent) {
    // A streaming response (SSE) already started: nothing JSON can be sent any more.
    res.destroy();
    return;
  }
  sendJson(res, err.status, { error }, err.headers);
}

/** Called once with the whole body, or with the error that refused it. */
export type BodyCallback = (err: HttpError | null, body: Buffer) => void;

const NO_BODY = Buffer.alloc(0);

/**
 * Read the whole body, refusing it (413) as soon as it passes `maxBytes`: a declared
 * `content-length` over the limit is refused before a byte is read. Callback form, without a
 * promise, for the publish path; `readBody` is the promise form.
 */
export function collectBody(req: IncomingMessage, maxBytes: number, done: BodyCallback): void {
  const declared = req.headers["content-length"];
  if (declared !== undefined && Number(declared) > maxBytes) {
    req.resume();
    done(new HttpError(413, `request body is ${declared} bytes; the limit is ${maxBytes}`), NO_BODY);
    return;
  }
  let first: Buffer | null = null;
  let parts: Buffer[] | null = null;
  let size = 0;
  let failed = false;
  req.on("data", (chunk: Buffer) => {
    if (failed) return;
    size += chunk.length;
    if (size > maxBytes) {
      failed = true;
      first = null;
      parts = null;
      done(new HttpError(413, `request body passes the limit of ${maxBytes} bytes`), NO_BODY);
      return;
    }
    if (first === null) first = chunk;
    else (parts ??= [first]).push(chunk);
  });
  // `on`, not `once` (which wraps each listener per request): `failed` lets `done` run only once.
  req.on("end", () => {
    if (failed) return;
    failed = true;
    done(null, parts !== null ? Buffer.concat(parts, size) : (first ?? NO_BODY));
  });
  req.on("error", (err) => {
    if (failed) return;
    failed = true;
    done(new HttpError(400, `request body: ${err.message}`), NO_BODY);
  });
}

/** `collectBody` as a promise. */
export function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => collectBody(req, maxBytes, (err, body) => (err === null ? resolve(body) : reject(err))));
}

/**
 * Answer a failed request: an HttpError with its status, anything else as a 500 (reported to
 * `log` first, since it is a bug).
 */
export function answerError(res: ServerResponse, err: unknown, log?: (msg: string) => void): void {
  if (err instanceof HttpError) {
    sendError(res, err);
    return;
  }
  log?.(`http: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  sendError(res, new HttpError(500, `internal error: ${err instanceof Error ? err.message : String(err)}`));
}

/** Read a JSON object body (empty body: `{}`); 400 with the parser's reason when it is not JSON. */
export async function readJsonObject(req: IncomingMessage, maxBytes = MAX_JSON_BODY_BYTES): Promise<Record<string, unknown>> {
  return (await readJsonObjectRaw(req, maxBytes)).value;
}

/** A JSON object body, parsed, with the bytes it was parsed from. */
export interface RawJsonObject {
  value: Record<string, unknown>;
  /** The body as sent (`{}` for an empty one). */
  raw: Buffer;
}

const EMPTY_OBJECT = Buffer.from("{}");

/**
 * `readJsonObject` keeping the body's bytes, for a route that passes the body on to `$JS.API`:
 * re-serializing the parsed value would round numbers past 2^53 (JetStream durations up to
 * int64 max are valid), so the bytes go on as sent and JetStream judges them.
 */
export async function readJsonObjectRaw(req: IncomingMessage, maxBytes = MAX_JSON_BODY_BYTES): Promise<RawJsonObject> {
  const body = await readBody(req, maxBytes);
  if (body.length === 0) return { value: {}, raw: EMPTY_OBJECT };
  return { value: parseJsonObject(body, "request body"), raw: body };
}

/**
 * A JSON object's bytes with `key` set to `valueJson` (JSON text) in front of its other members,
 * for a body known to be an object that lacks `key`. Its other bytes are kept as sent.
 */
export function withLeadingMember(obj: RawJsonObject, key: string, valueJson: string): Buffer {
  const text = obj.raw.toString("utf8");
  const open = text.indexOf("{");
  const member = `${JSON.stringify(key)}:${valueJson}${Object.keys(obj.value).length > 0 ? "," : ""}`;
  return Buffer.from(text.slice(0, open + 1) + member + text.slice(open + 1));
}

/**
 * Parse `body` as a JSON object; 400 naming `what` (and the parser's reason) otherwise. A body
 * nesting arrays and objects deeper than MAX_JSON_DEPTH is refused by one byte scan before it is
 * parsed: what the gateway reads it passes on through JSON.stringify, which recurses and would
 * run out of stack on a body 20,000 levels deep.
 */
export function parseJsonObject(body: Buffer, what: string, shape = "a JSON object"): Record<string, unknown> {
  if (jsonTooDeep(body)) throw new HttpError(400, `${what} nests arrays and objects deeper than ${MAX_JSON_DEPTH} levels`);
  let v: unknown;
  try {
    v = JSON.parse(body.toString("utf8"));
  } catch (err) {
    throw new HttpError(400, `${what} is not JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw new HttpError(400, `${what} must be ${shape}`);
  return v as Record<string, unknown>;
}

/**
 * An integer query parameter within [min, max]; `fallback` when absent. 400 naming the parameter
 * otherwise.
 */
export function intParam(q: URLSearchParams, name: string, min: number, max: number, fallback: number): number;
export function intParam(q: URLSearchParams, name: string, min: number, max: number, fallback?: undefined): number | undefined;
export function intParam(q: URLSearchParams, name: string, min: number, max: number, fallback?: number): number | undefined {
  if (q === NO_QUERY) return fallback;
  const raw = q.get(name);
  if (raw === null || raw === "") return fallback;
  if (!/^-?\d+$/.test(raw)) throw new HttpError(400, `${name} must be an integer, got "${raw.slice(0, 40)}"`);
  const v = Number(raw);
  if (v < min || v > max) throw new HttpError(400, `${name} must be between ${min} and ${max}, got ${v}`);
  return v;
}
