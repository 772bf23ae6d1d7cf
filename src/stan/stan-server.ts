import { randomBytes } from "node:crypto";
import type { Bus } from "../jetstream/bus.js";
import { Channels, type Channel } from "./channels.js";
import { StanClients, type StanClient } from "./clients.js";
import { StanErrors } from "./errors.js";
import { StoreLimits } from "./limits.js";
import { isValidChannel, isValidClientID } from "./names.js";
import { resolveStanOptions, type ResolvedStanOptions, type StanJetStream, type StanOptions } from "./options.js";
import {
  StartPosition,
  decodeAck,
  decodeCloseRequest,
  decodeConnectRequest,
  decodePing,
  decodePubMsg,
  decodeSubscriptionRequest,
  decodeUnsubscribeRequest,
  encodeCloseResponse,
  encodeConnectResponse,
  encodePingResponse,
  encodeSubscriptionResponse,
  type PubMsg,
  type SubscriptionRequest,
} from "./protocol.js";
import { StanMonitor, StanTraffic } from "./monitor.js";
import { PubAcks } from "./pub-acks.js";
import { StanRequests } from "./requests.js";
import { restoreState, type RestoreParts } from "./restore.js";
import { StanState } from "./stan-state.js";
import { Subscriptions } from "./subscriptions.js";
import type { StanSub } from "./sub-binding.js";

/** The protocol version this server speaks (1: client pings). */
export const STAN_PROTOCOL = 1;

/**
 * NATS Streaming on cuebus: an internal client of the router that answers the STAN protocol
 * (nats-io/stan.go `pb/protocol.proto`; behaviour after nats-streaming-server `server/server.go`)
 * on top of JetStream. Each channel is a stream and each subscription a consumer (docs/stan.md),
 * made through JetStream's own administration; publishes go through the stream's own write path;
 * deliveries come from the consumer's own delivery loop. This class takes the protocol's requests
 * and hands them to the parts: clients and heartbeats (StanClients), channels (Channels), publish
 * acks (PubAcks), subscriptions and their consumers (Subscriptions, SubBinding).
 */
export class StanServer {
  readonly opts: ResolvedStanOptions;
  readonly discoverSubject: string;
  readonly pubPrefix: string;
  readonly subSubject: string;
  readonly unsubSubject: string;
  readonly subCloseSubject: string;
  readonly closeSubject: string;
  readonly pingSubject: string;
  /** The store limits, checked (a bad one stops the start, as nats-streaming-server's does). */
  readonly limits: StoreLimits;
  private readonly clients: StanClients;
  private readonly channels: Channels;
  private readonly pubs: PubAcks;
  private readonly requests: StanRequests;
  private readonly subs: Subscriptions;
  private readonly unsubs: Array<() => void> = [];
  private stopped = false;
  /** When this server started answering (`/streaming/serverz` start_time). */
  readonly startedAt = new Date();
  /** Counters of what came in and went out (`/streaming/serverz`). */
  private readonly traffic = new StanTraffic();
  private monitorView: StanMonitor | null = null;

  /**
   * Open NATS Streaming on JetStream: read what was kept (stan-state.ts), take back this server's
   * subjects, its clients and their subscriptions, and start answering. `warn` hears what could not
   * be taken back.
   */
  static async open(bus: Bus, js: StanJetStream, options: StanOptions = {}, warn: (line: string) => void = () => {}): Promise<StanServer> {
    const opts = resolveStanOptions(options);
    // Checked before anything is read or written: bad limits stop the start.
    new StoreLimits(opts.limits);
    const state = new StanState(js, opts.store);
    const kept = await state.load();
    const same = kept.server !== null && kept.server.clusterId === opts.clusterId;
    const serverId = same && kept.server !== null ? kept.server.serverId : randomBytes(12).toString("base64url").replace(/[-_]/g, "x");
    state.useServer({ serverId, clusterId: opts.clusterId }, same);
    const s = new StanServer(bus, js, opts, serverId, state);
    // Kept under another cluster id: those clients cannot reach this one; their records go.
    // Limits changed since the channels were made apply to them now, as nats-streaming-server's recovery does.
    for (const line of await s.channels.applyLimits()) warn(line);
    await restoreState(same ? kept : { server: null, clients: [], subs: [] }, same ? null : kept, s.parts(), warn);
    s.start();
    return s;
  }

