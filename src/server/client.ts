import { Parser, type ParserHandler } from "../protocol/parser.js";
import { DEFAULT_CONNECT, type ConnectOptions } from "../protocol/connect.js";
import { ErrText, errLine, pubPermissionError, subPermissionError } from "../protocol/errors.js";
import { isValidSubject, isValidLiteralSubject } from "../subjects/validate.js";
import type { ConnectionRights } from "../auth/connection-rights.js";
import { authRequired } from "../auth/users.js";
import type { Transport } from "../transports/transport.js";
import { Outbound } from "./outbound.js";
import type { Deliverer, Subscription } from "./subscription.js";
import { ClientSubs } from "./client-subs.js";
import type { ServerCore } from "./core.js";
import { clampTimerMs } from "../util/timer.js";
import { Keepalive, type KeepaliveTarget } from "./keepalive.js";
import { ClientTrace, redactConnect } from "./trace.js";
import { writeMsgFrame } from "./msg-frame.js";
import type { Account } from "./account.js";
import { ClientLogin } from "./client-login.js";

const PONG = Buffer.from("PONG\r\n");
const PING = Buffer.from("PING\r\n");
const OK = Buffer.from("+OK\r\n");
/** ADR-4 no-responders status: header block `NATS/1.0 503\r\n\r\n` (16 bytes), no payload. */
const NO_RESPONDERS_HDR = "NATS/1.0 503\r\n\r\n";

/**
 * One client connection: parser in, outbound buffer out, its subscriptions (ClientSubs), and who
 * it is (its ClientLogin: CONNECT, credentials, permissions).
 */
export class Client implements ParserHandler, Deliverer, KeepaliveTarget {
  readonly parser: Parser;
  readonly out = new Outbound();
  readonly subs: ClientSubs;
  readonly startMs = Date.now();
  lastActivityMs = Date.now();
  /** What the CONNECTs so far set (DEFAULT_CONNECT before the first). */
  opts: ConnectOptions = DEFAULT_CONNECT;
  /** The account its user belongs to (the global one until CONNECT names another's user). */
  account: Account;
  connected = false;
  closed = false;
  dirty = false;
  inMsgs = 0;
  inBytes = 0;
  outMsgs = 0;
  outBytes = 0;
  closeReason = "";
  /** Who it is: nonce, credentials, user, rights. */
  private readonly login: ClientLogin;
  /** The login's rights (the same object, for the publish and delivery paths). */
  private readonly rights: ConnectionRights;
  /** nats-server's per-operation trace (`-V`); null when tracing is off. */
  private readonly tr: ClientTrace | null;
  /** The auth timeout and the server's PINGs. */
  private readonly keepalive: Keepalive;

  constructor(
    readonly cid: number,
    readonly transport: Transport,
    private readonly core: ServerCore,
  ) {
    this.parser = new Parser(this, core.limits);
    this.account = core.router.global;
    this.login = new ClientLogin(core);
    this.rights = this.login.rights;
    this.tr = core.trace === undefined ? null : new ClientTrace(core.trace, transport.kind, transport.remoteAddress, transport.remotePort, cid);
    this.subs = new ClientSubs(this, core.router, this.tr);
    this.keepalive = new Keepalive(this, core.limits);
  }

  /** The nonce this connection's INFO carries ("" when no nkey users are configured). */
  get nonce(): string {
    return this.login.nonce;
  }

  /** The user its credentials authenticated ("" for none). */
  get user(): string {
    return this.login.user;
  }

  /** Send INFO and start reading. */
  start(): void {
    this.transport.attach(
      (chunk) => this.onData(chunk),
      () => this.onTransportClosed(),
    );
    this.sendRaw(`INFO ${JSON.stringify(this.core.info(this))} \r\n`);
    this.keepalive.start(authRequired(this.core.auth));
  }

  // --- KeepaliveTarget ---

  sendPing(): void {
    this.tr?.out("PING");
    this.queue(PING);
  }

  authTimedOut(): void {
    this.closeWithError(ErrText.authTimeout, "Authentication Timeout");
  }

  stale(): void {
    this.closeWithError(ErrText.staleConnection, "Stale Connection");
  }

  /** Send an INFO again, with `extra` fields (e.g. `ldm` in lame-duck mode). */
  sendInfo(extra: Record<string, unknown>): void {
    this.sendRaw(`INFO ${JSON.stringify({ ...this.core.info(this), ...extra })} \r\n`);
  }

  private onData(chunk: Buffer): void {
    this.lastActivityMs = Date.now();
    this.parser.parse(chunk);
  }

