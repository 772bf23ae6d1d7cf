import type { Gateway } from "./context.js";
import type { Route, RouteCall } from "./routes.js";
import { checkPublish, checkSubscribe } from "./auth.js";
import type { GatewayBus } from "./bus-client.js";
import { JS_API_TIMEOUT_MS } from "./bus-client.js";
import { HttpError, intParam, MAX_JSON_BODY_BYTES, parseJsonObject, readBody, sendJson } from "./http-util.js";
import { encodeHeaders } from "../protocol/headers.js";
import { parsePubAck } from "./publish.js";
import { isValidSubject } from "../subjects/validate.js";

/** The stream `/events` creates when no stream holds its subjects yet. */
export const EVENTS_STREAM = "EVENTS";
/** Subjects of `/events` when the options name no prefix: `events.<type>`. */
export const DEFAULT_EVENTS_SUBJECT_PREFIX = "events";
/** Largest event `POST /events` takes. */
export const MAX_EVENT_BYTES = MAX_JSON_BODY_BYTES;
/** Most events one `GET /events` answers; past it the answer says where to continue (`Link`, `Cuebus-Next-Seq`). */
export const MAX_EVENTS_REPLAY = 10_000;
/** Most payload bytes one `GET /events` answers (the same continuation applies). */
export const MAX_EVENTS_REPLAY_BYTES = 16 * 1024 * 1024;
/** Longest subject token made of an event type. */
export const MAX_EVENT_TYPE_TOKEN_BYTES = 128;

const JSON_HEADERS = encodeHeaders([["Content-Type", "application/json"]]);

/** An event type as one subject token: characters other than letters, digits, `-` and `_` become `_`. */
export function eventTypeToken(type: string): string {
  const t = type.replace(/[^A-Za-z0-9_-]/g, "_").slice(0, MAX_EVENT_TYPE_TOKEN_BYTES);
  return t === "" ? "_" : t;
}

/**
 * The stream holding `<prefix>.>`: the one that already covers it, else `EVENTS` created on
 * `<prefix>.>`. Resolves with its name.
 */
export async function ensureEventsStream(bus: GatewayBus, prefix: string): Promise<string> {
  const names = await bus.jsApiOk("STREAM.NAMES", { subject: `${prefix}.x` });
  const found = (names["streams"] as string[] | null | undefined)?.[0];
  if (found !== undefined) return found;
  await bus.jsApiOk(`STREAM.CREATE.${EVENTS_STREAM}`, { name: EVENTS_STREAM, subjects: [`${prefix}.>`], storage: "file" });
  return EVENTS_STREAM;
}

/**
 * The plain HTTP event bus, outside `/v1` but with the same auth: `POST /events` with `{type, data}`
 * JSON publishes the body unchanged to `<prefix>.<type>` in a stream (created on demand) and
 * answers `{"status":"OK","stream":..,"seq":..}`; `GET /events` answers the stored history as a JSON
 * array in order. Services' own `/events` URLs are webhooks on that stream (their body is the same JSON).
 */
