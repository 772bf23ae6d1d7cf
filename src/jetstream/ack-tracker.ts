import type { ConsumerState } from "../stores/catalog-types.js";
import type { StoredMsg } from "../stores/types.js";
import { clampTimerMs } from "../util/timer.js";
import { AdvisorySubjects } from "./advisories.js";
import type { Clock, TimerHandle } from "./clock.js";
import { ConsumerDefaults, type ConsumerConfig } from "./consumer-config.js";
import { parseNakDelayMs } from "./consumer-status.js";
import type { DeadLetterReason } from "./dead-letter.js";
import type { Stream } from "./stream.js";
import type { NextMsg } from "./stream-cursor.js";

/** What the acknowledgement state needs of its consumer. */
export interface AckHost {
  /** The consumer's config as it is now (an update replaces it). */
  config(): ConsumerConfig;
  isClosed(): boolean;
  /** Run the delivery loop soon: a redelivery is queued, or max_ack_pending has room again. */
  kick(): void;
  /** Durable state changed; the owner persists it (throttled). */
  changed(): void;
  /** A message was acknowledged: interest and work-queue retention may remove it. */
  acked(seq: number): void;
  /** A message reached max_deliver or was terminated. */
  deadLetter(msg: StoredMsg, deliveries: number, reason: DeadLetterReason): void;
  /** Publish an advisory about this consumer (`<prefix>.<stream>.<consumer>`). */
  advise(prefix: string, type: string, fields: Record<string, unknown>): void;
  /** The consumer's clock: delivery times, ack waits and the redelivery timer. */
  readonly clock: Clock;
}

/** The acknowledgement part of a consumer's persisted state. */
export type SavedAcks = Omit<ConsumerState, "delivered">;

interface Pending {
  dseq: number;
  /** When it was (re)delivered, ms; redelivery is due ack_wait (or backoff) later. */
  tsMs: number;
}

const ACK_DELAY_MS = 1;

/**
 * A consumer's acknowledgement and redelivery state, as nats-server's `consumer.go` keeps it: the
 * deliveries waiting for an ack (in delivery order), the ack floor, how often each message was
 * redelivered, the queue of messages due again, the timer that finds those past ack_wait (or
 * their backoff step), max_deliver, and what every kind of ack (`+ACK`, `-NAK`, `+WPI`, `+TERM`)
 * does to them. The consumer's position (next stream and delivery sequence) stays with the
 * consumer: the calls that need it are given it.
 */
export class AckTracker {
  /** Ack floor: every delivery up to `adflr` (stream sequence `asflr`) is acknowledged. */
  private adflr = 0;
  private asflr = 0;
  private readonly pending = new Map<number, Pending>();
  private readonly rdc = new Map<number, number>();
  private rdq: number[] = [];
  private readonly rdqSet = new Set<number>();
  private lastAck = 0;
  private timer: TimerHandle | null = null;

  constructor(
    private readonly stream: Stream,
    private readonly host: AckHost,
  ) {}

  private get ackWaitMs(): number {
    return (this.host.config().ack_wait ?? ConsumerDefaults.ackWaitNs) / 1e6;
  }

  /** The ack floor: last delivery sequence acknowledged with everything before it. */
  get floorConsumerSeq(): number {
    return this.adflr;
  }

  /** The ack floor's stream sequence. */
  get floorStreamSeq(): number {
    return this.asflr;
  }

  /** When the last ack that changed anything came, ms (0: none yet). */
  get lastAckMs(): number {
    return this.lastAck;
  }

  /** Deliveries waiting for an ack (`num_ack_pending`). */
  get pendingCount(): number {
    return this.pending.size;
  }

  /** Messages redelivered at least once and not acknowledged since (`num_redelivered`). */
  get redeliveredCount(): number {
    return this.rdc.size;
  }

  /** Messages queued for redelivery now. */
  get queued(): number {
    return this.rdq.length;
  }

