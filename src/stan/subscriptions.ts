import type { Bus } from "../jetstream/bus.js";
import type { Consumer } from "../jetstream/consumer.js";
import { normalizeConsumerConfig, type ConsumerConfig } from "../jetstream/consumer-config.js";
import { KeyLock } from "../util/key-lock.js";
import type { Channel, Channels } from "./channels.js";
import type { StanClient } from "./clients.js";
import { StanErrors } from "./errors.js";
import { channelStream, durableConsumer, isValidChannel, plainConsumer, queueConsumer, queueDurableConsumer } from "./names.js";
import type { StoreLimits } from "./limits.js";
import type { StanJetStream } from "./options.js";
import { StartPosition, type SubscriptionRequest } from "./protocol.js";
import type { SubRecord } from "./stan-state.js";
import { StanSub, SubBinding } from "./sub-binding.js";

/** Subscriptions at once on this server, over every client; one more is refused. */
export const MAX_STAN_SUBSCRIPTIONS = 100_000;

/** A subscription made, or the STAN error to answer with. */
export type SubscribeResult = { sub: StanSub; binding: SubBinding } | { error: string };

/**
 * Subscriptions and the consumers behind them (docs/stan.md, names.ts). A plain subscription has a
 * consumer of its own (`S:<client>:<number>`); a durable one the consumer `D:<client>:<durable>`; a
 * queue group one consumer shared by its members (`G:<queue>`; durable: `Q:<durable>:<queue>`).
 * Every one is a JetStream durable, so its position outlives a restart; the `S:` and `G:` ones are
 * removed with their subscription, the `D:` and `Q:` ones only by an unsubscribe. Creating,
 * resuming and removing run one at a time per channel, so two requests never race for a durable.
 * Consumers are made and removed through JetStream's own consumer administration, as
 * `$JS.API.CONSUMER.CREATE` and `.DELETE` would.
 */
export class Subscriptions {
  private readonly locks = new KeyLock();
  /** Subscriptions by number (their ack inboxes end with it). */
  private readonly byId = new Map<number, StanSub>();
  /** Bindings by key: `<stream>\n<consumer>`. */
  private readonly bindings = new Map<string, SubBinding>();
  /** Subscriptions of registered clients per channel stream, for `max_subs`. */
  private readonly perChannel = new Map<string, number>();
  private nextId = 1;

  constructor(
    private readonly bus: Bus,
    private readonly js: StanJetStream,
    private readonly channels: Channels,
    /** `_STAN.ack.<server>.`: each subscription's ack inbox is this and its number. */
    readonly ackPrefix: string,
    private readonly limits: StoreLimits,
  ) {}

  get size(): number {
    return this.byId.size;
  }

  /** The subscription whose ack inbox is `<ackPrefix><id>`. */
  byAckInbox(ackInbox: string): StanSub | undefined {
    if (!ackInbox.startsWith(this.ackPrefix)) return undefined;
    return this.byId.get(Number(ackInbox.slice(this.ackPrefix.length)));
  }

  /**
   * A checked SubscriptionRequest of `client` on `ch` (ready): find or create its consumer. The
   * caller answers, then calls `start` so no delivery reaches the client before the answer.
   */
  subscribe(client: StanClient, ch: Channel, sr: SubscriptionRequest): Promise<SubscribeResult> {
    return this.locks.run(ch.stream, () => this.subscribeNow(client, ch, sr));
  }

  /** Start deliveries to a subscription whose SubscriptionResponse was sent. */
  start(r: { sub: StanSub; binding: SubBinding }): void {
    const b = r.binding;
    b.joining--;
    if (!this.byId.has(r.sub.id)) {
      // Removed (its client closed) before it started: let its consumer go as that removal would have.
      if (b.members.length + b.joining === 0) void this.locks.run(b.channel.stream, () => this.release(b, false));
      return;
    }
    b.add(r.sub);
    b.bind();
  }

  /**
   * Take back a subscription kept from before a restart (its client restored), bound to its
   * consumer; false when its channel or consumer is gone.
   */
  restore(rec: SubRecord, client: StanClient): boolean {
    // Never create a channel for a record: only one whose stream is still there is opened.
    if (!isValidChannel(rec.channel) || !this.js.streams.has(channelStream(rec.channel))) return false;
    const ch = this.channels.open(rec.channel);
    const c = ch.ready ? this.channels.entry(ch)?.consumers.get(rec.consumer) : undefined;
    if (c === undefined) return false;
    const key = `${ch.stream}\n${c.name}`;
    let b = this.bindings.get(key);
    if (b === undefined) {
      b = new SubBinding(this.bus, ch, c.name, c.config.deliver_subject as string, rec.durableName !== "", key);
      this.bindings.set(key, b);
    }
    const sub = new StanSub(rec.id, client.id, ch, rec.inbox, this.ackPrefix + rec.id, rec.maxInFlight, rec.ackWaitSecs, rec.durableName, rec.qGroup);
    this.nextId = Math.max(this.nextId, rec.id + 1);
    this.add(sub);
    client.subs.add(sub);
    b.add(sub);
    b.bind();
    return true;
  }

