import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { FileCatalog, type CatalogDamage } from "../stores/file/catalog.js";
import { FileStore } from "../stores/file/file-store.js";
import { MemoryStore } from "../stores/memory/memory-store.js";
import type { PurgeRequest, StoredMsg, StreamStore } from "../stores/types.js";
import { AdvisorySubjects, advisoryBody } from "./advisories.js";
import type { Bus } from "./bus.js";
import { Consumer, type ConsumerHooks, type DeadLetterReason } from "./consumer.js";
import { CONSUMER_STATE_RETRY_MS, ConsumerFiles } from "./consumer-files.js";
import { DEAD_LETTER_METADATA_KEY, checkConsumerUpdate, normalizeConsumerConfig, subjectsIntersect, type ConsumerConfig } from "./consumer-config.js";
import { DEAD_LETTER_REPLAY_PREFIX, deadLetterHeaders, replayHeaders } from "./dead-letter.js";
import { handleDirectGet } from "./direct-get.js";
import { jsError, type JsApiError } from "./errors.js";
import { subjectsOverlap } from "./overlap.js";
import { Stream, storeLimitsOf, type AckSink } from "./stream.js";
import { checkStreamUpdate, normalizeStreamConfig, sameConfig, type StreamConfig } from "./stream-config.js";
import { handleApi } from "./api/router.js";
import type { ConsumerAction } from "./api/context.js";
import { DLQ_REPLAY_REQUEST, decodeApiBody } from "./api/request-schema.js";
import { writeDecimal } from "../util/decimal.js";
import { clampTimerMs } from "../util/timer.js";
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

/**
 * A stream or consumer found on disk at start and not served, because a metadata file of it is
 * damaged (not JSON, wrong shape, a config that no longer validates) or its store could not be
 * opened. Its files are left as they are; `/jsz` lists these as `unloaded`.
 */
export type UnloadedEntry = CatalogDamage;

interface StreamEntry {
  stream: Stream;
  consumers: Map<string, Consumer>;
  unsubscribe: Array<() => void>;
  /** Drops messages past max_age. */
  expiry: NodeJS.Timeout | null;
}

/** Room an ack needs after the stream name: the sequence and the duplicate flag. */
const ACK_TAIL_BYTES = 64;
const ACK_DUPLICATE_TAIL = Buffer.from(`,"duplicate": true}`);

/**
 * `$JS.API` requests handled at once, at most, and the bytes of their bodies: nats-server bounds
 * its API queue the same way (`request_queue_limit`, default 10,000) and drops requests past it
 * unanswered (the client times out and retries). A client sending requests faster than the
 * store can write them would otherwise grow the backlog, and the server's memory, without end.
 */
export const MAX_API_REQUESTS_IN_FLIGHT = 10_000;
export const MAX_API_BYTES_IN_FLIGHT = 64 * 1024 * 1024;
/** The warning about dropped API requests is logged at most this often. */
const API_DROP_WARN_EVERY_MS = 10_000;

/** How often a stream with max_age checks for expired messages, at most and at least. */
const EXPIRY_CHECK_MIN_MS = 50;
const EXPIRY_CHECK_MAX_MS = 1000;

/** Streams and the `$JS.API` they answer; an internal client of the router. */
export class JetStream implements ConsumerHooks {
  readonly streams = new Map<string, StreamEntry>();
  apiTotal = 0;
  apiErrors = 0;
  /** `$JS.API` requests dropped because MAX_API_REQUESTS_IN_FLIGHT (or its bytes) was reached. */
  apiDropped = 0;
  private apiInFlight = 0;
  private apiBytesInFlight = 0;
  private apiDropWarnedMs = 0;
  /** Told the duration of every durable batch write of the file streams (set by `/metrics`; null = not timed). */
  fsyncObserver: ((seconds: number) => void) | null = null;
  /** One function for every file store, so a store opened before the observer is set still reports to it. */
  private readonly observeSync = (seconds: number): void => this.fsyncObserver?.(seconds);
  /** A file store's lines when its writes start failing and when they succeed again (a full disk). */
  private readonly storeLog = (line: string): void => this.warn(line);
  private unsubApi: (() => void) | null = null;
  private unsubDirect: (() => void) | null = null;
  private unsubReplay: (() => void) | null = null;
  /** Streams and consumers on disk that were not loaded at start, and why (see UnloadedEntry). */
  readonly unloaded: UnloadedEntry[] = [];
  /** The stream catalog and consumer files of the file streams. */
  private readonly catalog: FileCatalog;
  /** Durable consumers' config and state on disk. */
  private readonly consumerFiles: ConsumerFiles;
  /**
   * One chain per stream name: its create, update, delete, purge and consumer changes run one at
   * a time, so none sees another half done (nats-server holds the stream's lock for these).
   */
  private readonly locks = new KeyLock();
  /**
   * Subjects of streams being created or updated, by name, until the change is done: a stream of
   * another name checks overlap against these too, as its own lock does not cover them.
   */
  private readonly claims = new Map<string, readonly string[]>();

