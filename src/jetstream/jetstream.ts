import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { FileCatalog } from "../stores/file/catalog.js";
import type { PurgeRequest, StoredMsg } from "../stores/types.js";
import { AdvisorySubjects, advisoryBody } from "./advisories.js";
import type { Bus } from "./bus.js";
import { Consumer, type ConsumerHooks } from "./consumer.js";
import { CONSUMER_STATE_RETRY_MS, ConsumerFiles } from "./consumer-files.js";
import { DEAD_LETTER_METADATA_KEY, checkConsumerUpdate, subjectsIntersect, type ConsumerConfig } from "./consumer-config.js";
import { copyToDeadLetters, replayDeadLetters, type DeadLetterReason } from "./dead-letter.js";
import { jsError, type JsApiError } from "./errors.js";
import { acknowledged } from "./retention.js";
import { recoverStreams } from "./recovery.js";
import { StreamAdmin } from "./stream-admin.js";
import type { StreamConfig } from "./stream-config.js";
import { StreamRegistry, type StreamEntry, type UnloadedEntry } from "./stream-registry.js";
import type { ConsumerAction } from "./api/context.js";
import { ApiListener } from "./api/listener.js";
import { KeyLock } from "../util/key-lock.js";

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
}

/** Streams and the `$JS.API` they answer; an internal client of the router. */
export class JetStream implements ConsumerHooks {
  /** The served streams by name, with their consumers. */
  readonly streams: Map<string, StreamEntry>;
  /** Told the duration of every durable batch write of the file streams (set by `/metrics`; null = not timed). */
  fsyncObserver: ((seconds: number) => void) | null = null;
  /** The `$JS.API`, direct get and dead-letter replay subscriptions, and the API counters. */
  private readonly api: ApiListener;
  /** Streams and consumers on disk that were not loaded at start, and why (see UnloadedEntry). */
  readonly unloaded: UnloadedEntry[];
  /** The served streams, what wires each to the bus, how file stores are opened. */
  private readonly registry: StreamRegistry;
  /** The stream catalog and consumer files of the file streams. */
  private readonly catalog: FileCatalog;
  /** Durable consumers' config and state on disk. */
  private readonly consumerFiles: ConsumerFiles;
  /**
   * One chain per stream name: its create, update, delete, purge and consumer changes run one at
   * a time, so none sees another half done (nats-server holds the stream's lock for these).
   */
  private readonly locks = new KeyLock();
  /** STREAM.CREATE, UPDATE, DELETE and PURGE. */
  private readonly streamAdmin: StreamAdmin;

  constructor(
    readonly bus: Bus,
    readonly opts: JetStreamOptions,
  ) {
    this.catalog = new FileCatalog(join(opts.storeDir, "jetstream"));
    this.registry = new StreamRegistry(bus, this.catalog, {
      sync: opts.sync ?? "always",
      syncIntervalMs: opts.syncIntervalMs,
      // One function for every file store, so a store opened before the observer is set still reports to it.
      observeSync: (seconds) => this.fsyncObserver?.(seconds),
      // A file store's lines when its writes start failing and when they succeed again (a full disk).
      warn: (line) => this.warn(line),
    });
    this.streams = this.registry.streams;
    this.unloaded = this.registry.unloaded;
    this.consumerFiles = new ConsumerFiles(
      this.catalog,
      (c) => this.streams.get(c.stream.name)?.consumers.get(c.name) === c,
      (c, err) =>
        this.warn(
          err === null
            ? `JetStream: consumer "${c.stream.name} > ${c.name}": state written again`
            : `JetStream: consumer "${c.stream.name} > ${c.name}": state could not be written (the previous state stays on disk; retrying every ${CONSUMER_STATE_RETRY_MS} ms): ${err.message}`,
        ),
    );
    this.streamAdmin = new StreamAdmin(this.registry, this.catalog, this.locks, this.consumerFiles, (line) => this.warn(line));
    this.api = new ApiListener(bus, (line) => this.warn(line));
  }

  /** `$JS.API` requests answered since start. */
  get apiTotal(): number {
    return this.api.apiTotal;
  }

