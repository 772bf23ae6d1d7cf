import type { IncomingMessage, ServerResponse } from "node:http";
import { encodeHeaders, type HeaderBlock } from "../protocol/headers.js";
import { checkPublish } from "./auth.js";
import type { BusReply } from "./bus-client.js";
import { checkBinary, fromStructured, isStructured, toStructured, CE_STRUCTURED_TYPE } from "./cloudevents.js";
import type { Gateway } from "./context.js";
import { HttpError, MAX_HTTP_BODY_BYTES, answerError, collectBody, intParam, readBody, sendJson } from "./http-util.js";
import { jsHttpError, type JsErrorReply } from "./js-status.js";
import { publishSubject } from "./subject-check.js";
import { forwardedHeaders, httpHeadersOf } from "./message-headers.js";
import type { Route } from "./routes.js";

/** Default wait for a reply (`/v1/request`) or a durable publish ack. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 5000;
/** Longest `timeout_ms` a request may ask for. */
export const MAX_REQUEST_TIMEOUT_MS = 60_000;

/** A message as an HTTP request carries it: headers (null when none) and payload. */
interface HttpMessage {
  headers: Buffer | null;
  data: Buffer;
}

/**
 * `POST /v1/publish/{subject}` and `POST /v1/request/{subject}`. A publish to a stream subject
 * waits for the stream's publish ack (sent only once the message is durable) and returns it; a
 * core publish answers 204 once routed.
 */
export function publishRoutes(g: Gateway): Route[] {
  return [
    {
      method: "POST",
      path: "/v1/publish/{subject}",
      auth: true,
      // Callbacks, not async/await: this is the HTTP publish hot path (bench/http.ts), and a core
      // publish needs no promise at all.
      handler: ({ req, res, params, query, who }) => {
        const subject = publishSubject(params["subject"] as string, g.core.limits.maxControlLineBytes);
        checkPublish(who, subject);
        const timeoutMs = intParam(query, "timeout_ms", 1, MAX_REQUEST_TIMEOUT_MS, DEFAULT_REQUEST_TIMEOUT_MS);
        const structured = isStructured(req.headers["content-type"]);
        collectBody(req, bodyLimit(g, structured), (err, body) => {
          if (err !== null) return answerError(res, err);
          let msg: HttpMessage;
          try {
            msg = toMessage(g, req, structured, body);
          } catch (e) {
            return answerError(res, e);
          }
          if (!isStreamSubject(g, subject)) {
            g.bus.client.publish(subject, "", msg.headers, msg.data);
            res.writeHead(204);
            res.end();
            return;
          }
          // sendPubAck throws the stream's own refusal: caught by the same catch as a timeout.
          g.bus
            .request(subject, msg.headers, msg.data, timeoutMs)
            .then((reply) => sendPubAck(res, reply))
            .catch((e: unknown) => answerError(res, e));
        });
      },
      doc: {
        summary: "Publish a message",
        description:
          "The body is the payload. `Nats-*`, `ce-*`, `Content-Type`, `traceparent` and `tracestate` request headers become message headers. " +
          "A structured CloudEvent (`Content-Type: application/cloudevents+json`) is stored in binary form: attributes as `ce-*` headers, data as the payload. " +
          "On a stream subject the answer waits for the durable publish ack; `Nats-Msg-Id` (or the CloudEvents id) deduplicates within the stream's duplicate window.",
        query: { timeout_ms: { description: "longest wait for a stream's publish ack (default 5000)", type: "integer" } },
        body: { "application/octet-stream": "the payload", [CE_STRUCTURED_TYPE]: "a CloudEvent in structured mode" },
        responses: {
          "200": "stored in a stream: `{\"stream\":..,\"seq\":..,\"duplicate\":..}`",
          "204": "published on a core subject",
          "400": "bad subject, bad CloudEvent, or a JetStream expectation failed",
          "403": "no publish permission",
          "413": "payload over max_payload",
          "503": "the stream could not store it",
          "504": "no publish ack within timeout_ms",
        },
      },
    },
    {
      method: "POST",
      path: "/v1/request/{subject}",
      auth: true,
      handler: async ({ req, res, params, query, who }) => {
        const subject = publishSubject(params["subject"] as string, g.core.limits.maxControlLineBytes);
        checkPublish(who, subject);
        const timeoutMs = intParam(query, "timeout_ms", 1, MAX_REQUEST_TIMEOUT_MS, DEFAULT_REQUEST_TIMEOUT_MS);
        const msg = await readMessage(g, req);
        const reply = await g.bus.request(subject, msg.headers, msg.data, timeoutMs);
        if (reply.headers?.status === 503) throw new HttpError(503, `no responders for "${subject}"`);
        sendMessage(req, res, 200, reply.headers, reply.data);
      },
      doc: {
        summary: "Request/reply",
        description:
          "Publishes the body with a reply subject and answers with the first reply: its payload as the body and its headers as response headers. " +
          "With `Accept: application/cloudevents+json` a reply carrying `ce-*` headers is answered as a structured CloudEvent.",
        query: { timeout_ms: { description: "longest wait for the reply (default 5000, at most 60000)", type: "integer" } },
        body: { "application/octet-stream": "the request payload", [CE_STRUCTURED_TYPE]: "a CloudEvent in structured mode" },
        responses: { "200": "the reply", "400": "bad subject or timeout_ms", "403": "no publish permission", "413": "payload over max_payload", "503": "no responders", "504": "no reply within timeout_ms" },
      },
    },
  ];
}

