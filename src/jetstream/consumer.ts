import { randomBytes } from "node:crypto";
import { subjectMatches } from "../subjects/validate.js";
import type { StoredMsg } from "../stores/types.js";
import { AdvisorySubjects, advisoryBody } from "./advisories.js";
import type { Bus } from "./bus.js";
import { ConsumerDefaults, type ConsumerConfig } from "./consumer-config.js";
import { isoToNs, nsToIso } from "./json.js";
import { EMPTY, H_FLOW_CONTROL, H_NO_MESSAGES, enc, parseNakDelayMs, statusHeader } from "./consumer-status.js";
import { PullQueue, parsePullRequest } from "./pull-queue.js";
import { clampTimerMs } from "../util/timer.js";
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

export type DeadLetterReason = "max_deliveries" | "terminated";

/** A consumer's persisted position (nats-server `ConsumerState`, in our own JSON). */
export interface ConsumerState {
  delivered: { consumer_seq: number; stream_seq: number };
  ack_floor: { consumer_seq: number; stream_seq: number };
  /** [stream seq, delivery seq, delivered at ms] of every unacknowledged delivery. */
  pending: Array<[number, number, number]>;
  /** [stream seq, redeliveries]. */
  redelivered: Array<[number, number]>;
}

interface Pending {
  dseq: number;
  /** When it was (re)delivered, ms; redelivery is due ack_wait (or backoff) later. */
  tsMs: number;
}

const ACK_DELAY_MS = 1;

/** A message to deliver, its delivery count, and where it came from (to put it back). */
interface Next {
  msg: StoredMsg;
  dc: number;
  from: "rdq" | "lss" | "stream";
}

/**
 * Deliveries in one go before the delivery loop lets the event loop turn (and so the connection be
 * written to): a pull request for 1,000 messages then reaches the client in parts it can start on
 * while the rest is produced, not in one write after the last, and other connections are not kept
 * waiting behind a long run.
 */
export const DELIVERIES_PER_TURN = 256;

/** Resolves on the next turn of the event loop, after the writes queued in this one. */
const nextTurn = (): Promise<void> => new Promise<void>((r) => setImmediate(r));

/**
 * One consumer of a stream: its position, pending acknowledgements, redelivery, and delivery to a
 * push subject or to waiting pull requests. Behaviour follows nats-server's `consumer.go`
 * (ADR-9/13/15); the code is our own. Everything runs on the event loop: no locks, one delivery
 * loop at a time.
 */
export class Consumer {
  /** Next stream sequence to consider. */
  private sseq = 1;
  /** Next delivery sequence. */
  private dseq = 1;
  private adflr = 0;
  private asflr = 0;
  private readonly pending = new Map<number, Pending>();
  private readonly rdc = new Map<number, number>();
  private rdq: number[] = [];
  private readonly rdqSet = new Set<number>();
  /** deliver last_per_subject: the sequences still to send first, then resume after `lssResume`. */
  private lss: number[] | null = null;
  private lssResume = 0;
  /** Pull requests waiting for messages. */
  private readonly pulls: PullQueue;
  private lastDeliveredMs = 0;
  private lastAckMs = 0;
  private lastActivityMs = Date.now();
  /** Push: someone is subscribed to the deliver subject. */
  private active = false;
  // Flow control (push).
  private pbytes = 0;
  private maxpb = 0;
  private readonly pblimit: number;
  private fcid = "";
  private fcsz = 0;
  // Replay original.
  private replaying: boolean;
  private replayUntil = 0;
  private lastReplayTs = 0n;

  private running = false;
  private again = false;
  private closed = false;
  private ackTimer: NodeJS.Timeout | null = null;
  private hbTimer: NodeJS.Timeout | null = null;
  /** When the next idle heartbeat is due (ms); the timer may fire before it (clamped delays). */
  private hbDueMs = 0;
  private inactiveTimer: NodeJS.Timeout | null = null;
  /** When the next inactivity check is due (ms); the timer may fire before it (clamped delays). */
  private inactiveDueMs = 0;
  /** replay_policy original: the wait between two messages, and how stop() ends it early. */
  private replayTimer: NodeJS.Timeout | null = null;
  private replayWake: (() => void) | null = null;
  /** Push inactivity: consecutive checks that found no subscriber. */
  private idleChecks = 0;
  private readonly unsubs: Array<() => void> = [];
  private readonly filters: string[];
  private readonly ackPrefix: string;
  readonly isPush: boolean;
  readonly durable: boolean;

