import type { Gateway, GatewayFeature } from "./context.js";
import type { Route, RouteCall } from "./routes.js";
import { HttpError, intParam, readJsonObject } from "./http-util.js";
import { checkPublish } from "./auth.js";
import { isValidLiteralSubject } from "../subjects/validate.js";
import { JS_API_TIMEOUT_MS } from "./bus-client.js";
import { parseAckSubject } from "./message-json.js";
import { LongPoll } from "./long-poll-request.js";
import { isStrictBase64Url } from "./strict-base64.js";

/** Most messages one long poll returns (`?batch=`). */
export const LONG_POLL_MAX_BATCH = 1000;
/** Longest `?wait_ms=` a long poll may wait for a message (proxies commonly cut idle requests at 60 s). */
export const LONG_POLL_MAX_WAIT_MS = 60_000;
/** `?wait_ms=` when absent. */
export const LONG_POLL_DEFAULT_WAIT_MS = 10_000;
/** Longest ack token accepted (an ack subject is well under this). */
export const MAX_ACK_TOKEN_CHARS = 1024;
/** Longest `nak` delay (`delay_ms`): one day. */
export const MAX_NAK_DELAY_MS = 24 * 60 * 60 * 1000;
/** Largest JSON body of `POST /v1/ack/{token}`. */
export const MAX_ACK_BODY_BYTES = 4096;

const ACK_KINDS = ["ack", "nak", "progress", "term"] as const;
type AckKind = (typeof ACK_KINDS)[number];
const ACK_BODY: Record<AckKind, Buffer> = { ack: Buffer.from("+ACK"), nak: Buffer.from("-NAK"), progress: Buffer.from("+WPI"), term: Buffer.from("+TERM") };
/** A stream or consumer name as nats-server accepts it in an API subject: one token, no wildcards or separators. */
const NAME = /^[^.*>\s\\/]{1,255}$/;

/**
 * Long polling a durable pull consumer over HTTP (`GET /v1/streams/{stream}/consumers/{consumer}/next`)
 * and acknowledging what it returned (`POST /v1/ack/{token}`), both through the same
 * `$JS.API.CONSUMER.MSG.NEXT` and `$JS.ACK` subjects a NATS client uses.
 */
export class LongPollFeature implements GatewayFeature {
  readonly routes: Route[];
  private readonly polls = new Set<LongPoll>();

  constructor(private readonly g: Gateway) {
    this.routes = [
      {
        method: "GET",
        path: "/v1/streams/{stream}/consumers/{consumer}/next",
        auth: true,
        handler: (call) => this.next(call),
        doc: {
          summary: "Long poll a pull consumer for its next messages",
          description:
            "Answers as soon as the consumer has messages (up to `batch`), or with 204 when `wait_ms` passes first. " +
            'Body: `{"messages":[{"subject","seq","time","deliveries","headers"?,"data" | "data_base64","ack_token"}]}`. ' +
            "Acknowledge each with `POST /v1/ack/{ack_token}` (consumers with an ack policy redeliver after `ack_wait` otherwise).",
          query: {
            batch: { description: `Most messages to return, 1..${LONG_POLL_MAX_BATCH} (default 1).`, type: "integer" },
            wait_ms: { description: `How long to wait for a first message, 0..${LONG_POLL_MAX_WAIT_MS} (default ${LONG_POLL_DEFAULT_WAIT_MS}).`, type: "integer" },
          },
          responses: {
            "200": "Messages (JSON)",
            "204": "No message arrived within wait_ms",
            "400": "Bad stream or consumer name, batch or wait_ms",
            "403": "No publish permission on the consumer's $JS.API.CONSUMER.MSG.NEXT subject",
            "404": "Stream or consumer not found (JetStream err_code)",
            "409": "The consumer refused the request (push consumer, deleted, over its max_batch/max_waiting)",
            "503": "JetStream is not enabled",
          },
        },
      },
      {
        method: "POST",
        path: "/v1/ack/{token}",
        auth: true,
        handler: (call) => this.ack(call),
        doc: {
          summary: "Acknowledge a long-polled message",
          description:
            "`kind` is `ack` (default), `nak` (redeliver; after `delay_ms` when given), `progress` (restart the ack wait) or `term` " +
            "(never redeliver). Sent to the message's `$JS.ACK` subject, answered once the consumer has processed it.",
          query: {
            kind: { description: "ack, nak, progress or term (default ack)." },
            delay_ms: { description: `nak only: redeliver after this long, 0..${MAX_NAK_DELAY_MS}.`, type: "integer" },
          },
          body: { "application/json": 'Optional `{"kind": .., "delay_ms": ..}` instead of the query.' },
          responses: {
            "204": "Processed by the consumer",
            "400": "Not an ack token, or a bad kind or delay_ms",
            "403": "No publish permission on the ack subject",
            "404": "The consumer of this token no longer exists",
          },
        },
      },
    ];
  }

