import { NatsCore, type CoreOptions } from "./server/server.js";
import { Gateway, type GatewayOptions } from "./gateway/gateway.js";
import { WsListener, type WsTlsOptions } from "./transports/ws.js";
import { MemoryTransport } from "./transports/memory.js";
import type { Duplex } from "node:stream";
import { JetStream } from "./jetstream/jetstream.js";
import { jsDomainMappings } from "./jetstream/domain.js";

export { NATS_COMPAT_VERSION, CUEBUS_VERSION } from "./server/version.js";
export type { User, AuthConfig } from "./auth/users.js";
export type { Permissions } from "./auth/permissions.js";

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
   */
  jetstream?: boolean | { storeDir?: string; sync?: "always" | "interval"; syncIntervalMs?: number; requestQueueLimit?: number; domain?: string | undefined };
  /**
   * WebSocket listener for browsers: `ws://` (nats-server's `websocket { port, no_tls: true }`), or
   * `wss://` with `tls` (PEM contents of `websocket { tls { cert_file, key_file } }`).
   */
  websocket?: { port: number; host?: string; tls?: WsTlsOptions };
  /** The HTTP edge on `httpPort`: webhooks from config, the webhook allow-list. */
  http?: GatewayOptions;
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
  /** `ws://host:port` (`wss://` with TLS) when a WebSocket listener runs. */
  readonly wsUrl: string | undefined;
  readonly core: NatsCore;
  /** JetStream, when enabled. */
  readonly jetstream: JetStream | null;
  /** Open an in-memory connection (no sockets): write protocol bytes to it, read the replies. */
  connectInMemory(): Duplex;
  close(): Promise<void>;
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
  const core = new NatsCore({ host: "127.0.0.1", ...opts });
  await core.listen();
  let js: JetStream | null = null;
  let storeDir: string | undefined;
  if (opts.jetstream !== undefined && opts.jetstream !== false) {
    const j = opts.jetstream === true ? {} : opts.jetstream;
    storeDir = j.storeDir ?? "./data";
    const jsClient = core.internalClient();
    core.jetstreamCid = jsClient.cid;
    const warn = opts.logger?.warn ?? ((line: string): void => void process.stderr.write(`cuebus: ${line}\n`));
    js = new JetStream(jsClient, { storeDir, sync: j.sync ?? "always", syncIntervalMs: j.syncIntervalMs, requestQueueLimit: j.requestQueueLimit, domain: j.domain, warn });
    if (j.domain !== undefined && j.domain !== "") core.mapSubjects(jsDomainMappings(j.domain), j.domain);
    await js.start();
    core.jetstreamEnabled = true;
    core.jetstream = js;
  }
  let http: Gateway | null = null;
  if (opts.httpPort !== undefined) {
    try {
      http = new Gateway(core, { storeDir, ...opts.http });
      await http.listen(opts.httpPort, opts.httpHost ?? core.host);
      await http.start();
    } catch (err) {
      // A bad HTTP option (a config-file webhook, the allow-list) fails the start: nothing is left listening.
      await http?.close();
      await js?.close();
      await core.close();
      throw err;
    }
  }
  let ws: WsListener | null = null;
  if (opts.websocket !== undefined) {
    ws = new WsListener((t) => core.accept(t), opts.websocket.tls);
    await ws.listen(opts.websocket.port, opts.websocket.host ?? core.host);
  }
  const host = core.host === "0.0.0.0" ? "127.0.0.1" : core.host;
  return {
    url: `nats://${host}:${core.port}`,
    port: core.port,
    httpPort: http?.port,
    httpUrl: http === null ? undefined : `http://${(opts.httpHost ?? core.host) === "0.0.0.0" ? "127.0.0.1" : (opts.httpHost ?? core.host)}:${http.port}`,
    gateway: http,
    wsUrl: ws === null ? undefined : `${ws.scheme}://${host}:${ws.port}`,
    core,
    jetstream: js,
    connectInMemory(): Duplex {
      const t = new MemoryTransport();
      core.accept(t);
      return t.client;
    },
    async close(): Promise<void> {
      await ws?.close();
      await http?.close();
      await js?.close();
      await core.close();
    },
  };
}
