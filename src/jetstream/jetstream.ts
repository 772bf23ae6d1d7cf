import { mkdir, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { FileStore } from "../stores/file/file-store.js";
import { MemoryStore } from "../stores/memory/memory-store.js";
import type { PurgeRequest, StoredMsg, StreamStore } from "../stores/types.js";
import { AdvisorySubjects, advisoryBody } from "./advisories.js";
import type { Bus } from "./bus.js";
import { Consumer, type ConsumerHooks, type DeadLetterReason } from "./consumer.js";
import { ConsumerFiles } from "./consumer-files.js";
import { DEAD_LETTER_METADATA_KEY, checkConsumerUpdate, normalizeConsumerConfig, subjectsIntersect, type ConsumerConfig } from "./consumer-config.js";
import { DEAD_LETTER_REPLAY_PREFIX, deadLetterHeaders, replayHeaders } from "./dead-letter.js";
import { handleDirectGet } from "./direct-get.js";
import { jsError, type JsApiError } from "./errors.js";
import { subjectsOverlap } from "./overlap.js";
import { Stream, storeLimitsOf, type AckSink } from "./stream.js";
import { normalizeStreamConfig, sameConfig, type StreamConfig } from "./stream-config.js";
import { handleApi } from "./api/router.js";
import type { ConsumerAction } from "./api/context.js";
import { DLQ_REPLAY_REQUEST, decodeApiBody } from "./api/request-schema.js";
import { writeDecimal } from "../util/decimal.js";

/** JetStream options. */
export interface JetStreamOptions {
  /** Where file streams live: `<storeDir>/jetstream/<stream>/`. */
  storeDir: string;
  /** File store durability mode (see stores/file). */
  sync?: "always" | "interval";
  /** With `interval`: ms between background fsyncs. */
  syncIntervalMs?: number;
}

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

/** How often a stream with max_age checks for expired messages, at most and at least. */
const EXPIRY_CHECK_MIN_MS = 50;
const EXPIRY_CHECK_MAX_MS = 1000;

/** Streams and the `$JS.API` they answer; an internal client of the router. */
export class JetStream implements ConsumerHooks {
  readonly streams = new Map<string, StreamEntry>();
  apiTotal = 0;
  apiErrors = 0;
  /** Told the duration of every durable batch write of the file streams (set by `/metrics`; null = not timed). */
  fsyncObserver: ((seconds: number) => void) | null = null;
  /** One function for every file store, so a store opened before the observer is set still reports to it. */
  private readonly observeSync = (seconds: number): void => this.fsyncObserver?.(seconds);
  private unsubApi: (() => void) | null = null;
  private unsubDirect: (() => void) | null = null;
  private unsubReplay: (() => void) | null = null;
  /** Durable consumers' config and state on disk. */
  private readonly consumerFiles: ConsumerFiles;

  private readonly flushBus = (): void => this.bus.flush();

  constructor(
    readonly bus: Bus,
    readonly opts: JetStreamOptions,
  ) {
    this.consumerFiles = new ConsumerFiles(this.root, (c) => this.streams.get(c.stream.name)?.consumers.get(c.name) === c);
  }

  private get root(): string {
    return join(this.opts.storeDir, "jetstream");
  }

  /** Recover file streams from disk and start answering `$JS.API.>`. */
  async start(): Promise<void> {
    await mkdir(this.root, { recursive: true });
    for (const name of await readdir(this.root)) {
      const meta = join(this.root, name, "meta.json");
      let text: string;
      try {
        text = await readFile(meta, "utf8");
      } catch {
        continue;
      }
      const m = JSON.parse(text) as { config: unknown; created: string };
      const cfg = normalizeStreamConfig(m.config, { recovering: true });
      if ("err_code" in cfg) continue;
      const stream = await this.open(cfg, new Date(m.created));
      await stream.rebuildDedup();
      await this.recoverConsumers(name);
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
      const body = Buffer.from(data);
      handleApi(this, subject, body).then(
        (res) => {
          this.apiTotal++;
          if ("error" in res) this.apiErrors++;
          this.bus.publish(reply, "", null, Buffer.from(JSON.stringify(res)));
        },
        (err: unknown) => {
          this.apiErrors++;
          const e = jsError("BadRequest");
          e.description = err instanceof Error ? err.message : String(err);
          this.bus.publish(reply, "", null, Buffer.from(JSON.stringify({ error: e })));
        },
      );
    });
  }

  /** Create (or open) a stream's store and wire its subjects. */
  private async open(cfg: StreamConfig, created: Date): Promise<Stream> {
    let store: StreamStore;
    if (cfg.storage === "memory") store = new MemoryStore(storeLimitsOf(cfg));
    else store = await FileStore.open({ dir: join(this.root, cfg.name, "msgs"), limits: storeLimitsOf(cfg), sync: this.opts.sync ?? "always", syncIntervalMs: this.opts.syncIntervalMs, observeSyncSeconds: this.observeSync });
    const stream = new Stream(cfg, store, created);
    const entry: StreamEntry = { stream, consumers: new Map(), unsubscribe: [], expiry: null };
    this.wire(entry);
    this.streams.set(cfg.name, entry);
    return stream;
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
    }, every);
    entry.expiry.unref();
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

  private async persist(stream: Stream): Promise<void> {
    if (stream.config.storage !== "file") return;
    const dir = join(this.root, stream.name);
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, "meta.json"), JSON.stringify({ config: stream.config, created: stream.created.toISOString() }));
  }

  /** `STREAM.CREATE`: idempotent for the same config. */
  async createStream(cfg: StreamConfig): Promise<{ entry: StreamEntry; created: boolean } | JsApiError> {
    const existing = this.streams.get(cfg.name);
    if (existing !== undefined) {
      if (sameConfig(existing.stream.config, cfg)) return { entry: existing, created: false };
      return jsError("StreamNameExist");
    }
    if (cfg.sealed) return jsError("StreamInvalidConfig", { err: "stream configuration for create can not be sealed" });
    if (this.overlaps(cfg)) return jsError("StreamSubjectOverlap");
    const stream = await this.open(cfg, new Date());
    await this.persist(stream);
    return { entry: this.streams.get(cfg.name) as StreamEntry, created: true };
  }

  /** `STREAM.UPDATE`. */
  async updateStream(cfg: StreamConfig): Promise<StreamEntry | JsApiError> {
    const entry = this.streams.get(cfg.name);
    if (entry === undefined) return jsError("StreamNotFound");
    const old = entry.stream.config;
    if (old.storage !== cfg.storage) return jsError("StreamInvalidConfig", { err: "stream configuration update can not change storage type" });
    if (old.sealed && !cfg.sealed) return jsError("StreamUpdate", { err: "stream configuration update can not unseal a sealed stream" });
    if (this.overlaps(cfg)) return jsError("StreamSubjectOverlap");
    entry.stream.config = cfg;
    await entry.stream.store.setLimits(storeLimitsOf(cfg));
    this.wire(entry);
    await this.persist(entry.stream);
    return entry;
  }

  /** `STREAM.DELETE`: the stream and its data. */
  async deleteStream(name: string): Promise<boolean> {
    const entry = this.streams.get(name);
    if (entry === undefined) return false;
    for (const u of entry.unsubscribe) u();
    if (entry.expiry !== null) clearInterval(entry.expiry);
    for (const c of entry.consumers.values()) {
      c.stop(true);
      await this.consumerFiles.forget(c);
    }
    entry.consumers.clear();
    this.streams.delete(name);
    await entry.stream.store.close();
    await rm(join(this.root, name), { recursive: true, force: true });
    return true;
  }

  private overlaps(cfg: StreamConfig): boolean {
    for (const [name, e] of this.streams) {
      if (name === cfg.name) continue;
      for (const a of e.stream.config.subjects) for (const b of cfg.subjects) if (subjectsOverlap(a, b)) return true;
    }
    return false;
  }

  /** `STREAM.PURGE`; a purge that is not filtered moves consumers past what it removed. */
  async purgeStream(name: string, req: PurgeRequest): Promise<number> {
    const e = this.streams.get(name);
    if (e === undefined) return 0;
    const n = await e.stream.store.purge(req);
    if (req.filter === undefined) {
      const st = e.stream.store.state();
      const first = st.messages === 0 ? st.lastSeq + 1 : st.firstSeq;
      for (const c of e.consumers.values()) c.purged(first);
    }
    return n;
  }

  // ---- consumers ----------------------------------------------------------------------------

  /** CONSUMER.CREATE in all its forms: a new consumer, or an allowed update of an existing one. */
  async createConsumer(streamName: string, cfg: ConsumerConfig, action: ConsumerAction): Promise<Consumer | JsApiError> {
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
        existing.config = cfg;
        await this.consumerFiles.save(existing);
        existing.kick();
        return existing;
      }
      return typeof verdict === "string" ? jsError("ConsumerCreate", { err: verdict }) : verdict;
    }
    if (action === "update") return jsError("ConsumerDoesNotExist");
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
      await this.consumerFiles.save(c);
    } catch (err) {
      return jsError("ConsumerStoreFailed", { err: err instanceof Error ? err.message : String(err) });
    }
    e.consumers.set(name, c);
    c.start();
    this.advisory(`${AdvisorySubjects.created}.${streamName}.${name}`, advisoryBody("consumer_action", streamName, name, { action: "create" }));
    return c;
  }

  /** CONSUMER.DELETE. */
  async deleteConsumer(streamName: string, name: string): Promise<boolean> {
    const e = this.streams.get(streamName);
    const c = e?.consumers.get(name);
    if (e === undefined || c === undefined) return false;
    c.stop(true);
    e.consumers.delete(name);
    await this.consumerFiles.remove(c);
    this.advisory(`${AdvisorySubjects.deleted}.${streamName}.${name}`, advisoryBody("consumer_action", streamName, name, { action: "delete" }));
    return true;
  }

  /** Serve again the consumers a recovered stream left on disk. */
  private async recoverConsumers(streamName: string): Promise<void> {
    const e = this.streams.get(streamName) as StreamEntry;
    for (const saved of await this.consumerFiles.list(streamName)) {
      try {
        const cfg = normalizeConsumerConfig(saved.config, e.stream.config, { recovering: true });
        if ("err_code" in cfg) continue;
        const c = new Consumer(e.stream, cfg, saved.name, saved.created, this.bus, this, saved.state);
        if (saved.state === null) await c.selectStart();
        e.consumers.set(saved.name, c);
        c.start();
      } catch {
        // A consumer whose files cannot be used is left on disk and not served.
      }
    }
  }

  /** ConsumerHooks: remember to write this consumer's state soon. */
  changed(c: Consumer): void {
    this.consumerFiles.changed(c);
  }

  /** ConsumerHooks: an ephemeral consumer nobody uses any more. */
  inactive(c: Consumer): void {
    void this.deleteConsumer(c.stream.name, c.name);
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
    for (const e of this.streams.values()) for (const c of e.consumers.values()) c.stop(false);
    await this.consumerFiles.close();
    for (const e of this.streams.values()) {
      for (const u of e.unsubscribe) u();
      if (e.expiry !== null) clearInterval(e.expiry);
      await e.stream.store.close();
    }
    this.streams.clear();
  }
}

function filtersOf(c: ConsumerConfig): string[] {
  return c.filter_subjects ?? (c.filter_subject !== undefined ? [c.filter_subject] : []);
}

/** Keep `name` where nats-server prints it (after durable_name) when we fill it in. */
function reorder(c: ConsumerConfig): ConsumerConfig {
  const { durable_name, name, ...rest } = c;
  return { ...(durable_name !== undefined ? { durable_name } : {}), ...(name !== undefined ? { name } : {}), ...rest } as ConsumerConfig;
}