  /**
   * Remove a subscription: `unsubscribe` removes a durable (and a durable queue group when it is
   * its last member); a close keeps them for later. Resolves with "" or the STAN error.
   */
  remove(sub: StanSub, unsubscribe: boolean): Promise<string> {
    return this.locks.run(sub.channel.stream, () => this.removeNow(sub, unsubscribe));
  }

  /** Stop every binding (shutdown): consumers are left as they are, for JetStream to close. */
  stop(): void {
    for (const b of this.bindings.values()) b.unbind();
    this.bindings.clear();
    this.byId.clear();
    this.perChannel.clear();
  }

  private add(sub: StanSub): void {
    this.byId.set(sub.id, sub);
    const k = sub.channel.stream;
    this.perChannel.set(k, (this.perChannel.get(k) ?? 0) + 1);
  }

  private delete(sub: StanSub): boolean {
    if (!this.byId.delete(sub.id)) return false;
    const k = sub.channel.stream;
    const n = (this.perChannel.get(k) ?? 1) - 1;
    if (n <= 0) this.perChannel.delete(k);
    else this.perChannel.set(k, n);
    return true;
  }

  /**
   * The channel's subscriptions as nats-streaming-server's sub store counts them for `max_subs`:
   * those of registered clients (each queue member one), plus the durables and durable queue
   * groups kept with no member (their consumers without a binding).
   */
  private countOn(ch: Channel, consumers: ReadonlyMap<string, Consumer>): number {
    let n = this.perChannel.get(ch.stream) ?? 0;
    for (const name of consumers.keys()) {
      if ((name.startsWith("D:") || name.startsWith("Q:")) && !this.bindings.has(`${ch.stream}\n${name}`)) n++;
    }
    return n;
  }

  private async subscribeNow(client: StanClient, ch: Channel, sr: SubscriptionRequest): Promise<SubscribeResult> {
    if (client.closed) return { error: StanErrors.unknownClient };
    if (this.byId.size >= MAX_STAN_SUBSCRIPTIONS) return { error: `stan: too many subscriptions (${MAX_STAN_SUBSCRIPTIONS})` };
    const entry = this.channels.entry(ch);
    if (entry === undefined) return { error: StanErrors.unknownChannel };
    const id = this.nextId++;
    const queue = sr.qGroup !== "";
    const consumerName = consumerOf(sr, id);
    const key = `${ch.stream}\n${consumerName}`;
    // nats-streaming-server's createSub: one more subscription of the channel is refused at the
    // limit; taking back a kept durable (or a durable queue group's place) adds none.
    // A durable in use is refused as a duplicate first, as nats-streaming-server's processSub does.
    const bound = this.bindings.get(key);
    if (bound !== undefined && !queue && bound.members.length + bound.joining > 0) return { error: StanErrors.dupDurable };
    const max = this.limits.of(ch.name).maxSubs;
    const resumes = bound === undefined && sr.durableName !== "" && entry.consumers.has(consumerName);
    if (max > 0 && !resumes && this.countOn(ch, entry.consumers) >= max) return { error: StanErrors.tooManySubs };
    const sub = new StanSub(id, client.id, ch, sr.inbox, this.ackPrefix + id, sr.maxInFlight, sr.ackWaitInSecs, sr.durableName, sr.qGroup);
    let binding = this.bindings.get(key);
    if (binding !== undefined) {
      // A durable with a member is in use: nats-streaming-server refuses a second one.
      if (!queue && binding.members.length + binding.joining > 0) return { error: StanErrors.dupDurable };
      const err = await this.tune(binding, binding.maxInFlight() + (queue ? sr.maxInFlight : 0), sr.ackWaitInSecs);
      if (err !== "") return { error: err };
    } else {
      const existing = entry.consumers.get(consumerName);
      let c: Consumer | string;
      if (existing !== undefined) c = await this.resume(ch, existing, sr.maxInFlight, sr.ackWaitInSecs);
      else c = await this.create(ch, consumerName, sr);
      if (typeof c === "string") return { error: c };
      binding = new SubBinding(this.bus, ch, c.name, c.config.deliver_subject as string, sr.durableName !== "", key);
      this.bindings.set(key, binding);
    }
    if (client.closed) {
      // The client went while its consumer was being made: nothing of this subscription stays.
      if (binding.members.length + binding.joining === 0) await this.release(binding, false);
      return { error: StanErrors.unknownClient };
    }
    this.add(sub);
    client.subs.add(sub);
    sub.binding = binding;
    binding.joining++;
    return { sub, binding };
  }

  private async removeNow(sub: StanSub, unsubscribe: boolean): Promise<string> {
    if (!this.delete(sub)) return StanErrors.invalidSub;
    const b = sub.binding;
    if (b === null) return "";
    b.remove(sub);
    // A queue group goes on with the others; its consumer's window shrinks by this member's.
    if (b.members.length > 0) return this.tune(b, b.maxInFlight(), 0);
    if (b.joining > 0) return "";
    return this.release(b, unsubscribe);
  }