  // --- ParserHandler ---

  onConnect(json: string): void {
    this.tr?.in("CONNECT", redactConnect(json));
    const r = this.login.connect(json, this.tr);
    if ("close" in r) {
      this.close(r.close);
      return;
    }
    if ("error" in r) {
      this.closeWithError(r.error, r.reason);
      return;
    }
    this.opts = r.opts;
    this.moveTo(r.account);
    this.keepalive.connected();
    this.connected = true;
    this.ok();
  }

  /**
   * Put this connection in `account`. A second CONNECT may name another account's user: the
   * subscriptions made so far move with it, as they belong to the connection.
   */
  private moveTo(account: Account): void {
    if (account === this.account) return;
    this.subs.moveWith(() => {
      this.account = account;
    });
  }

  /**
   * Check this connection again after the server's users changed (a config reload), as nats-server
   * does: a connection whose credentials no longer pass is closed (without an -ERR); otherwise the
   * new permissions apply from now on, and each subscription they no longer allow is removed with
   * an -ERR naming it. Returns one line per removed subscription, for the server log.
   */
  reauthorize(): string[] {
    if (!this.connected || this.closed) return [];
    if (!this.login.recheck(this.account)) {
      this.close("Authentication Failure");
      return [];
    }
    const removed: string[] = [];
    for (const sub of this.subs.denied(this.rights)) {
      this.sendErr(`${subPermissionError(sub.subject)} (sid "${sub.sid}")`);
      removed.push(`Removed sub "${sub.subject}" (sid "${sub.sid}") for User "${this.user}" - not authorized`);
    }
    return removed;
  }

  /** Before CONNECT, under auth, any other operation is an authorization violation (not traced: nats-server refuses it on its first byte). */
  private requireConnect(): boolean {
    if (this.connected) return true;
    if (authRequired(this.core.auth)) {
      this.closeWithError(ErrText.authViolation, "Authentication Failure");
      return false;
    }
    return true;
  }

  onPub(subject: string, reply: string, hdrBytes: number, payload: Buffer): void {
    if (!this.requireConnect()) return;
    if (this.tr !== null) this.tr.pub(subject, reply, hdrBytes, payload);
    this.inMsgs++;
    this.inBytes += payload.length;
    if (hdrBytes > 0 && !this.opts.headers) {
      // nats-server 2.9.10 closes a client that sends HPUB without announcing headers, with no -ERR.
      this.close("Protocol Violation");
      return;
    }
    if (this.opts.pedantic && !isValidLiteralSubject(subject)) {
      // nats-server checks this on the control line and still acknowledges the frame in verbose mode.
      this.sendErr(ErrText.invalidPublishSubject);
      this.ok();
      return;
    }
    if (!this.rights.mayPublish(subject)) {
      this.sendErr(pubPermissionError(subject));
      return;
    }
    this.ok();
    const n = this.core.router.publish(this, subject, reply, hdrBytes, payload);
    if (n === 0 && reply !== "" && this.opts.no_responders && this.opts.headers) this.noResponders(reply);
  }

  private noResponders(reply: string): void {
    // Deliver the 503 to this client's own subscription that matches the reply subject.
    const sub = this.subs.matching(reply);
    if (sub === undefined) return;
    this.writeMsg(sub, reply, "", NO_RESPONDERS_HDR.length, Buffer.from(NO_RESPONDERS_HDR, "latin1"), null);
    this.markDirty();
  }

  onSub(subject: string, queue: string, sid: string): void {
    if (!this.requireConnect()) return;
    this.tr?.sub(subject, queue, sid);
    if (!isValidSubject(subject) || (queue !== "" && !isValidLiteralSubject(queue))) {
      this.sendErr(ErrText.invalidSubject);
      return;
    }
    if (!this.rights.maySubscribe(subject, queue)) {
      this.sendErr(subPermissionError(subject, queue === "" ? undefined : queue));
      return;
    }
    if (this.subs.has(sid)) {
      // nats-server ignores a duplicate sid.
      this.ok();
      return;
    }
    if (this.subs.size >= this.core.limits.maxSubscriptions) {
      // nats-server reports it and keeps the connection.
      this.sendErr(ErrText.maxSubscriptions);
      return;
    }
    this.subs.add(subject, queue, sid);
    this.ok();
  }

  onUnsub(sid: string, max: number): void {
    if (!this.requireConnect()) return;
    this.tr?.unsub(sid, max);
    // nats-server acknowledges first, then removes the subscription (the trace shows OK before DELSUB).
    this.ok();
    this.subs.unsub(sid, max);
  }

