import { createRequire } from "node:module";
import type { Gauge, Registry } from "prom-client";
import type { JetStreamView } from "../server/jetstream-view.js";
import type { Gateway, GatewayFeature } from "./context.js";
import { HttpStats } from "./http-stats.js";
import { PlainHistogram } from "./plain-metric.js";
import type { Route } from "./routes.js";

type PromClient = typeof import("prom-client");

let promClient: PromClient | null = null;

/**
 * prom-client, loaded on the first scrape. With what it pulls in (@opentelemetry/api, tdigest,
 * node:https, node:zlib, node:cluster) it cost more CPU at start-up than all of JetStream's
 * modules, and nothing needs it before someone asks for /metrics: every count is kept in the
 * server's own fields until then. `require`, not `import()`: importing a CommonJS package from ESM
 * first runs Node's export lexer over it (another ~20 ms of CPU on its first use).
 */
function loadPromClient(): PromClient {
  return (promClient ??= createRequire(import.meta.url)("prom-client") as PromClient);
}

/**
 * Most stream label sets (`stream`) and consumer label sets (`stream`, `consumer`) one scrape
 * exports; past it the rest are left out and counted in `cuebus_metrics_series_omitted`, so a
 * server with very many consumers cannot make a scrape (or Prometheus) unbounded.
 */
export const MAX_STREAM_SERIES = 10_000;
/** See MAX_STREAM_SERIES. */
export const MAX_CONSUMER_SERIES = 10_000;
/** Most webhook label sets one scrape exports (see MAX_STREAM_SERIES). */
export const MAX_WEBHOOK_SERIES = 10_000;

/** fsync latency buckets, in seconds: 100 µs (a fast NVMe) up to 1 s (a stalled disk). */
export const FSYNC_BUCKETS_SECONDS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];

/** Delivery counts of one webhook, as the webhooks feature reports them at scrape time. */
export interface WebhookStats {
  /** The webhook's name (its id in `/v1/webhooks`). */
  readonly name: string;
  /** Deliveries answered 2xx (acknowledged), since the server started. */
  readonly deliveries: number;
  /** Delivery attempts that failed (non-2xx, timeout, connection error), since the server started. */
  readonly failures: number;
  /** Messages given up after their last attempt (moved to the dead-letter stream), when counted. */
  readonly deadLetters?: number;
}

/**
 * What `/metrics` needs of the webhooks feature: every webhook's counters, read when scraped.
 * The gateway exposes it as `g.webhooks` (WebhooksFeature.list()).
 */
export interface WebhookStatsSource {
  list(): readonly WebhookStats[];
}

/** The gateway as the metrics feature sees it: the webhooks feature is optional (absent in some builds). */
export type MetricsGateway = Gateway & { readonly webhooks?: WebhookStatsSource };

type StreamLabel = "stream";
type ConsumerLabel = "stream" | "consumer";

/**
 * `/metrics` in Prometheus text format, one prom-client registry per server (so several servers
 * in one process, as in tests, keep their own counts). Apart from the HTTP request counters,
 * every value is read from the server's own counters and JetStream's state when scraped
 * (collect callbacks), so nothing is counted twice on the message path.
 */
export class GatewayMetrics implements GatewayFeature {
  readonly routes: Route[];
  private registryMade: Registry | null = null;
  private readonly http = new HttpStats();
  private readonly fsync = new PlainHistogram("cuebus_fsync_duration_seconds", "Duration of each group-commit durable write (O_DSYNC) of the file streams", FSYNC_BUCKETS_SECONDS);
  private readonly observeFsync = (seconds: number): void => this.fsync.observe(seconds);

  constructor(private readonly g: MetricsGateway) {
    this.routes = [
      {
        method: "GET",
        path: "/metrics",
        auth: false,
        doc: {
          summary: "Prometheus metrics",
          description: "Connections, messages and bytes, slow consumers, streams, consumers, webhooks, HTTP requests and fsync latency, in Prometheus text format.",
          responses: { "200": "Prometheus text exposition format (text/plain; version=0.0.4)" },
        },
        handler: async ({ res }) => {
          const registry = this.registry;
          const text = await registry.metrics();
          res.writeHead(200, { "content-type": registry.contentType, "content-length": Buffer.byteLength(text) });
          res.end(text);
        },
      },
    ];
    const js = g.core.jetstream;
    if (js !== null && js.fsyncObserver === null) js.fsyncObserver = this.observeFsync;
  }