  /** `$JS.API` requests answered with an error since start. */
  get apiErrors(): number {
    return this.api.apiErrors;
  }

  /** `$JS.API` requests dropped because MAX_API_REQUESTS_IN_FLIGHT (or its bytes) was reached. */
  get apiDropped(): number {
    return this.api.apiDropped;
  }

  /** Consumer state writes that failed since start (each is retried). */
  get metadataWriteErrors(): number {
    return this.consumerFiles.stateWriteErrors;
  }

  private warn(line: string): void {
    this.opts.warn?.(line);
  }

  /**
   * Recover file streams from disk and start answering `$JS.API.>`. A stream or consumer whose
   * files cannot be used is reported (`unloaded`, the warn log) and skipped; the rest are served.
   */
  async start(): Promise<void> {
    await recoverStreams(this.registry, this.catalog, this.consumerFiles, this.bus, this);
    this.api.start(this);
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

  // ---- consumers ----------------------------------------------------------------------------

  /** CONSUMER.CREATE in all its forms: a new consumer, or an allowed update of an existing one. */
  createConsumer(streamName: string, cfg: ConsumerConfig, action: ConsumerAction): Promise<Consumer | JsApiError> {
    return this.locks.run(streamName, () => this.createConsumerNow(streamName, cfg, action));
  }

  private async createConsumerNow(streamName: string, cfg: ConsumerConfig, action: ConsumerAction): Promise<Consumer | JsApiError> {
    const e = this.streams.get(streamName);
    if (e === undefined) return jsError("StreamNotFound");
    const sc = e.stream.config;
    let name = cfg.durable_name ?? cfg.name ?? "";
    const existing = name === "" ? undefined : e.consumers.get(name);
    if (existing !== undefined) {
      const verdict = checkConsumerUpdate(existing.config, cfg, existing.isActive);
      if (verdict === null) {
        if (JSON.stringify(existing.config) === JSON.stringify(cfg)) return existing;
        if (action === "create") return jsError("ConsumerAlreadyExists");
        // On disk first: if it cannot be written, the consumer keeps its old config.
        try {
          await this.consumerFiles.saveConfig(existing, cfg);
        } catch (err) {
          return jsError("ConsumerCreate", { err: `could not write the consumer's config: ${errText(err)}` });
        }
        existing.config = cfg;
        existing.kick();
        return existing;
      }
      return typeof verdict === "string" ? jsError("ConsumerCreate", { err: verdict }) : verdict;
    }
    if (action === "update") return jsError("ConsumerDoesNotExist");
    if (name !== "" && this.registry.isUnloaded(streamName, name)) {
      return jsError("ConsumerCreate", { err: `consumer "${name}" is on disk but could not be loaded (see /jsz); its files are kept until an operator removes them` });
    }
    if (sc.max_consumers > 0 && e.consumers.size >= sc.max_consumers) return jsError("MaximumConsumersLimit");
    if (sc.retention === "workqueue") {
      if (cfg.ack_policy !== "explicit") return jsError("ConsumerWQRequiresExplicitAck");
      if (e.consumers.size > 0) {
        const mine = filtersOf(cfg);
        if (mine.length === 0) return jsError("ConsumerWQMultipleUnfiltered");
        for (const o of e.consumers.values()) {
          const theirs = o.filterSubjects;
          if (theirs.length === 0 || theirs.some((a) => mine.some((b) => subjectsIntersect(a, b)))) return jsError("ConsumerWQConsumerNotUnique");
        }
      }
      if (cfg.deliver_policy !== "all") return jsError("ConsumerWQConsumerNotDeliverAll");
    }
    if (name === "") {
      do name = randomBytes(16).toString("base64url").replace(/[-_]/g, "").slice(0, 22);
      while (e.consumers.has(name));
      cfg = { ...cfg, name };
      cfg = reorder(cfg);
    }
    const c = new Consumer(e.stream, cfg, name, new Date(), this.bus, this, null);
    await c.selectStart();
    try {
      await this.consumerFiles.create(c);
    } catch (err) {
      return jsError("ConsumerStoreFailed", { err: errText(err) });
    }
    e.consumers.set(name, c);
    c.start();
    this.advisory(`${AdvisorySubjects.created}.${streamName}.${name}`, advisoryBody("consumer_action", streamName, name, { action: "create" }));
    return c;
  }

  /** CONSUMER.DELETE (of `only`, when given: not a consumer that took its name since). */
  deleteConsumer(streamName: string, name: string, only?: Consumer): Promise<boolean> {
    return this.locks.run(streamName, async () => {
      const e = this.streams.get(streamName);
      const c = e?.consumers.get(name);
      if (e === undefined || c === undefined || (only !== undefined && c !== only)) return false;
      // Files first: if they cannot be removed, the consumer goes on as before.
      await this.consumerFiles.hold(c);
      try {
        await this.consumerFiles.removeFiles(c);
      } catch (err) {
        if (await this.consumerFiles.exists(c)) {
          this.consumerFiles.resume(c);
          throw new Error(`consumer "${name}" could not be deleted: ${errText(err)}`);
        }
        this.warn(`JetStream: consumer "${streamName} > ${name}" deleted, but not all of its files could be removed (the next start removes them): ${errText(err)}`);
      }
      c.stop(true);
      e.consumers.delete(name);
      await this.consumerFiles.forget(c);
      this.advisory(`${AdvisorySubjects.deleted}.${streamName}.${name}`, advisoryBody("consumer_action", streamName, name, { action: "delete" }));
      return true;
    });
  }

  /** ConsumerHooks: remember to write this consumer's state soon. */
  changed(c: Consumer): void {
    this.consumerFiles.changed(c);
  }

  /** ConsumerHooks: an ephemeral consumer nobody uses any more. */
  inactive(c: Consumer): void {
    this.deleteConsumer(c.stream.name, c.name, c).catch((err: unknown) => this.warn(`JetStream: ${errText(err)}`));
  }

  /** ConsumerHooks: interest and work-queue retention remove what every interested consumer acknowledged. */
  acked(c: Consumer, seq: number): void {
    const e = this.streams.get(c.stream.name);
    if (e === undefined) return;
    acknowledged(e.stream, e.consumers, seq);
  }

  /** ConsumerHooks: copy a message that failed for good into the consumer's dead-letter stream. */
  deadLetter(c: Consumer, msg: StoredMsg, deliveries: number, reason: DeadLetterReason): void {
    const target = c.config.metadata?.[DEAD_LETTER_METADATA_KEY];
    if (target === undefined) return;
    copyToDeadLetters(this.streams, target, c.stream.name, c.name, msg, deliveries, reason);
  }

  /**
   * Publish dead letters (all of them, or the one at `seq`) back onto their original subjects,
   * through the owning stream when there is one (so the ack is durable), without the dead-letter
   * headers; with `remove`, each one replayed is deleted from the dead-letter stream.
   */
  replayDeadLetters(name: string, seq: number, remove: boolean): Promise<{ replayed: number; failed: number } | { error: JsApiError }> {
    return replayDeadLetters(this.streams, this.bus, name, seq, remove);
  }

  /** ConsumerHooks: publish an advisory on the bus. */
  advisory(subject: string, body: Record<string, unknown>): void {
    if (!this.bus.hasInterest(subject)) return;
    this.bus.publish(subject, "", null, Buffer.from(JSON.stringify(body)));
  }

  /** Close every store (data stays on disk), after writing consumer state. */
  async close(): Promise<void> {
    this.api.stop();
    // Creates, updates and deletes under way finish first, so none is left half done.
    await this.locks.idle();
    for (const e of this.streams.values()) for (const c of e.consumers.values()) c.stop(false);
    await this.consumerFiles.close();
    await this.registry.closeAll();
  }
}

function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function filtersOf(c: ConsumerConfig): string[] {
  return c.filter_subjects ?? (c.filter_subject !== undefined ? [c.filter_subject] : []);
}

/** Keep `name` where nats-server prints it (after durable_name) when we fill it in. */
function reorder(c: ConsumerConfig): ConsumerConfig {
  const { durable_name, name, ...rest } = c;
  return { ...(durable_name !== undefined ? { durable_name } : {}), ...(name !== undefined ? { name } : {}), ...rest } as ConsumerConfig;
}
