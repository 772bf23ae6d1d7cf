import type { Gateway, GatewayFeature } from "./context.js";
import type { Route, RouteCall } from "./routes.js";
import { HttpError, intParam } from "./http-util.js";
import { checkSubscribe } from "./auth.js";
import { subscribeSubject } from "./subject-check.js";
import { SseStream, type ReplaySource, type StartPosition } from "./sse-stream.js";

/** Default interval of `: keep-alive` comment lines (proxies drop connections idle much longer). */
export const SSE_KEEPALIVE_MS = 15_000;
/** Smallest `?keepalive_ms=` accepted (below it keep-alives would be most of the traffic). */
export const SSE_MIN_KEEPALIVE_MS = 50;
/** Largest `?keepalive_ms=` accepted. */
export const SSE_MAX_KEEPALIVE_MS = 300_000;
/** Bounds of `?retry_ms=`, the reconnect delay sent to EventSource clients as `retry:` (they default to about 3 s). */
export const SSE_MIN_RETRY_MS = 100;
/** Largest `?retry_ms=` accepted. */
export const SSE_MAX_RETRY_MS = 3_600_000;
/** Open SSE responses one gateway serves at once; one more is refused with 503. */
export const SSE_MAX_STREAMS = 10_000;

const DELIVER = ["all", "last", "new", "last_per_subject"] as const;
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$/;

/**
 * `GET /v1/subscribe/{subject}`: server-sent events. Subjects a stream holds are replayed from it
 * (`id:` is the stream sequence, resumable with `Last-Event-ID`); other subjects stream live.
 */
export class SseFeature implements GatewayFeature {
  readonly routes: Route[];
  private readonly open = new Set<SseStream>();
  private closing = false;

  constructor(private readonly g: Gateway) {
    this.forget = this.forget.bind(this);
    this.routes = [
      {
        method: "GET",
        path: "/v1/subscribe/{subject}",
        auth: true,
        handler: (call) => this.subscribe(call),
        doc: {
          summary: "Server-sent events of a subject",
          description:
            "Streams `text/event-stream`. Each message is `event: message` with `data:` a JSON envelope " +
            '`{"subject","seq"?,"time"?,"headers"?,"data" | "data_base64"}`. When a stream holds the subject ' +
            "(wildcards allowed), messages are replayed from it, `id:` is the stream sequence, and a reconnect " +
            "with `Last-Event-ID` resumes right after it; otherwise messages stream live from now. `: keep-alive` " +
            'comments are sent while idle. A live reader that falls behind gets `event: error` with `{"reason":"slow consumer"}` and is closed.',
          query: {
            start_seq: { description: "Replay from this stream sequence (streams only).", type: "integer" },
            start_time: { description: "Replay from this RFC 3339 time (streams only)." },
            deliver: { description: "all, last, last_per_subject or new (default: new, live from now)." },
            retry_ms: { description: `Reconnect delay to tell EventSource clients (a \`retry:\` line), ${SSE_MIN_RETRY_MS}..${SSE_MAX_RETRY_MS}.`, type: "integer" },
            keepalive_ms: { description: `Keep-alive interval, ${SSE_MIN_KEEPALIVE_MS}..${SSE_MAX_KEEPALIVE_MS} (default ${SSE_KEEPALIVE_MS}).`, type: "integer" },
          },
          responses: {
            "200": "text/event-stream of the subject's messages",
            "400": "Bad subject, start position or keepalive_ms; or a start position on a subject no stream holds",
            "403": "No subscribe permission on the subject",
            "409": "More than one stream holds the subject",
            "503": "Too many open event streams",
          },
        },
      },
    ];
  }

  /** Open event streams (for tests and metrics). */
  get openStreams(): number {
    return this.open.size;
  }