  private readonly flushBus = (): void => this.bus.flush();

  constructor(
    readonly bus: Bus,
    readonly opts: JetStreamOptions,
  ) {
    this.catalog = new FileCatalog(join(opts.storeDir, "jetstream"));
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
  }

  /** Consumer state writes that failed since start (each is retried). */
  get metadataWriteErrors(): number {
    return this.consumerFiles.stateWriteErrors;
  }

  private warn(line: string): void {
    this.opts.warn?.(line);
  }

  /** Remember and report a stream or consumer that is not served because of its files. */
  private notLoaded(d: UnloadedEntry): void {
    this.unloaded.push(d);
    const what = d.consumer === undefined ? `stream "${d.stream}"` : `consumer "${d.stream} > ${d.consumer}"`;
    this.warn(`JetStream: ${what} not loaded: ${d.file}: ${d.reason} (its files are left as they are)`);
  }

  /**
   * Recover file streams from disk and start answering `$JS.API.>`. A stream or consumer whose
   * files cannot be used is reported (`unloaded`, the warn log) and skipped; the rest are served.
   */
  async start(): Promise<void> {
    const { entries, damage } = await this.catalog.streams();
    for (const d of damage) this.notLoaded(d);
    for (const saved of entries) {
      let cfg: StreamConfig | JsApiError;
      try {
        cfg = normalizeStreamConfig(saved.config, { recovering: true });
      } catch (err) {
        cfg = jsError("StreamCreate", { err: err instanceof Error ? err.message : String(err) });
      }
      const at = { stream: saved.name, file: saved.file };
      if ("err_code" in cfg) this.notLoaded({ ...at, reason: `config no longer valid: ${cfg.description}` });
      else if (cfg.name !== saved.name) this.notLoaded({ ...at, reason: `config names stream "${cfg.name}"` });
      else if (cfg.storage !== "file") this.notLoaded({ ...at, reason: `config has storage "${cfg.storage}"` });
      else {
        try {
          const store = await this.openFileStore(cfg);
          const entry = this.register(cfg, store, saved.created);
          await entry.stream.rebuildDedup();
        } catch (err) {
          await this.closeEntry(saved.name);
          this.notLoaded({ ...at, reason: `store could not be opened: ${err instanceof Error ? err.message : String(err)}` });
          continue;
        }
        await this.recoverConsumers(saved.name);
      }
    }
    this.unsubDirect = this.bus.subscribe("$JS.API.DIRECT.GET.>", "", (subject, reply, _h, data) => {
      const name = subject.split(".", 5)[4] ?? "";
      const e = this.streams.get(name);
      if (e === undefined || !e.stream.config.allow_direct || reply === "") return;
      handleDirectGet(this.bus, e.stream, subject, reply, data);
    });
    this.unsubReplay = this.bus.subscribe(`${DEAD_LETTER_REPLAY_PREFIX}*`, "", (subject, reply, _h, data) => {
      const name = subject.slice(DEAD_LETTER_REPLAY_PREFIX.length);
      const req = data.length === 0 ? { ok: {} } : decodeApiBody(data, DLQ_REPLAY_REQUEST);
      if ("error" in req) {
        if (reply !== "") this.bus.publish(reply, "", null, Buffer.from(JSON.stringify({ error: req.error })));
        return;
      }
      this.replayDeadLetters(name, req.ok.seq ?? 0, req.ok.delete === true).then(
        (r) => {
          if (reply !== "") this.bus.publish(reply, "", null, Buffer.from(JSON.stringify(r)));
        },
        () => {},
      );
    });
    this.unsubApi = this.bus.subscribe("$JS.API.>", "", (subject, reply, _h, data) => {
      // Pull requests and direct gets have subscriptions of their own.
      if (reply === "" || subject.startsWith("$JS.API.CONSUMER.MSG.NEXT.") || subject.startsWith("$JS.API.DIRECT.GET.")) return;
      if (this.apiInFlight >= MAX_API_REQUESTS_IN_FLIGHT || this.apiBytesInFlight + data.length > MAX_API_BYTES_IN_FLIGHT) {
        this.apiDropped++;
        const now = Date.now();
        if (now - this.apiDropWarnedMs >= API_DROP_WARN_EVERY_MS) {
          this.apiDropWarnedMs = now;
          this.warn(`JetStream API queue limit reached (${this.apiInFlight} requests, ${this.apiBytesInFlight} bytes in flight), dropping requests (${this.apiDropped} so far)`);
        }
        return;
      }
      // A copy of its own: Buffer.from would cut a small body from Node's shared 8 KiB pool, and a
      // request waiting its turn would hold the whole pool chunk (10,000 waiting held 80 MiB).
      const body = Buffer.allocUnsafeSlow(data.length);
      data.copy(body);
      this.apiInFlight++;
      this.apiBytesInFlight += body.length;
      const done = (): void => {
        this.apiInFlight--;
        this.apiBytesInFlight -= body.length;
      };
      handleApi(this, subject, body).then(
        (res) => {
          done();
          this.apiTotal++;
          if ("error" in res) this.apiErrors++;
          this.bus.publish(reply, "", null, Buffer.from(JSON.stringify(res)));
        },
        (err: unknown) => {
          done();
          this.apiErrors++;
          const e = jsError("BadRequest");
          e.description = err instanceof Error ? err.message : String(err);
          this.bus.publish(reply, "", null, Buffer.from(JSON.stringify({ error: e })));
        },
      );
    });
  }

