import { createHash, randomBytes } from "node:crypto";
import { isSubscribeSubject } from "../subject-check.js";
import { HttpError } from "../http-util.js";
import { generateSecret, isValidSecret } from "./signing.js";

/** Most webhooks one server keeps (each holds a durable consumer and a pull request). */
export const MAX_WEBHOOKS = 1000;
/** Most delivery attempts per message (the consumer's `max_deliver`). */
export const MAX_WEBHOOK_ATTEMPTS = 50;
/** Attempts per message when a webhook names none. */
export const DEFAULT_WEBHOOK_ATTEMPTS = 5;
/** Longest one delivery may take before it counts as failed. */
export const MAX_WEBHOOK_TIMEOUT_MS = 120_000;
/** Delivery timeout when a webhook names none. */
export const DEFAULT_WEBHOOK_TIMEOUT_MS = 10_000;
/** Longest wait between two attempts. */
export const MAX_WEBHOOK_BACKOFF_MS = 24 * 3600 * 1000;
/** Exponential backoff when a webhook names none: the first retry after about 1 s, then doubling, up to 5 min. */
export const DEFAULT_WEBHOOK_BACKOFF = { initialMs: 1000, maxMs: 300_000, multiplier: 2 } as const;
/** Largest backoff multiplier. */
export const MAX_WEBHOOK_BACKOFF_MULTIPLIER = 10;
/** Longest target URL. */
export const MAX_WEBHOOK_URL_BYTES = 2048;
/** Largest `POST /v1/webhooks` body. */
export const MAX_WEBHOOK_SPEC_BYTES = 64 * 1024;
/** Jitter: each wait is shortened by a random part of up to this fraction, so retries of many messages spread out. */
export const WEBHOOK_JITTER_FRACTION = 0.25;

/** A webhook registration as `POST /v1/webhooks` and the config file give it (JSON names). */
export interface WebhookSpec {
  /** `[A-Za-z0-9_-]{1,64}`; generated when absent. */
  name?: string;
  /** http or https target. */
  url: string;
  stream: string;
  /** Only messages on these subjects; all the stream's subjects when absent. */
  filter_subject?: string;
  /** Delivery attempts per message before it goes to the dead-letter stream. */
  max_attempts?: number;
  /** Waits between attempts: a list (the last one repeats) or exponential `{initial, max, multiplier?}`. */
  backoff_ms?: number[] | { initial: number; max: number; multiplier?: number };
  timeout_ms?: number;
  /** `whsec_<base64 of 24..64 bytes>`; generated when absent. */
  secret?: string;
  /** Where messages go after the last attempt; `<stream>_DLQ` when absent (created when missing). */
  dead_letter_stream?: string;
  /** `new` (default): messages published from now on; `all`: the stream's whole history first. */
  deliver_policy?: "new" | "all";
}

/** What a webhook has done so far (since this server started), for inspect and `/metrics`. */
export interface WebhookCounters {
  name: string;
  stream: string;
  /** Messages delivered (a 2xx answer). */
  deliveries: number;
  /** Attempts that failed (not 2xx, a timeout, or no connection). */
  failures: number;
  /** HTTP attempts made, successful or not. */
  attempts: number;
  /** Messages given up after their last attempt (sent to the dead-letter stream). */
  deadLetters: number;
  /** HTTP status of the last attempt; 0 when it got no answer (or none was made yet). */
  lastStatus: number;
  /** Why the last failed attempt (or consumer set-up) failed; "" when the last attempt succeeded. */
  lastError: string;
  /** ISO time of the last attempt; "" before the first. */
  lastAttemptAt: string;
}

/** A validated registration, everything resolved; kept on disk with its secret. */
export interface WebhookConfig {
  name: string;
  url: string;
  stream: string;
  /** "" = every subject of the stream. */
  filter_subject: string;
  max_attempts: number;
  backoff_ms: number[] | { initial: number; max: number; multiplier: number };
  timeout_ms: number;
  dead_letter_stream: string;
  deliver_policy: "new" | "all";
  secret: string;
  /** ISO time of registration. */
  created: string;
  /** `api` (POST /v1/webhooks) or `config` (the config file: removed again when it leaves the file). */
  source: "api" | "config";
}

