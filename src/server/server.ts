import { listenOn } from "../util/listen.js";
import { createServer, type Server as NetServer, type Socket } from "node:net";
import type { SecureContext } from "node:tls";
import type { WaitingListener } from "../transports/waiting-listener.js";
import { randomBytes } from "node:crypto";
import { Limits } from "../protocol/limits.js";
import { ErrText } from "../protocol/errors.js";
import type { JetStreamView } from "./jetstream-view.js";
import type { AuthConfig } from "../auth/users.js";
import { authRequired, checkAuthConfig } from "../auth/users.js";
import { TcpTransport } from "../transports/tcp.js";
import type { Transport } from "../transports/transport.js";
import { Client } from "./client.js";
import { InternalClient } from "./internal-client.js";
import { Router } from "./router.js";
import type { Account } from "./account.js";
import { SubjectMap } from "../subjects/subject-map.js";
import type { CoreClient, ServerCore, ServerLimits, ServerStats } from "./core.js";
import { NATS_COMPAT_VERSION, NATS_PROTO, CUEBUS_VERSION } from "./version.js";

/** Options of the core server (the NATS side). */
export interface CoreOptions {
  host?: string;
  /** 0 or -1: a random free port. */
  port?: number;
  serverName?: string;
  auth?: AuthConfig;
  /**
   * nats-server's `accounts {}`: each a subject space of its own, its users naming it
   * (`auth.users[].account`). `jetstream`: JetStream serves this account's streams (one account at
   * most; the others answer 10039). Absent: one global account, which JetStream serves.
   */
  accounts?: Array<{ name: string; jetstream?: boolean }>;
  limits?: Partial<ServerLimits>;
  /**
   * TLS for the client port: PEM certificate and key (contents, not paths). `verify`: every client
   * must present a certificate signed by `ca` (nats-server `tls { verify: true }`); one without is
   * refused in the handshake. `allowNonTls` (nats-server `allow_non_tls`): INFO says
   * `tls_available` instead of `tls_required`, and each client chooses plain text or TLS.
   */
  tls?: { cert: string; key: string; ca?: string | undefined; verify?: boolean; allowNonTls?: boolean };
  /**
   * Debug (connections) and trace (protocol) logging, off when absent; `warn` is told what an
   * operator must see (startServer writes it to stderr when absent).
   */
  logger?: { debug?: ((msg: string) => void) | undefined; trace?: ((msg: string) => void) | undefined; warn?: ((msg: string) => void) | undefined; error?: ((msg: string) => void) | undefined };
}

/** nats-server DEFAULT_LAME_DUCK_DURATION (2 m) and DEFAULT_LAME_DUCK_GRACE_PERIOD (10 s). */
export const LAME_DUCK_DURATION_MS = 2 * 60 * 1000;
export const LAME_DUCK_GRACE_MS = 10 * 1000;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** nats-server's server id: 56 base32 characters starting with N. */
function newServerId(): string {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  const b = randomBytes(55);
  let s = "N";
  for (const x of b) s += alphabet[x % 32];
  return s;
}

/**
 * The NATS core: accepts transports, owns connections and the router.
 */
export class NatsCore implements ServerCore {
  readonly limits: ServerLimits;
  auth: AuthConfig;
  readonly router: Router;
  readonly stats: ServerStats = { slowConsumers: 0, totalConnections: 0 };
  readonly clients = new Map<number, Client>();
  readonly serverId = newServerId();
  readonly serverName: string;
  readonly startedAt = new Date();
  readonly debug: ((msg: string) => void) | undefined;
  /** Protocol trace, when on (`-V`). */
  readonly trace: ((msg: string) => void) | undefined;
  host: string;
  port = 0;
  /**
   * The account the server's own services act in: JetStream's (the account it serves) and the
   * HTTP edge's. The global account unless `accounts {}` enable JetStream for one of theirs.
   */
  readonly serviceAccount: Account;
  /** Set when JetStream runs, for INFO. */
  jetstreamEnabled = false;
  /** The JetStream domain, for INFO (`domain`); undefined without one. */
  jsDomain: string | undefined;
  /** The running JetStream as monitoring reads it (`/jsz`, `/metrics`); null without JetStream. */
  jetstream: JetStreamView | null = null;
  /**
   * The cid of JetStream's internal client (0 when none): a subject one of its subscriptions
   * matches belongs to a stream, so the HTTP edge waits for the publish ack there.
   */
  jetstreamCid = 0;
  private nextCid = 1;
  private tcp: NetServer | null = null;
  /** The client port when startServer bound it (`listen`'s `bound`); null otherwise or once closed. */
  private bound: WaitingListener | null = null;
  private flushList: CoreClient[] = [];
  private flushScheduled = false;
  /** Connections that came while start-up went on (`listen` with `hold`); null once open. */
  private waiting: Socket[] | null = null;
  /** The TCP transport of an accepted socket, with this listener's TLS settings (set by `listen`). */
  private transportOf: (socket: Socket) => TcpTransport = (socket) => new TcpTransport(socket);
  private lameDuck = false;
  /** Write every client's buffered output now (also run at the end of each event-loop turn). */
  private readonly flushAll = (): void => {
    this.flushScheduled = false;
    const list = this.flushList;
    this.flushList = [];
    for (let i = 0; i < list.length; i++) (list[i] as CoreClient).flush();
  };