  constructor(
    private readonly bus: Bus,
    private readonly js: StanJetStream,
    options: StanOptions,
    /** The id the protocol subjects end with: kept across restarts, so clients go on using them. */
    readonly serverId: string,
    private readonly state: StanState,
  ) {
    this.opts = resolveStanOptions(options);
    const id = serverId;
    this.discoverSubject = `_STAN.discover.${this.opts.clusterId}`;
    this.pubPrefix = `_STAN.pub.${id}`;
    this.subSubject = `_STAN.sub.${id}`;
    this.unsubSubject = `_STAN.unsub.${id}`;
    this.subCloseSubject = `_STAN.subclose.${id}`;
    this.closeSubject = `_STAN.close.${id}`;
    // nats-streaming-server: the discover subject plus ".pings".
    this.pingSubject = `${this.discoverSubject}.pings`;
    this.requests = new StanRequests(bus, id);
    this.pubs = new PubAcks(bus, id);
    this.limits = new StoreLimits(this.opts.limits);
    this.channels = new Channels(js, this.opts.store, this.limits, (ch) => this.channelSettled(ch));
    this.subs = new Subscriptions(bus, js, this.channels, `_STAN.ack.${id}.`, this.limits);
    this.clients = new StanClients(this.opts, this.requests, (c) => this.clientClosed(c));
  }

  /** Registered clients. */
  get clientCount(): number {
    return this.clients.size;
  }

  /** Subscriptions of registered clients. */
  get subscriptionCount(): number {
    return this.subs.size;
  }

  /** The read-only view the monitoring endpoints (`/streaming/*`) read. */
  get monitor(): StanMonitor {
    const l = this.limits;
    this.monitorView ??= new StanMonitor({
      opts: this.opts,
      serverId: this.serverId,
      startedAt: this.startedAt,
      js: this.js,
      clients: this.clients,
      channels: this.channels,
      traffic: this.traffic,
      limits: () => ({ maxChannels: l.maxChannels, maxMsgs: l.global.maxMsgs, maxBytes: l.global.maxBytes, maxAgeNs: l.global.maxAgeMs * 1e6, maxSubscriptions: l.global.maxSubs, maxInactivityNs: 0 }),
    });
    return this.monitorView;
  }

  /** The parts restoreState works on. */
  private parts(): RestoreParts {
    return { js: this.js, state: this.state, clients: this.clients, subs: this.subs };
  }

  /** Start answering on the protocol subjects. */
  private start(): void {
    this.requests.start();
    this.pubs.start((d) => this.js.setDirectReplies(d));
    const on = (subject: string, fn: (reply: string, data: Buffer, subject: string) => void): void => {
      this.unsubs.push(this.bus.subscribe(subject, "", (s, reply, _h, data) => fn(reply, data, s)));
    };
    on(this.discoverSubject, (reply, data) => void this.onConnect(reply, data));
    on(`${this.pubPrefix}.>`, (reply, data) => this.onPublish(reply, data));
    on(this.subSubject, (reply, data) => void this.onSubscribe(reply, data));
    on(this.unsubSubject, (reply, data) => void this.onUnsubscribe(reply, data, false));
    on(this.subCloseSubject, (reply, data) => void this.onUnsubscribe(reply, data, true));
    on(this.closeSubject, (reply, data) => void this.onClose(reply, data));
    on(this.pingSubject, (reply, data) => this.onPing(reply, data));
    on(`${this.subs.ackPrefix}*`, (_reply, data, subject) => this.onAck(subject, data));
  }

  /** Stop: nothing more is answered; consumers and streams stay for JetStream to close. */
  close(): void {
    if (this.stopped) return;
    this.stopped = true;
    for (const u of this.unsubs) u();
    this.unsubs.length = 0;
    this.clients.stop();
    this.subs.stop();
    this.pubs.stop();
    this.requests.stop();
  }

  // ---- connect and close ---------------------------------------------------------------------