  private async subscribe(call: RouteCall): Promise<void> {
    const { params, query, who, req, res } = call;
    // As SUB takes it, and no longer than a control line (no NATS client could use a longer one).
    const subject = subscribeSubject(params["subject"] as string, this.g.core.limits.maxControlLineBytes);
    checkSubscribe(who, subject);
    const keepaliveMs = intParam(query, "keepalive_ms", SSE_MIN_KEEPALIVE_MS, SSE_MAX_KEEPALIVE_MS, SSE_KEEPALIVE_MS);
    const retryMs = intParam(query, "retry_ms", SSE_MIN_RETRY_MS, SSE_MAX_RETRY_MS);
    const resume = lastEventId(req.headers["last-event-id"]);
    const start = startPosition(query);
    if (this.closing) throw new HttpError(503, "server shutting down");
    if (this.open.size >= SSE_MAX_STREAMS) throw new HttpError(503, `too many open event streams (${SSE_MAX_STREAMS})`);

    let replay: ReplaySource | null = null;
    const stream = this.g.jetstream ? await this.streamOf(subject) : null;
    if (stream !== null) {
      // Last-Event-ID wins over the query: EventSource reconnects with the same URL plus the header.
      const from: StartPosition = resume !== null ? { deliver_policy: "by_start_sequence", opt_start_seq: resume + 1 } : (start ?? { deliver_policy: "new" });
      replay = { stream, subject, start: from };
    } else if (start !== null && start.deliver_policy !== "new") {
      throw new HttpError(400, `no stream holds "${subject}": start_seq, start_time and deliver=${start.deliver_policy} need one`);
    }

    const s = new SseStream(this.g.bus, res, this.forget, replay);
    await s.prepare();
    // The reader may have gone, or the gateway begun closing, while the consumer was made.
    if (this.closing || req.socket.destroyed || res.destroyed) {
      await s.end();
      return;
    }
    this.open.add(s);
    s.begin(subject, keepaliveMs, retryMs);
  }

  /** The one stream whose subjects cover `subject`, or null when none does. */
  private async streamOf(subject: string): Promise<string | null> {
    const r = await this.g.bus.jsApiOk("STREAM.NAMES", { subject });
    const names = Array.isArray(r["streams"]) ? (r["streams"] as unknown[]).filter((n): n is string => typeof n === "string") : [];
    if (names.length === 0) return null;
    if (names.length > 1) throw new HttpError(409, `streams ${names.join(", ")} all hold "${subject}": subscribe to a narrower subject`);
    return names[0] as string;
  }

  private forget(s: SseStream): void {
    this.open.delete(s);
  }

  /** End every open event stream and release its subscription or consumer. */
  async close(): Promise<void> {
    this.closing = true;
    await Promise.all([...this.open].map((s) => s.end()));
    this.open.clear();
  }
}

/** The `Last-Event-ID` header as a sequence; null when absent or empty; 400 when not a sequence. */
function lastEventId(h: string | string[] | undefined): number | null {
  if (h === undefined || h === "") return null;
  const v = Array.isArray(h) ? h[0] : h;
  if (v === undefined || !/^\d{1,16}$/.test(v.trim()) || !Number.isSafeInteger(Number(v))) {
    throw new HttpError(400, `Last-Event-ID must be a stream sequence, got "${String(v).slice(0, 40)}"`);
  }
  return Number(v);
}

/** The start position the query asks for (at most one of start_seq, start_time, deliver); null when none. */
function startPosition(q: URLSearchParams): StartPosition | null {
  const given = ["start_seq", "start_time", "deliver"].filter((k) => q.has(k));
  if (given.length > 1) throw new HttpError(400, `give only one of start_seq, start_time, deliver (got ${given.join(", ")})`);
  const seq = intParam(q, "start_seq", 1, Number.MAX_SAFE_INTEGER);
  if (seq !== undefined) return { deliver_policy: "by_start_sequence", opt_start_seq: seq };
  const time = q.get("start_time");
  if (time !== null) {
    if (!RFC3339.test(time) || Number.isNaN(Date.parse(time))) throw new HttpError(400, `start_time must be an RFC 3339 time, got "${time.slice(0, 40)}"`);
    return { deliver_policy: "by_start_time", opt_start_time: time };
  }
  const deliver = q.get("deliver");
  if (deliver !== null) {
    if (!(DELIVER as readonly string[]).includes(deliver)) throw new HttpError(400, `deliver must be one of ${DELIVER.join(", ")}, got "${deliver.slice(0, 40)}"`);
    return { deliver_policy: deliver as StartPosition["deliver_policy"] };
  }
  return null;
}
