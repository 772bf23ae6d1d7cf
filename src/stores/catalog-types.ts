import type { StoreLimits, StreamStore } from "./types.js";

/**
 * The other half of the store interface: where a backend keeps its stream catalog (each stream's
 * config and creation time) and its durable consumers (config, creation time and state), beside
 * the messages a StreamStore keeps. Modelled on what nats-server's `server/store.go` asks of a
 * backend (StreamStore.ConsumerStore, ConsumerStore), not on its code. `jetstream/` reaches
 * persistence only through these interfaces and StreamStore; a backend (memory, file, postgres) is
 * one folder implementing them, and `tests/unit/stores/catalog-conformance.ts` is the suite each
 * passes.
 *
 * Every method that writes resolves only once the change is as durable as the backend promises
 * (the file backend: fsynced and atomic; postgres: committed), and rejects, changing nothing,
 * when it could not be made. Every method is async, so a backend may be a database.
 *
 * What is durable, and when (the contract `jetstream/` keeps, see docs/jetstream.md):
 * - A stream whose `createStream` resolved is listed by `streams()` after any crash, until a
 *   `deleteStream` resolves; a `writeStream` that resolved is what is listed (the whole new config,
 *   or, when it rejected, the whole old one).
 * - A consumer whose `createConsumer` resolved is listed with its config and the state given
 *   at create, until its `delete` resolves.
 * - A consumer's state is written behind its changes, at most CONSUMER_STATE_FLUSH_MS
 *   (`jetstream/consumer-state-writer.ts`) after one, whole: what is listed after a crash is a
 *   state the consumer really had, never one ahead of its acknowledgements, and may lag them by
 *   that bound. So acknowledgement is at least once across a crash: a message acknowledged in the
 *   last moments may be delivered again, and one never acknowledged is never taken for acknowledged.
 */

/** A pair of positions: a delivery (consumer) sequence and the stream sequence it delivered. */
export interface SeqPair {
  consumer_seq: number;
  stream_seq: number;
}

/** A consumer's persisted position (nats-server `ConsumerState`, in our own JSON). */
export interface ConsumerState {
  /** The last delivery made, and the stream sequence it delivered. */
  delivered: SeqPair;
  /** Every delivery up to here is acknowledged. */
  ack_floor: SeqPair;
  /** [stream seq, delivery seq, delivered at ms] of every unacknowledged delivery. */
  pending: Array<[number, number, number]>;
  /** [stream seq, redeliveries] of messages redelivered and not acknowledged since. */
  redelivered: Array<[number, number]>;
}

/** An entry of the catalog that could not be used, and why; what it is stored in is left as it is. */
export interface CatalogDamage {
  /** The stream it belongs to. */
  stream: string;
  /** The consumer, when it is a consumer's; `*` when the stream's consumers cannot be listed at all. */
  consumer?: string;
  /** Where it is stored (the file backend: an absolute path), for reports. */
  file: string;
  /** Why it could not be used (`not JSON: ...`, `wrong shape: ...`, a read error). */
  reason: string;
}

/** Entries read from the catalog, and those that could not be. */
export interface CatalogListing<T> {
  entries: T[];
  damage: CatalogDamage[];
}

/** A stream as the catalog keeps it. Its config is returned as stored: JetStream validates it. */
export interface StoredStream {
  /** The name it was created under. */
  name: string;
  config: unknown;
  created: Date;
  /** Where its metadata is stored, for reports. */
  file: string;
}

/** A durable consumer as the catalog keeps it. */
export interface StoredConsumer {
  /** The name it was created under. */
  name: string;
  config: unknown;
  created: Date;
  /** Its state, checked field by field (see parseConsumerState); null when none was written (a crash at create). */
  state: ConsumerState | null;
  /** Where its config is stored, for reports. */
  metaFile: string;
}

/**
 * One durable consumer's config and state in a backend. A `ConsumerStore` is handed out by its
 * backend (`createConsumer`, `openConsumer`) and is the only way to change what is stored of it.
 */
export interface ConsumerStore {
  readonly stream: string;
  readonly name: string;
  /** Replace the stored config (update). Rejects, keeping the old one, when it cannot be written. */
  updateConfig(config: unknown, created: Date): Promise<void>;
  /**
   * Replace the stored state with `state`, whole. Rejects, keeping the previous state, when it
   * cannot be written. Callers write at most one state at a time per consumer.
   */
  writeState(state: ConsumerState): Promise<void>;
  /** Remove config and state. Rejects when that failed; `exists` then tells whether they are still there. */
  delete(): Promise<void>;
  /** Are this consumer's config and state stored? */
  exists(): Promise<boolean>;
}

