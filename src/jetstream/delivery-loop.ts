import type { StoredMsg } from "../stores/types.js";
import type { AckTracker } from "./ack-tracker.js";
import type { Bus } from "./bus.js";
import type { Clock } from "./clock.js";
import type { ConsumerConfig } from "./consumer-config.js";
import { EMPTY, enc } from "./consumer-status.js";
import type { PullQueue } from "./pull-queue.js";
import type { PushDelivery } from "./push-delivery.js";
import type { ReplayPacer } from "./replay-pacer.js";
import type { NextMsg, StreamCursor } from "./stream-cursor.js";
import type { Stream } from "./stream.js";

/**
 * Deliveries in one go before the delivery loop lets the event loop turn (and so the connection be
 * written to): a pull request for 1,000 messages then reaches the client in parts it can start on
 * while the rest is produced, not in one write after the last, and other connections are not kept
 * waiting behind a long run.
 */
export const DELIVERIES_PER_TURN = 256;

/** Resolves on the next turn of the event loop, after the writes queued in this one. */
const nextTurn = (): Promise<void> => new Promise<void>((r) => setImmediate(r));

/** nextMsg's answer when max_ack_pending is reached: nothing, without a promise of its own. */
const NOTHING: Promise<null> = Promise.resolve(null);

/** What the delivery loop needs of its consumer besides its parts. */
export interface DeliveryHost {
  /** The consumer's config as it is now (an update replaces it). */
  config(): ConsumerConfig;
  isClosed(): boolean;
  /** A message went out at `nowMs`: the consumer is in use. */
  used(nowMs: number): void;
  /** Durable state changed; the owner persists it (throttled). */
  changed(): void;
  /** A message counts as acknowledged on delivery (ack none): retention may remove it. */
  acked(seq: number): void;
}

/** The parts of a consumer the delivery loop takes messages from and sends them through. */
export interface DeliveryParts {
  readonly stream: Stream;
  readonly bus: Bus;
  readonly clock: Clock;
  /** First deliveries: filters, next stream sequence, num_pending. */
  readonly cursor: StreamCursor;
  /** Redeliveries, and what is delivered waits here for its ack. */
  readonly acks: AckTracker;
  /** Pull consumers: the requests waiting for messages. */
  readonly pulls: PullQueue;
  /** Push consumers: subscriber interest and flow control (null for pull). */
  readonly push: PushDelivery | null;
  /** replay_policy original (null for instant). */
  readonly replay: ReplayPacer | null;
  /** `$JS.ACK.<stream>.<consumer>.`: the ack subjects' prefix. */
  readonly ackPrefix: string;
}

/**
 * A consumer's way out: one delivery loop at a time, run soon after something changed (`kick`),
 * that takes the next message (a redelivery the AckTracker queued, else the next one the
 * StreamCursor finds), gives it its ack subject (`$JS.ACK.<stream>.<consumer>.<dc>.<sseq>.<dseq>.
 * <ts>.<pending>`) and sends it to the push subject or to a waiting pull request, until nothing can
 * be delivered. Owns the delivery sequence. Behaviour follows nats-server's `consumer.go`
 * (getNextMsg, deliverMsg); the code is our own.
 */
export class DeliveryLoop {
  /** Next delivery sequence. */
  dseq = 1;
  /** When the last delivery went out, ms (0: none yet). */
  lastDeliveredMs = 0;
  private running = false;
  private again = false;
  private readonly stream: Stream;
  private readonly bus: Bus;
  private readonly clock: Clock;
  private readonly cursor: StreamCursor;
  private readonly acks: AckTracker;
  private readonly pulls: PullQueue;
  private readonly push: PushDelivery | null;
  private readonly replay: ReplayPacer | null;
  private readonly ackPrefix: string;

  constructor(
    parts: DeliveryParts,
    private readonly host: DeliveryHost,
  ) {
    this.stream = parts.stream;
    this.bus = parts.bus;
    this.clock = parts.clock;
    this.cursor = parts.cursor;
    this.acks = parts.acks;
    this.pulls = parts.pulls;
    this.push = parts.push;
    this.replay = parts.replay;
    this.ackPrefix = parts.ackPrefix;
  }

  private get explicitish(): boolean {
    return this.host.config().ack_policy !== "none";
  }

  /** Something changed (new message, request, ack, interest): run the delivery loop soon. */
  kick(): void {
    if (this.host.isClosed()) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    setImmediate(() => {
      this.run().then(
        () => this.afterRun(),
        () => this.afterRun(),
      );
    });
  }

  private afterRun(): void {
    this.running = false;
    if (this.again) {
      this.again = false;
      this.kick();
    }
  }

  private canDeliver(): boolean {
    const push = this.push;
    if (push !== null) return push.canDeliver();
    return this.pulls.length > 0;
  }