  /** Open (or create) a file stream's message store. */
  private openFileStore(cfg: StreamConfig): Promise<FileStore> {
    return FileStore.open({ dir: this.catalog.messagesDir(cfg.name), limits: storeLimitsOf(cfg), sync: this.opts.sync ?? "always", syncIntervalMs: this.opts.syncIntervalMs, observeSyncSeconds: this.observeSync, log: this.storeLog });
  }

  /** Serve a stream whose store is open: wire its subjects and list it. */
  private register(cfg: StreamConfig, store: StreamStore, created: Date): StreamEntry {
    const stream = new Stream(cfg, store, created);
    const entry: StreamEntry = { stream, consumers: new Map(), unsubscribe: [], expiry: null };
    this.wire(entry);
    this.streams.set(cfg.name, entry);
    return entry;
  }

  /** Stop serving a stream and close its store (its files stay); its consumers must be stopped already. */
  private async closeEntry(name: string): Promise<void> {
    const e = this.streams.get(name);
    if (e === undefined) return;
    this.streams.delete(name);
    this.unwire(e);
    await e.stream.store.close();
  }

  /** (Re)arm the max_age check: a quarter of max_age, within [50 ms, 1 s]. */
  private armExpiry(entry: StreamEntry): void {
    if (entry.expiry !== null) clearInterval(entry.expiry);
    entry.expiry = null;
    const maxAgeMs = entry.stream.config.max_age / 1e6;
    if (maxAgeMs <= 0) return;
    const every = Math.min(EXPIRY_CHECK_MAX_MS, Math.max(EXPIRY_CHECK_MIN_MS, maxAgeMs / 4));
    entry.expiry = setInterval(() => {
      entry.stream.store.expire().catch(() => 0);
    }, clampTimerMs(every));
    entry.expiry.unref();
  }

  /** Stop a stream taking publishes and expiring messages (its subscriptions and expiry timer go). */
  private unwire(entry: StreamEntry): void {
    for (const u of entry.unsubscribe) u();
    entry.unsubscribe = [];
    if (entry.expiry !== null) clearInterval(entry.expiry);
    entry.expiry = null;
  }

