import type { NatsCore } from "../server/server.js";
import type { GatewayBus } from "./bus-client.js";
import type { Route, RouteTable } from "./routes.js";
import type { WebhookSpec } from "./webhooks/spec.js";
import type { ApiOpenTo } from "./access.js";
import type { StanMonitor } from "../stan/monitor.js";

/** Options of the HTTP edge. */
export interface GatewayOptions {
  /** Webhooks from the config file, registered at start (kept alongside those made over HTTP). */
  webhooks?: WebhookSpec[];
  /**
   * Hosts (names, IPs or CIDR ranges) webhook targets may point at; absent = any. Loopback and
   * private addresses are allowed by default because that is where services live.
   */
  webhookAllow?: string[];
  /** JetStream store directory, where the gateway keeps its own state (webhook registrations). */
  storeDir?: string;
  /**
   * Who may use the API (`/v1`, `/events`) without credentials while the server has no users or
   * token: `loopback` (default), `all` or `none` (see access.ts). Monitoring is open to all.
   */
  apiOpenTo?: ApiOpenTo;
  /** Subjects `/events` publishes to and replays from (`events.<type>` by default). */
  eventsSubjectPrefix?: string;
  /**
   * The running NATS Streaming adapter's read-only view (startServer passes it when streaming is
   * on): the `/streaming/*` monitoring endpoints are served only with it.
   */
  streaming?: StanMonitor;
}

/** A part of the gateway with routes and, optionally, something to start and stop. */
export interface GatewayFeature {
  readonly routes: Route[];
  start?(): Promise<void>;
  close?(): Promise<void> | void;
}

/**
 * What the gateway's features see of it (the `Gateway` class in gateway.ts implements it; features
 * import this file, never gateway.ts, so there is no import cycle).
 */
export interface Gateway {
  readonly core: NatsCore;
  readonly bus: GatewayBus;
  readonly table: RouteTable;
  readonly opts: GatewayOptions;
  /** Is JetStream running on this server? */
  readonly jetstream: boolean;
  /** The bound HTTP port. */
  readonly port: number;
}