  private async onConnect(reply: string, data: Buffer): Promise<void> {
    if (reply === "") return;
    let req;
    try {
      req = decodeConnectRequest(data);
    } catch {
      req = null;
    }
    if (req === null || req.heartbeatInbox === "") return this.connectError(reply, StanErrors.invalidConnReq);
    if (!isValidClientID(req.clientID)) return this.connectError(reply, StanErrors.invalidClientID);
    const old = this.clients.get(req.clientID);
    if (old !== undefined) {
      if (this.clients.isChecking(req.clientID) || (await this.clients.stillThere(old))) return this.connectError(reply, StanErrors.clientAlreadyRegistered);
      // Another connect may have taken the id while this one waited.
      const now = this.clients.get(req.clientID);
      if (now !== undefined && now !== old) return this.connectError(reply, StanErrors.clientAlreadyRegistered);
    }
    if (this.stopped) return;
    const c = await this.clients.register(req.clientID, req.heartbeatInbox, req.connID, req.protocol);
    try {
      await this.state.putClient({ id: c.id, hbInbox: c.hbInbox, connID: c.connIDBytes.toString("base64"), protocol: c.protocol });
    } catch (err) {
      await this.clients.close(c);
      return this.connectError(reply, `stan: the client could not be registered: ${errText(err)}`);
    }
    const ping = req.protocol >= STAN_PROTOCOL;
    this.bus.publish(
      reply,
      "",
      null,
      encodeConnectResponse({
        pubPrefix: this.pubPrefix,
        subRequests: this.subSubject,
        unsubRequests: this.unsubSubject,
        closeRequests: this.closeSubject,
        subCloseRequests: this.subCloseSubject,
        pingRequests: ping ? this.pingSubject : "",
        // nats-streaming-server answers with the client's own ping settings.
        pingInterval: ping ? req.pingInterval : 0,
        pingMaxOut: ping ? req.pingMaxOut : 0,
        protocol: STAN_PROTOCOL,
      }),
    );
  }

  private connectError(reply: string, error: string): void {
    this.bus.publish(reply, "", null, encodeConnectResponse({ error }));
  }

  private async onClose(reply: string, data: Buffer): Promise<void> {
    let clientID: string;
    try {
      clientID = decodeCloseRequest(data).clientID;
    } catch {
      if (reply !== "") this.bus.publish(reply, "", null, encodeCloseResponse(StanErrors.invalidCloseReq));
      return;
    }
    const c = this.clients.get(clientID);
    if (c !== undefined) await this.clients.close(c);
    if (reply !== "") this.bus.publish(reply, "", null, encodeCloseResponse(c === undefined ? StanErrors.unknownClient : ""));
  }

  /** A client is gone (closed, replaced, or silent): close its subscriptions, keeping durables. */
  private async clientClosed(c: StanClient): Promise<void> {
    const subs = [...c.subs];
    c.subs.clear();
    await Promise.all(subs.map((s) => this.removeSub(s, false)));
    // A client replaced by a new connection under its id has its record written over instead.
    if (this.clients.get(c.id) === undefined && !this.stopped) await this.state.removeClient(c.id).catch(() => undefined);
  }

  /** Remove a subscription and its record; "" or the STAN error. */
  private async removeSub(sub: StanSub, unsubscribe: boolean): Promise<string> {
    // Out of its client's list already: its deliveries are still counted while it goes.
    const t = this.traffic;
    t.leaving.add(sub);
    let err: string;
    try {
      err = await this.subs.remove(sub, unsubscribe);
    } finally {
      t.leaving.delete(sub);
      // Moved, not copied: a second removal of the same subscription adds nothing.
      t.goneOutMsgs += sub.sentMsgs;
      t.goneOutBytes += sub.sentBytes;
      sub.sentMsgs = 0;
      sub.sentBytes = 0;
    }
    if (!this.stopped) await this.state.removeSub(sub.id).catch(() => undefined);
    return err;
  }

  private onPing(reply: string, data: Buffer): void {
    if (reply === "" || data.length === 0) return;
    let connID: Buffer;
    try {
      connID = decodePing(data).connID;
    } catch {
      return;
    }
    const c = this.clients.byConnection(connID);
    if (c !== undefined) this.clients.pinged(c);
    this.bus.publish(reply, "", null, encodePingResponse(c === undefined ? StanErrors.pingUnknownClient : ""));
  }

  // ---- publish --------------------------------------------------------------------------------

  /** A PubMsg on `<pubPrefix>.<channel>`: into the channel's stream, acked once durable. */
  private onPublish(reply: string, data: Buffer): void {
    let pm: PubMsg;
    try {
      pm = decodePubMsg(data);
    } catch {
      this.pubs.error(reply, "", StanErrors.invalidPubReq);
      return;
    }
    // nats-streaming-server counts every PubMsg it could decode, before checking it.
    this.traffic.inMsgs++;
    this.traffic.inBytes += data.length;
    // A channel in use was checked when it was first opened.
    const known = this.channels.get(pm.subject);
    if (pm.guid === "" || (known === undefined && !isValidChannel(pm.subject)) || !this.clients.isValid(pm.clientID, pm.connID)) {
      this.pubs.error(reply, pm.guid, StanErrors.invalidPubReq);
      return;
    }
    const ch = known !== undefined && known.ready ? known : this.channels.open(pm.subject);
    if (ch.ready) this.pubs.send(ch, pm.guid, reply, pm.data);
    // Kept in order until the stream is served; the slice is only valid during this call.
    else ch.waiting.push({ guid: pm.guid, ackInbox: reply, data: Buffer.from(pm.data) });
  }

