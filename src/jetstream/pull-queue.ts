import type { Bus } from "./bus.js";
import type { Clock, TimerHandle } from "./clock.js";
import { clampTimerMs } from "../util/timer.js";
import { ConsumerDefaults, type ConsumerConfig } from "./consumer-config.js";
import { PULL_REQUEST, decodeBody } from "./api/request-schema.js";
import { EMPTY, H_CONSUMER_DELETED, H_NO_MESSAGES, HB_TOO_LARGE, goAtoi, goDuration, pendingStatus, statusHeader } from "./consumer-status.js";

/** One pull request waiting for messages (`CONSUMER.MSG.NEXT`). */
export interface WaitingRequest {
  reply: string;
  /** Messages still wanted. */
  n: number;
  /** Messages delivered so far. */
  d: number;
  /** Bytes still allowed; 0 = no max_bytes. */
  b: number;
  expiresMs: number;
  noWait: boolean;
  hbMs: number;
  hbAtMs: number;
}

/** What a `CONSUMER.MSG.NEXT` request asks for. */
export interface PullAsk {
  batch: number;
  expiresNs: number;
  maxBytes: number;
  noWait: boolean;
  hbNs: number;
}

/**
 * Read a pull request body (empty, a batch number, or JSON) and check it against the consumer's
 * limits. Returns what it asks for, or (`refuse`) the status header block that refuses it
 * (nats-server's 400/409 texts). The JSON form is decoded field by field as nats-server's
 * `nextReqFromMsg` unmarshals it: a wrongly typed field is `400 Bad Request - <why>`, where our
 * <why> names the field instead of Go's unmarshal error.
 */
export function parsePullRequest(body: Buffer, c: ConsumerConfig): PullAsk | { refuse: Buffer } {
  const ask: PullAsk = { batch: 1, expiresNs: 0, maxBytes: 0, noWait: false, hbNs: 0 };
  const text = body.toString("utf8").trim();
  if (text.startsWith("{")) {
    const d = decodeBody(Buffer.from(text), PULL_REQUEST);
    // A header line must not break: the reason may quote the body.
    if ("refused" in d) return { refuse: statusHeader(400, `Bad Request - ${d.refused.replace(/[\r\n]+/g, " ")}`) };
    ask.batch = d.ok.batch ?? 0;
    ask.expiresNs = d.ok.expires ?? 0;
    ask.maxBytes = d.ok.max_bytes ?? 0;
    ask.noWait = d.ok.no_wait === true;
    ask.hbNs = d.ok.idle_heartbeat ?? 0;
    if (ask.hbNs > 0 && ask.hbNs * 2 > ask.expiresNs) return { refuse: statusHeader(400, `Bad Request - ${HB_TOO_LARGE}`) };
  } else if (text !== "") {
    // nats-server: strconv.Atoi, or a batch of 1 when the text is no integer.
    const n = goAtoi(text);
    if (n !== null) ask.batch = n;
  }
  if ((c.max_batch ?? 0) > 0 && ask.batch > (c.max_batch as number)) return { refuse: statusHeader(409, `Exceeded MaxRequestBatch of ${c.max_batch}`) };
  if (ask.expiresNs > 0 && (c.max_expires ?? 0) > 0 && ask.expiresNs > (c.max_expires as number)) {
    return { refuse: statusHeader(409, `Exceeded MaxRequestExpires of ${goDuration(c.max_expires as number)}`) };
  }
  if (ask.maxBytes > 0 && (c.max_bytes ?? 0) > 0 && ask.maxBytes > (c.max_bytes as number)) return { refuse: statusHeader(409, `Exceeded MaxRequestMaxBytes of ${c.max_bytes}`) };
  return ask;
}

/** What the queue needs of its consumer. */
export interface PullQueueHost {
  readonly bus: Bus;
  /** Send an idle heartbeat (with the consumer's positions) to a request's inbox. */
  sendHeartbeat(subject: string): void;
  /** The queue became empty: the consumer starts counting inactivity. */
  drained(): void;
  isClosed(): boolean;
  /** Messages the consumer could deliver now (not yet delivered, plus queued redeliveries); asked for no_wait requests. */
  messagesPending(): number;
  /** The consumer's clock. */
  readonly clock: Clock;
}

/**
 * A pull consumer's waiting requests, oldest first: admitting a new one (or answering it at once),
 * handing out the next request for a message,
 * expiring requests (408), heartbeats to the ones that asked, and dropping those nobody listens
 * to any more. One timer serves the nearest expiry or heartbeat.
 */
export class PullQueue {
  private readonly waiting: WaitingRequest[] = [];
  private timer: TimerHandle | null = null;
  private timerAt = 0;

  constructor(private readonly host: PullQueueHost) {}

  get length(): number {
    return this.waiting.length;
  }

