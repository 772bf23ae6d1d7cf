import type { Consumer } from "../jetstream/consumer.js";
import { CHANNEL_METADATA_KEY, type Channels } from "./channels.js";
import type { StanClient, StanClients } from "./clients.js";
import { channelStream, durableConsumer, isValidChannel, plainConsumer, queueConsumer, queueDurableConsumer, unescapeName } from "./names.js";
import type { ResolvedStanOptions, StanJetStream } from "./options.js";
import type { StanSub } from "./sub-binding.js";

/**
 * A read-only view of the NATS Streaming adapter for the monitoring endpoints (`/streaming/*`,
 * after nats-streaming-server's `server/monitor.go`): clients, channels and subscriptions as
 * snapshots, and the server's counters. Nothing here changes the adapter's state; every call reads
 * what is there now (clients and their subscriptions from the adapter, messages and durable
 * positions from the channels' streams and consumers).
 */

/** One subscription as nats-streaming-server's monitoring shows it (its `Subscriptionz`). */
export interface StanSubSnapshot {
  clientID: string;
  /** Where its messages go; "" for a durable kept with no member (cuebus does not keep it). */
  inbox: string;
  /** Where its client acks; "" for a durable kept with no member. */
  ackInbox: string;
  /** The durable name of a durable that is not a queue group ("" otherwise), as nats-streaming-server shows it. */
  durableName: string;
  /** The queue group; `<durable>:<queue>` for a durable queue group, as nats-streaming-server names it. */
  queueName: string;
  isDurable: boolean;
  /** A durable (or durable queue group) kept with no client subscribed. */
  isOffline: boolean;
  maxInFlight: number;
  ackWaitSecs: number;
  /** The highest sequence sent to it (or, before any, the one its start position is after). */
  lastSent: number;
  /** Messages sent to it and not acknowledged. */
  pendingCount: number;
  /** As many unacknowledged as its maxInFlight: nothing more is sent until some are acknowledged. */
  isStalled: boolean;
}

/** One channel: its messages and its subscriptions. */
export interface StanChannelSnapshot {
  name: string;
  msgs: number;
  /** Bytes its stream holds (JetStream's accounting of subject, data and per-message overhead). */
  bytes: number;
  firstSeq: number;
  lastSeq: number;
  /** How many subscriptions it has (nats-streaming-server's subs_count: offline durables included). */
  subsCount: number;
  /** Its subscriptions (when asked for): those of registered clients, then durables kept with no member. */
  subs: StanSubSnapshot[];
}

/** One registered client and its subscriptions, each with its channel, in the order they were made. */
export interface StanClientSnapshot {
  id: string;
  hbInbox: string;
  subs: Array<{ channel: string; sub: StanSubSnapshot }>;
}

/** nats-streaming-server's store limits as `/streaming/storez` shows them (0: unlimited). */
export interface StanLimitsSnapshot {
  maxChannels: number;
  maxMsgs: number;
  maxBytes: number;
  maxAgeNs: number;
  maxSubscriptions: number;
  maxInactivityNs: number;
}

/** Counters of the adapter's traffic since it started (nats-streaming-server's `stats`). */
export class StanTraffic {
  /** PubMsgs received (decodable ones, valid or not) and their bytes as they arrived. */
  inMsgs = 0;
  inBytes = 0;
  /** MsgProtos sent by subscriptions already removed (those still there keep their own counts). */
  goneOutMsgs = 0;
  goneOutBytes = 0;
  /** Subscriptions being removed: out of their client's list, their counts not yet in `gone`. */
  readonly leaving = new Set<StanSub>();
}

/** What the view reads: the adapter's parts (the STAN server hands them over). */
export interface StanMonitorSource {
  readonly opts: ResolvedStanOptions;
  readonly serverId: string;
  readonly startedAt: Date;
  readonly js: StanJetStream;
  readonly clients: StanClients;
  readonly channels: Channels;
  readonly traffic: StanTraffic;
  /** The store limits applied (limits.ts), as nats-streaming-server shows them. */
  readonly limits: () => StanLimitsSnapshot;
}

/** Server-wide figures of `/streaming/serverz`. */
export interface StanTotals {
  clients: number;
  subscriptions: number;
  channels: number;
  msgs: number;
  bytes: number;
  inMsgs: number;
  inBytes: number;
  outMsgs: number;
  outBytes: number;
}

/** The consumer a live subscription is served by (names.ts), found on its channel's stream. */
function consumerName(sub: StanSub): string {
  if (sub.qGroup !== "") return sub.durableName !== "" ? queueDurableConsumer(sub.durableName, sub.qGroup) : queueConsumer(sub.qGroup);
  return sub.durableName !== "" ? durableConsumer(sub.clientID, sub.durableName) : plainConsumer(sub.clientID, sub.id);
}

/** A consumer's delivered stream sequence and unacknowledged count, from its info. */
function consumerPosition(c: Consumer | undefined): { delivered: number; pending: number } {
  if (c === undefined) return { delivered: 0, pending: 0 };
  const info = c.info();
  const d = info["delivered"] as { stream_seq?: unknown } | undefined;
  const delivered = typeof d?.stream_seq === "number" ? d.stream_seq : 0;
  const pending = typeof info["num_ack_pending"] === "number" ? info["num_ack_pending"] : 0;
  return { delivered, pending };
}