  private async next(call: RouteCall): Promise<void> {
    const { params, query, who, res } = call;
    const stream = params["stream"] as string;
    const consumer = params["consumer"] as string;
    if (!NAME.test(stream)) throw new HttpError(400, `invalid stream name "${stream.slice(0, 80)}"`);
    if (!NAME.test(consumer)) throw new HttpError(400, `invalid consumer name "${consumer.slice(0, 80)}"`);
    const batch = intParam(query, "batch", 1, LONG_POLL_MAX_BATCH, 1);
    const waitMs = intParam(query, "wait_ms", 0, LONG_POLL_MAX_WAIT_MS, LONG_POLL_DEFAULT_WAIT_MS);
    const nextSubject = `$JS.API.CONSUMER.MSG.NEXT.${stream}.${consumer}`;
    // A NATS client needs exactly this permission to pull.
    checkPublish(who, nextSubject);
    if (!this.g.jetstream) throw new HttpError(503, "JetStream is not enabled on this server");
    // The API router also listens under $JS.API, so a pull for a missing consumer would just time
    // out: CONSUMER.INFO first answers 404 with JetStream's err_code (stream or consumer not found).
    await this.g.bus.jsApiOk(`CONSUMER.INFO.${stream}.${consumer}`);
    if (res.destroyed) return;
    const poll = new LongPoll(this.g.bus, res, nextSubject, batch, waitMs);
    this.polls.add(poll);
    try {
      // Were the consumer deleted since the INFO, the pull reaches only the API router, which does
      // not answer it: the poll then ends with a 204 once wait_ms (plus a grace) has passed.
      poll.start();
      await poll.done;
    } finally {
      this.polls.delete(poll);
    }
  }

  private async ack(call: RouteCall): Promise<void> {
    const { params, query, who, req, res } = call;
    const token = params["token"] as string;
    // Strict: a lenient decode would turn a mistyped token into some other subject.
    if (token === "" || token.length > MAX_ACK_TOKEN_CHARS || !isStrictBase64Url(token)) throw new HttpError(400, "ack token must be base64url");
    const subject = Buffer.from(token, "base64url").toString("utf8");
    const info = parseAckSubject(subject);
    if (info === null || !isValidLiteralSubject(subject)) throw new HttpError(400, "not an ack token (it does not decode to a $JS.ACK subject)");
    const body = await readJsonObject(req, MAX_ACK_BODY_BYTES);
    const kindRaw = query.get("kind") ?? body["kind"] ?? "ack";
    if (typeof kindRaw !== "string" || !(ACK_KINDS as readonly string[]).includes(kindRaw)) {
      throw new HttpError(400, `kind must be one of ${ACK_KINDS.join(", ")}, got ${JSON.stringify(kindRaw).slice(0, 40)}`);
    }
    const kind = kindRaw as AckKind;
    let delayMs = intParam(query, "delay_ms", 0, MAX_NAK_DELAY_MS);
    if (delayMs === undefined && body["delay_ms"] !== undefined) {
      const d = body["delay_ms"];
      if (typeof d !== "number" || !Number.isInteger(d) || d < 0 || d > MAX_NAK_DELAY_MS) throw new HttpError(400, `delay_ms must be an integer between 0 and ${MAX_NAK_DELAY_MS}`);
      delayMs = d;
    }
    if (delayMs !== undefined && kind !== "nak") throw new HttpError(400, "delay_ms only goes with kind=nak");
    checkPublish(who, subject);
    // nats-server's -NAK takes {"delay": nanoseconds}.
    const payload = kind === "nak" && delayMs !== undefined ? Buffer.from(`-NAK ${JSON.stringify({ delay: delayMs * 1e6 })}`) : ACK_BODY[kind];
    try {
      // A request, not a publish: the consumer answers once it has processed the ack (a "double ack").
      await this.g.bus.request(subject, null, payload, JS_API_TIMEOUT_MS);
    } catch (err) {
      if (err instanceof HttpError && err.status === 503) throw new HttpError(404, `consumer "${info.consumer}" of stream "${info.stream}" no longer exists`);
      throw err;
    }
    res.writeHead(204);
    res.end();
  }

  /** Answer every waiting long poll now (204, or what it already holds). */
  close(): void {
    for (const p of this.polls) p.finish();
    this.polls.clear();
  }
}