  constructor(private readonly opts: CoreOptions = {}) {
    this.limits = { ...Limits, ...opts.limits };
    this.auth = opts.auth ?? {};
    const accounts = opts.accounts ?? [];
    checkAuthConfig(this.auth, accounts);
    this.host = opts.host ?? "0.0.0.0";
    this.serverName = opts.serverName ?? this.serverId;
    this.debug = opts.logger?.debug;
    this.trace = opts.logger?.trace;
    this.router = new Router((sub) => {
      const c = this.clients.get(sub.client.cid);
      if (c !== undefined) c.subs.remove(sub);
      else this.router.unsubscribe(sub);
    }, accounts.length === 0);
    for (const a of accounts) this.router.addAccount(a.name, a.jetstream === true);
    this.serviceAccount = [...this.router.allAccounts()].find((a) => a.jetstream) ?? this.router.global;
  }

  /**
   * Listen for TCP clients. With `hold`, each connection waits, unread and without INFO, until
   * open(): startServer binds and announces its ports before the rest of the server has loaded,
   * and a client still never meets a server without the JetStream it was configured with.
   * `bound`: the client port, already bound by startServer before it loaded this module; it is
   * served from now on instead of a new listener.
   */
  async listen(hold = false, bound?: WaitingListener): Promise<void> {
    const port = this.opts.port === undefined || this.opts.port < 0 ? 0 : this.opts.port;
    const tls = this.opts.tls;
    const verify = tls?.verify === true;
    // The CA only checks client certificates (Go's ClientCAs). Given to OpenSSL without verify,
    // it would also be sent in the server's chain, which nats-server never does: a client that
    // does not trust it would read "self-signed certificate in certificate chain" instead of
    // nats-server's "unable to verify the first certificate".
    const ctx: SecureContext | null = tls === undefined ? null : process.getBuiltinModule("node:tls").createSecureContext({ cert: tls.cert, key: tls.key, ca: verify ? tls.ca : undefined });
    const onTlsError = (t: TcpTransport, err: Error): void => this.tlsHandshakeFailed(t, err);
    const allowNonTls = tls?.allowNonTls === true;
    this.transportOf = (socket) => new TcpTransport(socket, ctx, verify, onTlsError, allowNonTls);
    if (hold) this.waiting = [];
    const onSocket = (socket: Socket): void => {
      if (this.waiting === null) this.accept(this.transportOf(socket));
      else this.wait(socket, this.waiting);
    };
    if (bound !== undefined) {
      // Bound (and announced) before this module loaded: the connections it kept come here now.
      this.port = bound.port;
      this.bound = bound;
      bound.serveWith(onSocket);
      return;
    }
    const srv = createServer(onSocket);
    this.tcp = srv;
    this.port = await listenOn(srv, port, this.host);
  }

  private wait(socket: Socket, waiting: Socket[]): void {
    // As many as may be open at once; a reset meanwhile must not become an uncaught 'error'.
    if (waiting.length >= this.limits.maxConnections) {
      socket.destroy();
      return;
    }
    socket.on("error", () => {});
    waiting.push(socket);
  }

  /** Serve the connections that waited (see `listen`), in the order they came, and every new one at once. */
  open(): void {
    const waiting = this.waiting;
    this.waiting = null;
    for (const socket of waiting ?? []) if (!socket.destroyed) this.accept(this.transportOf(socket));
  }

  /**
   * Route publishes to these subjects on others (`[from, to]`, see SubjectMap), and announce the
   * JetStream domain they serve in INFO.
   */
  mapSubjects(mappings: Array<[string, string]>, jsDomain: string): void {
    const m = new SubjectMap();
    for (const [from, to] of mappings) m.add(from, to);
    this.router.mappings = m;
    this.jsDomain = jsDomain;
  }

  /**
   * A client's TLS handshake failed (the transport closes it): logged as nats-server logs it,
   * `<ip>:<port> - cid:<n> - TLS handshake error: <why>`, with Go's words for a missing client
   * certificate so that a search for nats-server's line finds ours.
   */
  private tlsHandshakeFailed(t: Transport, err: Error): void {
    const log = this.opts.logger?.error ?? this.opts.logger?.warn;
    if (log === undefined) return;
    let cid = 0;
    for (const c of this.clients.values()) if (c.transport === t) cid = c.cid;
    const reason = (err as Error & { reason?: unknown }).reason;
    const why = reason === "peer did not return a certificate" ? "tls: client didn't provide a certificate" : typeof reason === "string" ? reason : err.message;
    log(`${t.remoteAddress}:${t.remotePort} - cid:${cid} - TLS handshake error: ${why}`);
  }