  private wire(entry: StreamEntry): void {
    this.armExpiry(entry);
    const stream = entry.stream;
    const sink = this.ackSink(stream.name);
    stream.setAckSink(sink, this.flushBus);
    for (const u of entry.unsubscribe) u();
    entry.unsubscribe = stream.config.subjects.map((s) =>
      this.bus.subscribe(s, "", (subject, reply, headers, data) => {
        if (subject.startsWith("$JS.API.")) return;
        if (stream.config.retention !== "interest") {
          stream.accept(subject, reply, headers, data);
          return;
        }
        void stream.publish(subject, headers, data).then((r) => {
          if ("error" in r) return sink(reply, 0, false, r.error);
          if (!r.duplicate) this.dropIfNoInterest(entry, r.seq, subject);
          sink(reply, r.seq, r.duplicate, null);
        });
      }),
    );
  }

  /**
   * A stream's publish acks, written into a buffer of the stream's own that holds the constant
   * prefix; only the sequence and the end change. The router copies an ack out before publish
   * returns, so one view per length is made once and reused.
   */
  private ackSink(name: string): AckSink {
    const prefix = Buffer.from(`{"stream":${JSON.stringify(name)}, "seq":`);
    const out = Buffer.alloc(prefix.length + ACK_TAIL_BYTES);
    prefix.copy(out, 0);
    const views: Buffer[] = [];
    return (reply, seq, duplicate, error) => {
      if (reply === "") return;
      if (error !== null) {
        this.bus.publish(reply, "", null, Buffer.from(JSON.stringify({ error, stream: name, seq: 0 })));
        return;
      }
      let n = writeDecimal(out, prefix.length, seq);
      if (duplicate) n += ACK_DUPLICATE_TAIL.copy(out, n);
      else out[n++] = 0x7d; // }
      this.bus.publish(reply, "", null, (views[n] ??= out.subarray(0, n)));
    };
  }

  /**
   * `STREAM.CREATE`: idempotent for the same config. A file stream's directory appears with its
   * meta.json in it before its store is opened, and the stream is served only once both are done.
   */
  createStream(cfg: StreamConfig): Promise<{ entry: StreamEntry; created: boolean } | JsApiError> {
    return this.locks.run(cfg.name, async () => {
      const existing = this.streams.get(cfg.name);
      if (existing !== undefined) {
        if (sameConfig(existing.stream.config, cfg)) return { entry: existing, created: false };
        return jsError("StreamNameExist");
      }
      if (cfg.sealed) return jsError("StreamInvalidConfig", { err: "stream configuration for create can not be sealed" });
      if (this.overlaps(cfg)) return jsError("StreamSubjectOverlap");
      if (this.unloaded.some((u) => u.stream === cfg.name && u.consumer === undefined)) {
        return jsError("StreamCreate", { err: `stream "${cfg.name}" is on disk but could not be loaded (see /jsz); its files are kept until an operator removes them` });
      }
      const created = new Date();
      if (cfg.storage === "memory") return { entry: this.register(cfg, new MemoryStore(storeLimitsOf(cfg)), created), created: true };
      this.claims.set(cfg.name, cfg.subjects);
      try {
        try {
          await this.catalog.createStream(cfg.name, cfg, created);
        } catch (err) {
          return jsError("StreamCreate", { err: `could not write the stream's metadata: ${errText(err)}` });
        }
        let store: FileStore;
        try {
          store = await this.openFileStore(cfg);
        } catch (err) {
          await this.catalog.removeStream(cfg.name).catch((e: unknown) => this.warn(`JetStream: stream "${cfg.name}": create failed and its directory could not be removed: ${errText(e)}`));
          return jsError("StreamCreate", { err: `could not open the stream's store: ${errText(err)}` });
        }
        return { entry: this.register(cfg, store, created), created: true };
      } finally {
        this.claims.delete(cfg.name);
      }
    });
  }