  /** Is `seq` delivered and not acknowledged? */
  isPending(seq: number): boolean {
    return this.pending.has(seq);
  }

  /** Set the floor (a new consumer's start; with ack policy none, every delivery). */
  setFloor(dseq: number, sseq: number): void {
    this.adflr = dseq;
    this.asflr = sseq;
  }

  /** Take the acknowledgement part of a saved state (the consumer is being restored). */
  restore(s: SavedAcks): void {
    this.adflr = s.ack_floor.consumer_seq;
    this.asflr = s.ack_floor.stream_seq;
    const now = this.host.clock.now();
    for (const [sseq, dseq, ts] of [...s.pending].sort((a, b) => a[0] - b[0])) this.pending.set(sseq, { dseq, tsMs: Math.min(ts, now) });
    for (const [sseq, n] of s.redelivered) this.rdc.set(sseq, n);
  }

  /** `pending` of the state to persist. */
  pendingList(): Array<[number, number, number]> {
    return [...this.pending].map(([s, p]) => [s, p.dseq, p.tsMs]);
  }

  /** `redelivered` of the state to persist. */
  redeliveredList(): Array<[number, number]> {
    return [...this.rdc];
  }

  /** The consumer starts: redeliveries restored with it are due ack_wait from now at the latest. */
  start(): void {
    if (this.pending.size > 0) this.armTimer(this.ackWaitMs);
  }

  /** The consumer stops: no more redelivery checks. */
  stop(): void {
    if (this.timer !== null) this.host.clock.clearTimeout(this.timer);
  }

  /**
   * The stream dropped everything below `firstSeq` (purge): forget what was pending there and move
   * the floor past it (`nextDseq`: the consumer's next delivery sequence).
   */
  purged(firstSeq: number, nextDseq: number): void {
    if (this.asflr < firstSeq - 1) {
      this.asflr = firstSeq - 1;
      this.adflr = nextDseq - 1;
    }
    for (const seq of [...this.pending.keys()]) {
      if (seq >= firstSeq) continue;
      this.pending.delete(seq);
      this.rdc.delete(seq);
      this.removeFromRdq(seq);
    }
  }

  /** Delivery `dseq` of stream message `seq` went out at `nowMs` and waits for its ack. */
  delivered(seq: number, dseq: number, nowMs: number): void {
    const p = this.pending.get(seq);
    if (p !== undefined) p.tsMs = nowMs;
    else this.pending.set(seq, { dseq, tsMs: nowMs });
    if (this.timer === null) this.armTimer(this.ackWaitDelayFor(seq));
  }

  /** Queue `seq` for redelivery at once (its requester went away, or a `-NAK`). */
  redeliverNow(seq: number): void {
    if (!this.rdqSet.has(seq)) {
      this.rdq.push(seq);
      this.rdqSet.add(seq);
    }
  }

  /**
   * The next queued redelivery, or, once the queue is empty without one, what `orElse` finds. A
   * message past max_deliver leaves pending instead, the first time with the max_deliver
   * advisory and a dead letter; one no longer in the stream is forgotten. (`orElse`, not a null
   * for the caller to go on from: the delivery loop then waits on one promise for a redelivery.)
   */
  async nextRedelivery(orElse: () => Promise<NextMsg | null>): Promise<NextMsg | null> {
    const store = this.stream.store;
    while (this.rdq.length > 0) {
      const seq = this.rdq.shift() as number;
      this.rdqSet.delete(seq);
      const n = (this.rdc.get(seq) ?? 0) + 1;
      this.rdc.set(seq, n);
      const dc = n + 1;
      const maxdc = this.host.config().max_deliver ?? -1;
      if (maxdc > 0 && dc > maxdc) {
        this.pending.delete(seq);
        if (dc === maxdc + 1) {
          const m = await store.load(seq);
          this.host.advise(AdvisorySubjects.maxDeliveries, "max_deliver", { stream_seq: seq, deliveries: dc - 1 });
          if (m !== null) this.host.deadLetter(m, dc - 1, "max_deliveries");
          this.host.changed();
        }
        continue;
      }
      const m = await store.load(seq);
      if (m === null) {
        this.pending.delete(seq);
        this.rdc.delete(seq);
        continue;
      }
      return { msg: m, dc, from: "rdq" };
    }
    return orElse();
  }