/** Does a stream capture this subject? (One of JetStream's own subscriptions matches it.) */
function isStreamSubject(g: Gateway, subject: string): boolean {
  const cid = g.core.jetstreamCid;
  if (cid === 0) return false;
  const plain = g.bus.client.account.index.match(subject).plain;
  for (let i = 0; i < plain.length; i++) if ((plain[i] as { client: { cid: number } }).client.cid === cid) return true;
  return false;
}

/** How much body to read: max_payload, or the HTTP limit for a structured CloudEvent (JSON around the payload, checked after decoding). */
function bodyLimit(g: Gateway, structured: boolean): number {
  const maxPayload = g.core.limits.maxPayloadBytes;
  return structured ? Math.max(MAX_HTTP_BODY_BYTES, maxPayload) : maxPayload;
}

/** Read the request into a message: headers mapped, CloudEvents decoded, max_payload checked. */
async function readMessage(g: Gateway, req: IncomingMessage): Promise<HttpMessage> {
  const structured = isStructured(req.headers["content-type"]);
  return toMessage(g, req, structured, await readBody(req, bodyLimit(g, structured)));
}

/**
 * The message a request carries, from its body: headers mapped, CloudEvents decoded, max_payload
 * checked. `structured`: the request's content type is a structured CloudEvent.
 */
function toMessage(g: Gateway, req: IncomingMessage, structured: boolean, body: Buffer): HttpMessage {
  const maxPayload = g.core.limits.maxPayloadBytes;
  let entries = forwardedHeaders(req);
  let data = body;
  let ceId: string | undefined;
  if (structured) {
    const ev = fromStructured(body);
    entries = entries.filter(([k]) => k !== "content-type" && !k.startsWith("ce-")).concat(ev.headers);
    data = ev.data;
    ceId = ev.id;
  } else {
    checkBinary(entries);
    ceId = valueOf(entries, "ce-id");
  }
  if (ceId !== undefined && ceId !== "" && valueOf(entries, "Nats-Msg-Id") === undefined) entries.push(["Nats-Msg-Id", ceId]);
  const headers = entries.length === 0 ? null : headerBlock(entries);
  if ((headers?.length ?? 0) + data.length > maxPayload) {
    throw new HttpError(413, `Maximum Payload Violation: ${(headers?.length ?? 0) + data.length} bytes over max_payload ${maxPayload}`);
  }
  return { headers, data };
}

/** The first value of header `name` (as forwardedHeaders spells it) among `entries`. */
function valueOf(entries: Array<[string, string]>, name: string): string | undefined {
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i] as [string, string];
    if (e[0] === name) return e[1];
  }
  return undefined;
}

