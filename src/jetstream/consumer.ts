import type { ConsumerState, ConsumerStore } from "../stores/catalog-types.js";
import type { StoredMsg } from "../stores/types.js";
import { AckTracker } from "./ack-tracker.js";
import { advisoryBody } from "./advisories.js";
import type { Bus } from "./bus.js";
import { systemClock, type Clock } from "./clock.js";
import type { ConsumerConfig } from "./consumer-config.js";
import type { DeadLetterReason } from "./dead-letter.js";
import { DeliveryLoop } from "./delivery-loop.js";
import { nsToIso } from "./json.js";
import { EMPTY, enc, statusHeader } from "./consumer-status.js";
import { InactivityCheck } from "./inactivity.js";
import { PullQueue } from "./pull-queue.js";
import { PushDelivery } from "./push-delivery.js";
import { ReplayPacer } from "./replay-pacer.js";
import { StreamCursor } from "./stream-cursor.js";
import type { Stream } from "./stream.js";

/** What a consumer tells its owner (JetStream). */
export interface ConsumerHooks {
  /** Durable state changed; the owner persists it (throttled). */
  changed(c: Consumer): void;
  /** An ephemeral consumer passed its inactive threshold and asks to be removed. */
  inactive(c: Consumer): void;
  /** A message reached max_deliver or was terminated. */
  deadLetter(c: Consumer, msg: StoredMsg, deliveries: number, reason: DeadLetterReason): void;
  /** A message was acknowledged (or delivered, with ack none): retention may remove it. */
  acked(c: Consumer, seq: number): void;
  /** Publish an advisory event. */
  advisory(subject: string, body: Record<string, unknown>): void;
}

export type { ConsumerState };

/**
 * One consumer of a stream: the parts it is made of, wired together (where it is in the stream:
 * StreamCursor; acknowledgements and redelivery: AckTracker; pull requests: PullQueue; push
 * delivery: PushDelivery; replay pacing; the inactivity check), the DeliveryLoop that sends
 * messages through them, and what comes back to it: acks on its ack subjects, pull requests, and
 * its position and state to persist or restore, its info. Behaviour follows nats-server's
 * `consumer.go` (ADR-9/13/15); the code is our own. Everything runs on the event loop: no locks,
 * one delivery loop at a time.
 */
export class Consumer {
  /** Filters, next stream sequence, start policy, last-per-subject list, num_pending. */
  private readonly cursor: StreamCursor;
  /** Pending acknowledgements, the ack floor and redelivery. */
  private readonly acks: AckTracker;
  /** Pull requests waiting for messages. */
  private readonly pulls: PullQueue;
  /** Push consumers: subscriber interest, flow control, idle heartbeats (null for pull). */
  private readonly push: PushDelivery | null;
  /** replay_policy original: the gaps between stored messages (null for instant). */
  private readonly replay: ReplayPacer | null;

  /** Takes the next message and sends it; holds the next delivery sequence. */
  private readonly loop: DeliveryLoop;
  private closed = false;
  /** Removes an unused ephemeral (or durable with inactive_threshold). */
  private readonly inactivity: InactivityCheck;
  private readonly unsubs: Array<() => void> = [];
  private readonly ackPrefix: string;
  readonly isPush: boolean;
  readonly durable: boolean;
  /** Where its config and state are kept (set once created or restored); null: in memory only (see ConsumerStateWriter). */
  store: ConsumerStore | null = null;

  constructor(
    readonly stream: Stream,
    public config: ConsumerConfig,
    readonly name: string,
    readonly created: Date,
    private readonly bus: Bus,
    private readonly hooks: ConsumerHooks,
    state: ConsumerState | null,
    /** Time as the consumer sees it (a manual clock in tests). */
    clock: Clock = systemClock,
  ) {
    this.isPush = config.deliver_subject !== undefined;
    this.durable = config.durable_name !== undefined;
    this.cursor = new StreamCursor(stream, config.filter_subjects ?? (config.filter_subject !== undefined ? [config.filter_subject] : []));
    this.ackPrefix = `$JS.ACK.${stream.name}.${name}.`;
    this.replay = config.replay_policy === "original" ? new ReplayPacer(clock) : null;
    this.pulls = new PullQueue({
      bus,
      clock,
      sendHeartbeat: (subject) => this.sendHeartbeat(subject),
      drained: () => this.inactivity.arm(),
      isClosed: () => this.closed,
      messagesPending: () => this.cursor.numPending() + this.acks.queued,
    });
    this.acks = new AckTracker(stream, {
      config: () => this.config,
      isClosed: () => this.closed,
      kick: () => this.loop.kick(),
      changed: () => hooks.changed(this),
      acked: (seq) => hooks.acked(this, seq),
      deadLetter: (msg, deliveries, reason) => hooks.deadLetter(this, msg, deliveries, reason),
      advise: (prefix, type, fields) => this.advise(prefix, type, fields),
      clock,
    });
    this.push = this.isPush
      ? new PushDelivery(
          {
            bus,
            clock,
            config: () => this.config,
            isClosed: () => this.closed,
            kick: () => this.loop.kick(),
            sendHeartbeat: (subject) => this.sendHeartbeat(subject),
          },
          `$JS.FC.${stream.name}.${name}`,
          config.flow_control === true,
        )
      : null;
    this.inactivity = new InactivityCheck(clock, {
      thresholdNs: () => this.config.inactive_threshold ?? 0,
      isClosed: () => this.closed,
      pushUnusedTwice: this.push === null ? null : () => (this.push as PushDelivery).unusedTwice(),
      pullsWaiting: () => this.pulls.length,
      inactive: () => hooks.inactive(this),
    });
    this.loop = new DeliveryLoop(
      { stream, bus, clock, cursor: this.cursor, acks: this.acks, pulls: this.pulls, push: this.push, replay: this.replay, ackPrefix: this.ackPrefix },
      {
        config: () => this.config,
        isClosed: () => this.closed,
        used: (nowMs) => this.inactivity.touch(nowMs),
        changed: () => hooks.changed(this),
        acked: (seq) => hooks.acked(this, seq),
      },
    );
    if (state !== null) this.restore(state);
  }