/**
 * A backend's catalog: its streams (config, creation time, and the StreamStore of their messages)
 * and their durable consumers.
 */
export interface StoreBackend {
  /** The stream `storage` this backend serves. */
  readonly kind: "file" | "memory";
  /**
   * Every stream in the catalog. An entry that cannot be read is reported in `damage` and left
   * as it is; what interrupted writes left behind is cleaned away.
   */
  streams(): Promise<CatalogListing<StoredStream>>;
  /** Is a stream by this name in the catalog (listed, or damaged)? */
  hasStream(name: string): Promise<boolean>;
  /** Add a stream's config to the catalog. Rejects, adding nothing, when it exists or cannot be written. */
  createStream(name: string, config: unknown, created: Date): Promise<void>;
  /** Open (or create, empty) the message store of a stream in the catalog, with these limits. */
  openStream(name: string, limits: StoreLimits): Promise<StreamStore>;
  /** Replace a stream's config (update). Rejects, keeping the old one, when it cannot be written. */
  updateStream(name: string, config: unknown, created: Date): Promise<void>;
  /**
   * Remove a stream: its config, messages and consumers, at once (after a crash, all of it is
   * there or none). Close its StreamStore first, or let its writes settle.
   */
  deleteStream(name: string): Promise<void>;
  /** A stream's durable consumers; damaged ones are reported in `damage`, not returned. */
  consumers(stream: string): Promise<CatalogListing<StoredConsumer>>;
  /**
   * Add a durable consumer with its config and first state, together (after a crash, both or
   * neither). Rejects, adding nothing, when it cannot be written.
   */
  createConsumer(stream: string, name: string, config: unknown, created: Date, state: ConsumerState): Promise<ConsumerStore>;
  /** The store of a consumer `consumers` listed. */
  openConsumer(stream: string, name: string): ConsumerStore;
}

/** The backends JetStream serves streams from, by the stream config's `storage`. */
export interface StoreBackends {
  readonly file: StoreBackend;
  readonly memory: StoreBackend;
}

/** How the file backend opens its stores, and where it reports. */
export interface BackendOptions {
  /** Where the file backend keeps its catalog and messages (`<storeDir>/jetstream/`). */
  storeDir: string;
  /** File store durability mode (see stores/file). */
  sync: "always" | "interval";
  /** With `interval`: ms between background fsyncs. */
  syncIntervalMs: number | undefined;
  /** Told the duration of every durable batch write of a file stream. */
  observeSync: (seconds: number) => void;
  /** Told what an operator must know about a store, one line each. */
  warn: (line: string) => void;
}

const isSeq = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;

function isSeqPair(v: unknown): boolean {
  if (typeof v !== "object" || v === null) return false;
  const p = v as Record<string, unknown>;
  return isSeq(p["consumer_seq"]) && isSeq(p["stream_seq"]);
}

/** A stored consumer state, checked field by field (every backend reads what it stored through this); a string says what is wrong. */
export function parseConsumerState(v: unknown): ConsumerState | string {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return "wrong shape: not a JSON object";
  const s = v as Record<string, unknown>;
  if (!isSeqPair(s["delivered"])) return "wrong shape: \"delivered\" is not {consumer_seq, stream_seq}";
  if (!isSeqPair(s["ack_floor"])) return "wrong shape: \"ack_floor\" is not {consumer_seq, stream_seq}";
  const pending = s["pending"];
  if (!Array.isArray(pending) || !pending.every((p) => Array.isArray(p) && p.length === 3 && isSeq(p[0]) && isSeq(p[1]) && typeof p[2] === "number" && Number.isFinite(p[2]))) {
    return "wrong shape: \"pending\" is not a list of [stream seq, delivery seq, time]";
  }
  const redelivered = s["redelivered"];
  if (!Array.isArray(redelivered) || !redelivered.every((p) => Array.isArray(p) && p.length === 2 && isSeq(p[0]) && isSeq(p[1]))) {
    return "wrong shape: \"redelivered\" is not a list of [stream seq, count]";
  }
  return s as unknown as ConsumerState;
}