  /** Put back a redelivery taken by nextRedelivery and not sent: first in the queue, its count as before. */
  putBack(seq: number): void {
    this.rdq.unshift(seq);
    this.rdqSet.add(seq);
    const n = this.rdc.get(seq) ?? 1;
    if (n <= 1) this.rdc.delete(seq);
    else this.rdc.set(seq, n - 1);
  }

  /**
   * `+ACK` (and the ack of `+NXT` and `+TERM`) of delivery `dseq` of `sseq`. `nextDseq` and
   * `nextSseq`: the consumer's next delivery and stream sequences, the floor once nothing is pending.
   */
  ack(sseq: number, dseq: number, nextDseq: number, nextSseq: number): void {
    const config = this.host.config();
    const policy = config.ack_policy;
    const maxp = config.max_ack_pending ?? 0;
    const wasFull = maxp > 0 && this.pending.size >= maxp;
    const retains = this.stream.config.retention !== "limits";
    if (policy === "explicit") {
      const p = this.pending.get(sseq);
      if (p === undefined) {
        // Not pending: already acked, or never delivered; nothing changes.
        this.removeFromRdq(sseq);
        return;
      }
      this.pending.delete(sseq);
      dseq = p.dseq;
      if (this.pending.size === 0) {
        this.adflr = nextDseq - 1;
        this.asflr = nextSseq - 1;
      } else if (dseq === this.adflr + 1) {
        // Pending is in delivery order: its first entry is the lowest unacknowledged one.
        const first = this.pending.entries().next().value as [number, Pending];
        this.adflr = first[1].dseq - 1;
        this.asflr = first[0] - 1;
      }
      this.rdc.delete(sseq);
      this.removeFromRdq(sseq);
      this.lastAck = this.host.clock.now();
      if (retains) this.host.acked(sseq);
    } else if (policy === "all") {
      if (dseq <= this.adflr || sseq <= this.asflr) return;
      const from = this.asflr;
      this.adflr = dseq;
      this.asflr = sseq;
      for (const s of [...this.pending.keys()]) {
        if (s > sseq) continue;
        this.pending.delete(s);
        this.rdc.delete(s);
        this.removeFromRdq(s);
        if (retains) this.host.acked(s);
      }
      if (retains) for (let s = from + 1; s <= sseq; s++) this.host.acked(s);
      this.lastAck = this.host.clock.now();
    } else return;
    this.host.changed();
    if (wasFull) this.host.kick();
  }

  private removeFromRdq(seq: number): void {
    if (!this.rdqSet.delete(seq)) return;
    const i = this.rdq.indexOf(seq);
    if (i >= 0) this.rdq.splice(i, 1);
  }

  /** `-NAK` (with `arg`: a delay, or nothing) of delivery `dseq` (of `dc`) of `sseq`; `nextDseq`: the consumer's next delivery sequence. */
  nak(sseq: number, dseq: number, dc: number, arg: string, nextDseq: number): void {
    if (dseq <= this.adflr || dseq >= nextDseq) return;
    const p = this.pending.get(sseq);
    if (this.pending.size > 0 && p === undefined) return;
    this.host.advise(AdvisorySubjects.naked, "nak", { consumer_seq: dseq, stream_seq: sseq, deliveries: dc });
    if (arg !== "") {
      const delayMs = parseNakDelayMs(arg);
      if (delayMs >= 0) {
        this.removeFromRdq(sseq);
        if (p !== undefined) {
          // Due when "delivered at + ack_wait" passes: shift the delivery time so that is now + delay.
          p.tsMs = this.host.clock.now() - this.ackWaitDelayFor(sseq) + delayMs;
          this.rearmTimer(10);
        }
        return;
      }
    }
    this.redeliverNow(sseq);
    this.host.kick();
  }