  constructor(
    readonly stream: Stream,
    public config: ConsumerConfig,
    readonly name: string,
    readonly created: Date,
    private readonly bus: Bus,
    private readonly hooks: ConsumerHooks,
    state: ConsumerState | null,
  ) {
    this.isPush = config.deliver_subject !== undefined;
    this.durable = config.durable_name !== undefined;
    this.filters = config.filter_subjects ?? (config.filter_subject !== undefined ? [config.filter_subject] : []);
    this.ackPrefix = `$JS.ACK.${stream.name}.${name}.`;
    this.pblimit = config.flow_control === true ? ConsumerDefaults.flowControlMaxPendingBytes : 0;
    this.maxpb = this.pblimit > 0 ? Math.max(1, Math.floor(this.pblimit / 16)) : 0;
    this.replaying = config.replay_policy === "original";
    this.pulls = new PullQueue({
      bus,
      sendHeartbeat: (subject) => this.sendHeartbeat(subject),
      drained: () => this.armInactive(),
      isClosed: () => this.closed,
    });
    if (state !== null) this.restore(state);
  }

  /** The filter subjects ([] = everything in the stream). */
  get filterSubjects(): readonly string[] {
    return this.filters;
  }

  private get ackWaitMs(): number {
    return (this.config.ack_wait ?? ConsumerDefaults.ackWaitNs) / 1e6;
  }

  private get explicitish(): boolean {
    return this.config.ack_policy !== "none";
  }

  /** Subscribe to acks, pull requests, flow control responses and interest; start delivering. */
  start(): void {
    const sname = this.stream.name;
    this.unsubs.push(this.bus.subscribe(`${this.ackPrefix}>`, "", (subject, reply, _h, data) => this.processAck(subject, reply, data)));
    // Push consumers answer pull requests too (409 Consumer is push based).
    this.unsubs.push(this.bus.subscribe(`$JS.API.CONSUMER.MSG.NEXT.${sname}.${this.name}`, "", (_s, reply, _h, data) => this.processNextRequest(reply, data)));
    if (this.isPush) {
      const dsubj = this.config.deliver_subject as string;
      this.unsubs.push(this.bus.subscribe(`$JS.FC.${sname}.${this.name}.*`, "", (subject) => this.processFlowControl(subject)));
      this.unsubs.push(
        this.bus.watchSubscriptions((s) => {
          if (!this.active && (s === dsubj || subjectMatches(s, dsubj))) this.setActive(true);
        }),
      );
      this.active = this.bus.hasInterest(dsubj);
      this.armInactive();
      this.armHeartbeat();
    } else this.armInactive();
    this.unsubs.push(this.stream.onAppend(() => this.kick()));
    // replay original paces what is stored now; what arrives later is delivered as it comes.
    this.replayUntil = this.stream.store.state().lastSeq;
    if (this.pending.size > 0) this.armAckTimer(this.ackWaitMs);
    this.kick();
  }

  /** Stop: unsubscribe, clear timers, tell waiting pull requests the consumer is gone. */
  stop(deleted: boolean): void {
    if (this.closed) return;
    this.closed = true;
    for (const u of this.unsubs) u();
    this.unsubs.length = 0;
    for (const t of [this.ackTimer, this.hbTimer, this.inactiveTimer, this.replayTimer]) if (t !== null) clearTimeout(t);
    this.replayWake?.();
    this.pulls.stop(deleted);
  }

  // ---- position ----------------------------------------------------------------------------