  /** `STREAM.UPDATE`: the new config is on disk before it is applied; if it cannot be written, nothing changes. */
  updateStream(requested: StreamConfig): Promise<StreamEntry | JsApiError> {
    return this.locks.run(requested.name, async () => {
      const entry = this.streams.get(requested.name);
      if (entry === undefined) return jsError("StreamNotFound");
      // Checked against the config as it is now, under the stream's lock (nats-server's
      // stream.update checks the same under the stream's lock).
      const cfg = checkStreamUpdate(entry.stream.config, requested);
      if ("err_code" in cfg) return cfg;
      if (this.overlaps(cfg)) return jsError("StreamSubjectOverlap");
      this.claims.set(cfg.name, cfg.subjects);
      try {
        if (cfg.storage === "file") {
          try {
            await this.catalog.writeStream(cfg.name, cfg, entry.stream.created);
          } catch (err) {
            return jsError("StreamUpdate", { err: `could not write the stream's metadata: ${errText(err)}` });
          }
        }
        entry.stream.config = cfg;
        try {
          await entry.stream.store.setLimits(storeLimitsOf(cfg));
        } catch (err) {
          this.wire(entry);
          return jsError("StreamStoreFailed", { err: `the new configuration is saved but its limits could not be applied yet: ${errText(err)}` });
        }
        this.wire(entry);
        return entry;
      } finally {
        this.claims.delete(cfg.name);
      }
    });
  }

  /**
   * `STREAM.DELETE`: the stream and its data. The directory is removed (renamed aside, durably)
   * before anything stops; if that fails, the stream goes on as before and the error is thrown.
   */
  deleteStream(name: string): Promise<boolean> {
    return this.locks.run(name, async () => {
      const entry = this.streams.get(name);
      if (entry === undefined) return false;
      for (const c of entry.consumers.values()) await this.consumerFiles.hold(c);
      if (entry.stream.config.storage === "file") {
        // Take no more publishes (and no expiry) while the directory goes: a publish arriving after
        // it was renamed aside would fail (ENOENT) and be reported as a failing disk.
        this.unwire(entry);
        try {
          await this.catalog.removeStream(name);
        } catch (err) {
          if (await this.catalog.hasStream(name)) {
            this.wire(entry);
            for (const c of entry.consumers.values()) this.consumerFiles.resume(c);
            throw new Error(`stream "${name}" could not be deleted: ${errText(err)}`);
          }
          this.warn(`JetStream: stream "${name}" deleted, but not all of its files could be removed (the next start removes them): ${errText(err)}`);
        }
      }
      for (const c of entry.consumers.values()) {
        c.stop(true);
        await this.consumerFiles.forget(c);
      }
      entry.consumers.clear();
      // Consumers of it that were not loaded went with its directory.
      for (let i = this.unloaded.length - 1; i >= 0; i--) if (this.unloaded[i]?.stream === name) this.unloaded.splice(i, 1);
      await this.closeEntry(name);
      return true;
    });
  }

  /** Does `cfg` share subjects with another stream, or one being created or updated? */
  private overlaps(cfg: StreamConfig): boolean {
    const clash = (subjects: readonly string[]): boolean => subjects.some((a) => cfg.subjects.some((b) => subjectsOverlap(a, b)));
    for (const [name, e] of this.streams) if (name !== cfg.name && clash(e.stream.config.subjects)) return true;
    for (const [name, subjects] of this.claims) if (name !== cfg.name && clash(subjects)) return true;
    return false;
  }

