import type { Bus } from "../jetstream/bus.js";
import type { Channel } from "./channels.js";
import { encodeMsgProto } from "./protocol.js";

const EMPTY = Buffer.alloc(0);
const NAK = Buffer.from("-NAK");

/** One STAN subscriber: a plain subscription, or one member of a queue group. */
export class StanSub {
  /** Messages delivered to it and not acknowledged yet. */
  outstanding = 0;
  /** The highest sequence sent to it (nats-streaming-server's LastSent; the monitoring endpoints show it). */
  lastSent = 0;
  /** MsgProtos sent to it, first deliveries and redeliveries, and their bytes (`/streaming/serverz` out_msgs, out_bytes). */
  sentMsgs = 0;
  sentBytes = 0;
  /** Set once its binding takes it (after the SubscriptionResponse is sent). */
  binding: SubBinding | null = null;

  constructor(
    /** Its number on this server; its ack inbox ends with it. */
    readonly id: number,
    readonly clientID: string,
    readonly channel: Channel,
    /** Where its messages go (the client's inbox). */
    readonly inbox: string,
    /** The client acks here (`_STAN.ack.<server>.<id>`). */
    readonly ackInbox: string,
    readonly maxInFlight: number,
    readonly ackWaitSecs: number,
    readonly durableName: string,
    readonly qGroup: string,
  ) {}
}

/**
 * One JetStream push consumer serving a STAN subscription or queue group: it takes the consumer's
 * deliveries on the consumer's deliver subject, hands each to a member as a `MsgProto` on the
 * member's inbox, and turns the member's `Ack` of a sequence into the JetStream ack of that
 * delivery. The consumer does the rest as for any JetStream client: where delivery starts,
 * `max_ack_pending` (the subscription's maxInFlight, or the sum of the queue members'),
 * redelivery after `ack_wait` (the delivery count in the ack subject gives the redelivered flag),
 * and keeping a durable's position. Per delivery: the MsgProto buffer and two map entries.
 */
export class SubBinding {
  readonly members: StanSub[] = [];
  /** Subscriptions made on it whose deliveries have not started yet (their response is on its way). */
  joining = 0;
  /** JetStream ack subject and member of each delivered, unacknowledged stream sequence. */
  private readonly replies = new Map<number, string>();
  private readonly owners = new Map<number, StanSub>();
  private unsub: (() => void) | null = null;
  /** `$JS.ACK.<stream>.<consumer>.`: what each delivery's reply starts with. */
  private readonly ackPrefix: string;

  constructor(
    private readonly bus: Bus,
    readonly channel: Channel,
    /** The consumer's name on the channel's stream. */
    readonly consumer: string,
    readonly deliverSubject: string,
    /** The consumer outlives its members (a durable, or a durable queue group). */
    readonly durable: boolean,
    /** The key this binding is known by (see Subscriptions). */
    readonly key: string,
  ) {
    this.ackPrefix = `$JS.ACK.${channel.stream}.${consumer}.`;
  }

  /** Take deliveries: the consumer sees interest on its deliver subject and starts. */
  bind(): void {
    this.unsub ??= this.bus.subscribe(this.deliverSubject, "", (_s, reply, _h, data) => this.deliver(reply, data));
  }

  /** Stop taking deliveries (the consumer stops for want of interest). */
  unbind(): void {
    this.unsub?.();
    this.unsub = null;
  }

  add(sub: StanSub): void {
    sub.binding = this;
    this.members.push(sub);
  }

  /**
   * Take a member out. What it had not acknowledged is handed back to the consumer at once
   * (`-NAK`): redelivered to another member, or, for a durable, when it is resumed.
   */
  remove(sub: StanSub): void {
    const i = this.members.indexOf(sub);
    sub.binding = null;
    if (i < 0) return;
    this.members.splice(i, 1);
    for (const [seq, owner] of this.owners) {
      if (owner !== sub) continue;
      const reply = this.replies.get(seq);
      this.owners.delete(seq);
      this.replies.delete(seq);
      if (reply !== undefined) this.bus.publish(reply, "", null, NAK);
    }
    sub.outstanding = 0;
  }

  /** Sum of the members' maxInFlight: the consumer's max_ack_pending. */
  maxInFlight(): number {
    let n = 0;
    for (const m of this.members) n += m.maxInFlight;
    return Math.max(1, n);
  }

  /** A member acknowledged `seq` (nats-streaming-server takes an ack from any member of a queue group). */
  ack(sub: StanSub, seq: number): void {
    const reply = this.replies.get(seq);
    if (reply === undefined) return;
    const owner = this.owners.get(seq);
    if (owner !== sub && sub.qGroup === "") return;
    this.replies.delete(seq);
    this.owners.delete(seq);
    if (owner !== undefined) owner.outstanding--;
    this.bus.publish(reply, "", null, EMPTY);
  }

  /**
   * One delivery of the consumer: reply `$JS.ACK.<stream>.<consumer>.<dc>.<sseq>.<dseq>.<ts>.<pending>`.
   * A redelivery goes to the member that had it when it is still here; a first delivery to the
   * member with the fewest unacknowledged (nats-streaming-server's findBestQueueSub).
   */
  private deliver(reply: string, data: Buffer): void {
    if (!reply.startsWith(this.ackPrefix)) return;
    const p = this.ackPrefix.length;
    const a = reply.indexOf(".", p);
    const b = reply.indexOf(".", a + 1);
    const c = reply.indexOf(".", b + 1);
    const d = reply.indexOf(".", c + 1);
    if (a < 0 || b < 0 || c < 0 || d < 0) return;
    const dc = Number(reply.slice(p, a));
    const seq = Number(reply.slice(a + 1, b));
    const ts = BigInt(reply.slice(c + 1, d));
    const prev = this.owners.get(seq);
    const member = prev !== undefined && prev.binding === this ? prev : this.pick();
    if (member === null) {
      // Nobody to take it (the last member just left): back to the consumer.
      this.bus.publish(reply, "", null, NAK);
      return;
    }
    if (prev !== member) {
      if (prev !== undefined) prev.outstanding--;
      member.outstanding++;
      this.owners.set(seq, member);
    }
    this.replies.set(seq, reply);
    const ch = this.channel;
    const msg = encodeMsgProto(seq, ch.name, ch.nameBytes, "", data, ts, dc > 1 ? dc - 1 : 0);
    this.bus.publish(member.inbox, "", null, msg);
    if (seq > member.lastSent) member.lastSent = seq;
    member.sentMsgs++;
    member.sentBytes += msg.length;
  }

  private pick(): StanSub | null {
    const ms = this.members;
    if (ms.length === 1) return ms[0] as StanSub;
    let best: StanSub | null = null;
    for (const m of ms) {
      if (best === null || (m.outstanding < m.maxInFlight && (best.outstanding >= best.maxInFlight || m.outstanding < best.outstanding))) best = m;
    }
    // Rotate, so members with equal load take turns.
    if (best !== null && ms.length > 1 && ms[0] === best) {
      ms.shift();
      ms.push(best);
    }
    return best;
  }
}