  /** Choose the first sequence from the deliver policy (a new consumer; a restored one has state). */
  async selectStart(): Promise<void> {
    const store = this.stream.store;
    const st = store.state();
    const c = this.config;
    switch (c.deliver_policy) {
      case "all":
        this.sseq = st.firstSeq;
        break;
      case "last": {
        this.sseq = st.lastSeq;
        if (this.filters.length > 0) {
          let last = 0;
          for (const f of this.filters) last = Math.max(last, (await store.loadLast(f))?.seq ?? 0);
          this.sseq = last;
        }
        break;
      }
      case "last_per_subject": {
        const seqs: number[] = [];
        for (const f of this.filters) {
          for (const subj of store.subjects(f).keys()) {
            const m = await store.loadLast(subj);
            if (m !== null) seqs.push(m.seq);
          }
        }
        seqs.sort((a, b) => a - b);
        if (seqs.length > 0) {
          this.lss = seqs;
          this.lssResume = st.lastSeq;
          this.sseq = seqs[0] as number;
        } else this.sseq = st.lastSeq;
        break;
      }
      case "new":
        this.sseq = st.lastSeq + 1;
        break;
      case "by_start_sequence":
        this.sseq = c.opt_start_seq ?? 1;
        break;
      case "by_start_time":
        this.sseq = await store.seqForTime(isoToNs(c.opt_start_time as string) ?? 0n);
        if (this.sseq === 0) this.sseq = st.lastSeq + 1;
        break;
    }
    if (st.messages === 0) this.sseq = st.lastSeq + 1;
    else if (this.sseq < st.firstSeq) this.sseq = st.firstSeq;
    else if (this.sseq > st.lastSeq) this.sseq = st.lastSeq + 1;
    this.dseq = 1;
    this.adflr = 0;
    this.asflr = this.sseq - 1;
  }

  private restore(s: ConsumerState): void {
    this.dseq = s.delivered.consumer_seq + 1;
    this.sseq = s.delivered.stream_seq + 1;
    this.adflr = s.ack_floor.consumer_seq;
    this.asflr = s.ack_floor.stream_seq;
    const now = Date.now();
    for (const [sseq, dseq, ts] of [...s.pending].sort((a, b) => a[0] - b[0])) this.pending.set(sseq, { dseq, tsMs: Math.min(ts, now) });
    for (const [sseq, n] of s.redelivered) this.rdc.set(sseq, n);
  }

  /** The state to persist. */
  state(): ConsumerState {
    return {
      delivered: { consumer_seq: this.dseq - 1, stream_seq: this.sseq - 1 },
      ack_floor: { consumer_seq: this.adflr, stream_seq: this.asflr },
      pending: [...this.pending].map(([s, p]) => [s, p.dseq, p.tsMs]),
      redelivered: [...this.rdc],
    };
  }

  private matches(subject: string): boolean {
    const f = this.filters;
    if (f.length === 0) return true;
    for (let i = 0; i < f.length; i++) {
      const x = f[i] as string;
      if (x === subject || subjectMatches(x, subject)) return true;
    }
    return false;
  }

  /** Messages not yet delivered that this consumer will deliver (info `num_pending`). */
  numPending(): number {
    if (this.lss !== null) return this.lss.length + this.countFrom(this.lssResume + 1);
    return this.countFrom(this.sseq);
  }

  private countFrom(seq: number): number {
    const store = this.stream.store;
    if (this.filters.length === 0) return store.numPending("", seq);
    let n = 0;
    for (const f of this.filters) n += store.numPending(f, seq);
    return n;
  }

  /** The stream dropped everything below `firstSeq` (purge): move past it. */
  purged(firstSeq: number): void {
    if (this.sseq < firstSeq) this.sseq = firstSeq;
    if (this.asflr < firstSeq - 1) {
      this.asflr = firstSeq - 1;
      this.adflr = this.dseq - 1;
    }
    for (const seq of [...this.pending.keys()]) {
      if (seq >= firstSeq) continue;
      this.pending.delete(seq);
      this.rdc.delete(seq);
      this.removeFromRdq(seq);
    }
    if (this.lss !== null) {
      this.lss = this.lss.filter((s) => s >= firstSeq);
      if (this.lss.length === 0) this.lss = null;
    }
    this.hooks.changed(this);
    this.kick();
  }

  /** For interest retention: does this consumer still need `seq` (on `subject`)? */
  needAck(seq: number, subject: string): boolean {
    if (!this.matches(subject)) return false;
    if (seq <= this.asflr) return false;
    if (seq >= this.sseq) return true;
    if (this.config.ack_policy === "none") return false;
    return this.config.ack_policy === "all" ? true : this.pending.has(seq);
  }