export function eventsCompatRoutes(g: Gateway): Route[] {
  const prefix = g.opts.eventsSubjectPrefix ?? DEFAULT_EVENTS_SUBJECT_PREFIX;
  if (!isValidSubject(prefix, false)) throw new Error(`eventsSubjectPrefix "${prefix}" is not a valid subject`);
  let stream: Promise<string> | null = null;
  // One lookup (or creation) shared by concurrent first requests; forgotten when it fails so the next one retries.
  const streamName = (): Promise<string> => {
    if (stream === null) {
      stream = ensureEventsStream(g.bus, prefix);
      stream.catch(() => {
        stream = null;
      });
    }
    return stream;
  };
  const requireJetStream = (): void => {
    if (!g.jetstream) throw new HttpError(503, "JetStream is not enabled on this server");
  };

  const post = async ({ req, res, who }: RouteCall): Promise<void> => {
    requireJetStream();
    const body = await readBody(req, MAX_EVENT_BYTES);
    const ev = parseJsonObject(body, "event", "a JSON object {type, data}");
    const type = ev["type"];
    if (typeof type !== "string" || type === "") throw new HttpError(400, "event needs a string type");
    const subject = `${prefix}.${eventTypeToken(type)}`;
    checkPublish(who, subject);
    const name = await streamName();
    // A `Nats-Msg-Id` request header deduplicates a retried event, as on /v1/publish.
    const msgId = req.headers["nats-msg-id"];
    const headers = typeof msgId === "string" && msgId !== "" && !/[\r\n]/.test(msgId) ? encodeHeaders([["Content-Type", "application/json"], ["Nats-Msg-Id", msgId]]) : JSON_HEADERS;
    const ack = parsePubAck(await g.bus.request(subject, headers, body, JS_API_TIMEOUT_MS));
    sendJson(res, 200, { status: "OK", stream: ack.stream === "" ? name : ack.stream, seq: ack.seq, duplicate: ack.duplicate });
  };

  const get = async ({ res, query, who }: RouteCall): Promise<void> => {
    requireJetStream();
    checkSubscribe(who, `${prefix}.>`);
    const startSeq = intParam(query, "start_seq", 1, Number.MAX_SAFE_INTEGER, 1);
    const names = await g.bus.jsApiOk("STREAM.NAMES", { subject: `${prefix}.x` });
    const name = (names["streams"] as string[] | null | undefined)?.[0];
    if (name === undefined) {
      sendJson(res, 200, []);
      return;
    }
    const info = await g.bus.jsApiOk(`STREAM.INFO.${name}`);
    // The history as of now: events published while it is read come with the next GET.
    const lastSeq = Number((info["state"] as { last_seq?: number } | undefined)?.last_seq ?? 0);
    const items: string[] = [];
    let bytes = 2;
    let seq = startSeq;
    let nextSeq = 0;
    while (seq <= lastSeq) {
      const r = await g.bus.jsApi(`STREAM.MSG.GET.${name}`, { seq, next_by_subj: `${prefix}.>` });
      if (r["error"] !== undefined) break;
      const m = r["message"] as { subject: string; seq: number; data?: string };
      if (m.seq > lastSeq) break;
      const item = eventJson(m.subject.slice(prefix.length + 1), Buffer.from(m.data ?? "", "base64"));
      const size = Buffer.byteLength(item) + 1;
      if (items.length >= MAX_EVENTS_REPLAY || bytes + size > MAX_EVENTS_REPLAY_BYTES) {
        nextSeq = m.seq;
        break;
      }
      items.push(item);
      bytes += size;
      seq = m.seq + 1;
    }
    const text = `[${items.join(",")}]`;
    const headers: Record<string, string | number> = { "content-type": "application/json", "content-length": Buffer.byteLength(text) };
    if (nextSeq > 0) {
      headers["cuebus-next-seq"] = nextSeq;
      headers["link"] = `</events?start_seq=${nextSeq}>; rel="next"`;
    }
    res.writeHead(200, headers);
    res.end(text);
  };

  return [
    {
      method: "POST",
      path: "/events",
      auth: true,
      handler: post,
      doc: {
        summary: "Publish an event (plain HTTP event bus)",
        description: `Publishes the body unchanged to \`${prefix}.<type>\` in the stream holding \`${prefix}.>\` (\`${EVENTS_STREAM}\`, made on demand). Targets are webhooks on that stream.`,
        body: { "application/json": "an event: {\"type\": string, \"data\": JSON value}" },
        responses: { "200": '{"status":"OK","stream":..,"seq":..} once durable', "400": "not JSON, not an object, or no string type", "403": "no publish permission", "413": "over MAX_EVENT_BYTES", "503": "JetStream is not enabled" },
      },
    },
    {
      method: "GET",
      path: "/events",
      auth: true,
      handler: get,
      doc: {
        summary: "Replay the event history (plain HTTP event bus)",
        description: `A JSON array of the events in publish order, at most ${MAX_EVENTS_REPLAY} (or ${MAX_EVENTS_REPLAY_BYTES} bytes) per answer; \`Link\` / \`Cuebus-Next-Seq\` say where to continue.`,
        query: { start_seq: { description: "first stream sequence to answer (continuation)", type: "integer" } },
        responses: { "200": "JSON array of {type, data}", "400": "bad start_seq", "403": "no subscribe permission", "503": "JetStream is not enabled" },
      },
    },
  ];
}

/** A stored event as JSON text: the payload itself when it is JSON, else `{type, data}` with the payload as text. */
function eventJson(typeToken: string, data: Buffer): string {
  const text = data.toString("utf8");
  try {
    JSON.parse(text);
    return text;
  } catch {
    return JSON.stringify({ type: typeToken, data: text });
  }
}
