import type { CatalogDamage, StoreBackends } from "../stores/catalog-types.js";
import type { StreamStore } from "../stores/types.js";
import { clampTimerMs } from "../util/timer.js";
import type { Bus } from "./bus.js";
import { systemClock, type Clock, type TimerHandle } from "./clock.js";
import type { Consumer } from "./consumer.js";
import { publishAckSink, type DirectRepliesSlot } from "./publish-ack.js";
import { Republisher } from "./republish.js";
import { Stream, storeLimitsOf } from "./stream.js";
import type { StreamConfig } from "./stream-config.js";
import { writeToStream } from "./stream-write.js";

/**
 * A stream or consumer found on disk at start and not served, because a metadata file of it is
 * damaged (not JSON, wrong shape, a config that no longer validates) or its store could not be
 * opened. Its files are left as they are; `/jsz` lists these as `unloaded`.
 */
export type UnloadedEntry = CatalogDamage;

/** A served stream, its consumers, and what connects it to the bus. */
export interface StreamEntry {
  stream: Stream;
  consumers: Map<string, Consumer>;
  unsubscribe: Array<() => void>;
  /** The next check for messages past max_age (re-armed each time it runs). */
  expiry: TimerHandle | null;
}

/** Where the registry reports, and how publish acks name the domain. */
export interface RegistryOptions {
  /** Told what an operator must know, one line each. */
  warn: (line: string) => void;
  /** The JetStream domain, named in every publish ack as nats-server names it; undefined without one. */
  domain?: string | undefined;
}

/** How often a stream with max_age checks for expired messages, at most and at least. */
const EXPIRY_CHECK_MIN_MS = 50;
const EXPIRY_CHECK_MAX_MS = 1000;

/**
 * The streams JetStream serves, by name, and what connects each to the bus while it is served:
 * a subscription per subject that takes its publishes, its publish-ack sink, and its max_age
 * expiry timer. Also how a stream's store is opened (by its backend), and the streams and consumers
 * found in a catalog and not served (`unloaded`).
 */
export class StreamRegistry {
  readonly streams = new Map<string, StreamEntry>();
  /** Streams and consumers on disk that were not loaded at start, and why (see UnloadedEntry). */
  readonly unloaded: UnloadedEntry[] = [];
  private readonly flushBus = (): void => this.bus.flush();
  /** Acks to reply subjects an in-process publisher handles itself (see DirectReplies). */
  readonly directReplies: DirectRepliesSlot = { current: null };

  constructor(
    private readonly bus: Bus,
    /** The backends streams are kept in, by `storage`. */
    readonly backends: StoreBackends,
    private readonly opts: RegistryOptions,
    /** The clock the max_age checks run on (a manual clock in tests). */
    private readonly clock: Clock = systemClock,
  ) {}

  /** Remember and report a stream or consumer that is not served because of its files. */
  notLoaded(d: UnloadedEntry): void {
    this.unloaded.push(d);
    const what = d.consumer === undefined ? `stream "${d.stream}"` : `consumer "${d.stream} > ${d.consumer}"`;
    this.opts.warn(`JetStream: ${what} not loaded: ${d.file}: ${d.reason} (its files are left as they are)`);
  }

  /** Is this stream (consumer undefined) or this consumer on disk and not loaded? */
  isUnloaded(stream: string, consumer: string | undefined): boolean {
    return this.unloaded.some((u) => u.stream === stream && u.consumer === consumer);
  }

  /** A stream's directory went: so did the files of it (and its consumers) that were not loaded. */
  forgetUnloaded(stream: string): void {
    for (let i = this.unloaded.length - 1; i >= 0; i--) if (this.unloaded[i]?.stream === stream) this.unloaded.splice(i, 1);
  }

  /** Open (or create) the message store of a stream in its backend's catalog. */
  openStore(cfg: StreamConfig): Promise<StreamStore> {
    return this.backends[cfg.storage].openStream(cfg.name, storeLimitsOf(cfg));
  }

  /** Serve a stream whose store is open: wire its subjects and list it. */
  register(cfg: StreamConfig, store: StreamStore, created: Date): StreamEntry {
    const stream = new Stream(cfg, store, created);
    const entry: StreamEntry = { stream, consumers: new Map(), unsubscribe: [], expiry: null };
    this.wire(entry);
    this.streams.set(cfg.name, entry);
    return entry;
  }

  /** Stop serving a stream and close its store (its files stay); its consumers must be stopped already. */
  async closeEntry(name: string): Promise<void> {
    const e = this.streams.get(name);
    if (e === undefined) return;
    this.streams.delete(name);
    this.unwire(e);
    await e.stream.store.close();
  }

  /** Stop serving every stream and close their stores (shutdown; consumers stopped already). */
  async closeAll(): Promise<void> {
    for (const e of this.streams.values()) {
      this.unwire(e);
      await e.stream.store.close();
    }
    this.streams.clear();
  }

  /**
   * (Re)arm the max_age check: every quarter of max_age, within [50 ms, 1 s]. Each check arms the
   * next before it starts, so they keep that pace however long a store takes to expire.
   */
  private armExpiry(entry: StreamEntry): void {
    this.stopExpiry(entry);
    const maxAgeMs = entry.stream.config.max_age / 1e6;
    if (maxAgeMs <= 0) return;
    const everyMs = clampTimerMs(Math.min(EXPIRY_CHECK_MAX_MS, Math.max(EXPIRY_CHECK_MIN_MS, maxAgeMs / 4)));
    const check = (): void => {
      entry.expiry = this.clock.setTimeout(check, everyMs);
      entry.stream.store.expire().catch(() => 0);
    };
    entry.expiry = this.clock.setTimeout(check, everyMs);
  }

  private stopExpiry(entry: StreamEntry): void {
    if (entry.expiry !== null) this.clock.clearTimeout(entry.expiry);
    entry.expiry = null;
  }

  /** Stop a stream taking publishes and expiring messages (its subscriptions and expiry timer go). */
  unwire(entry: StreamEntry): void {
    for (const u of entry.unsubscribe) u();
    entry.unsubscribe = [];
    this.stopExpiry(entry);
  }

  /** Take publishes on the stream's subjects (as its config says now) and expire by its max_age. */
  wire(entry: StreamEntry): void {
    this.armExpiry(entry);
    const stream = entry.stream;
    const sink = publishAckSink(this.bus, stream.name, this.opts.domain, this.directReplies);
    stream.setAckSink(sink, this.flushBus);
    stream.setRepublisher(Republisher.of(stream.name, stream.config.republish, this.bus));
    for (const u of entry.unsubscribe) u();
    entry.unsubscribe = stream.config.subjects.map((s) =>
      this.bus.subscribe(s, "", (subject, reply, headers, data) => {
        if (subject.startsWith("$JS.API.")) return;
        if (stream.config.retention !== "interest") {
          stream.accept(subject, reply, headers, data);
          return;
        }
        void writeToStream(entry, subject, headers, data).then((r) => {
          if ("error" in r) sink(reply, 0, false, r.error);
          else sink(reply, r.seq, r.duplicate, null);
        });
      }),
    );
  }
}
