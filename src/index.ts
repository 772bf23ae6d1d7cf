import { NatsCore, type CoreOptions } from "./server/server.js";
import { MonitorHttp } from "./gateway/monitor-http.js";
import { WsListener } from "./transports/ws.js";
import { MemoryTransport } from "./transports/memory.js";
import type { Duplex } from "node:stream";
import { JetStream } from "./jetstream/jetstream.js";

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
   * publish only after its batch is fdatasync'ed; `"interval"` acknowledges once written to the OS
   * and fsyncs every `syncIntervalMs` (default 1000): a power cut can lose that window.
   */
  jetstream?: boolean | { storeDir?: string; sync?: "always" | "interval"; syncIntervalMs?: number };
  /** WebSocket listener for browsers (nats-server's `websocket { port, no_tls: true }`). */
  websocket?: { port: number; host?: string };
}

/** A running cuebus server. */
export interface Server {
  /** `nats://host:port` for clients. */
  readonly url: string;
  readonly port: number;
  /** Monitoring port, when enabled. */
  readonly httpPort: number | undefined;
  /** `ws://host:port` when a WebSocket listener runs. */
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
  let http: MonitorHttp | null = null;
  if (opts.httpPort !== undefined) {
    http = new MonitorHttp(core);
    await http.listen(opts.httpPort, opts.httpHost ?? core.host);
  }
  let js: JetStream | null = null;
  if (opts.jetstream !== undefined && opts.jetstream !== false) {
    const j = opts.jetstream === true ? {} : opts.jetstream;
    js = new JetStream(core.internalClient(), { storeDir: j.storeDir ?? "./data", sync: j.sync ?? "always", syncIntervalMs: j.syncIntervalMs });
    await js.start();
    core.jetstreamEnabled = true;
  }
  let ws: WsListener | null = null;
  if (opts.websocket !== undefined) {
    ws = new WsListener((t) => core.accept(t));
    await ws.listen(opts.websocket.port, opts.websocket.host ?? core.host);
  }
  const host = core.host === "0.0.0.0" ? "127.0.0.1" : core.host;
  return {
    url: `nats://${host}:${core.port}`,
    port: core.port,
    httpPort: http?.port,
    wsUrl: ws === null ? undefined : `ws://${host}:${ws.port}`,
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