const NAME_RE = /^[A-Za-z0-9_-]{1,64}$/;
const KEYS = new Set(["name", "url", "stream", "filter_subject", "max_attempts", "backoff_ms", "timeout_ms", "secret", "dead_letter_stream", "deliver_policy"]);

const bad = (what: string): HttpError => new HttpError(400, what);

function int(v: unknown, key: string, min: number, max: number): number {
  if (typeof v !== "number" || !Number.isInteger(v)) throw bad(`${key} must be an integer`);
  if (v < min || v > max) throw bad(`${key} must be between ${min} and ${max}, got ${v}`);
  return v;
}

function optString(v: unknown, key: string): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string") throw bad(`${key} must be a string`);
  return v;
}

/** Stream names as nats-server accepts them (no wildcards, dots, separators or spaces). */
export function isValidStreamName(s: string): boolean {
  return s.length > 0 && s.length <= 255 && !/[\s.*>/\\]/.test(s);
}

function parseBackoff(v: unknown): WebhookConfig["backoff_ms"] {
  if (v === undefined || v === null) return { initial: DEFAULT_WEBHOOK_BACKOFF.initialMs, max: DEFAULT_WEBHOOK_BACKOFF.maxMs, multiplier: DEFAULT_WEBHOOK_BACKOFF.multiplier };
  if (Array.isArray(v)) {
    if (v.length === 0 || v.length > MAX_WEBHOOK_ATTEMPTS) throw bad(`backoff_ms must list 1 to ${MAX_WEBHOOK_ATTEMPTS} waits`);
    return v.map((x, i) => int(x, `backoff_ms[${i}]`, 0, MAX_WEBHOOK_BACKOFF_MS));
  }
  if (typeof v === "object") {
    const o = v as Record<string, unknown>;
    for (const k of Object.keys(o)) if (k !== "initial" && k !== "max" && k !== "multiplier") throw bad(`backoff_ms: unknown field "${k}"`);
    const initial = int(o["initial"], "backoff_ms.initial", 0, MAX_WEBHOOK_BACKOFF_MS);
    const max = int(o["max"] ?? Math.max(initial, DEFAULT_WEBHOOK_BACKOFF.maxMs), "backoff_ms.max", initial, MAX_WEBHOOK_BACKOFF_MS);
    const m = o["multiplier"] ?? DEFAULT_WEBHOOK_BACKOFF.multiplier;
    if (typeof m !== "number" || !Number.isFinite(m) || m < 1 || m > MAX_WEBHOOK_BACKOFF_MULTIPLIER) {
      throw bad(`backoff_ms.multiplier must be a number between 1 and ${MAX_WEBHOOK_BACKOFF_MULTIPLIER}`);
    }
    return { initial, max, multiplier: m };
  }
  throw bad("backoff_ms must be a list of waits or {initial, max, multiplier?}");
}

/** Check a target URL: http or https, a host, no credentials, not too long. Returns the parsed URL. */
export function parseTargetUrl(v: unknown): URL {
  if (typeof v !== "string" || v === "") throw bad("url is required");
  if (Buffer.byteLength(v) > MAX_WEBHOOK_URL_BYTES) throw bad(`url is longer than ${MAX_WEBHOOK_URL_BYTES} bytes`);
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    throw bad(`url is not a valid URL: "${v.slice(0, 80)}"`);
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") throw bad(`url must be http or https, got ${u.protocol.slice(0, -1)}`);
  if (u.hostname === "") throw bad("url has no host");
  // Credentials in a URL would be shown by GET /v1/webhooks; the signature is the authentication.
  if (u.username !== "" || u.password !== "") throw bad("url must not carry user:password; verify the webhook signature instead");
  return u;
}

/**
 * Validate a registration (from `POST /v1/webhooks` or the config file) into a full config; 400
 * naming the field otherwise. A webhook without a name gets a random one (API) or one derived from
 * its stream, filter and URL (config file, so a restart finds the same registration).
 */
