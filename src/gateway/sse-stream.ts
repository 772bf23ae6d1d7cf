import type { ServerResponse } from "node:http";
import { privateInbox, type GatewayBus } from "./bus-client.js";
import { parseHeaders } from "../protocol/headers.js";
import { messageJson, parseAckSubject } from "./message-json.js";
import { clampTimerMs } from "../util/timer.js";

/**
 * Bytes a live (core) SSE reader may have waiting in its response before it is a slow consumer:
 * it gets a final `event: error` and is closed (nats-server closes a slow client the same way).
 */
export const SSE_MAX_PENDING_BYTES = 2 * 1024 * 1024;
/** Messages asked for per pull when replaying a stream (the response must drain before the next). */
export const SSE_PULL_BATCH = 256;
/** Bytes asked for per pull (`max_bytes`): bounds what one pull can add to a backed-up response. */
export const SSE_PULL_MAX_BYTES = 256 * 1024;
/** How long one pull waits at the consumer before it expires (408) and is renewed. */
export const SSE_PULL_EXPIRES_MS = 10_000;
/** Extra time past a pull's expiry after which the gateway stops waiting for its end and renews it. */
const PULL_GRACE_MS = 2_000;
/**
 * `inactive_threshold` of the ephemeral consumer behind a replaying reader: JetStream removes it
 * this long after the gateway stops pulling (the gateway died, or a reader stayed backed up; it is
 * recreated from the last sequence sent in that case).
 */
export const SSE_CONSUMER_INACTIVE_MS = 30_000;
/** How long a closed stream's last bytes may take to reach the reader before the socket is dropped. */
export const SSE_CLOSE_GRACE_MS = 10_000;

const KEEPALIVE = ": keep-alive\n\n";
// Pull bodies are constants: nothing is serialized per pull.
const PULL_BODY = Buffer.from(JSON.stringify({ batch: SSE_PULL_BATCH, max_bytes: SSE_PULL_MAX_BYTES, expires: SSE_PULL_EXPIRES_MS * 1e6 }));
// After "Message Size Exceeds MaxBytes": one message, whatever its size (max_payload bounds it).
const PULL_ONE_BODY = Buffer.from(JSON.stringify({ batch: 1, expires: SSE_PULL_EXPIRES_MS * 1e6 }));

/** Where a replaying reader starts: a consumer's `deliver_policy` with its option. */
export interface StartPosition {
  deliver_policy: "all" | "last" | "new" | "last_per_subject" | "by_start_sequence" | "by_start_time";
  opt_start_seq?: number;
  opt_start_time?: string;
}

/** The stream and subject a replaying reader reads, and where it starts. */
export interface ReplaySource {
  stream: string;
  subject: string;
  start: StartPosition;
}

/**
 * One open `text/event-stream` response: live messages of a core subscription, or a stream replayed
 * through an ephemeral pull consumer (ack none) that is only asked for more once the response has
 * drained, so a slow reader slows its own replay and nothing else. Message handlers are methods
 * bound once per stream: no per-message closures.
 */
export class SseStream {
  private closed = false;
  private unsub: (() => void) | null = null;
  private keepaliveTimer: NodeJS.Timeout | null = null;
  // Replay state.
  private consumer = "";
  private inbox = "";
  private lastSeq = 0;
  private pulling = false;
  private waitingDrain = false;
  private pausedAtMs = 0;
  private pullLeft = 0;
  private pullBytesLeft = 0;
  private pullOne = false;
  private pullTimer: NodeJS.Timeout | null = null;
  private recreating = false;

  constructor(
    private readonly bus: GatewayBus,
    readonly res: ServerResponse,
    private readonly onClosed: (s: SseStream) => void,
    private readonly replay: ReplaySource | null,
  ) {
    this.onCore = this.onCore.bind(this);
    this.onPulled = this.onPulled.bind(this);
    this.onDrain = this.onDrain.bind(this);
    this.keepalive = this.keepalive.bind(this);
    this.cleanup = this.cleanup.bind(this);
    this.pullEnded = this.pullEnded.bind(this);
    this.pullTimedOut = this.pullTimedOut.bind(this);
  }

  /** The consumer a replaying reader was given (its name; "" for live readers). */
  get consumerName(): string {
    return this.consumer;
  }

  /**
   * Create the replay consumer (before any byte is sent, so a refusal is still a JSON error).
   * Throws the JetStream error as an HttpError.
   */
  async prepare(): Promise<void> {
    if (this.replay === null) return;
    await this.createConsumer(this.replay.start);
  }