/** The client id a consumer's description names (`NATS Streaming ... of <client id>`), "" when none. */
function describedClient(c: Consumer): string {
  const m = /^NATS Streaming (?:queue group|subscription) of (\S+)$/.exec(c.config.description ?? "");
  return m?.[1] ?? "";
}

/** See the file comment. */
export class StanMonitor {
  constructor(private readonly src: StanMonitorSource) {}

  get clusterId(): string {
    return this.src.opts.clusterId;
  }

  get serverId(): string {
    return this.src.serverId;
  }

  get startedAt(): Date {
    return this.src.startedAt;
  }

  /** nats-streaming-server's store type names: `FILE` or `MEMORY`. */
  get storeType(): "FILE" | "MEMORY" {
    return this.src.opts.store === "memory" ? "MEMORY" : "FILE";
  }

  /** The store limits channels are kept under (`/streaming/storez`). */
  limits(): StanLimitsSnapshot {
    return this.src.limits();
  }

  /** Registered client ids, sorted (as nats-streaming-server lists them). */
  clientIds(): string[] {
    return this.src.clients
      .all()
      .map((c) => c.id)
      .sort(byCodeUnits);
  }

  /** A registered client and its subscriptions, or undefined. */
  client(id: string): StanClientSnapshot | undefined {
    const c = this.src.clients.get(id);
    if (c === undefined) return undefined;
    return { id: c.id, hbInbox: c.hbInbox, subs: [...c.subs].map((s) => ({ channel: s.channel.name, sub: this.liveSub(s) })) };
  }

  /**
   * The channels, sorted by name: those whose stream the adapter made (its metadata names the
   * channel) and those in use this run whose stream is still there (one a JetStream client made).
   */
  channelNames(): string[] {
    const names = new Set<string>();
    for (const [stream, e] of this.src.js.streams) {
      const name = e.stream.config.metadata?.[CHANNEL_METADATA_KEY];
      if (name !== undefined && isValidChannel(name) && channelStream(name) === stream) names.add(name);
    }
    for (const name of this.src.channels.names()) {
      if (names.has(name)) continue;
      const ch = this.src.channels.get(name);
      if (ch !== undefined && ch.ready && this.src.js.streams.has(ch.stream)) names.add(name);
    }
    return [...names].sort(byCodeUnits);
  }

  /** Channels by name (unknown names are left out); `withSubs` lists their subscriptions, otherwise only counted. */
  channels(names: readonly string[], withSubs = true): StanChannelSnapshot[] {
    const wanted = new Set(names);
    const live = this.liveByChannel(wanted);
    const out: StanChannelSnapshot[] = [];
    for (const name of names) {
      const e = this.src.js.streams.get(channelStream(name));
      if (e === undefined || !this.isChannel(name)) continue;
      const st = e.stream.store.state();
      const empty = st.messages === 0 && st.lastSeq === 0;
      const mine = live.get(name) ?? [];
      const subs = withSubs ? this.channelSubs(mine, e.consumers) : [];
      const subsCount = withSubs ? subs.length : countSubs(mine, e.consumers);
      out.push({ name, msgs: st.messages, bytes: st.bytes, firstSeq: empty ? 0 : st.firstSeq, lastSeq: st.lastSeq, subsCount, subs });
    }
    return out;
  }

  /** One channel, or undefined when there is no such channel. */
  channel(name: string, withSubs = true): StanChannelSnapshot | undefined {
    return this.channels([name], withSubs)[0];
  }

  /** Server-wide figures. */
  totals(): StanTotals {
    const names = this.channelNames();
    let msgs = 0;
    let bytes = 0;
    let subscriptions = 0;
    for (const ch of this.channels(names, false)) {
      msgs += ch.msgs;
      bytes += ch.bytes;
      subscriptions += ch.subsCount;
    }
    const t = this.src.traffic;
    let outMsgs = t.goneOutMsgs;
    let outBytes = t.goneOutBytes;
    const count = (s: StanSub): void => {
      outMsgs += s.sentMsgs;
      outBytes += s.sentBytes;
    };
    for (const c of this.src.clients.all()) for (const s of c.subs) count(s);
    for (const s of t.leaving) count(s);
    return { clients: this.src.clients.size, subscriptions, channels: names.length, msgs, bytes, inMsgs: t.inMsgs, inBytes: t.inBytes, outMsgs, outBytes };
  }

  private isChannel(name: string): boolean {
    const stream = channelStream(name);
    const e = this.src.js.streams.get(stream);
    if (e === undefined) return false;
    if (e.stream.config.metadata?.[CHANNEL_METADATA_KEY] === name) return true;
    const ch = this.src.channels.get(name);
    return ch !== undefined && ch.ready;
  }