export function parseWebhookSpec(raw: Record<string, unknown>, source: WebhookConfig["source"]): WebhookConfig {
  for (const k of Object.keys(raw)) if (!KEYS.has(k)) throw bad(`unknown field "${k}"`);
  const url = parseTargetUrl(raw["url"]).href;
  const stream = optString(raw["stream"], "stream");
  if (stream === undefined || stream === "") throw bad("stream is required");
  if (!isValidStreamName(stream)) throw bad(`stream "${stream.slice(0, 80)}" is not a valid stream name`);
  const name = optString(raw["name"], "name") ?? (source === "api" ? randomWebhookName() : configWebhookName(raw));
  if (!NAME_RE.test(name)) throw bad("name must be 1 to 64 letters, digits, '-' or '_'");
  const filter = optString(raw["filter_subject"], "filter_subject") ?? "";
  if (filter !== "" && !isSubscribeSubject(filter)) throw bad(`filter_subject "${filter.slice(0, 80)}" is not a valid subject`);
  const attempts = raw["max_attempts"] === undefined ? DEFAULT_WEBHOOK_ATTEMPTS : int(raw["max_attempts"], "max_attempts", 1, MAX_WEBHOOK_ATTEMPTS);
  const backoff = parseBackoff(raw["backoff_ms"]);
  const timeout = raw["timeout_ms"] === undefined ? DEFAULT_WEBHOOK_TIMEOUT_MS : int(raw["timeout_ms"], "timeout_ms", 1, MAX_WEBHOOK_TIMEOUT_MS);
  const secret = optString(raw["secret"], "secret");
  if (secret !== undefined && !isValidSecret(secret)) throw bad("secret must be whsec_ followed by the base64 of 24 to 64 bytes");
  const dlq = optString(raw["dead_letter_stream"], "dead_letter_stream") ?? `${stream}_DLQ`;
  if (!isValidStreamName(dlq)) throw bad(`dead_letter_stream "${dlq.slice(0, 80)}" is not a valid stream name`);
  if (dlq === stream) throw bad("dead_letter_stream must differ from stream");
  const policy = raw["deliver_policy"] ?? "new";
  if (policy !== "new" && policy !== "all") throw bad('deliver_policy must be "new" or "all"');
  return {
    name,
    url,
    stream,
    filter_subject: filter,
    max_attempts: attempts,
    backoff_ms: backoff,
    timeout_ms: timeout,
    dead_letter_stream: dlq,
    deliver_policy: policy,
    secret: secret ?? generateSecret(),
    created: new Date().toISOString(),
    source,
  };
}

/** A fresh name for a webhook registered over HTTP without one. */
function randomWebhookName(): string {
  return `wh-${randomBytes(6).toString("hex")}`;
}

/** A stable name for a config-file webhook without one. */
function configWebhookName(r: Record<string, unknown>): string {
  const h = createHash("sha256").update(`${String(r["stream"])}|${String(r["filter_subject"] ?? "")}|${String(r["url"])}`).digest("hex");
  return `cfg-${h.slice(0, 12)}`;
}

/** The same registration, ignoring when it was made (a repeated identical POST or config entry is not a change). */
export function sameWebhook(a: WebhookConfig, b: WebhookConfig): boolean {
  return JSON.stringify({ ...a, created: "" }) === JSON.stringify({ ...b, created: "" });
}

/** The wait before attempt `attempt + 1` after attempt `attempt` (1-based) failed, with jitter. */
export function backoffDelayMs(cfg: WebhookConfig, attempt: number): number {
  const b = cfg.backoff_ms;
  let d: number;
  if (Array.isArray(b)) d = b[Math.min(attempt - 1, b.length - 1)] ?? 0;
  else d = Math.min(b.max, b.initial * b.multiplier ** Math.max(0, attempt - 1));
  return Math.round(d * (1 - WEBHOOK_JITTER_FRACTION * Math.random()));
}

/** The registration as shown over HTTP: everything but the secret. */
export function publicConfig(cfg: WebhookConfig): Omit<WebhookConfig, "secret"> {
  const { secret, ...rest } = cfg;
  void secret;
  return rest;
}
