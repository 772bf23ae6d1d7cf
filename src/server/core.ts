import type { AuthConfig } from "../auth/users.js";
import type { Router } from "./router.js";
import type { Transport } from "../transports/transport.js";

/** Limits a running server enforces (defaults in protocol/limits.ts). */
export interface ServerLimits {
  maxControlLineBytes: number;
  maxPayloadBytes: number;
  maxPendingBytes: number;
  maxConnections: number;
  maxSubscriptions: number;
  pingIntervalMs: number;
  maxPingsOutstanding: number;
  authTimeoutMs: number;
  writeDeadlineMs: number;
}

/** Counters the monitoring endpoints read. */
export interface ServerStats {
  slowConsumers: number;
  totalConnections: number;
}

/** What the server core sees of a connection. */
export interface CoreClient {
  readonly cid: number;
  readonly transport: Transport;
  /** The nonce for INFO ("" for none). */
  readonly nonce: string;
  flush(): void;
}

/** What a client connection needs from the server; keeps client.ts free of server.ts. */
export interface ServerCore {
  readonly limits: ServerLimits;
  auth: AuthConfig;
  readonly router: Router;
  readonly stats: ServerStats;
  /** Protocol trace logger (`-V`), undefined when off. */
  readonly trace: ((msg: string) => void) | undefined;
  info(client: CoreClient): Record<string, unknown>;
  scheduleFlush(client: CoreClient): void;
  removeClient(client: CoreClient): void;
}