  /**
   * A `CONSUMER.MSG.NEXT` request of a pull consumer with config `c`, answered to `reply` as
   * nats-server answers it: refused (400, 409 past a max_* limit or max_waiting), ended at once
   * when it is no_wait and nothing is there (404) or the requests already waiting take what is
   * (408), or queued. True when it was queued (the consumer then delivers).
   */
  request(reply: string, body: Buffer, c: ConsumerConfig): boolean {
    const bus = this.host.bus;
    const ask = parsePullRequest(body, c);
    if ("refuse" in ask) {
      bus.publish(reply, "", ask.refuse, EMPTY);
      return false;
    }
    const { batch, expiresNs, maxBytes, noWait, hbNs } = ask;
    const maxWaiting = c.max_waiting ?? ConsumerDefaults.maxWaiting;
    if (this.waiting.length >= maxWaiting) this.process(false);
    if (noWait) {
      const msgsPending = this.host.messagesPending();
      if (msgsPending === 0 && expiresNs === 0) {
        bus.publish(reply, "", H_NO_MESSAGES, EMPTY);
        return false;
      }
      if (msgsPending > 0 && msgsPending < this.wantedMessages()) {
        bus.publish(reply, "", statusHeader(408, "Requests Pending"), EMPTY);
        return false;
      }
    }
    if (this.waiting.length >= maxWaiting) {
      bus.publish(reply, "", statusHeader(409, "Exceeded MaxWaiting"), EMPTY);
      return false;
    }
    const now = this.host.clock.now();
    const hbMs = hbNs / 1e6;
    this.add({ reply, n: batch, d: 0, b: maxBytes, expiresMs: expiresNs > 0 ? now + expiresNs / 1e6 : 0, noWait, hbMs, hbAtMs: hbMs > 0 ? now + hbMs : 0 });
    return true;
  }

  /** Messages the waiting requests still want, together. */
  private wantedMessages(): number {
    let n = 0;
    for (const w of this.waiting) n += w.n;
    return n;
  }

  private add(wr: WaitingRequest): void {
    this.waiting.push(wr);
    this.arm();
  }

  /** Take a request out (it got its whole batch). */
  remove(wr: WaitingRequest): void {
    const i = this.waiting.indexOf(wr);
    if (i >= 0) this.waiting.splice(i, 1);
  }

  /** The first waiting request that can take a message of `sz` bytes; drops expired, gone and too-small ones. */
  next(sz: number): WaitingRequest | null {
    const now = this.host.clock.now();
    const bus = this.host.bus;
    while (this.waiting.length > 0) {
      const wr = this.waiting[0] as WaitingRequest;
      if (wr.b > 0) {
        if (sz <= wr.b) {
          wr.b -= sz;
          if (wr.b === 0) wr.n = 1;
        } else {
          bus.publish(wr.reply, "", pendingStatus(409, "Message Size Exceeds MaxBytes", wr.n, wr.b), EMPTY);
          this.waiting.shift();
          continue;
        }
      }
      if ((wr.expiresMs === 0 || now < wr.expiresMs) && bus.hasInterest(wr.reply)) return wr;
      this.waiting.shift();
    }
    return null;
  }

  /** Expire requests (408), send heartbeats, drop requests nobody listens to; at end of stream end no_wait ones. */
  process(eos: boolean): void {
    const now = this.host.clock.now();
    const bus = this.host.bus;
    let w = 0;
    for (let i = 0; i < this.waiting.length; i++) {
      const wr = this.waiting[i] as WaitingRequest;
      if ((eos && wr.noWait && wr.d > 0) || (wr.expiresMs > 0 && now >= wr.expiresMs)) {
        bus.publish(wr.reply, "", pendingStatus(408, "Request Timeout", wr.n, wr.b), EMPTY);
        continue;
      }
      if (!bus.hasInterest(wr.reply)) continue;
      if (wr.hbAtMs > 0 && now >= wr.hbAtMs) {
        this.host.sendHeartbeat(wr.reply);
        wr.hbAtMs = now + wr.hbMs;
      }
      this.waiting[w++] = wr;
    }
    this.waiting.length = w;
    this.arm();
  }

  /** Set the timer for the nearest expiry or heartbeat; none left and no request: the queue is drained. */
  private arm(): void {
    let next = 0;
    for (const wr of this.waiting) {
      if (wr.expiresMs > 0 && (next === 0 || wr.expiresMs < next)) next = wr.expiresMs;
      if (wr.hbAtMs > 0 && (next === 0 || wr.hbAtMs < next)) next = wr.hbAtMs;
    }
    if (next === 0) {
      if (this.timer !== null) this.host.clock.clearTimeout(this.timer);
      this.timer = null;
      if (this.waiting.length === 0) this.host.drained();
      return;
    }
    if (this.timer !== null && this.timerAt <= next) return;
    if (this.timer !== null) this.host.clock.clearTimeout(this.timer);
    this.timerAt = next;
    this.timer = this.host.clock.setTimeout(() => {
      this.timer = null;
      if (!this.host.isClosed()) this.process(false);
    }, clampTimerMs(next - this.host.clock.now()));
  }

  /**
   * The server shuts down (nats-server `signalPullConsumers`, run first in `Server.Shutdown`):
   * every waiting request hears `409 Server Shutdown` with what it still wanted, so a client
   * knows its pull is void rather than waiting for an expiry that never comes. nats-server keys
   * the requests by reply subject, so an inbox with several requests waiting (nats.js `consume`)
   * gets one status, carrying the last request's counts.
   */
  signalShutdown(): void {
    const last = new Map<string, WaitingRequest>();
    for (const wr of this.waiting) last.set(wr.reply, wr);
    for (const wr of last.values()) this.host.bus.publish(wr.reply, "", pendingStatus(409, "Server Shutdown", wr.n, wr.b), EMPTY);
  }

  /** The consumer stops: clear the timer; a deleted consumer tells every waiting request (409). */
  stop(deleted: boolean): void {
    if (this.timer !== null) this.host.clock.clearTimeout(this.timer);
    this.timer = null;
    if (deleted) for (const wr of this.waiting) this.host.bus.publish(wr.reply, "", H_CONSUMER_DELETED, EMPTY);
    this.waiting.length = 0;
  }
}