  private async run(): Promise<void> {
    const host = this.host;
    let eos = false;
    // num_pending for the ack subjects: counted once per run (a scan of the store's subjects),
    // then kept by decrementing, as nats-server caches it.
    let pendingCount = -1;
    let inTurn = 0;
    while (!host.isClosed() && this.canDeliver()) {
      this.again = false;
      if (++inTurn > DELIVERIES_PER_TURN) {
        inTurn = 1;
        await nextTurn();
        if (host.isClosed() || !this.canDeliver()) break;
      }
      // Without a promise when the store has the message at hand (the common case).
      let next = this.nextNow();
      if (next === undefined) {
        next = await this.nextMsg();
        if (host.isClosed()) return;
      }
      if (next === null) {
        eos = true;
        break;
      }
      const { msg, dc, from } = next;
      if (pendingCount < 0) pendingCount = this.cursor.numPending();
      else if (dc === 1 && pendingCount > 0) pendingCount--;
      const ackReply = `${this.ackPrefix}${dc}.${msg.seq}.${this.dseq}.${msg.timeNs}.${pendingCount}`;
      const config = host.config();
      let headers = msg.headers;
      let data = msg.data;
      if (config.headers_only === true) {
        const base = headers === null ? "NATS/1.0\r\n" : headers.subarray(0, headers.length - 2).toString("latin1");
        headers = enc(`${base}Nats-Msg-Size: ${data.length}\r\n\r\n`);
        data = EMPTY;
      }
      const sz = msg.subject.length + ackReply.length + (headers?.length ?? 0) + data.length;
      let dsubj: string;
      if (this.push !== null) dsubj = config.deliver_subject as string;
      else {
        const wr = this.pulls.next(sz);
        if (wr === null) {
          this.unget(msg.seq, from);
          break;
        }
        dsubj = wr.reply;
        wr.n--;
        wr.d++;
        if (wr.n <= 0) this.pulls.remove(wr);
        else if (wr.hbMs > 0) wr.hbAtMs = this.clock.now() + wr.hbMs;
      }
      const replay = this.replay;
      if (replay !== null && replay.active) {
        const gapMs = replay.gapBefore(msg);
        if (gapMs > 1) {
          await replay.pause(gapMs);
          if (host.isClosed()) return;
        }
      }
      this.deliver(dsubj, ackReply, msg, headers, data, dc, sz);
    }
    if (this.push === null) this.pulls.process(eos);
  }

  /** Put a message back: it will be the next one considered. */
  private unget(seq: number, from: "rdq" | "lss" | "stream"): void {
    if (from === "rdq") this.acks.putBack(seq);
    else this.cursor.putBack(seq, from);
  }

  /**
   * The next message to deliver: redeliveries first, then the skip list, then the stream. Each
   * way is one promise (the AckTracker's or the cursor's), as when this was one async function.
   */
  private nextMsg(): Promise<NextMsg | null> {
    if (this.acks.queued > 0) return this.acks.nextRedelivery(this.nextFirstDelivery);
    return this.nextFirstDelivery();
  }

  /** The next message to deliver for the first time, unless max_ack_pending is reached. */
  private readonly nextFirstDelivery = (): Promise<NextMsg | null> => (this.ackPendingFull() ? NOTHING : this.cursor.next());

  /**
   * nextMsg without waiting, in its common case (no redeliveries, no skip list, one filter, the
   * message in memory); undefined when only nextMsg can tell.
   */
  private nextNow(): NextMsg | null | undefined {
    if (this.acks.queued > 0) return undefined;
    if (this.ackPendingFull()) return null;
    return this.cursor.nextNow();
  }

  private ackPendingFull(): boolean {
    const max = this.host.config().max_ack_pending ?? 0;
    return this.explicitish && max > 0 && this.acks.pendingCount >= max;
  }

  private deliver(dsubj: string, ackReply: string, msg: StoredMsg, headers: Buffer | null, data: Buffer, dc: number, sz: number): void {
    const dseq = this.dseq++;
    const now = this.clock.now();
    this.lastDeliveredMs = now;
    this.host.used(now);
    const push = this.push;
    if (push !== null) push.sending(sz);
    const n = this.bus.publishAs(dsubj, msg.subject, ackReply, headers, data);
    if (this.explicitish) this.acks.delivered(msg.seq, dseq, now);
    else {
      this.acks.setFloor(dseq, msg.seq);
      if (this.stream.config.retention !== "limits") this.host.acked(msg.seq);
    }
    if (push !== null) push.sent(sz, n);
    else if (n === 0 && this.explicitish) {
      // The requester went away: redeliver at once rather than after ack_wait.
      this.acks.redeliverNow(msg.seq);
    }
    this.host.changed();
  }
}