  /** This server's prom-client registry (its own, so several servers in one process keep their own counts); made on first use. */
  get registry(): Registry {
    if (this.registryMade !== null) return this.registryMade;
    const prom = loadPromClient();
    const registry = new prom.Registry();
    this.http.register(registry);
    registry.registerMetric(this.fsync.metric());
    this.coreMetrics(prom, registry);
    this.jetstreamMetrics(prom, registry);
    this.webhookMetrics(prom, registry);
    return (this.registryMade = registry);
  }

  /** Count one answered HTTP request (called by the gateway when the response closes). */
  httpRequest(route: string, method: string, status: number, seconds: number): void {
    this.http.record(route, method, status, seconds);
  }

  /** Stop timing fsyncs for this server. */
  close(): void {
    const js = this.g.core.jetstream;
    if (js !== null && js.fsyncObserver === this.observeFsync) js.fsyncObserver = null;
  }

  /** Connections, routed messages and bytes, slow consumers, subscriptions: read off the core's counters. */
  private coreMetrics({ Counter, Gauge }: PromClient, registry: Registry): void {
    const core = this.g.core;
    const registers = [registry];
    const counter = (name: string, help: string, read: () => number): void => {
      new Counter({
        name,
        help,
        registers,
        collect() {
          this.reset();
          this.inc(read());
        },
      });
    };
    const gauge = (name: string, help: string, read: () => number): void => {
      new Gauge({
        name,
        help,
        registers,
        collect() {
          this.set(read());
        },
      });
    };
    gauge("cuebus_connections", "Client connections open now (TCP and WebSocket)", () => core.clients.size);
    counter("cuebus_connections_total", "Client connections accepted since the server started", () => core.stats.totalConnections);
    counter("cuebus_messages_in_total", "Messages published into the router (clients and internal clients), as /varz in_msgs", () => core.router.inMsgs);
    counter("cuebus_messages_out_total", "Messages delivered to subscriptions, as /varz out_msgs", () => core.router.outMsgs);
    counter("cuebus_bytes_in_total", "Payload bytes published into the router, as /varz in_bytes", () => core.router.inBytes);
    counter("cuebus_bytes_out_total", "Payload bytes delivered to subscriptions, as /varz out_bytes", () => core.router.outBytes);
    counter("cuebus_slow_consumers_total", "Connections closed as slow consumers since the server started", () => core.stats.slowConsumers);
    gauge("cuebus_subscriptions", "Subscriptions now, as /varz subscriptions", () => core.router.subscriptionCount());
  }

