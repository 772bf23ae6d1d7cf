import type { NatsCore, CoreOptions } from "./server/server.js";
import type { Gateway, GatewayOptions } from "./gateway/gateway.js";
import type { WsListener, WsTlsOptions } from "./transports/ws.js";
import { MemoryTransport } from "./transports/memory.js";
import { WaitingListener } from "./transports/waiting-listener.js";
import { authRequired, checkAuthConfig } from "./auth/users.js";
import type { Duplex } from "node:stream";
import type { JetStream } from "./jetstream/jetstream.js";
import type { StoreBackends } from "./stores/catalog-types.js";
import type { StanServer } from "./stan/stan-server.js";
import type { StanOptions } from "./stan/options.js";

export { NATS_COMPAT_VERSION, CUEBUS_VERSION } from "./server/version.js";
export type { User, AuthConfig } from "./auth/users.js";
export type { Permissions } from "./auth/permissions.js";
export type { StanOptions } from "./stan/options.js";

/** Options of startServer(). */
export interface ServerOptions extends CoreOptions {
  /** Monitoring/HTTP port; undefined = no HTTP listener, 0 or -1 = random. */
  httpPort?: number;
  httpHost?: string;
  /**
   * Durable streams; `storeDir` defaults to `./data`. `sync: "always"` (default) acknowledges a
   * publish only after its batch's durable (O_DSYNC) write has returned; `"interval"` acknowledges once written to the OS
   * and fsyncs every `syncIntervalMs` (default 1000): a power cut can lose that window.
   * `requestQueueLimit`: `$JS.API` requests handled at once before more are dropped (default 10,000).
   * `domain`: the JetStream domain; the API answers on `$JS.<domain>.API` too (see jetstream/domain.ts).
   * `backends`: where streams, the catalog and consumer state are kept (stores/catalog-types.ts);
   * by default the file backend under `storeDir` and the memory backend.
   */
  jetstream?: boolean | { storeDir?: string; sync?: "always" | "interval"; syncIntervalMs?: number; requestQueueLimit?: number; domain?: string | undefined; backends?: StoreBackends };
  /**
   * WebSocket listener for browsers: `ws://` (nats-server's `websocket { port, no_tls: true }`), or
   * `wss://` with `tls` (PEM contents of `websocket { tls { cert_file, key_file } }`).
   */
  websocket?: { port: number; host?: string; tls?: WsTlsOptions };
  /** The HTTP edge on `httpPort`: webhooks from config, the webhook allow-list. */
  http?: GatewayOptions;
  /**
   * NATS Streaming (STAN) clients, served on top of JetStream (docs/stan.md): on whenever
   * JetStream is, with cluster id `test-cluster` unless given; `false` (or `{ enabled: false }`)
   * turns it off.
   */
  streaming?: boolean | (StanOptions & { enabled?: boolean });
  /**
   * Called once the client and HTTP ports are bound, before the parts the configuration uses
   * have loaded and started (the CLI writes its ports file here, as launchers wait for it).
   * Connections made meanwhile wait, unread, and are served once the server is whole, when
   * startServer resolves. With a WebSocket listener it is called once that is bound too, at the end.
   */
  onListening?: (ports: ListeningPorts) => void;
}

/** The ports a server listens on, as `onListening` is told them. */
export interface ListeningPorts {
  port: number;
  httpPort: number | undefined;
  /** `ws://host:port` or `wss://host:port` when a WebSocket listener runs. */
  wsUrl: string | undefined;
  /** What of the HTTP edge is reachable from where (one start-up log line), when it runs. */
  httpAccess: { level: "INF" | "WRN"; text: string } | undefined;
}

/** A running cuebus server. */
export interface Server {
  /** `nats://host:port` for clients. */
  readonly url: string;
  readonly port: number;
  /** Monitoring/HTTP port, when enabled. */
  readonly httpPort: number | undefined;
  /** `http://host:port` of the HTTP edge, when enabled. */
  readonly httpUrl: string | undefined;
  /** The HTTP edge, when enabled. */
  readonly gateway: Gateway | null;
  /** `ws://host:port` when a WebSocket listener runs. */
  readonly wsUrl: string | undefined;
  readonly core: NatsCore;
  /** JetStream, when enabled. */
  readonly jetstream: JetStream | null;
  /** NATS Streaming, when enabled (it needs JetStream). */
  readonly streaming: StanServer | null;
  /** Open an in-memory connection (no sockets): write protocol bytes to it, read the replies. */
  connectInMemory(): Duplex;
  close(): Promise<void>;
}

/**
 * Refuse TLS material the core could not use (a key that does not match, a bad PEM), with the
 * error the core's listen would give, before the ports are bound and announced: the core creates
 * its context only after the announcement. node:tls is loaded only when TLS is configured.
 */
function checkTls(tls: NonNullable<CoreOptions["tls"]>): void {
  // The same context NatsCore.listen creates (its CA only with verify), so the same errors.
  process.getBuiltinModule("node:tls").createSecureContext({ cert: tls.cert, key: tls.key, ca: tls.verify === true ? tls.ca : undefined });
}

function wsUrlOf(coreHost: string, ws: WsListener): string {
  return `${ws.scheme}://${coreHost === "0.0.0.0" ? "127.0.0.1" : coreHost}:${ws.port}`;
}

/**
 * Start a cuebus server in this process.
 *
 * ```ts
 * const server = await startServer({ port: 0 });
 * // connect to server.url ...
 * await server.close();
 * ```
 */
