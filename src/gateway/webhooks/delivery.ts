import type { Agent as HttpAgent } from "node:http";
import { request as httpRequest, type ClientRequest, type IncomingMessage } from "node:http";
import type { Agent as HttpsAgent } from "node:https";
import { request as httpsRequest } from "node:https";
import { DEAD_LETTER_METADATA_KEY } from "../../jetstream/consumer-config.js";
import { headerValue, parseHeaders, type HeaderBlock } from "../../protocol/headers.js";
import { privateInbox, type GatewayBus } from "../bus-client.js";
import { HttpError } from "../http-util.js";
import { jsHttpError, type JsErrorReply } from "../js-status.js";
import { secretKey, signWebhook } from "./signing.js";
import { backoffDelayMs, type WebhookConfig, type WebhookCounters } from "./spec.js";
import { clampTimerMs } from "../../util/timer.js";

/** How long one pull request for the next message waits before the server answers 408 and we ask again. */
export const PULL_EXPIRES_MS = 30_000;
/** A pull request unanswered this long after it expired is taken as lost and made again. */
const PULL_LOST_AFTER_MS = PULL_EXPIRES_MS + 5000;
/** Wait before trying again when the consumer or stream is missing or JetStream does not answer. */
export const WEBHOOK_RETRY_SETUP_MS = 2000;
/** Acks wait this much longer than a delivery may take, so a slow target is not redelivered to while it answers. */
export const ACK_WAIT_SLACK_MS = 5000;
/** Messages that may wait for a retry at once per webhook (the consumer's `max_ack_pending`). */
export const WEBHOOK_MAX_ACK_PENDING = 1000;
/** Most of a failed answer's body kept as `last_error`. */
export const ERROR_SNIPPET_BYTES = 200;
/** Most of an answer's body read (then the connection is dropped). */
export const MAX_WEBHOOK_RESPONSE_BYTES = 64 * 1024;
/** A payload is sniffed as JSON (content type `application/json`) only up to this size. */
export const MAX_JSON_SNIFF_BYTES = 1024 * 1024;
/** Messages held while one is being delivered (a pull request thought lost can still answer). */
const MAX_QUEUED = 4;

/** The consumer name of a webhook. */
export const consumerNameOf = (name: string): string => `webhook-${name}`;

/** The durable pull consumer a webhook reads with (explicit ack, `max_deliver` = attempts, dead letters). */
export function webhookConsumerConfig(cfg: WebhookConfig): Record<string, unknown> {
  const c: Record<string, unknown> = {
    durable_name: consumerNameOf(cfg.name),
    description: `webhook ${cfg.name} -> ${cfg.url}`.slice(0, 4000),
    // "new" means new since the webhook was registered, not since its consumer could be made: a
    // webhook whose stream appears later (config file, start-up order) must not miss what was
    // published before its set-up retry came round.
    ...(cfg.deliver_policy === "new" ? { deliver_policy: "by_start_time", opt_start_time: cfg.created } : { deliver_policy: cfg.deliver_policy }),
    ack_policy: "explicit",
    ack_wait: (cfg.timeout_ms + ACK_WAIT_SLACK_MS) * 1e6,
    max_deliver: cfg.max_attempts,
    max_ack_pending: WEBHOOK_MAX_ACK_PENDING,
    replay_policy: "instant",
    metadata: { [DEAD_LETTER_METADATA_KEY]: cfg.dead_letter_stream, "cuebus.webhook": cfg.name },
  };
  if (cfg.filter_subject !== "") c["filter_subject"] = cfg.filter_subject;
  return c;
}

/** Make sure the dead-letter stream exists (created with a subject of its own nobody publishes to). */
export async function ensureDeadLetterStream(bus: GatewayBus, name: string): Promise<void> {
  const info = await bus.jsApi(`STREAM.INFO.${name}`);
  const e = info["error"] as JsErrorReply | undefined;
  if (e === undefined) return;
  if (e.err_code !== 10059) {
    const err = jsHttpError(e, "JetStream API error");
    throw new HttpError(err.status, `dead-letter stream ${name}: ${err.description}`, err.errCode);
  }
  // Dead letters are appended by JetStream directly, whatever the subject: this one only keeps the
  // stream from capturing anything published.
  await bus.jsApiOk(`STREAM.CREATE.${name}`, { name, subjects: [`$CUEBUS.DLQ.${name}`], storage: "file" });
}

/** Create (or confirm) a webhook's durable consumer. */
export async function ensureWebhookConsumer(bus: GatewayBus, cfg: WebhookConfig): Promise<void> {
  await bus.jsApiOk(`CONSUMER.CREATE.${cfg.stream}.${consumerNameOf(cfg.name)}`, { stream_name: cfg.stream, config: webhookConsumerConfig(cfg) });
}

interface Held {
  ackReply: string;
  subject: string;
  headers: HeaderBlock | null;
  data: Buffer;
}

