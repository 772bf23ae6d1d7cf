import { randomBytes } from "node:crypto";
import type { InternalClient } from "../server/internal-client.js";
import { parseHeaders, type HeaderBlock } from "../protocol/headers.js";
import { HttpError } from "./http-util.js";
import { clampTimerMs } from "../util/timer.js";
import { jsHttpError } from "./js-status.js";
import { parseJsonLimited } from "../util/json-depth.js";

/**
 * Pull replies go to subjects outside any bus wildcard: while a reader listens on its own inbox
 * JetStream sees interest, and once it unsubscribes JetStream sees none and drops the request
 * (under the bus's `_INBOX.<id>.*` subscription interest would outlive the reader, and messages
 * would be delivered into nothing until ack_wait).
 */
const PRIVATE_INBOX_PREFIX = `_INBOX.${randomBytes(12).toString("base64url")}.p`;
let nextPrivateInbox = 1;

/** A fresh reply subject for a caller that subscribes to it itself (SSE replay, long polls, webhooks). */
export function privateInbox(): string {
  return `${PRIVATE_INBOX_PREFIX}${nextPrivateInbox++}`;
}

/** A reply received for a request: copies, safe to keep. */
export interface BusReply {
  subject: string;
  headers: HeaderBlock | null;
  /** The raw header block as received (null when none). */
  rawHeaders: Buffer | null;
  data: Buffer;
}

/** Longest a `$JS.API` call from the gateway waits (nats-server clients default to 5 s). */
export const JS_API_TIMEOUT_MS = 5000;
/** Requests in flight at once through one gateway; a request over it is refused with 503. */
export const MAX_PENDING_REQUESTS = 10_000;

interface Pending {
  resolve: (r: BusReply) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

/**
 * The gateway's side of the router: one internal client, one wildcard inbox for every request's
 * reply, and `$JS.API` calls answered by the same handlers NATS clients reach.
 */
export class GatewayBus {
  private readonly inboxPrefix = `_INBOX.${randomBytes(9).toString("base64url")}.`;
  private nextToken = 1;
  private readonly pending = new Map<string, Pending>();
  private readonly unsubInbox: () => void;

  constructor(readonly client: InternalClient) {
    this.unsubInbox = client.subscribe(`${this.inboxPrefix}*`, "", (subject, _reply, headers, data) => {
      const token = subject.slice(this.inboxPrefix.length);
      const p = this.pending.get(token);
      if (p === undefined) return;
      this.pending.delete(token);
      clearTimeout(p.timer);
      const raw = headers === null ? null : Buffer.from(headers);
      p.resolve({ subject, headers: parseHeaders(raw), rawHeaders: raw, data: Buffer.from(data) });
    });
  }

  /**
   * Publish a request and wait for the first reply. 503 when nobody is subscribed to `subject`
   * (nats-server's no-responders), 504 when `timeoutMs` passes first.
   */
  request(subject: string, headers: Buffer | null, data: Buffer, timeoutMs: number): Promise<BusReply> {
    if (this.pending.size >= MAX_PENDING_REQUESTS) {
      return Promise.reject(new HttpError(503, `too many requests in flight (${MAX_PENDING_REQUESTS})`));
    }
    const token = String(this.nextToken++);
    return new Promise<BusReply>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(token);
        reject(new HttpError(504, `no reply from "${subject}" within ${timeoutMs} ms`));
      }, clampTimerMs(timeoutMs));
      this.pending.set(token, { resolve, reject, timer });
      const n = this.client.publish(subject, this.inboxPrefix + token, headers, data);
      if (n === 0 && this.pending.delete(token)) {
        clearTimeout(timer);
        reject(new HttpError(503, `no responders for "${subject}"`));
      }
    });
  }

  /** Call `$JS.API.<api>` with a JSON body; resolves with the reply JSON (errors included, as `error`). */
  async jsApi(api: string, body: unknown = undefined): Promise<Record<string, unknown>> {
    // A Buffer is a body as a client sent it (see readJsonObjectRaw), passed on byte for byte.
    const payload = body === undefined ? Buffer.alloc(0) : Buffer.isBuffer(body) ? body : Buffer.from(JSON.stringify(body));
    let r: BusReply;
    try {
      r = await this.request(`$JS.API.${api}`, null, payload, JS_API_TIMEOUT_MS);
    } catch (err) {
      if (err instanceof HttpError && err.status === 503) throw new HttpError(503, "JetStream is not enabled on this server");
      throw err;
    }
    // Parsed with the same nesting limit as a request: the reply goes back out through JSON.stringify.
    const parsed = parseJsonLimited(r.data);
    if (!parsed.ok || typeof parsed.value !== "object" || parsed.value === null || Array.isArray(parsed.value)) {
      throw new HttpError(502, `the reply of $JS.API.${api} is not a JSON object${parsed.ok ? "" : `: ${parsed.reason}`}`);
    }
    return parsed.value as Record<string, unknown>;
  }

  /**
   * Call `$JS.API.<api>` and return the reply, or throw its JetStream error as an HttpError with
   * its `err_code` and the status `jsHttpStatus` gives it (JetStream's 4xx kept; its 500s for
   * refused input become 400; store failures 503).
   */
  async jsApiOk(api: string, body: unknown = undefined): Promise<Record<string, unknown>> {
    const r = await this.jsApi(api, body);
    const e = r["error"];
    if (e !== undefined) throw jsHttpError(typeof e === "object" && e !== null ? e : {}, "JetStream API error");
    return r;
  }

  /** Stop: fail what is still waiting, drop the inbox. */
  close(): void {
    this.unsubInbox();
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(new HttpError(503, "server shutting down"));
    }
    this.pending.clear();
  }
}