  /** A channel's stream is served (or could not be made): send what waited for it. */
  private channelSettled(ch: Channel): void {
    const waiting = ch.waiting;
    ch.waiting = [];
    for (const w of waiting) {
      if (ch.ready) this.pubs.send(ch, w.guid, w.ackInbox, w.data);
      else this.pubs.error(w.ackInbox, w.guid, ch.error);
    }
  }

  // ---- subscriptions --------------------------------------------------------------------------

  private async onSubscribe(reply: string, data: Buffer): Promise<void> {
    const answer = (ackInbox: string, error: string): void => {
      if (reply !== "") this.bus.publish(reply, "", null, encodeSubscriptionResponse(ackInbox, error));
    };
    let sr: SubscriptionRequest;
    try {
      sr = decodeSubscriptionRequest(data);
    } catch {
      return answer("", StanErrors.invalidSubReq);
    }
    const bad = checkSubscription(sr);
    if (bad !== "") return answer("", bad);
    const client = this.clients.get(sr.clientID);
    if (client === undefined) return answer("", StanErrors.unknownClient);
    if (sr.qGroup !== "" && sr.durableName.includes(":")) return answer("", StanErrors.invalidDurName);
    const ch = this.channels.open(sr.subject);
    if (!ch.ready) await ch.settled;
    if (!ch.ready) return answer("", ch.error === "" ? StanErrors.unknownChannel : ch.error);
    const r = await this.subs.subscribe(client, ch, sr);
    if ("error" in r) return answer("", r.error);
    const sub = r.sub;
    const consumer = r.binding.consumer;
    try {
      await this.state.putSub({ id: sub.id, clientID: sub.clientID, channel: ch.name, inbox: sub.inbox, maxInFlight: sub.maxInFlight, ackWaitSecs: sub.ackWaitSecs, durableName: sub.durableName, qGroup: sub.qGroup, consumer });
    } catch (err) {
      client.subs.delete(sub);
      await this.subs.remove(sub, false);
      return answer("", `stan: the subscription could not be kept: ${errText(err)}`);
    }
    answer(sub.ackInbox, "");
    this.subs.start(r);
  }

  private async onUnsubscribe(reply: string, data: Buffer, isClose: boolean): Promise<void> {
    const answer = (error: string): void => {
      if (reply !== "") this.bus.publish(reply, "", null, encodeSubscriptionResponse("", error));
    };
    let req;
    try {
      req = decodeUnsubscribeRequest(data);
    } catch {
      return answer(StanErrors.invalidUnsubReq);
    }
    if (this.channels.get(req.subject) === undefined) return answer(StanErrors.unknownChannel);
    const sub = this.subs.byAckInbox(req.inbox);
    if (sub === undefined || sub.clientID !== req.clientID || sub.channel.name !== req.subject) return answer(StanErrors.invalidSub);
    this.clients.get(sub.clientID)?.subs.delete(sub);
    // A close of a subscription that is not durable removes it, as an unsubscribe does.
    answer(await this.removeSub(sub, !isClose));
  }

  /** An Ack on a subscription's ack inbox. */
  private onAck(subject: string, data: Buffer): void {
    const sub = this.subs.byAckInbox(subject);
    if (sub === undefined) return;
    let seq: number;
    try {
      seq = decodeAck(data).sequence;
    } catch {
      return;
    }
    sub.binding?.ack(sub, seq);
  }
}

function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** nats-streaming-server's checks of a SubscriptionRequest, in its order; "" when it passes. */
function checkSubscription(sr: SubscriptionRequest): string {
  if (sr.clientID === "") return StanErrors.missingClient;
  if (sr.ackWaitInSecs <= 0) return StanErrors.invalidAckWait;
  if (sr.maxInFlight <= 0) return StanErrors.invalidMaxInflight;
  if (sr.startPosition < StartPosition.NewOnly || sr.startPosition > StartPosition.First) return StanErrors.invalidStart;
  if (!isValidChannel(sr.subject)) return StanErrors.invalidSubject;
  if (sr.inbox === "") return StanErrors.invalidSubReq;
  return "";
}