const ACK = Buffer.from("+ACK");
const NAK = Buffer.from("-NAK");
const PULL_BODY = Buffer.from(JSON.stringify({ batch: 1, expires: PULL_EXPIRES_MS * 1e6 }));
const HEADER_TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

/**
 * One webhook's delivery loop: one pull request at a time on its durable consumer, one HTTP POST
 * in flight at a time (so a healthy target sees messages in stream order), then `+ACK` on a 2xx
 * or `-NAK` with the backoff delay otherwise; on the last attempt a plain `-NAK`, and the consumer,
 * at `max_deliver`, hands the message to the dead-letter stream.
 */
export class WebhookDelivery {
  readonly counters: WebhookCounters;
  private readonly key: Buffer;
  private readonly nextSubject: string;
  private readonly inbox: string;
  private unsub: (() => void) | null = null;
  private outstanding = false;
  private busy = false;
  private readonly queued: Held[] = [];
  private timer: NodeJS.Timeout | null = null;
  private current: ClientRequest | null = null;
  private closed = false;

  constructor(
    readonly cfg: WebhookConfig,
    private readonly bus: GatewayBus,
    private readonly agents: { http: HttpAgent; https: HttpsAgent },
  ) {
    this.counters = { name: cfg.name, stream: cfg.stream, deliveries: 0, failures: 0, attempts: 0, deadLetters: 0, lastStatus: 0, lastError: "", lastAttemptAt: "" };
    this.key = secretKey(cfg.secret);
    this.nextSubject = `$JS.API.CONSUMER.MSG.NEXT.${cfg.stream}.${consumerNameOf(cfg.name)}`;
    this.inbox = privateInbox();
  }

  /** Start delivering; with `ensured` false the consumer (and dead-letter stream) is made first, retried until it can be. */
  start(ensured: boolean): void {
    this.unsub = this.bus.client.subscribe(this.inbox, "", this.onMessage);
    if (ensured) this.pull();
    else this.setup();
  }

  /** Stop: no more pulls; an HTTP attempt in flight is abandoned (the message is redelivered after ack_wait). */
  stop(): void {
    this.closed = true;
    this.unsub?.();
    this.unsub = null;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.current?.destroy();
    this.current = null;
    this.queued.length = 0;
  }

  private setup(): void {
    if (this.closed) return;
    ensureDeadLetterStream(this.bus, this.cfg.dead_letter_stream)
      .then(() => ensureWebhookConsumer(this.bus, this.cfg))
      .then(
        () => this.pull(),
        (err: unknown) => {
          this.counters.lastError = `consumer set-up: ${err instanceof Error ? err.message : String(err)}`;
          this.later(WEBHOOK_RETRY_SETUP_MS, true);
        },
      );
  }

  private later(ms: number, setup: boolean): void {
    if (this.closed) return;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = setTimeout(setup ? this.onSetupTimer : this.onPullTimer, clampTimerMs(ms));
  }

  private readonly onSetupTimer = (): void => {
    this.timer = null;
    this.setup();
  };

  private readonly onPullTimer = (): void => {
    this.timer = null;
    this.outstanding = false;
    // No answer, not even the 408 at expiry: a pull for a consumer that is gone reaches only the
    // API router and is never answered, so make sure the consumer exists before asking again.
    this.setup();
  };

  private pull(): void {
    if (this.closed || this.busy || this.outstanding) return;
    this.outstanding = true;
    const n = this.bus.client.publish(this.nextSubject, this.inbox, null, PULL_BODY);
    // Nobody took the request (JetStream stopping or not running): ask again a little later.
    this.later(n === 0 ? WEBHOOK_RETRY_SETUP_MS : PULL_LOST_AFTER_MS, false);
  }

  private readonly onMessage = (subject: string, reply: string, headers: Buffer | null, data: Buffer): void => {
    if (this.closed) return;
    if (reply.startsWith("$JS.ACK.")) {
      this.outstanding = false;
      if (this.timer !== null) clearTimeout(this.timer);
      this.timer = null;
      // Copies: the router's slices are only valid during this call.
      const held: Held = { ackReply: reply, subject, headers: parseHeaders(headers === null ? null : Buffer.from(headers)), data: Buffer.from(data) };
      if (this.busy) {
        if (this.queued.length < MAX_QUEUED) this.queued.push(held);
        // Over the bound: not acked, so the consumer redelivers it after ack_wait.
        return;
      }
      this.deliver(held);
      return;
    }
    const status = parseHeaders(headers)?.status ?? 0;
    if (status === 100) return;
    this.outstanding = false;
    if (status === 404 || status === 408) this.pull();
    else if (status === 409 && (parseHeaders(headers)?.description ?? "").startsWith("Consumer Deleted")) {
      this.counters.lastError = "consumer was deleted; re-creating it";
      this.later(WEBHOOK_RETRY_SETUP_MS, true);
    } else this.later(WEBHOOK_RETRY_SETUP_MS, false);
  };