  // ---- delivery loop ----------------------------------------------------------------------

  /** Something changed (new message, request, ack, interest): run the delivery loop soon. */
  kick(): void {
    if (this.closed) return;
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
    if (this.isPush) return this.active && !(this.maxpb > 0 && this.pbytes > this.maxpb);
    return this.pulls.length > 0;
  }

  private async run(): Promise<void> {
    let eos = false;
    // num_pending for the ack subjects: counted once per run (a scan of the store's subjects),
    // then kept by decrementing, as nats-server caches it.
    let pendingCount = -1;
    let inTurn = 0;
    while (!this.closed && this.canDeliver()) {
      this.again = false;
      if (++inTurn > DELIVERIES_PER_TURN) {
        inTurn = 1;
        await nextTurn();
        if (this.closed || !this.canDeliver()) break;
      }
      // Without a promise when the store has the message at hand (the common case).
      let next = this.nextNow();
      if (next === undefined) {
        next = await this.nextMsg();
        if (this.closed) return;
      }
      if (next === null) {
        eos = true;
        break;
      }
      const { msg, dc, from } = next;
      if (pendingCount < 0) pendingCount = this.numPending();
      else if (dc === 1 && pendingCount > 0) pendingCount--;
      const ackReply = `${this.ackPrefix}${dc}.${msg.seq}.${this.dseq}.${msg.timeNs}.${pendingCount}`;
      let headers = msg.headers;
      let data = msg.data;
      if (this.config.headers_only === true) {
        const base = headers === null ? "NATS/1.0\r\n" : headers.subarray(0, headers.length - 2).toString("latin1");
        headers = enc(`${base}Nats-Msg-Size: ${data.length}\r\n\r\n`);
        data = EMPTY;
      }
      const sz = msg.subject.length + ackReply.length + (headers?.length ?? 0) + data.length;
      let dsubj: string;
      if (this.isPush) dsubj = this.config.deliver_subject as string;
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
        else if (wr.hbMs > 0) wr.hbAtMs = Date.now() + wr.hbMs;
      }
      if (this.replaying) {
        if (msg.seq > this.replayUntil) this.replaying = false;
        else if (this.lastReplayTs > 0n) {
          const delayMs = Number(msg.timeNs - this.lastReplayTs) / 1e6;
          if (delayMs > 1) await this.replayPause(delayMs);
          if (this.closed) return;
        }
        this.lastReplayTs = msg.timeNs;
      }
      this.deliver(dsubj, ackReply, msg, headers, data, dc, sz);
    }
    if (!this.isPush) this.pulls.process(eos);
  }

  /** Wait `ms` between two replayed messages, however long the gap was; stop() ends the wait. */
  private async replayPause(ms: number): Promise<void> {
    const until = Date.now() + ms;
    for (let left = ms; left >= 1 && !this.closed; left = until - Date.now()) {
      await new Promise<void>((r) => {
        this.replayWake = r;
        this.replayTimer = setTimeout(r, clampTimerMs(left));
      });
      this.replayTimer = null;
      this.replayWake = null;
    }
  }

  /** Put a message back: it will be the next one considered. */
  private unget(seq: number, from: "rdq" | "lss" | "stream"): void {
    if (from === "rdq") {
      this.rdq.unshift(seq);
      this.rdqSet.add(seq);
      const n = this.rdc.get(seq) ?? 1;
      if (n <= 1) this.rdc.delete(seq);
      else this.rdc.set(seq, n - 1);
    } else if (from === "lss") {
      if (this.lss === null) this.lss = [seq];
      else this.lss.unshift(seq);
    } else this.sseq = seq;
  }

  /** The next message to deliver: redeliveries first, then the skip list, then the stream. */
  private async nextMsg(): Promise<Next | null> {
    const store = this.stream.store;
    while (this.rdq.length > 0) {
      const seq = this.rdq.shift() as number;
      this.rdqSet.delete(seq);
      const n = (this.rdc.get(seq) ?? 0) + 1;
      this.rdc.set(seq, n);
      const dc = n + 1;
      const maxdc = this.config.max_deliver ?? -1;
      if (maxdc > 0 && dc > maxdc) {
        this.pending.delete(seq);
        if (dc === maxdc + 1) {
          const m = await store.load(seq);
          this.advise(AdvisorySubjects.maxDeliveries, "max_deliver", { stream_seq: seq, deliveries: dc - 1 });
          if (m !== null) this.hooks.deadLetter(this, m, dc - 1, "max_deliveries");
          this.hooks.changed(this);
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
    if (this.ackPendingFull()) return null;
    while (this.lss !== null) {
      const seq = this.lss.shift() as number;
      if (this.lss.length === 0) {
        this.lss = null;
        this.sseq = this.lssResume + 1;
      } else this.sseq = seq + 1;
      const m = await store.load(seq);
      if (m !== null) return { msg: m, dc: 1, from: "lss" };
    }
    return this.fromStream(await this.loadNextMatching(this.sseq));
  }

  /**
   * nextMsg without waiting, in its common case (no redeliveries, no skip list, one filter, the
   * message in memory); undefined when only nextMsg can tell.
   */
  private nextNow(): Next | null | undefined {
    if (this.rdq.length > 0) return undefined;
    if (this.ackPendingFull()) return null;
    if (this.lss !== null || this.filters.length > 1) return undefined;
    const m = this.stream.store.loadNextNow(this.filters[0] ?? "", this.sseq);
    return m === undefined ? undefined : this.fromStream(m);
  }

  private ackPendingFull(): boolean {
    const max = this.config.max_ack_pending ?? 0;
    return this.explicitish && max > 0 && this.pending.size >= max;
  }

  /** The next message from the stream itself (`m`: the first at or after sseq that the filter takes). */
  private fromStream(m: StoredMsg | null): Next | null {
    const durable = this.stream.durableSeq;
    if (m === null || m.seq > durable) {
      // Nothing (durable) to deliver: skip what the filter does not want, up to the durable end.
      if (m === null && this.sseq <= durable) this.sseq = durable + 1;
      return null;
    }
    this.sseq = m.seq + 1;
    return { msg: m, dc: 1, from: "stream" };
  }

  private async loadNextMatching(from: number): Promise<StoredMsg | null> {
    const store = this.stream.store;
    if (this.filters.length <= 1) return store.loadNext(this.filters[0] ?? "", from);
    let best: StoredMsg | null = null;
    for (const f of this.filters) {
      const m = await store.loadNext(f, from);
      if (m !== null && (best === null || m.seq < best.seq)) best = m;
    }
    return best;
  }

  private deliver(dsubj: string, ackReply: string, msg: StoredMsg, headers: Buffer | null, data: Buffer, dc: number, sz: number): void {
    const dseq = this.dseq++;
    const now = Date.now();
    this.lastDeliveredMs = now;
    this.lastActivityMs = now;
    if (this.maxpb > 0) this.pbytes += sz;
    const n = this.bus.publishAs(dsubj, msg.subject, ackReply, headers, data);
    if (this.explicitish) {
      const p = this.pending.get(msg.seq);
      if (p !== undefined) p.tsMs = now;
      else this.pending.set(msg.seq, { dseq, tsMs: now });
      if (this.ackTimer === null) this.armAckTimer(this.ackWaitDelayFor(msg.seq));
    } else {
      this.adflr = dseq;
      this.asflr = msg.seq;
      if (this.stream.config.retention !== "limits") this.hooks.acked(this, msg.seq);
    }
    if (this.maxpb > 0 && this.fcid === "" && this.pbytes > this.maxpb / 2) this.sendFlowControl();
    else if (this.fcid !== "" && this.pbytes - this.fcsz >= this.maxpb) this.fcsz += sz;
    if (this.isPush) {
      this.armHeartbeat();
      if (n === 0) this.setActive(false);
    } else if (n === 0 && this.explicitish && !this.rdqSet.has(msg.seq)) {
      // The requester went away: redeliver at once rather than after ack_wait.
      this.rdq.push(msg.seq);
      this.rdqSet.add(msg.seq);
    }
    this.hooks.changed(this);
  }

  private ackWaitDelayFor(seq: number): number {
    const bo = this.config.backoff;
    if (bo !== undefined && bo.length > 0) {
      const i = Math.min(this.rdc.get(seq) ?? 0, bo.length - 1);
      return (bo[i] as number) / 1e6;
    }
    return this.ackWaitMs;
  }

  // ---- push: interest, heartbeats, flow control ---------------------------------------------

  private setActive(active: boolean): void {
    if (this.active === active) return;
    this.active = active;
    if (active) {
      this.idleChecks = 0;
      this.kick();
    }
  }

  private armHeartbeat(): void {
    const hb = this.config.idle_heartbeat ?? 0;
    if (hb <= 0 || this.closed) return;
    this.hbDueMs = Date.now() + hb / 1e6;
    this.armHeartbeatTimer();
  }

  private armHeartbeatTimer(): void {
    if (this.hbTimer !== null) clearTimeout(this.hbTimer);
    this.hbTimer = setTimeout(this.onHeartbeatTimer, clampTimerMs(this.hbDueMs - Date.now()));
    this.hbTimer.unref();
  }

  private readonly onHeartbeatTimer = (): void => {
    this.hbTimer = null;
    if (this.closed) return;
    // A heartbeat longer than a timer can wait: this was a stop on the way.
    if (this.hbDueMs - Date.now() >= 1) {
      this.armHeartbeatTimer();
      return;
    }
    if (this.active || this.bus.hasInterest(this.config.deliver_subject as string)) this.sendHeartbeat(this.config.deliver_subject as string);
    this.armHeartbeat();
  };

  private sendHeartbeat(subject: string): void {
    let h = `NATS/1.0 100 Idle Heartbeat\r\nNats-Last-Consumer: ${this.dseq - 1}\r\nNats-Last-Stream: ${this.sseq - 1}\r\n`;
    if (this.fcid !== "") h += `Nats-Consumer-Stalled: ${this.fcid}\r\n`;
    this.bus.publish(subject, "", enc(`${h}\r\n`), EMPTY);
  }

  private sendFlowControl(): void {
    if (!this.isPush) return;
    this.fcid = `$JS.FC.${this.stream.name}.${this.name}.${randomBytes(3).toString("hex").slice(0, 4)}`;
    this.fcsz = this.pbytes;
    this.bus.publish(this.config.deliver_subject as string, this.fcid, H_FLOW_CONTROL, EMPTY);
  }

  private processFlowControl(subject: string): void {
    if (subject !== this.fcid) return;
    if (this.maxpb < this.pblimit) this.maxpb = Math.min(this.maxpb * 2, this.pblimit);
    this.pbytes = Math.max(0, this.pbytes - this.fcsz);
    this.fcid = "";
    this.fcsz = 0;
    this.kick();
  }

  // ---- inactivity ---------------------------------------------------------------------------

  /**
   * Ephemeral (and durable with inactive_threshold) consumers go away when unused that long. Push:
   * checked every half threshold; two checks in a row without a subscriber on the deliver subject
   * remove it (a client reconnecting in between keeps it). Pull: no request for the threshold.
   */
  private armInactive(): void {
    const t = this.config.inactive_threshold ?? 0;
    if (t <= 0 || this.closed) return;
    const ms = t / 1e6;
    this.inactiveDueMs = Date.now() + (this.isPush ? ms / 2 : ms);
    this.armInactiveTimer();
  }

  private armInactiveTimer(): void {
    if (this.inactiveTimer !== null) clearTimeout(this.inactiveTimer);
    this.inactiveTimer = setTimeout(this.onInactiveTimer, clampTimerMs(this.inactiveDueMs - Date.now()));
    this.inactiveTimer.unref();
  }

  private readonly onInactiveTimer = (): void => {
    this.inactiveTimer = null;
    if (this.closed) return;
    // A threshold longer than a timer can wait: this was a stop on the way.
    if (this.inactiveDueMs - Date.now() >= 1) {
      this.armInactiveTimer();
      return;
    }
    if (this.isPush) {
      const interest = this.bus.hasInterest(this.config.deliver_subject as string);
      if (interest) {
        this.idleChecks = 0;
        if (!this.active) this.setActive(true);
      } else if (++this.idleChecks >= 2) {
        this.hooks.inactive(this);
        return;
      }
      this.armInactive();
      return;
    }
    const idle = Date.now() - this.lastActivityMs;
    if (this.pulls.length === 0 && idle >= (this.config.inactive_threshold ?? 0) / 1e6) this.hooks.inactive(this);
    else this.armInactive();
  };

  // ---- pull requests ------------------------------------------------------------------------

  /** `$JS.API.CONSUMER.MSG.NEXT.<stream>.<consumer>`: body empty, a batch number, or JSON. */
  processNextRequest(reply: string, body: Buffer): void {
    if (reply === "" || this.closed) return;
    this.lastActivityMs = Date.now();
    if (this.isPush) {
      this.bus.publish(reply, "", statusHeader(409, "Consumer is push based"), EMPTY);
      return;
    }
    const ask = parsePullRequest(body, this.config);
    if ("refuse" in ask) {
      this.bus.publish(reply, "", ask.refuse, EMPTY);
      return;
    }
    const { batch, expiresNs, maxBytes, noWait, hbNs } = ask;
    const maxWaiting = this.config.max_waiting ?? ConsumerDefaults.maxWaiting;
    if (this.pulls.length >= maxWaiting) this.pulls.process(false);
    if (noWait) {
      const msgsPending = this.numPending() + this.rdq.length;
      if (msgsPending === 0 && expiresNs === 0) {
        this.bus.publish(reply, "", H_NO_MESSAGES, EMPTY);
        return;
      }
      if (msgsPending > 0 && msgsPending < this.pulls.wantedMessages()) {
        this.bus.publish(reply, "", statusHeader(408, "Requests Pending"), EMPTY);
        return;
      }
    }
    if (this.pulls.length >= maxWaiting) {
      this.bus.publish(reply, "", statusHeader(409, "Exceeded MaxWaiting"), EMPTY);
      return;
    }
    const now = Date.now();
    const hbMs = hbNs / 1e6;
    this.pulls.add({ reply, n: batch, d: 0, b: maxBytes, expiresMs: expiresNs > 0 ? now + expiresNs / 1e6 : 0, noWait, hbMs, hbAtMs: hbMs > 0 ? now + hbMs : 0 });
    this.kick();
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
    this.lastActivityMs = Date.now();
    const body = data.length === 0 ? "" : data.toString("latin1");
    let ackReply = reply !== "";
    if (body === "" || body === "+ACK" || body === "+OK") this.ack(sseq, dseq);
    else if (body.startsWith("+NXT")) {
      this.ack(sseq, dseq);
      this.processNextRequest(reply, Buffer.from(body.slice(4)));
      ackReply = false;
    } else if (body.startsWith("-NAK")) this.nak(sseq, dseq, dc, body.slice(4).trim());
    else if (body === "+WPI") this.progress(sseq);
    else if (body === "+TERM" || body.startsWith("+TERM ")) this.term(sseq, dseq, dc);
    if (ackReply) this.bus.publish(reply, "", null, EMPTY);
  }

  private ack(sseq: number, dseq: number): void {
    const policy = this.config.ack_policy;
    const maxp = this.config.max_ack_pending ?? 0;
    const wasFull = maxp > 0 && this.pending.size >= maxp;
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
        this.adflr = this.dseq - 1;
        this.asflr = this.sseq - 1;
      } else if (dseq === this.adflr + 1) {
        // Pending is in delivery order: its first entry is the lowest unacknowledged one.
        const first = this.pending.entries().next().value as [number, Pending];
        this.adflr = first[1].dseq - 1;
        this.asflr = first[0] - 1;
      }
      this.rdc.delete(sseq);
      this.removeFromRdq(sseq);
      this.lastAckMs = Date.now();
      if (this.stream.config.retention !== "limits") this.hooks.acked(this, sseq);
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
        if (this.stream.config.retention !== "limits") this.hooks.acked(this, s);
      }
      if (this.stream.config.retention !== "limits") for (let s = from + 1; s <= sseq; s++) this.hooks.acked(this, s);
      this.lastAckMs = Date.now();
    } else return;
    this.hooks.changed(this);
    if (wasFull) this.kick();
  }

  private removeFromRdq(seq: number): void {
    if (!this.rdqSet.delete(seq)) return;
    const i = this.rdq.indexOf(seq);
    if (i >= 0) this.rdq.splice(i, 1);
  }

  private nak(sseq: number, dseq: number, dc: number, arg: string): void {
    if (dseq <= this.adflr || dseq >= this.dseq) return;
    const p = this.pending.get(sseq);
    if (this.pending.size > 0 && p === undefined) return;
    this.advise(AdvisorySubjects.naked, "nak", { consumer_seq: dseq, stream_seq: sseq, deliveries: dc });
    if (arg !== "") {
      const delayMs = parseNakDelayMs(arg);
      if (delayMs >= 0) {
        this.removeFromRdq(sseq);
        if (p !== undefined) {
          // Due when "delivered at + ack_wait" passes: shift the delivery time so that is now + delay.
          p.tsMs = Date.now() - this.ackWaitDelayFor(sseq) + delayMs;
          this.rearmAckTimer(10);
        }
        return;
      }
    }
    if (!this.rdqSet.has(sseq)) {
      this.rdq.push(sseq);
      this.rdqSet.add(sseq);
    }
    this.kick();
  }

  private progress(sseq: number): void {
    const p = this.pending.get(sseq);
    if (p !== undefined) {
      p.tsMs = Date.now();
      this.removeFromRdq(sseq);
    }
  }

  private term(sseq: number, dseq: number, dc: number): void {
    const wasPending = this.pending.has(sseq);
    const msgP = wasPending ? this.stream.store.load(sseq) : Promise.resolve(null);
    this.ack(sseq, dseq);
    this.advise(AdvisorySubjects.terminated, "terminated", { consumer_seq: dseq, stream_seq: sseq, deliveries: dc });
    msgP.then(
      (m) => {
        if (m !== null) this.hooks.deadLetter(this, m, dc, "terminated");
      },
      () => {},
    );
  }

  private advise(prefix: string, type: string, fields: Record<string, unknown>): void {
    this.hooks.advisory(`${prefix}.${this.stream.name}.${this.name}`, advisoryBody(type, this.stream.name, this.name, fields));
  }

  // ---- redelivery timer -----------------------------------------------------------------------

  private armAckTimer(ms: number): void {
    if (this.closed) return;
    // checkPending re-arms for what is left when a clamped wait ends before any deadline.
    this.ackTimer = setTimeout(() => this.checkPending(), clampTimerMs(ms + ACK_DELAY_MS));
    this.ackTimer.unref();
  }

  private rearmAckTimer(ms: number): void {
    if (this.ackTimer !== null) clearTimeout(this.ackTimer);
    this.armAckTimer(ms);
  }

  /** Queue for redelivery every pending message whose ack_wait (or backoff step) has passed. */
  private checkPending(): void {
    this.ackTimer = null;
    if (this.closed) return;
    const now = Date.now();
    const first = this.stream.store.state().firstSeq;
    const bo = this.config.backoff;
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
      this.kick();
    }
    if (this.pending.size > 0) this.armAckTimer(Math.max(1, next));
  }

  // ---- info ---------------------------------------------------------------------------------

  /** `ConsumerInfo` as `$JS.API.CONSUMER.INFO` returns it. */
  info(): Record<string, unknown> {
    if (!this.isPush) this.pulls.process(false);
    const delivered: Record<string, unknown> = { consumer_seq: this.dseq - 1, stream_seq: this.sseq - 1 };
    if (this.lastDeliveredMs > 0) delivered["last_active"] = nsToIso(BigInt(this.lastDeliveredMs) * 1_000_000n);
    const ackFloor: Record<string, unknown> = { consumer_seq: this.adflr, stream_seq: this.asflr };
    if (this.lastAckMs > 0) ackFloor["last_active"] = nsToIso(BigInt(this.lastAckMs) * 1_000_000n);
    const out: Record<string, unknown> = {
      stream_name: this.stream.name,
      name: this.name,
      created: nsToIso(BigInt(this.created.getTime()) * 1_000_000n),
      config: this.config,
      delivered,
      ack_floor: ackFloor,
      num_ack_pending: this.pending.size,
      num_redelivered: this.rdc.size,
      num_waiting: this.pulls.length,
      num_pending: this.numPending(),
    };
    if (this.isPush && this.active) out["push_bound"] = true;
    return out;
  }

  /** The deliver subject is in use by a subscriber (push durable re-bind check). */
  get isActive(): boolean {
    return this.isPush && this.active;
  }
}
