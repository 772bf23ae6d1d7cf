import { openBackends } from "../stores/backends.js";
import type { StoreBackends } from "../stores/catalog-types.js";
export { refuseJetStreamApi } from "./api/not-enabled.js";
import type { PurgeRequest } from "../stores/types.js";
import { KeyLock } from "../util/key-lock.js";
import type { ConsumerAction } from "./api/context.js";
import { ApiListener } from "./api/listener.js";
import type { Bus } from "./bus.js";
import type { Consumer } from "./consumer.js";
import { ConsumerAdmin } from "./consumer-admin.js";
import type { ConsumerConfig } from "./consumer-config.js";
import { ConsumerEvents } from "./consumer-events.js";
import { CONSUMER_STATE_RETRY_MS, ConsumerStateWriter } from "./consumer-state-writer.js";
import { replayDeadLetters } from "./dead-letter.js";
import type { JsApiError } from "./errors.js";
import { recoverStreams } from "./recovery.js";
import { StreamAdmin } from "./stream-admin.js";
import type { StreamConfig } from "./stream-config.js";
import type { DirectReplies } from "./publish-ack.js";
import { StreamRegistry, type StreamEntry, type UnloadedEntry } from "./stream-registry.js";

/** JetStream options. */
export interface JetStreamOptions {
  /** Where file streams live: `<storeDir>/jetstream/<stream>/`. */
  storeDir: string;
  /** File store durability mode (see stores/file). */
  sync?: "always" | "interval";
  /** With `interval`: ms between background fsyncs. */
  syncIntervalMs?: number;
  /**
   * Told what an operator must know (a stream or consumer not loaded at start, a metadata write
   * that failed, a stream's store whose writes fail and when they succeed again), one line each;
   * nothing is said when absent.
   */
  warn?: (line: string) => void;
  /**
   * `$JS.API` requests handled at once, at most; more are dropped unanswered and counted
   * (nats-server's `request_queue_limit`; default MAX_API_REQUESTS_IN_FLIGHT, 10,000).
   */
  requestQueueLimit?: number;
  /** The JetStream domain, reported in `$JS.API.INFO` and `/jsz` (the server maps its API subjects). */
  domain?: string | undefined;
  /**
   * Where streams, the catalog and consumers are kept, by `storage`; by default the file backend
   * under `storeDir` and the memory backend (stores/backends.ts).
   */
  backends?: StoreBackends;
}

/**
 * Streams and the `$JS.API` they answer; an internal client of the router. The facade the rest
 * of the server uses (and the `$JS.API` handlers' ApiContext, `/jsz`'s JetStreamView) over the
 * parts that do the work: the registry of served streams (StreamRegistry), start-up recovery
 * (recoverStreams), stream and consumer administration under per-stream locks (StreamAdmin,
 * ConsumerAdmin), what consumers' events do (ConsumerEvents), and the API's subscriptions
 * (ApiListener).
 */
export class JetStream {
  /** The served streams by name, with their consumers. */
  readonly streams: Map<string, StreamEntry>;
  /** Streams and consumers on disk that were not loaded at start, and why (see UnloadedEntry). */
  readonly unloaded: UnloadedEntry[];
  /** Told the duration of every durable batch write of the file streams (set by `/metrics`; null = not timed). */
  fsyncObserver: ((seconds: number) => void) | null = null;
  /** Durable consumers' state, written behind their changes. */
  private readonly stateWriter: ConsumerStateWriter;
  private readonly registry: StreamRegistry;
  /**
   * One chain per stream name: its create, update, delete, purge and consumer changes run one at
   * a time, so none sees another half done (nats-server holds the stream's lock for these).
   */
  private readonly locks = new KeyLock();
  private readonly streamAdmin: StreamAdmin;
  private readonly consumerAdmin: ConsumerAdmin;
  private readonly events: ConsumerEvents;
  private readonly api: ApiListener;

  constructor(
    readonly bus: Bus,
    readonly opts: JetStreamOptions,
  ) {
    const warn = (line: string): void => this.opts.warn?.(line);
    const backends =
      opts.backends ??
      openBackends({
        storeDir: opts.storeDir,
        sync: opts.sync ?? "always",
        syncIntervalMs: opts.syncIntervalMs,
        // One function for every file store, so a store opened before the observer is set still reports to it.
        observeSync: (seconds) => this.fsyncObserver?.(seconds),
        // A file store's lines when its writes start failing and when they succeed again (a full disk).
        warn,
      });
    this.registry = new StreamRegistry(bus, backends, { warn, domain: opts.domain });
    this.streams = this.registry.streams;
    this.unloaded = this.registry.unloaded;
    this.stateWriter = new ConsumerStateWriter(
      backends,
      (c) => this.streams.get(c.stream.name)?.consumers.get(c.name) === c,
      (c, err) =>
        warn(
          err === null
            ? `JetStream: consumer "${c.stream.name} > ${c.name}": state written again`
            : `JetStream: consumer "${c.stream.name} > ${c.name}": state could not be written (the previous state stays on disk; retrying every ${CONSUMER_STATE_RETRY_MS} ms): ${err.message}`,
        ),
    );
    this.events = new ConsumerEvents(
      this.streams,
      bus,
      this.stateWriter,
      (c) => {
        this.deleteConsumer(c.stream.name, c.name, c).catch((err: unknown) => warn(`JetStream: ${err instanceof Error ? err.message : String(err)}`));
      },
      warn,
    );
    this.streamAdmin = new StreamAdmin(this.registry, this.locks, this.stateWriter, warn);
    this.consumerAdmin = new ConsumerAdmin(this.registry, this.locks, this.stateWriter, bus, this.events, warn);
    this.api = new ApiListener(bus, warn, opts.requestQueueLimit);
  }

