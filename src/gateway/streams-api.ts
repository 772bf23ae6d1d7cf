import { parseHeaders } from "../protocol/headers.js";
import { checkPublish, type HttpIdentity } from "./auth.js";
import type { Gateway } from "./context.js";
import { HttpError, intParam, readJsonObjectRaw, sendJson, withLeadingMember } from "./http-util.js";
import { sendMessage } from "./publish.js";
import { subscribeSubject } from "./subject-check.js";
import type { Route, RouteCall, RouteDoc } from "./routes.js";

/** Longest stream or consumer name accepted in a path (nats-server JSStreamNameTooLong / consumer names are bounded alike). */
export const MAX_NAME_LENGTH = 255;
/** Stream and consumer names: no whitespace, `.`, `*`, `>` or path separators (they end up in API subjects and file names). */
const NAME_RE = /^[^\s.*>/\\]+$/;

const JS_JSON = "the reply of the matching `$JS.API` request, unchanged";

/**
 * Streams and consumers over HTTP: list, create, info, update, delete, purge, and get a stored
 * message. Each route is one `$JS.API` request on the bus, so the JSON (and every error, with its
 * `err_code`) is what a NATS client gets, and the caller needs the publish permission a NATS client
 * would need on that API subject.
 */
export function streamsRoutes(g: Gateway): Route[] {
  const api = async (who: HttpIdentity, subject: string, body?: unknown): Promise<Record<string, unknown>> => {
    checkPublish(who, `$JS.API.${subject}`);
    return g.bus.jsApiOk(subject, body);
  };
  const route = (method: Route["method"], path: string, doc: RouteDoc, handler: (c: RouteCall) => Promise<void>): Route => ({ method, path, auth: true, handler, doc });
  return [
    route("GET", "/v1/streams", listDoc("streams"), async ({ res, query, who }) => {
      const offset = intParam(query, "offset", 0, Number.MAX_SAFE_INTEGER, 0);
      const subject = query.get("subject");
      sendJson(res, 200, await api(who, "STREAM.LIST", subject === null ? { offset } : { offset, subject: subscribeSubject(subject) }));
    }),
    route("POST", "/v1/streams", { summary: "Create a stream", body: { "application/json": "a stream config (`name` required), as STREAM.CREATE takes it" }, responses: { "201": JS_JSON, "400": "bad config", "403": "no permission" } }, async ({ req, res, who }) => {
      const body = await readJsonObjectRaw(req);
      const name = streamName(body.value["name"]);
      sendJson(res, 201, await api(who, `STREAM.CREATE.${name}`, body.raw));
    }),
    route("GET", "/v1/streams/{stream}", infoDoc("stream"), async ({ res, params, who }) => {
      sendJson(res, 200, await api(who, `STREAM.INFO.${streamName(params["stream"])}`));
    }),
    route("PUT", "/v1/streams/{stream}", { summary: "Update a stream", body: { "application/json": "the whole new stream config" }, responses: { "200": JS_JSON, "400": "bad config or a change JetStream refuses", "404": "no such stream" } }, async ({ req, res, params, who }) => {
      const name = streamName(params["stream"]);
      const body = await readJsonObjectRaw(req);
      const given = body.value["name"];
      if (given !== undefined && given !== name) throw new HttpError(400, "stream name in the body does not match the path");
      sendJson(res, 200, await api(who, `STREAM.UPDATE.${name}`, given === undefined ? withLeadingMember(body, "name", JSON.stringify(name)) : body.raw));
    }),
    route("DELETE", "/v1/streams/{stream}", deleteDoc("stream"), async ({ res, params, who }) => {
      sendJson(res, 200, await api(who, `STREAM.DELETE.${streamName(params["stream"])}`));
    }),
    route("POST", "/v1/streams/{stream}/purge", { summary: "Purge a stream", body: { "application/json": "optional `{filter, seq, keep}` as STREAM.PURGE takes it" }, responses: { "200": JS_JSON, "404": "no such stream" } }, async ({ req, res, params, who }) => {
      const name = streamName(params["stream"]);
      const body = await readJsonObjectRaw(req);
      sendJson(res, 200, await api(who, `STREAM.PURGE.${name}`, Object.keys(body.value).length === 0 ? undefined : body.raw));
    }),
    route(
      "GET",
      "/v1/streams/{stream}/messages/{seq}",
      {
        summary: "Get one stored message",
        description: "`{seq}` is a sequence number, or `last` with `?subject=` for the last message on a subject. The payload is the body, the message headers are response headers (plus `Nats-Stream`, `Nats-Sequence`, `Nats-Subject`, `Nats-Time-Stamp`); with `Accept: application/cloudevents+json` a message with `ce-*` headers comes back as a structured CloudEvent.",
        query: { subject: { description: "with `last`: the subject" } },
        responses: { "200": "the message", "400": "bad sequence", "404": "no such stream or message" },
      },
      async ({ req, res, params, query, who }) => {
        const name = streamName(params["stream"]);
        const s = params["seq"] as string;
        let body: Record<string, unknown>;
        if (s === "last") {
          const subject = query.get("subject");
          if (subject === null || subject === "") throw new HttpError(400, "`last` needs ?subject=");
          body = { last_by_subj: subscribeSubject(subject) };
        } else {
          if (!/^\d{1,16}$/.test(s) || Number(s) < 1 || !Number.isSafeInteger(Number(s))) throw new HttpError(400, `message sequence must be a positive integer, got "${s.slice(0, 40)}"`);
          body = { seq: Number(s) };
        }
        const r = await api(who, `STREAM.MSG.GET.${name}`, body);
        const m = r["message"] as { subject: string; seq: number; hdrs?: string; data?: string; time: string };
        const raw = m.hdrs === undefined ? null : Buffer.from(m.hdrs, "base64");
        const parsed = parseHeaders(raw) ?? { status: 0, description: "", entries: [] };
        parsed.entries.push(["Nats-Stream", name], ["Nats-Sequence", String(m.seq)], ["Nats-Subject", m.subject], ["Nats-Time-Stamp", m.time]);
        sendMessage(req, res, 200, parsed, m.data === undefined ? Buffer.alloc(0) : Buffer.from(m.data, "base64"));
      },
    ),
    route("GET", "/v1/streams/{stream}/consumers", listDoc("consumers"), async ({ res, params, query, who }) => {
      const offset = intParam(query, "offset", 0, Number.MAX_SAFE_INTEGER, 0);
      sendJson(res, 200, await api(who, `CONSUMER.LIST.${streamName(params["stream"])}`, { offset }));
    }),
    route(
      "POST",
      "/v1/streams/{stream}/consumers",
      { summary: "Create a consumer", description: "The body is a CONSUMER.CREATE request `{config: {...}, action?}`, passed on whole, or the config itself. With `durable_name` or `name` it is created under that name, otherwise it is ephemeral.", body: { "application/json": "a consumer config" }, responses: { "201": JS_JSON, "400": "bad config", "404": "no such stream" } },
      async ({ req, res, params, who }) => {
        const stream = streamName(params["stream"]);
        const rawBody = await readJsonObjectRaw(req);
        const body = rawBody.value;
        // `{config, action?}` is a CONSUMER.CREATE request and goes on whole, so JetStream judges
        // every field it holds; any other object is the config itself. Either goes on as sent.
        const wrapped = "config" in body;
        const c = wrapped ? body["config"] : body;
        if (typeof c !== "object" || c === null || Array.isArray(c)) throw new HttpError(400, "config must be a JSON object");
        const cfg = c as Record<string, unknown>;
        if (wrapped && body["stream_name"] !== undefined && body["stream_name"] !== stream) throw new HttpError(400, "stream_name in the body does not match the path");
        const named = cfg["durable_name"] ?? cfg["name"];
        if (named !== undefined && typeof named !== "string") throw new HttpError(400, `${cfg["durable_name"] !== undefined ? "durable_name" : "name"} must be a string`);
        const subject = named === undefined ? `CONSUMER.CREATE.${stream}` : `CONSUMER.CREATE.${stream}.${consumerName(named)}`;
        const streamJson = JSON.stringify(stream);
        const req2 = !wrapped
          ? Buffer.concat([Buffer.from(`{"stream_name":${streamJson},"config":`), rawBody.raw, Buffer.from("}")])
          : body["stream_name"] === undefined
            ? withLeadingMember(rawBody, "stream_name", streamJson)
            : rawBody.raw;
        sendJson(res, 201, await api(who, subject, req2));
      },
    ),
    route("GET", "/v1/streams/{stream}/consumers/{consumer}", infoDoc("consumer"), async ({ res, params, who }) => {
      sendJson(res, 200, await api(who, `CONSUMER.INFO.${streamName(params["stream"])}.${consumerName(params["consumer"])}`));
    }),
    route("DELETE", "/v1/streams/{stream}/consumers/{consumer}", deleteDoc("consumer"), async ({ res, params, who }) => {
      sendJson(res, 200, await api(who, `CONSUMER.DELETE.${streamName(params["stream"])}.${consumerName(params["consumer"])}`));
    }),
  ];
}

function checkName(v: unknown, what: string): string {
  if (typeof v !== "string" || v === "") throw new HttpError(400, `${what} name is required`);
  if (v.length > MAX_NAME_LENGTH) throw new HttpError(400, `${what} name is longer than ${MAX_NAME_LENGTH}`);
  if (!NAME_RE.test(v)) throw new HttpError(400, `${what} name "${v.slice(0, 60)}" may not contain whitespace, '.', '*', '>' or path separators`);
  return v;
}
const streamName = (v: unknown): string => checkName(v, "stream");
const consumerName = (v: unknown): string => checkName(v, "consumer");

function listDoc(what: string): RouteDoc {
  return { summary: `List ${what}`, query: { offset: { description: "skip this many (paging)", type: "integer" } }, responses: { "200": JS_JSON, "404": "no such stream" } };
}
function infoDoc(what: string): RouteDoc {
  return { summary: `Info of a ${what}, with its state`, responses: { "200": JS_JSON, "404": `no such ${what}` } };
}
function deleteDoc(what: string): RouteDoc {
  return { summary: `Delete a ${what}`, responses: { "200": JS_JSON, "404": `no such ${what}` } };
}
