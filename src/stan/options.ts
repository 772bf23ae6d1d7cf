import type { Consumer } from "../jetstream/consumer.js";
import type { ConsumerAction } from "../jetstream/api/context.js";
import type { ConsumerConfig } from "../jetstream/consumer-config.js";
import type { JsApiError } from "../jetstream/errors.js";
import type { DirectReplies } from "../jetstream/publish-ack.js";
import type { StreamConfig } from "../jetstream/stream-config.js";
import type { StanStoreLimits } from "./limits.js";
import type { StreamEntry } from "../jetstream/stream-registry.js";
import type { PurgeRequest } from "../stores/types.js";

/** NATS Streaming options (`streaming {}` in the config file, `-cid`, `startServer({ streaming })`). */
export interface StanOptions {
  /** The cluster id clients name when they connect (`_STAN.discover.<cluster id>`); default `test-cluster`. */
  clusterId?: string;
  /** Where channels' streams are kept: `file` (default, under the JetStream store dir) or `memory`. */
  store?: "file" | "memory";
  /** Between two heartbeats the server sends each client (nats-streaming-server `-hbi`, 30 s). */
  hbIntervalMs?: number;
  /** How long a heartbeat waits for its answer (`-hbt`, 10 s). */
  hbTimeoutMs?: number;
  /** Heartbeats unanswered in a row after which a client is closed (`-hbf`, 10). */
  hbFailCount?: number;
  /**
   * nats-streaming-server's store limits (`streaming { store_limits {} }`, `-mc`, `-mm`, `-mb`,
   * `-ma`, `-msu`): left out, its defaults (100 channels; per channel 1,000,000 messages,
   * 1,000,000 KiB, no age limit, 1000 subscriptions).
   */
  limits?: StanStoreLimits;
  /** How long a connect with a client id in use waits for the old connection to answer (500 ms). */
  dupCheckTimeoutMs?: number;
}

/** nats-streaming-server's defaults (server/server.go). */
export const StanDefaults = {
  clusterId: "test-cluster",
  hbIntervalMs: 30_000,
  hbTimeoutMs: 10_000,
  hbFailCount: 10,
  dupCheckTimeoutMs: 500,
} as const;

/** Options with every default filled in. */
export type ResolvedStanOptions = Required<Omit<StanOptions, "limits">> & { limits: StanStoreLimits };

/** Fill in the defaults. */
export function resolveStanOptions(o: StanOptions = {}): ResolvedStanOptions {
  return {
    clusterId: o.clusterId ?? StanDefaults.clusterId,
    store: o.store ?? "file",
    hbIntervalMs: o.hbIntervalMs ?? StanDefaults.hbIntervalMs,
    hbTimeoutMs: o.hbTimeoutMs ?? StanDefaults.hbTimeoutMs,
    hbFailCount: o.hbFailCount ?? StanDefaults.hbFailCount,
    dupCheckTimeoutMs: o.dupCheckTimeoutMs ?? StanDefaults.dupCheckTimeoutMs,
    limits: o.limits ?? {},
  };
}

/** nats-streaming-server's cluster id rule: letters, digits, `-` and `_`. */
export function isValidClusterId(id: string): boolean {
  return /^[a-zA-Z0-9_-]+$/.test(id);
}

/**
 * What the STAN adapter uses of JetStream: the same stream and consumer administration the
 * `$JS.API` handlers call, and the served streams to read positions from. JetStream implements it.
 */
export interface StanJetStream {
  readonly streams: ReadonlyMap<string, StreamEntry>;
  createStream(cfg: StreamConfig): Promise<{ entry: StreamEntry; created: boolean } | JsApiError>;
  updateStream(cfg: StreamConfig): Promise<StreamEntry | JsApiError>;
  createConsumer(streamName: string, cfg: ConsumerConfig, action: ConsumerAction): Promise<Consumer | JsApiError>;
  deleteConsumer(streamName: string, name: string, only?: Consumer): Promise<boolean>;
  /** Have the streams' acks to reply subjects under a prefix handed over directly (see DirectReplies). */
  setDirectReplies(d: DirectReplies | null): void;
  purgeStream(name: string, req: PurgeRequest): Promise<number>;
}