  /** The JetStream domain ($JS.API.INFO's `domain`), when one is configured. */
  get domain(): string | undefined {
    return this.opts.domain === "" ? undefined : this.opts.domain;
  }

  /** `$JS.API` requests answered since start. */
  get apiTotal(): number {
    return this.api.apiTotal;
  }

  /** `$JS.API` requests answered with an error since start. */
  get apiErrors(): number {
    return this.api.apiErrors;
  }

  /** `$JS.API` requests dropped unanswered because the in-flight limit (requests or bytes) was reached. */
  get apiDropped(): number {
    return this.api.apiDropped;
  }

  /** Consumer state writes that failed since start (each is retried). */
  get metadataWriteErrors(): number {
    return this.stateWriter.stateWriteErrors;
  }

  /**
   * Recover file streams from disk and start answering `$JS.API.>`. A stream or consumer whose
   * files cannot be used is reported (`unloaded`, the warn log) and skipped; the rest are served.
   */
  async start(): Promise<void> {
    await recoverStreams(this.registry, this.bus, this.events);
    this.api.start(this);
  }

  /** Hand acks to reply subjects under `d.prefix` to `d` instead of routing them (null: stop). */
  setDirectReplies(d: DirectReplies | null): void {
    this.registry.directReplies.current = d;
  }

  /**
   * `STREAM.CREATE`: idempotent for the same config. A file stream's directory appears with its
   * meta.json in it before its store is opened, and the stream is served only once both are done.
   */
  createStream(cfg: StreamConfig): Promise<{ entry: StreamEntry; created: boolean } | JsApiError> {
    return this.streamAdmin.createStream(cfg);
  }

  /** `STREAM.UPDATE`: the new config is on disk before it is applied; if it cannot be written, nothing changes. */
  updateStream(requested: StreamConfig): Promise<StreamEntry | JsApiError> {
    return this.streamAdmin.updateStream(requested);
  }

  /**
   * `STREAM.DELETE`: the stream and its data. The directory is removed (renamed aside, durably)
   * before anything stops; if that fails, the stream goes on as before and the error is thrown.
   */
  deleteStream(name: string): Promise<boolean> {
    return this.streamAdmin.deleteStream(name);
  }

  /** `STREAM.PURGE`; a purge that is not filtered moves consumers past what it removed. */
  purgeStream(name: string, req: PurgeRequest): Promise<number> {
    return this.streamAdmin.purgeStream(name, req);
  }

  /** CONSUMER.CREATE in all its forms: a new consumer, or an allowed update of an existing one. */
  createConsumer(streamName: string, cfg: ConsumerConfig, action: ConsumerAction): Promise<Consumer | JsApiError> {
    return this.consumerAdmin.createConsumer(streamName, cfg, action);
  }

  /** CONSUMER.DELETE (of `only`, when given: not a consumer that took its name since). */
  deleteConsumer(streamName: string, name: string, only?: Consumer): Promise<boolean> {
    return this.consumerAdmin.deleteConsumer(streamName, name, only);
  }

  /**
   * Publish dead letters (all of them, or the one at `seq`) back onto their original subjects,
   * through the owning stream when there is one (so the ack is durable), without the dead-letter
   * headers; with `remove`, each one replayed is deleted from the dead-letter stream.
   */
  replayDeadLetters(name: string, seq: number, remove: boolean): Promise<{ replayed: number; failed: number } | { error: JsApiError }> {
    return replayDeadLetters(this.streams, this.bus, name, seq, remove);
  }

  /** Close every store (data stays on disk), after writing consumer state. */
  async close(): Promise<void> {
    this.api.stop();
    // Creates, updates and deletes under way finish first, so none is left half done.
    await this.locks.idle();
    // Waiting pull requests hear 409 Server Shutdown while their clients are still connected
    // (the core closes connections after this, flushing what each has buffered).
    for (const e of this.streams.values()) for (const c of e.consumers.values()) c.signalShutdown();
    for (const e of this.streams.values()) for (const c of e.consumers.values()) c.stop(false);
    await this.stateWriter.close();
    await this.registry.closeAll();
  }
}