  /** A new internal client (JetStream, gateway) on this server's router, in `account` (the services' by default). */
  internalClient(account: Account = this.serviceAccount): InternalClient {
    return new InternalClient(this.nextCid++, this.router, this.flushAll, account);
  }

  /** Hand a new transport to the core (TCP, WebSocket or in-memory). */
  accept(transport: Transport): void {
    if (this.lameDuck) {
      transport.destroy();
      return;
    }
    const cid = this.nextCid++;
    const client = new Client(cid, transport, this);
    // nats-server sends INFO first, then the error, to the connection over the limit.
    const overLimit = this.clients.size >= this.limits.maxConnections;
    this.clients.set(cid, client);
    this.stats.totalConnections++;
    this.debug?.(`${transport.remoteAddress}:${transport.remotePort} - cid:${cid} - Client connection created`);
    client.start();
    if (overLimit) client.closeWithError(ErrText.maxConnections, "Maximum Connections Exceeded");
  }

  info(client: CoreClient): Record<string, unknown> {
    const info: Record<string, unknown> = {
      server_id: this.serverId,
      server_name: this.serverName,
      version: NATS_COMPAT_VERSION,
      proto: NATS_PROTO,
      go: "cuebus",
      host: this.host,
      port: this.port,
      headers: true,
    };
    if (authRequired(this.auth)) info["auth_required"] = true;
    if (this.jetstreamEnabled) info["jetstream"] = true;
    if (this.opts.tls !== undefined) {
      // nats-server: tls_required unless allow_non_tls, then tls_available (after tls_verify).
      if (this.opts.tls.allowNonTls !== true) info["tls_required"] = true;
      // nats-server leaves tls_verify out unless client certificates are verified.
      if (this.opts.tls.verify === true) info["tls_verify"] = true;
      if (this.opts.tls.allowNonTls === true) info["tls_available"] = true;
    }
    info["max_payload"] = this.limits.maxPayloadBytes;
    info["client_id"] = client.cid;
    info["client_ip"] = client.transport.remoteAddress.replace(/^::ffff:/, "");
    if (client.nonce !== "") info["nonce"] = client.nonce;
    if (this.jsDomain !== undefined) info["domain"] = this.jsDomain;
    info["cuebus"] = CUEBUS_VERSION;
    return info;
  }

  scheduleFlush(client: CoreClient): void {
    this.flushList.push(client);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(this.flushAll);
    }
  }

  removeClient(client: CoreClient): void {
    if (this.clients.delete(client.cid)) this.debug?.(`cid:${client.cid} - Client connection closed`);
  }

  /**
   * New users, tokens and permissions (a config reload): connections made from now on use them,
   * and every connection already open is checked against them (see Client.reauthorize). Returns
   * a log line per subscription removed.
   */
  reloadAuth(auth: AuthConfig): string[] {
    // Accounts are made at start: a reload may move users between them, not add new ones.
    const accounts = [...this.router.allAccounts()].filter((a) => a !== this.router.global).map((a) => ({ name: a.name, jetstream: a.jetstream }));
    checkAuthConfig(auth, accounts);
    this.auth = auth;
    const removed: string[] = [];
    for (const c of [...this.clients.values()]) removed.push(...c.reauthorize());
    return removed;
  }

  /** Stop accepting connections (lame-duck mode, nats-server ADR-5): existing clients stay. */
  /**
   * Lame-duck mode (nats-server ADR-5, `server.go` lameDuckMode): stop accepting, tell every client
   * with an INFO carrying `"ldm":true` so it can reconnect elsewhere, wait `graceMs`, then close the
   * remaining clients spread evenly over `durationMs`. Resolves when all are closed.
   */
  async enterLameDuck(durationMs = LAME_DUCK_DURATION_MS, graceMs = LAME_DUCK_GRACE_MS): Promise<void> {
    if (this.lameDuck) return;
    this.lameDuck = true;
    // net.Server.close() resolves only once every connection has ended, so it is awaited last.
    const listenerClosed = this.closeListener();
    for (const c of this.clients.values()) c.sendInfo({ ldm: true });
    await sleep(graceMs);
    const clients = [...this.clients.values()];
    const step = clients.length === 0 ? 0 : Math.max(0, durationMs - graceMs) / clients.length;
    for (const c of clients) {
      c.close("Server Shutdown");
      if (step > 0) await sleep(step);
    }
    await listenerClosed;
  }

  private async closeListener(): Promise<void> {
    const bound = this.bound;
    this.bound = null;
    if (bound !== null) await bound.close();
    const srv = this.tcp;
    this.tcp = null;
    if (srv !== null) await new Promise<void>((resolve) => srv.close(() => resolve()));
  }

  /** Close the listener and every connection. */
  async close(): Promise<void> {
    const closing = this.closeListener();
    for (const socket of this.waiting ?? []) socket.destroy();
    this.waiting = null;
    for (const c of [...this.clients.values()]) c.close("Server Shutdown");
    await closing;
  }
}