  /** Send the response head and start streaming (`prepare` first for replays). */
  begin(subject: string, keepaliveMs: number, retryMs: number | undefined): void {
    const res = this.res;
    res.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache",
      connection: "keep-alive",
      // Reverse proxies (nginx) would otherwise buffer the stream.
      "x-accel-buffering": "no",
    });
    if (retryMs !== undefined) res.write(`retry: ${retryMs}\n\n`);
    else res.flushHeaders();
    res.once("close", this.cleanup);
    this.keepaliveTimer = setInterval(this.keepalive, clampTimerMs(keepaliveMs));
    if (this.replay === null) {
      this.unsub = this.bus.client.subscribe(subject, "", this.onCore);
      return;
    }
    this.inbox = privateInbox();
    this.unsub = this.bus.client.subscribe(this.inbox, "", this.onPulled);
    this.pull();
  }

  /** End the response (gateway closing) and release the subscription and consumer. */
  end(): Promise<void> {
    const p = this.cleanup();
    if (!this.res.writableEnded) this.res.end();
    return p;
  }

  private keepalive(): void {
    // A backed-up response has data coming anyway; a keep-alive would only add to its queue.
    if (!this.closed && this.res.writableLength === 0) this.res.write(KEEPALIVE);
  }

  // ---- live (core) ------------------------------------------------------------------------

  private onCore(subject: string, _reply: string, headers: Buffer | null, data: Buffer): void {
    if (this.closed) return;
    const frame = `event: message\ndata: ${messageJson(subject, 0, "", headers, data)}\n\n`;
    const pending = this.res.writableLength;
    if (pending + frame.length > SSE_MAX_PENDING_BYTES) {
      this.fail({ reason: "slow consumer", pending_bytes: pending, limit_bytes: SSE_MAX_PENDING_BYTES });
      return;
    }
    this.res.write(frame);
  }

  // ---- replay (stream) --------------------------------------------------------------------

  private async createConsumer(start: StartPosition): Promise<void> {
    const r = this.replay as ReplaySource;
    const created = await this.bus.jsApiOk(`CONSUMER.CREATE.${r.stream}`, {
      stream_name: r.stream,
      config: { ...start, ack_policy: "none", filter_subject: r.subject, inactive_threshold: SSE_CONSUMER_INACTIVE_MS * 1e6 },
    });
    this.consumer = String(created["name"]);
  }

  /** Ask the consumer for the next batch, unless one is out, the response is backed up, or it is closed. */
  private pull(): void {
    if (this.closed || this.pulling || this.recreating || this.waitingDrain) return;
    if (this.res.writableNeedDrain) {
      this.waitingDrain = true;
      this.pausedAtMs = Date.now();
      this.res.once("drain", this.onDrain);
      return;
    }
    const r = this.replay as ReplaySource;
    this.pulling = true;
    this.pullLeft = this.pullOne ? 1 : SSE_PULL_BATCH;
    this.pullBytesLeft = this.pullOne ? 0 : SSE_PULL_MAX_BYTES;
    const body = this.pullOne ? PULL_ONE_BODY : PULL_BODY;
    this.pullOne = false;
    this.pullTimer = setTimeout(this.pullTimedOut, SSE_PULL_EXPIRES_MS + PULL_GRACE_MS);
    this.bus.client.publish(`$JS.API.CONSUMER.MSG.NEXT.${r.stream}.${this.consumer}`, this.inbox, null, body);
  }

  private onDrain(): void {
    this.waitingDrain = false;
    // Paused long enough for JetStream to have removed the idle consumer: check before pulling.
    if (Date.now() - this.pausedAtMs >= SSE_CONSUMER_INACTIVE_MS / 2) this.verifyThenPull();
    else this.pull();
  }

  /**
   * A pull got no end status in time. A live consumer always ends an expired pull with a 408, and a
   * pull for a consumer that is gone reaches only the API router (which does not answer it), so
   * ask JetStream whether the consumer still exists.
   */
  private pullTimedOut(): void {
    this.pullTimer = null;
    this.pulling = false;
    this.verifyThenPull();
  }

  /** Pull if the consumer still exists, else recreate it (CONSUMER.INFO first). */
  private verifyThenPull(): void {
    if (this.closed || this.recreating) return;
    const r = this.replay as ReplaySource;
    this.recreating = true; // holds pulls back until the answer
    this.bus.jsApi(`CONSUMER.INFO.${r.stream}.${this.consumer}`).then(
      (info) => {
        this.recreating = false;
        if (info["error"] !== undefined) this.recreate();
        else this.pull();
      },
      (err: unknown) => {
        this.recreating = false;
        this.fail({ reason: "consumer lost", description: err instanceof Error ? err.message : String(err) });
      },
    );
  }

  private pullEnded(): void {
    if (this.pullTimer !== null) clearTimeout(this.pullTimer);
    this.pullTimer = null;
    this.pulling = false;
    this.pull();
  }

  private onPulled(subject: string, reply: string, headers: Buffer | null, data: Buffer): void {
    if (this.closed) return;
    if (reply === "") {
      // A status from the consumer: every delivered message carries an ack reply, statuses do not.
      const h = parseHeaders(headers);
      const status = h?.status ?? 0;
      if (status === 100) return; // heartbeat
      if (status === 404 || status === 408) this.pullEnded();
      else if (status === 409 && h?.description.startsWith("Message Size Exceeds MaxBytes") === true) {
        this.pullOne = true;
        this.pullEnded();
      } else if (status === 409 && h?.description === "Consumer Deleted") this.recreate();
      else this.fail({ reason: "consumer error", status, description: h?.description ?? "" });
      return;
    }
    const ack = parseAckSubject(reply);
    if (ack === null) return;
    // The consumer sized this message as subject + reply + headers + payload against max_bytes;
    // a pull whose byte budget reaches exactly 0 ends without a status, so the same count is kept.
    this.pullLeft--;
    let done = this.pullLeft <= 0;
    if (this.pullBytesLeft > 0) {
      this.pullBytesLeft -= subject.length + reply.length + (headers?.length ?? 0) + data.length;
      if (this.pullBytesLeft <= 0) done = true;
    }
    if (ack.seq > this.lastSeq) {
      this.lastSeq = ack.seq;
      this.res.write(`event: message\nid: ${ack.seq}\ndata: ${messageJson(subject, ack.seq, ack.timeNs, headers, data)}\n\n`);
    }
    if (done) this.pullEnded();
  }

  /**
   * The consumer is gone (deleted, or removed as inactive while the reader was backed up):
   * make a new one from just after the last sequence sent, so nothing is lost or repeated.
   */
  private recreate(): void {
    if (this.closed || this.recreating) return;
    this.recreating = true;
    if (this.pullTimer !== null) clearTimeout(this.pullTimer);
    this.pullTimer = null;
    this.pulling = false;
    const start: StartPosition = this.lastSeq > 0 ? { deliver_policy: "by_start_sequence", opt_start_seq: this.lastSeq + 1 } : (this.replay as ReplaySource).start;
    this.createConsumer(start).then(
      () => {
        this.recreating = false;
        this.pull();
      },
      (err: unknown) => {
        this.recreating = false;
        this.fail({ reason: "consumer lost", description: err instanceof Error ? err.message : String(err) });
      },
    );
  }

  // ---- closing ----------------------------------------------------------------------------

  /** Send a final `event: error` and close: nothing more is queued for this reader. */
  private fail(why: Record<string, unknown>): void {
    if (this.closed) return;
    const res = this.res;
    res.write(`event: error\ndata: ${JSON.stringify(why)}\n\n`);
    void this.cleanup();
    res.end();
    // A reader that never reads would hold the socket (and the bytes queued) forever.
    const drop = setTimeout(() => res.destroy(), SSE_CLOSE_GRACE_MS);
    drop.unref();
    res.once("finish", () => clearTimeout(drop));
  }

  /** Release everything (idempotent): subscription, timers, the replay consumer. */
  private cleanup(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    this.unsub?.();
    this.unsub = null;
    if (this.keepaliveTimer !== null) clearInterval(this.keepaliveTimer);
    if (this.pullTimer !== null) clearTimeout(this.pullTimer);
    if (this.waitingDrain) this.res.off("drain", this.onDrain);
    this.onClosed(this);
    if (this.replay === null || this.consumer === "") return Promise.resolve();
    return this.bus.jsApi(`CONSUMER.DELETE.${this.replay.stream}.${this.consumer}`).then(
      () => undefined,
      // The server is shutting down or the consumer already went (inactive): nothing to release.
      () => undefined,
    );
  }
}