/** The header lines of the last block `headerBlock` encoded, and the block. */
let lastEntries: Array<[string, string]> = [];
let lastBlock: Buffer | null = null;

/**
 * The NATS header block of `entries`; 400 when a name or value holds a line break. Publishers
 * repeat their headers (one content type, the same `Nats-*` expectations), so the last block is
 * kept and reused when the lines are the same: a compare instead of building a string and a
 * buffer on every publish (bench/http.ts). A block is never written to after it is made.
 */
function headerBlock(entries: Array<[string, string]>): Buffer {
  if (lastBlock !== null && sameEntries(entries, lastEntries)) return lastBlock;
  if (hasLineBreak(entries)) throw new HttpError(400, "a header holds a line break");
  const block = encodeHeaders(entries);
  lastEntries = entries;
  lastBlock = block;
  return block;
}

function sameEntries(a: Array<[string, string]>, b: Array<[string, string]>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as [string, string];
    const y = b[i] as [string, string];
    if (x[0] !== y[0] || x[1] !== y[1]) return false;
  }
  return true;
}

/** Does a header name or value hold a CR or LF (it would end the header line early)? */
function hasLineBreak(entries: Array<[string, string]>): boolean {
  for (let i = 0; i < entries.length; i++) {
    const [k, v] = entries[i] as [string, string];
    if (lineBreakIn(k) || lineBreakIn(v)) return true;
  }
  return false;
}

function lineBreakIn(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 13 || c === 10) return true;
  }
  return false;
}

/** A stream's publish ack as the HTTP routes answer it. */
export interface PubAck {
  stream: string;
  seq: number;
  duplicate: boolean;
}

/**
 * Read a stream's publish ack; its error becomes an HttpError with the stream's `err_code` and the
 * status `jsHttpStatus` gives it (a refused rollup, 500 in JetStream, is a 400 here).
 */
export function parsePubAck(reply: BusReply): PubAck {
  let ack: { stream?: string; seq?: number; duplicate?: boolean; error?: JsErrorReply };
  try {
    ack = JSON.parse(reply.data.toString("utf8")) as typeof ack;
  } catch {
    throw new HttpError(502, "the stream's reply was not a publish ack");
  }
  if (typeof ack !== "object" || ack === null) throw new HttpError(502, "the stream's reply was not a publish ack");
  if (ack.error !== undefined) throw jsHttpError(typeof ack.error === "object" && ack.error !== null ? ack.error : {}, "publish failed");
  return { stream: ack.stream ?? "", seq: ack.seq ?? 0, duplicate: ack.duplicate === true };
}

/** The stream's publish ack, re-sent as `{"stream","seq","duplicate"}`, or its error as a 4xx/5xx. */
function sendPubAck(res: ServerResponse, reply: BusReply): void {
  sendJson(res, 200, parsePubAck(reply));
}

/**
 * Answer with a NATS message: payload as the body, headers as response headers (binary
 * CloudEvents mode as is). A client that accepts `application/cloudevents+json` gets a message
 * with `ce-*` headers as a structured event instead.
 */
export function sendMessage(req: IncomingMessage, res: ServerResponse, status: number, headers: HeaderBlock | null, data: Buffer): void {
  const entries = headers?.entries ?? [];
  const wantsStructured = (req.headers.accept ?? "").includes(CE_STRUCTURED_TYPE);
  if (wantsStructured && entries.some(([k]) => k.toLowerCase().startsWith("ce-"))) {
    const text = JSON.stringify(toStructured(entries, data));
    res.writeHead(status, { "content-type": CE_STRUCTURED_TYPE, "content-length": Buffer.byteLength(text) });
    res.end(text);
    return;
  }
  const out = httpHeadersOf(headers);
  const ct = entries.find(([k]) => k.toLowerCase() === "content-type")?.[1];
  delete out["content-type"];
  delete out["Content-Type"];
  res.writeHead(status, { ...out, "content-type": ct ?? "application/octet-stream", "content-length": data.length });
  res.end(data);
}
