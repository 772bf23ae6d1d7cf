import { randomBytes } from "node:crypto";
import { subjectMatches } from "../subjects/validate.js";
import type { Bus } from "./bus.js";
import type { Clock } from "./clock.js";
import { ConsumerDefaults, type ConsumerConfig } from "./consumer-config.js";
import { EMPTY, H_FLOW_CONTROL } from "./consumer-status.js";
import { DeadlineTimer } from "./deadline-timer.js";

/** What push delivery needs of its consumer. */
export interface PushHost {
  readonly bus: Bus;
  /** The consumer's clock. */
  readonly clock: Clock;
  /** The consumer's config as it is now (an update replaces it). */
  config(): ConsumerConfig;
  isClosed(): boolean;
  /** Run the delivery loop soon: a subscriber came, or flow control let more through. */
  kick(): void;
  /** Send an idle heartbeat (with the consumer's positions) to `subject`. */
  sendHeartbeat(subject: string): void;
}

/**
 * A push consumer's side of delivery (nats-server `consumer.go`, ADR-9): whether a subscriber is
 * bound to the deliver subject (deliveries stop without one), flow control (a `$JS.FC` request
 * once half the allowed bytes are out, no more past them until it is answered, the allowance
 * doubling with each answer up to ConsumerDefaults.flowControlMaxPendingBytes), idle heartbeats
 * when nothing was delivered for `idle_heartbeat`, and the subscriber check behind the inactive
 * threshold.
 */
export class PushDelivery {
  /** Someone is subscribed to the deliver subject. */
  private bound = false;
  // Flow control: bytes sent since the last answered request, the allowance, its ceiling.
  private pbytes = 0;
  private maxpb: number;
  private readonly pblimit: number;
  /** The flow-control request waiting for its answer ("" none), and the bytes it covers. */
  private fcid = "";
  private fcsz = 0;
  private readonly heartbeat: DeadlineTimer;
  /** Consecutive inactivity checks that found no subscriber. */
  private idleChecks = 0;

  /** `fcPrefix`: `$JS.FC.<stream>.<consumer>`, the flow-control requests' reply subjects without their last token. */
  constructor(
    private readonly host: PushHost,
    private readonly fcPrefix: string,
    flowControl: boolean,
  ) {
    this.heartbeat = new DeadlineTimer(host.clock, () => this.onHeartbeat());
    this.pblimit = flowControl ? ConsumerDefaults.flowControlMaxPendingBytes : 0;
    this.maxpb = this.pblimit > 0 ? Math.max(1, Math.floor(this.pblimit / 16)) : 0;
  }

  /** A subscriber is bound to the deliver subject (as last seen). */
  get active(): boolean {
    return this.bound;
  }

  /** The flow-control request not answered yet ("" none): a heartbeat names it as stalled. */
  get stalledBy(): string {
    return this.fcid;
  }

  /** Start: take flow-control answers and watch for a subscriber; each way to stop goes into `unsubs`. */
  start(unsubs: Array<() => void>): void {
    const bus = this.host.bus;
    const dsubj = this.host.config().deliver_subject as string;
    unsubs.push(bus.subscribe(`${this.fcPrefix}.*`, "", (subject) => this.processFlowControl(subject)));
    unsubs.push(
      bus.watchSubscriptions((s, added) => {
        if (s !== dsubj && !subjectMatches(s, dsubj)) return;
        if (added) {
          if (!this.bound) this.setActive(true);
        } else if (this.bound && !bus.hasInterest(dsubj)) {
          // The last subscriber left: stop now (nats-server updateDeliveryInterest), rather than
          // on the next delivery, which would go to nobody and wait out ack_wait.
          this.setActive(false);
        }
      }),
    );
    this.bound = bus.hasInterest(dsubj);
  }

  /** The consumer stops: no more heartbeats. */
  stop(): void {
    this.heartbeat.clear();
  }

  /** May a message go out now: a subscriber is there and flow control allows it. */
  canDeliver(): boolean {
    return this.bound && !(this.maxpb > 0 && this.pbytes > this.maxpb);
  }

  /** A message of `sz` bytes is about to be published. */
  sending(sz: number): void {
    if (this.maxpb > 0) this.pbytes += sz;
  }

  /** A message of `sz` bytes was published to `receivers` subscriptions. */
  sent(sz: number, receivers: number): void {
    if (this.maxpb > 0 && this.fcid === "" && this.pbytes > this.maxpb / 2) this.sendFlowControl();
    else if (this.fcid !== "" && this.pbytes - this.fcsz >= this.maxpb) this.fcsz += sz;
    this.armHeartbeat();
    if (receivers === 0) this.setActive(false);
  }

  /**
   * One inactivity check (every half inactive_threshold): true on the second check in a row that
   * finds no subscriber on the deliver subject (a client reconnecting in between keeps the consumer).
   */
  unusedTwice(): boolean {
    if (this.host.bus.hasInterest(this.host.config().deliver_subject as string)) {
      this.idleChecks = 0;
      if (!this.bound) this.setActive(true);
      return false;
    }
    return ++this.idleChecks >= 2;
  }

  private setActive(active: boolean): void {
    if (this.bound === active) return;
    this.bound = active;
    if (active) {
      this.idleChecks = 0;
      this.host.kick();
    }
  }

  /** The next idle heartbeat is due `idle_heartbeat` from now (after a delivery, or the last heartbeat). */
  armHeartbeat(): void {
    const hb = this.host.config().idle_heartbeat ?? 0;
    if (hb <= 0 || this.host.isClosed()) return;
    this.heartbeat.set(this.host.clock.now() + hb / 1e6);
  }

  private onHeartbeat(): void {
    if (this.host.isClosed()) return;
    const dsubj = this.host.config().deliver_subject as string;
    if (this.bound || this.host.bus.hasInterest(dsubj)) this.host.sendHeartbeat(dsubj);
    this.armHeartbeat();
  }

  private sendFlowControl(): void {
    this.fcid = `${this.fcPrefix}.${randomBytes(3).toString("hex").slice(0, 4)}`;
    this.fcsz = this.pbytes;
    this.host.bus.publish(this.host.config().deliver_subject as string, this.fcid, H_FLOW_CONTROL, EMPTY);
  }

  private processFlowControl(subject: string): void {
    if (subject !== this.fcid) return;
    if (this.maxpb < this.pblimit) this.maxpb = Math.min(this.maxpb * 2, this.pblimit);
    this.pbytes = Math.max(0, this.pbytes - this.fcsz);
    this.fcid = "";
    this.fcsz = 0;
    this.host.kick();
  }
}