  private deliver(m: Held): void {
    this.busy = true;
    // $JS.ACK.<stream>.<consumer>.<delivered>.<stream seq>.<consumer seq>.<timestamp>.<pending>
    const t = m.ackReply.split(".");
    const attempt = Number(t[t.length - 5]);
    const seq = t[t.length - 4] as string;
    const id = `${this.cfg.stream}:${seq}`;
    const ts = Math.floor(Date.now() / 1000);
    const h: Record<string, string | number> = {
      "content-type": contentTypeOf(m.headers, m.data),
      "content-length": m.data.length,
      "user-agent": "cuebus-webhooks",
      "webhook-id": id,
      "webhook-timestamp": ts,
      "webhook-signature": signWebhook(this.key, id, ts, m.data),
      "cuebus-stream": this.cfg.stream,
      "cuebus-sequence": seq,
      "cuebus-subject": m.subject,
      "cuebus-attempt": attempt,
    };
    // CloudEvents binary mode: ce-* message headers go out as HTTP headers (the publish route maps them in).
    if (m.headers !== null) for (const [k, v] of m.headers.entries) if (/^ce-/i.test(k) && HEADER_TOKEN.test(k) && HEADER_VALUE.test(v)) h[k.toLowerCase()] = v;
    this.counters.attempts++;
    this.counters.lastAttemptAt = new Date().toISOString();
    this.post(h, m.data).then(
      ({ status, error }) => this.settle(m, attempt, status, error),
      (err: unknown) => this.settle(m, attempt, 0, err instanceof Error ? err.message : String(err)),
    );
  }

  private settle(m: Held, attempt: number, status: number, error: string): void {
    this.current = null;
    if (this.closed) return;
    this.counters.lastStatus = status;
    if (status >= 200 && status < 300) {
      this.counters.deliveries++;
      this.counters.lastError = "";
      this.bus.client.publish(m.ackReply, "", null, ACK);
    } else {
      this.counters.failures++;
      this.counters.lastError = error;
      if (attempt >= this.cfg.max_attempts) {
        // Redelivered at once past max_deliver: the consumer moves it to the dead-letter stream.
        this.counters.deadLetters++;
        this.bus.client.publish(m.ackReply, "", null, NAK);
      } else {
        const delayNs = backoffDelayMs(this.cfg, attempt) * 1e6;
        this.bus.client.publish(m.ackReply, "", null, Buffer.from(`-NAK {"delay":${delayNs}}`));
      }
    }
    this.busy = false;
    const next = this.queued.shift();
    if (next !== undefined) this.deliver(next);
    else this.pull();
  }

  /** POST the body; resolves with the status (0 when there was no answer) and, on failure, why. */
  private post(headers: Record<string, string | number>, body: Buffer): Promise<{ status: number; error: string }> {
    const url = this.cfg.url;
    const https = url.startsWith("https:");
    const timeoutMs = this.cfg.timeout_ms;
    return new Promise((resolve) => {
      let done = false;
      const finish = (status: number, error: string): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        resolve({ status, error });
      };
      const onResponse = (res: IncomingMessage): void => {
        const status = res.statusCode ?? 0;
        const ok = status >= 200 && status < 300;
        let snippet = "";
        let size = 0;
        res.on("data", (chunk: Buffer) => {
          size += chunk.length;
          if (!ok && snippet.length < ERROR_SNIPPET_BYTES) snippet += chunk.toString("utf8", 0, ERROR_SNIPPET_BYTES - snippet.length);
          if (size > MAX_WEBHOOK_RESPONSE_BYTES) {
            res.destroy();
            finish(status, ok ? "" : `HTTP ${status}: ${snippet}`);
          }
        });
        res.once("end", () => finish(status, ok ? "" : `HTTP ${status}${snippet === "" ? "" : `: ${snippet}`}`));
        res.once("error", (e) => finish(status, ok ? "" : `HTTP ${status}: ${e.message}`));
      };
      const req = https
        ? httpsRequest(url, { method: "POST", headers, agent: this.agents.https }, onResponse)
        : httpRequest(url, { method: "POST", headers, agent: this.agents.http }, onResponse);
      this.current = req;
      const timer = setTimeout(() => {
        finish(0, `no answer within ${timeoutMs} ms`);
        req.destroy();
      }, clampTimerMs(timeoutMs));
      req.once("error", (e) => finish(0, e.message));
      req.end(body);
    });
  }
}

/** The message's Content-Type header; else JSON when the payload parses as JSON; else octet-stream. */
export function contentTypeOf(h: HeaderBlock | null, data: Buffer): string {
  const ct = headerValue(h, "Content-Type");
  if (ct !== undefined && ct !== "" && HEADER_VALUE.test(ct)) return ct;
  if (data.length > 0 && data.length <= MAX_JSON_SNIFF_BYTES) {
    const c = data[0] as number;
    // Only a body that starts like an object or array is worth parsing.
    if (c === 0x7b || c === 0x5b) {
      try {
        JSON.parse(data.toString("utf8"));
        return "application/json";
      } catch {
        // not JSON
      }
    }
  }
  return "application/octet-stream";
}