  /** The filter subjects ([] = everything in the stream). */
  get filterSubjects(): readonly string[] {
    return this.cursor.filters;
  }

  /** Subscribe to acks, pull requests, flow control responses and interest; start delivering. */
  start(): void {
    const sname = this.stream.name;
    this.unsubs.push(this.bus.subscribe(`${this.ackPrefix}>`, "", (subject, reply, _h, data) => this.processAck(subject, reply, data)));
    // Push consumers answer pull requests too (409 Consumer is push based).
    this.unsubs.push(this.bus.subscribe(`$JS.API.CONSUMER.MSG.NEXT.${sname}.${this.name}`, "", (_s, reply, _h, data) => this.processNextRequest(reply, data)));
    if (this.push !== null) {
      this.push.start(this.unsubs);
      this.inactivity.arm();
      this.push.armHeartbeat();
    } else this.inactivity.arm();
    this.unsubs.push(this.stream.onAppend(() => this.loop.kick()));
    // replay original paces what is stored now; what arrives later is delivered as it comes.
    this.replay?.start(this.stream.store.state().lastSeq);
    this.acks.start();
    this.kick();
  }

  /** The server shuts down: tell waiting pull requests (409 Server Shutdown); stop() follows. */
  signalShutdown(): void {
    if (!this.closed) this.pulls.signalShutdown();
  }

  /** Stop: unsubscribe, clear timers, tell waiting pull requests the consumer is gone. */
  stop(deleted: boolean): void {
    if (this.closed) return;
    this.closed = true;
    for (const u of this.unsubs) u();
    this.unsubs.length = 0;
    this.inactivity.stop();
    this.push?.stop();
    this.acks.stop();
    this.replay?.stop();
    this.pulls.stop(deleted);
  }

  // ---- position ----------------------------------------------------------------------------

  /** Choose the first sequence from the deliver policy (a new consumer; a restored one has state). */
  async selectStart(): Promise<void> {
    await this.cursor.selectStart(this.config);
    this.loop.dseq = 1;
    this.acks.setFloor(0, this.cursor.sseq - 1);
  }

  private restore(s: ConsumerState): void {
    this.loop.dseq = s.delivered.consumer_seq + 1;
    this.cursor.sseq = s.delivered.stream_seq + 1;
    this.acks.restore(s);
  }

  /** The state to persist. */
  state(): ConsumerState {
    return {
      delivered: { consumer_seq: this.loop.dseq - 1, stream_seq: this.cursor.sseq - 1 },
      ack_floor: { consumer_seq: this.acks.floorConsumerSeq, stream_seq: this.acks.floorStreamSeq },
      pending: this.acks.pendingList(),
      redelivered: this.acks.redeliveredList(),
    };
  }

  /** The stream dropped everything below `firstSeq` (purge): move past it. */
  purged(firstSeq: number): void {
    this.cursor.purged(firstSeq);
    this.acks.purged(firstSeq, this.loop.dseq);
    this.hooks.changed(this);
    this.kick();
  }

  /** For interest retention: does this consumer still need `seq` (on `subject`)? */
  needAck(seq: number, subject: string): boolean {
    if (!this.cursor.matches(subject)) return false;
    if (seq <= this.acks.floorStreamSeq) return false;
    if (seq >= this.cursor.sseq) return true;
    if (this.config.ack_policy === "none") return false;
    return this.config.ack_policy === "all" ? true : this.acks.isPending(seq);
  }