export async function startServer(opts: ServerOptions = {}): Promise<Server> {
  const coreOptions: CoreOptions = { host: "127.0.0.1", ...opts };
  const coreHost = coreOptions.host ?? "0.0.0.0";
  // What the core refuses at start is refused before anything listens (the core checks it again).
  checkAuthConfig(opts.auth ?? {}, opts.accounts);
  if (opts.tls !== undefined) checkTls(opts.tls);
  // The client port is bound before the server core (about 25 modules) loads: its connections
  // wait, unread, and the core serves them once the whole server has started.
  const clientListener = new WaitingListener();
  let core: NatsCore | null = null;
  let httpListener: WaitingListener | null = null;
  let js: JetStream | null = null;
  let stan: StanServer | null = null;
  let http: Gateway | null = null;
  let ws: WsListener | null = null;
  try {
    await clientListener.listen(opts.port === undefined || opts.port < 0 ? 0 : opts.port, coreHost);
    let httpAccess: ListeningPorts["httpAccess"];
    if (opts.httpPort !== undefined) {
      httpListener = new WaitingListener();
      await httpListener.listen(opts.httpPort, opts.httpHost ?? coreHost);
      const access = await import("./gateway/access.js");
      httpAccess = access.accessSummary(access.addressText(httpListener.address()), authRequired(opts.auth ?? {}), opts.http?.apiOpenTo ?? access.DEFAULT_API_OPEN_TO);
    }
    if (opts.websocket === undefined) opts.onListening?.({ port: clientListener.port, httpPort: httpListener?.port, wsUrl: undefined, httpAccess });
    // The core and the parts this configuration uses (a plain server uses none of them) are
    // loaded only once the ports are announced: loading them was most of the start-up time, and
    // it runs on the same thread (started earlier, the loader's work only delays the announcement).
    const [serverModule, jsModule, gatewayModule, wsModule] = await Promise.all([
      import("./server/server.js"),
      opts.jetstream !== undefined && opts.jetstream !== false ? import("./jetstream/jetstream.js") : null,
      opts.httpPort !== undefined ? import("./gateway/gateway.js") : null,
      opts.websocket !== undefined ? import("./transports/ws.js") : null,
    ]);
    const started = new serverModule.NatsCore(coreOptions);
    core = started;
    await core.listen(true, clientListener);
    let storeDir: string | undefined;
    const jsOpts = opts.jetstream === undefined || opts.jetstream === false ? null : opts.jetstream === true ? {} : opts.jetstream;
    if (jsModule !== null && jsOpts !== null) {
      storeDir = jsOpts.storeDir ?? "./data";
      // The accounts JetStream does not serve answer its API with 10039, as nats-server's do.
      for (const a of core.router.allAccounts()) if (!a.jetstream) jsModule.refuseJetStreamApi(core.internalClient(a));
      if (core.serviceAccount.jetstream) {
        const jsClient = core.internalClient();
        core.jetstreamCid = jsClient.cid;
        const warn = opts.logger?.warn ?? ((line: string): void => void process.stderr.write(`cuebus: ${line}\n`));
        js = new jsModule.JetStream(jsClient, { storeDir, sync: jsOpts.sync ?? "always", syncIntervalMs: jsOpts.syncIntervalMs, requestQueueLimit: jsOpts.requestQueueLimit, domain: jsOpts.domain, warn, backends: jsOpts.backends });
        if (jsOpts.domain !== undefined && jsOpts.domain !== "") core.mapSubjects((await import("./jetstream/domain.js")).jsDomainMappings(jsOpts.domain), jsOpts.domain);
        await js.start();
        core.jetstream = js;
        const so = opts.streaming === undefined || opts.streaming === true ? {} : opts.streaming;
        if (so !== false && so.enabled !== false) {
          const stanModule = await import("./stan/stan-server.js");
          stan = await stanModule.StanServer.open(core.internalClient(), js, so, warn);
        }
      }
      core.jetstreamEnabled = true;
    }
    if (gatewayModule !== null && httpListener !== null) {
      http = new gatewayModule.Gateway(core, { storeDir, ...opts.http, ...(stan !== null ? { streaming: stan.monitor } : {}) });
      const serve = http.serveConnections(httpListener.address());
      await http.start();
      httpListener.serveWith(serve);
    }
    if (wsModule !== null && opts.websocket !== undefined) {
      ws = new wsModule.WsListener((t) => started.accept(t), opts.websocket.tls);
      await ws.listen(opts.websocket.port, opts.websocket.host ?? core.host);
      opts.onListening?.({ port: core.port, httpPort: httpListener?.port, wsUrl: wsUrlOf(core.host, ws), httpAccess });
    }
  } catch (err) {
    // A part that cannot start (a bad config-file webhook or allow-list, a port in use) fails the
    // start: nothing is left listening.
    await ws?.close();
    const httpClosed = httpListener?.close();
    await http?.close();
    await httpClosed;
    stan?.close();
    await js?.close();
    await core?.close();
    // The core closed the client port if it took it; if it failed before, it is closed here.
    await clientListener.close();
    throw err;
  }
  core.open();
  const host = core.host === "0.0.0.0" ? "127.0.0.1" : core.host;
  return {
    url: `nats://${host}:${core.port}`,
    port: core.port,
    httpPort: http?.port,
    httpUrl: http === null ? undefined : `http://${(opts.httpHost ?? core.host) === "0.0.0.0" ? "127.0.0.1" : (opts.httpHost ?? core.host)}:${http.port}`,
    gateway: http,
    wsUrl: ws === null ? undefined : wsUrlOf(core.host, ws),
    core,
    jetstream: js,
    streaming: stan,
    connectInMemory(): Duplex {
      const t = new MemoryTransport();
      core.accept(t);
      return t.client;
    },
    async close(): Promise<void> {
      await ws?.close();
      // The port stops taking connections first; the gateway closes those it serves.
      const httpClosed = httpListener?.close();
      await http?.close();
      await httpClosed;
      stan?.close();
      await js?.close();
      await core.close();
    },
  };
}