  /** Registered clients' subscriptions on the `wanted` channels, by channel, in the order made. */
  private liveByChannel(wanted: ReadonlySet<string>): Map<string, StanSub[]> {
    const by = new Map<string, StanSub[]>();
    const clients: StanClient[] = this.src.clients.all();
    for (const c of clients) {
      for (const s of c.subs) {
        const name = s.channel.name;
        if (!wanted.has(name)) continue;
        let list = by.get(name);
        if (list === undefined) by.set(name, (list = []));
        list.push(s);
      }
    }
    for (const list of by.values()) list.sort((a, b) => a.id - b.id);
    return by;
  }

  /**
   * A channel's subscriptions in nats-streaming-server's order: plain and durable ones of
   * registered clients, then durables kept with no client, then each queue group's members (or,
   * for a durable queue group with none, the group itself, offline).
   */
  private channelSubs(live: StanSub[], consumers: ReadonlyMap<string, Consumer>): StanSubSnapshot[] {
    const out: StanSubSnapshot[] = [];
    const used = new Set<string>();
    const groups = new Map<string, StanSub[]>();
    for (const s of live) {
      const name = consumerName(s);
      used.add(name);
      if (s.qGroup === "") {
        out.push(this.liveSub(s, consumers.get(name)));
        continue;
      }
      let g = groups.get(name);
      if (g === undefined) groups.set(name, (g = []));
      g.push(s);
    }
    const kept = [...consumers.values()].filter((c) => !used.has(c.name)).sort((a, b) => byCodeUnits(a.name, b.name));
    for (const c of kept) {
      if (!c.name.startsWith("D:")) continue;
      const rest = c.name.slice(2);
      const colon = rest.indexOf(":");
      if (colon < 0) continue;
      out.push(this.offlineSub(c, rest.slice(0, colon), unescapeName(rest.slice(colon + 1)), ""));
    }
    const queues: Array<[string, StanSubSnapshot[]]> = [];
    for (const [name, members] of groups) queues.push([name, members.map((s) => this.liveSub(s, consumers.get(name)))]);
    for (const c of kept) {
      if (!c.name.startsWith("Q:")) continue;
      const rest = c.name.slice(2);
      const colon = rest.indexOf(":");
      if (colon < 0) continue;
      // nats-streaming-server names a durable queue group `<durable>:<queue>`.
      const queue = `${unescapeName(rest.slice(0, colon))}:${unescapeName(rest.slice(colon + 1))}`;
      queues.push([c.name, [this.offlineSub(c, describedClient(c), "", queue)]]);
    }
    queues.sort((a, b) => byCodeUnits(a[0], b[0]));
    for (const [, subs] of queues) out.push(...subs);
    return out;
  }

  /** A registered client's subscription. */
  private liveSub(s: StanSub, consumer?: Consumer): StanSubSnapshot {
    const queue = s.qGroup !== "";
    let lastSent = s.lastSent;
    if (!queue) {
      // A subscription of its own consumer: the consumer's delivered position is where its start
      // position put it before any delivery, and what a resumed durable had been sent before.
      const c = consumer ?? this.src.js.streams.get(s.channel.stream)?.consumers.get(consumerName(s));
      lastSent = Math.max(lastSent, consumerPosition(c).delivered);
    }
    return {
      clientID: s.clientID,
      inbox: s.inbox,
      ackInbox: s.ackInbox,
      durableName: queue ? "" : s.durableName,
      queueName: !queue ? "" : s.durableName !== "" ? `${s.durableName}:${s.qGroup}` : s.qGroup,
      isDurable: s.durableName !== "",
      isOffline: false,
      maxInFlight: s.maxInFlight,
      ackWaitSecs: s.ackWaitSecs,
      lastSent,
      pendingCount: s.outstanding,
      isStalled: s.outstanding >= s.maxInFlight,
    };
  }

  /** A durable (or durable queue group) kept with no member: what its consumer says of it. */
  private offlineSub(c: Consumer, clientID: string, durableName: string, queueName: string): StanSubSnapshot {
    const { delivered, pending } = consumerPosition(c);
    const maxInFlight = c.config.max_ack_pending ?? 0;
    return {
      clientID,
      inbox: "",
      ackInbox: "",
      durableName,
      queueName,
      isDurable: true,
      isOffline: true,
      maxInFlight,
      ackWaitSecs: Math.round((c.config.ack_wait ?? 0) / 1e9),
      lastSent: delivered,
      pendingCount: pending,
      isStalled: maxInFlight > 0 && pending >= maxInFlight,
    };
  }
}

/** A channel's subscriptions counted as channelSubs lists them, without reading any consumer's state. */
function countSubs(live: StanSub[], consumers: ReadonlyMap<string, Consumer>): number {
  const used = new Set<string>();
  for (const s of live) used.add(consumerName(s));
  let n = live.length;
  for (const name of consumers.keys()) {
    if (used.has(name) || !(name.startsWith("D:") || name.startsWith("Q:"))) continue;
    if (name.indexOf(":", 2) >= 2) n++;
  }
  return n;
}

/** Go's string order (bytes; UTF-16 code units agree for the names clients use). */
function byCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