  // ---- delivery ---------------------------------------------------------------------------

  /** Something changed (new message, request, ack, interest, config): run the delivery loop soon. */
  kick(): void {
    this.loop.kick();
  }

  // ---- heartbeats ---------------------------------------------------------------------------

  /** An idle heartbeat to `subject` (a push deliver subject, or a pull request's inbox), with the positions. */
  private sendHeartbeat(subject: string): void {
    let h = `NATS/1.0 100 Idle Heartbeat\r\nNats-Last-Consumer: ${this.loop.dseq - 1}\r\nNats-Last-Stream: ${this.cursor.sseq - 1}\r\n`;
    const stalledBy = this.push?.stalledBy ?? "";
    if (stalledBy !== "") h += `Nats-Consumer-Stalled: ${stalledBy}\r\n`;
    this.bus.publish(subject, "", enc(`${h}\r\n`), EMPTY);
  }

  // ---- pull requests ------------------------------------------------------------------------

  /** `$JS.API.CONSUMER.MSG.NEXT.<stream>.<consumer>`: body empty, a batch number, or JSON. */
  processNextRequest(reply: string, body: Buffer): void {
    if (reply === "" || this.closed) return;
    this.inactivity.touch();
    if (this.isPush) {
      this.bus.publish(reply, "", statusHeader(409, "Consumer is push based"), EMPTY);
      return;
    }
    if (this.pulls.request(reply, body, this.config)) this.kick();
  }

  // ---- acks ---------------------------------------------------------------------------------

  private processAck(subject: string, reply: string, data: Buffer): void {
    if (this.closed) return;
    // $JS.ACK.<stream>.<consumer>.<dc>.<sseq>.<dseq>.<ts>.<pending>
    const t = subject.slice(this.ackPrefix.length).split(".");
    if (t.length < 5) return;
    const dc = Number(t[0]);
    const sseq = Number(t[1]);
    const dseq = Number(t[2]);
    if (!Number.isSafeInteger(sseq) || !Number.isSafeInteger(dseq)) return;
    this.inactivity.touch();
    const body = data.length === 0 ? "" : data.toString("latin1");
    let ackReply = reply !== "";
    if (body === "" || body === "+ACK" || body === "+OK") this.acks.ack(sseq, dseq, this.loop.dseq, this.cursor.sseq);
    else if (body.startsWith("+NXT")) {
      this.acks.ack(sseq, dseq, this.loop.dseq, this.cursor.sseq);
      this.processNextRequest(reply, Buffer.from(body.slice(4)));
      ackReply = false;
    } else if (body.startsWith("-NAK")) this.acks.nak(sseq, dseq, dc, body.slice(4).trim(), this.loop.dseq);
    else if (body === "+WPI") this.acks.progress(sseq);
    else if (body === "+TERM" || body.startsWith("+TERM ")) this.acks.term(sseq, dseq, dc, this.loop.dseq, this.cursor.sseq);
    if (ackReply) this.bus.publish(reply, "", null, EMPTY);
  }

  private advise(prefix: string, type: string, fields: Record<string, unknown>): void {
    this.hooks.advisory(`${prefix}.${this.stream.name}.${this.name}`, advisoryBody(type, this.stream.name, this.name, fields));
  }

  // ---- info ---------------------------------------------------------------------------------

  /** `ConsumerInfo` as `$JS.API.CONSUMER.INFO` returns it. */
  info(): Record<string, unknown> {
    if (!this.isPush) this.pulls.process(false);
    const delivered: Record<string, unknown> = { consumer_seq: this.loop.dseq - 1, stream_seq: this.cursor.sseq - 1 };
    if (this.loop.lastDeliveredMs > 0) delivered["last_active"] = nsToIso(BigInt(this.loop.lastDeliveredMs) * 1_000_000n);
    const ackFloor: Record<string, unknown> = { consumer_seq: this.acks.floorConsumerSeq, stream_seq: this.acks.floorStreamSeq };
    const lastAckMs = this.acks.lastAckMs;
    if (lastAckMs > 0) ackFloor["last_active"] = nsToIso(BigInt(lastAckMs) * 1_000_000n);
    const out: Record<string, unknown> = {
      stream_name: this.stream.name,
      name: this.name,
      created: nsToIso(BigInt(this.created.getTime()) * 1_000_000n),
      config: this.config,
      delivered,
      ack_floor: ackFloor,
      num_ack_pending: this.acks.pendingCount,
      num_redelivered: this.acks.redeliveredCount,
      num_waiting: this.pulls.length,
      num_pending: this.cursor.numPending(),
    };
    if (this.push?.active === true) out["push_bound"] = true;
    return out;
  }

  /** The deliver subject is in use by a subscriber (push durable re-bind check). */
  get isActive(): boolean {
    return this.push?.active === true;
  }
}