  onPing(): void {
    if (!this.requireConnect()) return;
    this.tr?.in("PING");
    this.tr?.out("PONG");
    this.queue(PONG);
  }

  onPong(): void {
    this.tr?.in("PONG");
    this.keepalive.pong();
  }

  onOtherOp(_op: string): void {
    // nats-server ignores +OK/-ERR/INFO from clients.
  }

  onParseError(errText: string | null, _state: string, _snippet: string): void {
    if (errText === null) this.close("Protocol Violation");
    else this.closeWithError(errText, errText === ErrText.maxPayload ? "Maximum Payload Exceeded" : "Protocol Violation");
  }

  // --- delivery ---

  deliver(sub: Subscription, subject: string, reply: string, hdrBytes: number, payload: Buffer, head: Buffer | null): void {
    if (this.closed) return;
    if (hdrBytes > 0 && !this.opts.headers) {
      // A client that did not announce headers gets the message without them.
      this.writeMsg(sub, subject, reply, 0, head === null ? payload.subarray(hdrBytes) : payload, null);
    } else {
      this.writeMsg(sub, subject, reply, hdrBytes, payload, head);
    }
    if (reply !== "") this.rights.owe(reply);
    this.markDirty();
  }

  /** `head`: the header block apart from `payload` (then the data alone), or null when it leads `payload`. */
  private writeMsg(sub: Subscription, subject: string, reply: string, hdrBytes: number, payload: Buffer, head: Buffer | null): void {
    const total = writeMsgFrame(this.out, sub, subject, reply, hdrBytes, payload, head);
    if (this.tr !== null) this.tr.msg(subject, sub.sid, reply, hdrBytes, total);
    this.outMsgs++;
    this.outBytes += total;
  }

  // --- output ---

  private ok(): void {
    if (!this.opts.verbose) return;
    this.tr?.out("OK");
    this.queue(OK);
  }

  sendErr(text: string): void {
    this.tr?.out("-ERR", text);
    this.queue(Buffer.from(errLine(text), "latin1"));
  }

  private sendRaw(s: string): void {
    this.queue(Buffer.from(s, "latin1"));
  }

  private queue(b: Buffer): void {
    if (this.closed) return;
    this.out.bytes(b);
    this.markDirty();
  }

  private markDirty(): void {
    if (!this.dirty) {
      this.dirty = true;
      this.core.scheduleFlush(this);
    }
  }

  /** Write buffered bytes to the transport; close a slow consumer. */
  flush(): void {
    this.dirty = false;
    if (this.closed || this.out.len === 0) return;
    const pending = this.transport.pendingBytes + this.out.len;
    if (pending > this.core.limits.maxPendingBytes) {
      this.core.stats.slowConsumers++;
      this.abort("Slow Consumer (Pending Bytes)");
      return;
    }
    this.transport.write(this.out.take());
  }

  /** Send `-ERR` and close (the error is flushed first). */
  closeWithError(text: string, reason: string): void {
    if (this.closed) return;
    this.tr?.out("-ERR", text);
    this.out.ascii(errLine(text));
    this.transport.write(this.out.take());
    this.close(reason);
  }

  /**
   * Close the connection and drop its subscriptions. What is buffered is flushed first, but a peer
   * that does not read gets the write deadline (nats-server's `write_deadline`), then the socket is
   * dropped, so a closed connection never holds its backlog for long.
   */
  close(reason: string): void {
    if (this.closed) return;
    if (this.out.len > 0) this.transport.write(this.out.take());
    this.closed = true;
    this.closeReason = reason;
    this.parser.close();
    this.transport.end();
    if (this.transport.pendingBytes > 0) {
      const transport = this.transport;
      setTimeout(() => transport.destroy(), clampTimerMs(this.core.limits.writeDeadlineMs)).unref();
    }
    this.cleanup();
  }

  /**
   * Close at once, dropping everything not yet written: the outbound buffer and what the socket
   * holds. nats-server does this to a slow consumer (no -ERR, no flush): the backlog is what made
   * it slow, and an -ERR queued behind it would never arrive.
   */
  private abort(reason: string): void {
    if (this.closed) return;
    this.out.len = 0;
    this.closed = true;
    this.closeReason = reason;
    this.parser.close();
    this.transport.destroy();
    this.cleanup();
  }

  private onTransportClosed(): void {
    if (!this.closed) {
      this.closed = true;
      this.closeReason = "Client Closed";
      this.parser.close();
    }
    this.cleanup();
  }

  private cleanup(): void {
    this.keepalive.stop();
    this.subs.clear();
    this.core.removeClient(this);
  }
}