  /** `+WPI`: the client is still working on `sseq`; its ack_wait starts again. */
  progress(sseq: number): void {
    const p = this.pending.get(sseq);
    if (p !== undefined) {
      p.tsMs = this.host.clock.now();
      this.removeFromRdq(sseq);
    }
  }

  /** `+TERM` of delivery `dseq` (of `dc`) of `sseq`: acknowledged, never redelivered, and a dead letter when it was pending. */
  term(sseq: number, dseq: number, dc: number, nextDseq: number, nextSseq: number): void {
    const wasPending = this.pending.has(sseq);
    const msgP = wasPending ? this.stream.store.load(sseq) : Promise.resolve(null);
    this.ack(sseq, dseq, nextDseq, nextSseq);
    this.host.advise(AdvisorySubjects.terminated, "terminated", { consumer_seq: dseq, stream_seq: sseq, deliveries: dc });
    msgP.then(
      (m) => {
        if (m !== null) this.host.deadLetter(m, dc, "terminated");
      },
      () => {},
    );
  }

  /** How long after its delivery `seq` is due again: its backoff step, or ack_wait. */
  private ackWaitDelayFor(seq: number): number {
    const bo = this.host.config().backoff;
    if (bo !== undefined && bo.length > 0) {
      const i = Math.min(this.rdc.get(seq) ?? 0, bo.length - 1);
      return (bo[i] as number) / 1e6;
    }
    return this.ackWaitMs;
  }

  // ---- redelivery timer -----------------------------------------------------------------------

  private armTimer(ms: number): void {
    if (this.host.isClosed()) return;
    // checkPending re-arms for what is left when a clamped wait ends before any deadline.
    this.timer = this.host.clock.setTimeout(() => this.checkPending(), clampTimerMs(ms + ACK_DELAY_MS));
  }

  private rearmTimer(ms: number): void {
    if (this.timer !== null) this.host.clock.clearTimeout(this.timer);
    this.armTimer(ms);
  }

  /** Queue for redelivery every pending message whose ack_wait (or backoff step) has passed. */
  private checkPending(): void {
    this.timer = null;
    if (this.host.isClosed()) return;
    const now = this.host.clock.now();
    const first = this.stream.store.state().firstSeq;
    const bo = this.host.config().backoff;
    let next = bo !== undefined && bo.length > 0 ? (bo[bo.length - 1] as number) / 1e6 : this.ackWaitMs;
    const expired: number[] = [];
    for (const [seq, p] of this.pending) {
      if (seq < first) {
        this.pending.delete(seq);
        this.rdc.delete(seq);
        this.removeFromRdq(seq);
        continue;
      }
      const deadline = this.ackWaitDelayFor(seq);
      if (bo !== undefined && bo.length > 0) {
        // nats-server's checkPending: the timer also fires no later than the step that follows this
        // message's own, which its redelivery will wait (else, armed for the longest step after the
        // first expiry, backoff [1s, 2s, 10s] redelivered a third time after 10 s, not 2 s).
        const nextStep = (bo[Math.min((this.rdc.get(seq) ?? 0) + 1, bo.length - 1)] as number) / 1e6;
        if (nextStep < next) next = nextStep;
      }
      const elapsed = now - p.tsMs;
      if (elapsed >= deadline) {
        if (!this.rdqSet.has(seq)) expired.push(seq);
      } else if (deadline - elapsed < next) next = deadline - elapsed;
    }
    if (expired.length > 0) {
      expired.sort((a, b) => a - b);
      for (const s of expired) {
        this.rdq.push(s);
        this.rdqSet.add(s);
        (this.pending.get(s) as Pending).tsMs = now;
      }
      this.host.kick();
    }
    if (this.pending.size > 0) this.armTimer(Math.max(1, next));
  }
}