  /** A binding with no members left: stop it, and remove its consumer unless it is a durable being kept. */
  private async release(b: SubBinding, unsubscribe: boolean): Promise<string> {
    b.unbind();
    if (this.bindings.get(b.key) === b) this.bindings.delete(b.key);
    if (b.durable && !unsubscribe) return "";
    try {
      await this.js.deleteConsumer(b.channel.stream, b.consumer);
    } catch (err) {
      return `stan: ${err instanceof Error ? err.message : String(err)}`;
    }
    return "";
  }

  /** A new consumer (`durable`: its name) for a subscription, starting where its request says. */
  private async create(ch: Channel, durable: string, sr: SubscriptionRequest): Promise<Consumer | string> {
    const entry = this.channels.entry(ch);
    if (entry === undefined) return StanErrors.unknownChannel;
    const deliver = `_STAN.dlv.${ch.stream}.${durable}`;
    const cfg: Record<string, unknown> = {
      ...startOf(entry.stream.store.state(), sr),
      ack_policy: "explicit",
      ack_wait: sr.ackWaitInSecs * 1e9,
      max_deliver: -1,
      max_ack_pending: sr.maxInFlight,
      deliver_subject: deliver,
      description: `NATS Streaming ${sr.qGroup !== "" ? "queue group" : "subscription"} of ${sr.clientID}`,
    };
    cfg["durable_name"] = durable;
    const norm = normalizeConsumerConfig(cfg, entry.stream.config);
    if ("err_code" in norm) return `stan: ${norm.description}`;
    return result(await this.js.createConsumer(ch.stream, norm, "create"));
  }

  /** A durable consumer found again (resumed, or after a restart): its window and ack wait as now asked. */
  private async resume(ch: Channel, c: Consumer, maxInFlight: number, ackWaitSecs: number): Promise<Consumer | string> {
    const next = withWindow(c.config, maxInFlight, ackWaitSecs);
    if (next === c.config) return c;
    return result(await this.js.createConsumer(ch.stream, next, "update"));
  }

  /** Set a binding's consumer's max_ack_pending (and ack_wait, when `ackWaitSecs` > 0); "" or the error. */
  private async tune(b: SubBinding, maxInFlight: number, ackWaitSecs: number): Promise<string> {
    const c = this.channels.entry(b.channel)?.consumers.get(b.consumer);
    if (c === undefined) return StanErrors.invalidSub;
    const next = withWindow(c.config, maxInFlight, ackWaitSecs);
    if (next === c.config) return "";
    const r = result(await this.js.createConsumer(b.channel.stream, next, "update"));
    return typeof r === "string" ? r : "";
  }
}

/** The consumer a subscription request is served by (names.ts). */
function consumerOf(sr: SubscriptionRequest, id: number): string {
  if (sr.qGroup !== "") return sr.durableName !== "" ? queueDurableConsumer(sr.durableName, sr.qGroup) : queueConsumer(sr.qGroup);
  return sr.durableName !== "" ? durableConsumer(sr.clientID, sr.durableName) : plainConsumer(sr.clientID, id);
}

/** `cfg` with another max_ack_pending (and ack_wait when `ackWaitSecs` > 0), or `cfg` itself if nothing changes. */
function withWindow(cfg: ConsumerConfig, maxInFlight: number, ackWaitSecs: number): ConsumerConfig {
  const ackWait = ackWaitSecs > 0 ? ackWaitSecs * 1e9 : cfg.ack_wait;
  if (cfg.max_ack_pending === maxInFlight && cfg.ack_wait === ackWait) return cfg;
  return { ...cfg, max_ack_pending: maxInFlight, ack_wait: ackWait };
}

function result(r: Consumer | { description: string; err_code: number }): Consumer | string {
  return "err_code" in r ? `stan: ${r.description}` : r;
}

/**
 * The consumer's deliver policy for a start position, as nats-streaming-server's
 * setSubStartSequence picks the first message: a sequence before the first stored starts at the
 * first, one past the last means new messages only.
 */
function startOf(state: { firstSeq: number; lastSeq: number }, sr: SubscriptionRequest): Record<string, unknown> {
  switch (sr.startPosition) {
    case StartPosition.LastReceived:
      return state.lastSeq > 0 ? { deliver_policy: "by_start_sequence", opt_start_seq: state.lastSeq } : { deliver_policy: "all" };
    case StartPosition.TimeDeltaStart: {
      const startMs = Date.now() - Number(sr.startTimeDelta / 1_000_000n);
      return { deliver_policy: "by_start_time", opt_start_time: new Date(startMs).toISOString() };
    }
    case StartPosition.SequenceStart:
      if (state.lastSeq === 0 || sr.startSequence > state.lastSeq) return { deliver_policy: "new" };
      if (sr.startSequence <= state.firstSeq) return { deliver_policy: "all" };
      return { deliver_policy: "by_start_sequence", opt_start_seq: sr.startSequence };
    case StartPosition.First:
      return { deliver_policy: "all" };
    default:
      return { deliver_policy: "new" };
  }
}