  /** Per-stream and per-consumer state, and JetStream API counters, read off JetStream when scraped. */
  private jetstreamMetrics({ Counter, Gauge }: PromClient, registry: Registry): void {
    const registers = [registry];
    const js = (): JetStreamView | null => this.g.core.jetstream;
    // One collect refreshes every per-stream gauge: prom-client calls each metric's collect in
    // registration order, so the first one (stream messages) takes the snapshot for all of them.
    const snapshot = (): void => {
      for (const m of perStream) m.reset();
      writeFailures.reset();
      omitted.set(0);
      storeFailing.set(0);
      const view = js();
      if (view === null) return;
      let streams = 0;
      let consumers = 0;
      let skipped = 0;
      let failing = 0;
      for (const [name, e] of view.streams) {
        const w = e.stream.store.writeState();
        if (w.error !== null) failing++;
        if (streams >= MAX_STREAM_SERIES) {
          skipped += 1 + e.consumers.size;
          continue;
        }
        streams++;
        writeFailures.inc({ stream: name }, w.failedWrites);
        const st = e.stream.store.state();
        streamMessages.set({ stream: name }, st.messages);
        streamBytes.set({ stream: name }, st.bytes);
        streamConsumers.set({ stream: name }, e.consumers.size);
        streamLost.set({ stream: name }, st.lost?.msgs.length ?? 0);
        for (const [cname, c] of e.consumers) {
          if (consumers >= MAX_CONSUMER_SERIES) {
            skipped++;
            continue;
          }
          consumers++;
          // The same numbers CONSUMER.INFO answers, from the same method.
          const info = c.info();
          const labels = { stream: name, consumer: cname };
          pending.set(labels, numberOf(info["num_pending"]));
          ackPending.set(labels, numberOf(info["num_ack_pending"]));
          redelivered.set(labels, numberOf(info["num_redelivered"]));
        }
      }
      omitted.set(skipped);
      storeFailing.set(failing);
    };
    const streamGauge = (name: string, help: string, collect?: () => void): Gauge<StreamLabel> => new Gauge({ name, help, labelNames: ["stream"], registers, collect });
    const consumerGauge = (name: string, help: string): Gauge<ConsumerLabel> => new Gauge({ name, help, labelNames: ["stream", "consumer"], registers });
    const streamMessages = streamGauge("cuebus_stream_messages", "Messages stored in the stream", snapshot);
    const streamBytes = streamGauge("cuebus_stream_bytes", "Bytes stored in the stream");
    const streamConsumers = streamGauge("cuebus_stream_consumers", "Consumers of the stream");
    const streamLost = streamGauge("cuebus_stream_lost_messages", "Messages of the stream found damaged on disk and not served since it was opened (STREAM.INFO state.lost)");
    const pending = consumerGauge("cuebus_consumer_pending", "Messages of the stream the consumer has not delivered yet (num_pending)");
    const ackPending = consumerGauge("cuebus_consumer_ack_pending", "Messages delivered and not acknowledged yet (num_ack_pending)");
    const redelivered = consumerGauge("cuebus_consumer_redelivered", "Unacknowledged messages delivered more than once (num_redelivered)");
    const omitted = new Gauge({ name: "cuebus_metrics_series_omitted", help: "Stream and consumer label sets left out of this scrape by MAX_STREAM_SERIES and MAX_CONSUMER_SERIES", registers });
    const perStream = [streamMessages, streamBytes, streamConsumers, streamLost, pending, ackPending, redelivered];
    // A full disk, say: the store refuses publishes and retries with backoff until a write succeeds.
    const storeFailing = new Gauge({ name: "cuebus_jetstream_streams_store_failing", help: "Streams whose store cannot write now (publishes to them are refused; /healthz answers 503)", registers });
    const writeFailures = new Counter<StreamLabel>({ name: "cuebus_stream_store_write_failures_total", help: "Store writes of the stream that failed (a batch of publishes is one write), since the stream was opened", labelNames: ["stream"], registers });
    new Counter({
      name: "cuebus_jetstream_api_requests_total",
      help: "$JS.API requests answered",
      registers,
      collect() {
        this.reset();
        this.inc(js()?.apiTotal ?? 0);
      },
    });
    new Gauge({
      name: "cuebus_jetstream_unloaded",
      help: "Streams and consumers found on disk at start and not served because their metadata files are damaged (listed in /jsz unloaded)",
      registers,
      collect() {
        this.set(js()?.unloaded.length ?? 0);
      },
    });
    new Counter({
      name: "cuebus_jetstream_metadata_write_errors_total",
      help: "Consumer state writes that failed (disk full, I/O error); each is retried",
      registers,
      collect() {
        this.reset();
        this.inc(js()?.metadataWriteErrors ?? 0);
      },
    });
    new Counter({
      name: "cuebus_jetstream_api_dropped_total",
      help: "$JS.API requests dropped unanswered because request_queue_limit requests (or 64 MiB of bodies) were in flight",
      registers,
      collect() {
        this.reset();
        this.inc(js()?.apiDropped ?? 0);
      },
    });
    new Counter({
      name: "cuebus_jetstream_api_errors_total",
      help: "$JS.API requests answered with an error",
      registers,
      collect() {
        this.reset();
        this.inc(js()?.apiErrors ?? 0);
      },
    });
  }

  /** Webhook deliveries, failures and dead letters, read from the webhooks feature when scraped. */
  private webhookMetrics({ Counter }: PromClient, registry: Registry): void {
    const registers = [registry];
    const deliveries = new Counter({
      name: "cuebus_webhook_deliveries_total",
      help: "Webhook deliveries acknowledged by their target (2xx)",
      labelNames: ["webhook"],
      registers,
      // Registered first, so it reads the counts for all three (see jetstreamMetrics).
      collect: () => {
        deliveries.reset();
        failures.reset();
        deadLetters.reset();
        // Read at scrape time: the gateway sets its webhooks feature after building this one.
        const list = this.g.webhooks?.list() ?? [];
        const n = Math.min(list.length, MAX_WEBHOOK_SERIES);
        for (let i = 0; i < n; i++) {
          const w = list[i] as WebhookStats;
          const labels = { webhook: w.name };
          deliveries.inc(labels, w.deliveries);
          failures.inc(labels, w.failures);
          if (w.deadLetters !== undefined) deadLetters.inc(labels, w.deadLetters);
        }
      },
    });
    const failures = new Counter({ name: "cuebus_webhook_failures_total", help: "Webhook delivery attempts that failed (not 2xx, timeout, no connection)", labelNames: ["webhook"], registers });
    const deadLetters = new Counter({ name: "cuebus_webhook_dead_letters_total", help: "Webhook messages given up after their last attempt (moved to the dead-letter stream)", labelNames: ["webhook"], registers });
  }
}

function numberOf(v: unknown): number {
  return typeof v === "number" ? v : 0;
}