  /** `STREAM.PURGE`; a purge that is not filtered moves consumers past what it removed. */
  purgeStream(name: string, req: PurgeRequest): Promise<number> {
    return this.locks.run(name, async () => {
      const e = this.streams.get(name);
      if (e === undefined) return 0;
      const n = await e.stream.store.purge(req);
      if (req.filter === undefined) {
        const st = e.stream.store.state();
        const first = st.messages === 0 ? st.lastSeq + 1 : st.firstSeq;
        for (const c of e.consumers.values()) c.purged(first);
      }
      return n;
    });
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
    if (name !== "" && this.unloaded.some((u) => u.stream === streamName && u.consumer === name)) {
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

  /** Serve again the consumers a recovered stream left on disk; one whose files cannot be used is reported and skipped. */
  private async recoverConsumers(streamName: string): Promise<void> {
    const e = this.streams.get(streamName) as StreamEntry;
    const { consumers, damage } = await this.consumerFiles.list(streamName);
    for (const d of damage) this.notLoaded(d);
    for (const saved of consumers) {
      const at = { stream: streamName, consumer: saved.name, file: saved.metaFile };
      try {
        const cfg = normalizeConsumerConfig(saved.config, e.stream.config, { recovering: true });
        if ("err_code" in cfg) {
          this.notLoaded({ ...at, reason: `config no longer valid: ${cfg.description}` });
          continue;
        }
        if (cfg.durable_name !== saved.name) {
          this.notLoaded({ ...at, reason: `config is not that of durable consumer "${saved.name}"` });
          continue;
        }
        const c = new Consumer(e.stream, cfg, saved.name, saved.created, this.bus, this, saved.state);
        if (saved.state === null) await c.selectStart();
        e.consumers.set(saved.name, c);
        c.start();
      } catch (err) {
        this.notLoaded({ ...at, reason: errText(err) });
      }
    }
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
    const store = e.stream.store;
    if (e.stream.config.retention === "workqueue") {
      void store.remove(seq).catch(() => false);
      return;
    }
    void store.load(seq).then(
      (m) => {
        if (m !== null) this.dropIfNoInterest(e, seq, m.subject);
      },
      () => {},
    );
  }

  private dropIfNoInterest(e: StreamEntry, seq: number, subject: string): void {
    for (const c of e.consumers.values()) if (c.needAck(seq, subject)) return;
    void e.stream.store.remove(seq).catch(() => false);
  }

  /** ConsumerHooks: copy a message that failed for good into the consumer's dead-letter stream. */
  deadLetter(c: Consumer, msg: StoredMsg, deliveries: number, reason: DeadLetterReason): void {
    const target = c.config.metadata?.[DEAD_LETTER_METADATA_KEY];
    if (target === undefined) return;
    const e = this.streams.get(target);
    if (e === undefined) return;
    const headers = deadLetterHeaders(msg, c.stream.name, c.name, deliveries, reason);
    void e.stream.store.append(msg.subject, headers, Buffer.from(msg.data)).then(
      (seq) => e.stream.notifyAppend(seq),
      () => {},
    );
  }

  /**
   * Publish dead letters (all of them, or the one at `seq`) back onto their original subjects,
   * through the owning stream when there is one (so the ack is durable), without the dead-letter
   * headers; with `remove`, each one replayed is deleted from the dead-letter stream.
   */
  async replayDeadLetters(name: string, seq: number, remove: boolean): Promise<{ replayed: number; failed: number } | { error: JsApiError }> {
    const e = this.streams.get(name);
    if (e === undefined) return { error: jsError("StreamNotFound") };
    const store = e.stream.store;
    let replayed = 0;
    let failed = 0;
    const last = store.state().lastSeq;
    for (let s = seq > 0 ? seq : 1; s <= (seq > 0 ? seq : last); ) {
      const m = seq > 0 ? await store.load(s) : await store.loadNext("", s);
      if (m === null) break;
      s = m.seq + 1;
      const headers = replayHeaders(m.headers);
      const owner = [...this.streams.values()].find((o) => o !== e && o.stream.covers(m.subject));
      let ok = true;
      if (owner !== undefined) ok = !("error" in (await owner.stream.publish(m.subject, headers, m.data)));
      else this.bus.publish(m.subject, "", headers, m.data);
      if (!ok) {
        failed++;
        continue;
      }
      replayed++;
      if (remove) await store.remove(m.seq);
    }
    return { replayed, failed };
  }

  /** ConsumerHooks: publish an advisory on the bus. */
  advisory(subject: string, body: Record<string, unknown>): void {
    if (!this.bus.hasInterest(subject)) return;
    this.bus.publish(subject, "", null, Buffer.from(JSON.stringify(body)));
  }

  /** Close every store (data stays on disk), after writing consumer state. */
  async close(): Promise<void> {
    this.unsubApi?.();
    this.unsubDirect?.();
    this.unsubReplay?.();
    // Creates, updates and deletes under way finish first, so none is left half done.
    await this.locks.idle();
    for (const e of this.streams.values()) for (const c of e.consumers.values()) c.stop(false);
    await this.consumerFiles.close();
    for (const e of this.streams.values()) {
      this.unwire(e);
      await e.stream.store.close();
    }
    this.streams.clear();
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
