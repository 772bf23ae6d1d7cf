import type { CatalogDamage, FileCatalog } from "../stores/file/catalog.js";
import type { Consumer, ConsumerState } from "./consumer.js";
import type { ConsumerConfig } from "./consumer-config.js";

/** How long consumer state may stay unwritten after a change (acks are at-least-once across a crash). */
export const CONSUMER_STATE_FLUSH_MS = 50;
/** After a state write failed (disk full, I/O error), how long before it is tried again. */
export const CONSUMER_STATE_RETRY_MS = 1000;

/** What a consumer left on disk: its config as written (normalized by the caller), creation time and state. */
export interface SavedConsumer {
  name: string;
  config: unknown;
  created: Date;
  /** null when there is no state file (a crash at create): the consumer starts from its config. */
  state: ConsumerState | null;
  /** Its meta.json, for reports. */
  metaFile: string;
}

const isSeq = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;

function isSeqPair(v: unknown): boolean {
  if (typeof v !== "object" || v === null) return false;
  const p = v as Record<string, unknown>;
  return isSeq(p["consumer_seq"]) && isSeq(p["stream_seq"]);
}

/** A stored state.json, checked field by field; a string says what is wrong. */
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

/**
 * Durable consumers of file streams on disk, through the file catalog (which writes every file
 * atomically and durably): a new consumer's config and state appear together, an update replaces
 * the config, and state changes are gathered and written within CONSUMER_STATE_FLUSH_MS, one write
 * at a time. A state write that fails is reported and tried again CONSUMER_STATE_RETRY_MS later
 * (the file on disk keeps the previous state meanwhile), for as long as the consumer is served.
 */
export class ConsumerFiles {
  private readonly dirty = new Set<Consumer>();
  /** Consumers whose state is not written now (their stream is being deleted). */
  private readonly held = new Set<Consumer>();
  /** Consumers whose last state write failed; reported once per run of failures. */
  private readonly failing = new Set<Consumer>();
  private timer: NodeJS.Timeout | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> = Promise.resolve();
  /** State writes that failed (each is retried), since start. */
  stateWriteErrors = 0;

  /**
   * `current`: is this consumer still the one served under its name (not deleted or replaced)?
   * `report`: told when a consumer's state writes start failing (with the error) and when one
   * succeeds again (null); not of every failure in between.
   */
  constructor(
    private readonly catalog: FileCatalog,
    private readonly current: (c: Consumer) => boolean,
    private readonly report: (c: Consumer, err: Error | null) => void,
  ) {}

  /** Durable consumers of file streams keep config and state on disk; the rest live in memory. */
  static persists(c: Consumer): boolean {
    return c.stream.config.storage === "file" && c.durable && c.config.mem_storage !== true;
  }

  /** Write a new consumer's config and state, together (create). Throws when they could not be written. */
  async create(c: Consumer): Promise<void> {
    if (!ConsumerFiles.persists(c)) return;
    await this.catalog.createConsumer(c.stream.name, c.name, c.config, c.created, c.state());
  }

  /** Replace a consumer's config with `config` (update). Throws when it could not be written (the old one stays). */
  async saveConfig(c: Consumer, config: ConsumerConfig): Promise<void> {
    if (!ConsumerFiles.persists(c)) return;
    await this.catalog.writeConsumer(c.stream.name, c.name, config, c.created);
  }

  /** Write this consumer's state soon. */
  changed(c: Consumer): void {
    if (!c.durable) return;
    this.dirty.add(c);
    this.arm(CONSUMER_STATE_FLUSH_MS);
  }

  private arm(ms: number): void {
    if (this.timer !== null) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.flushing = this.flushing.then(() => this.flush(true));
    }, ms);
  }

  /** Stop writing this consumer's state until `resume`, and wait for a write in progress. */
  async hold(c: Consumer): Promise<void> {
    this.held.add(c);
    this.dirty.delete(c);
    await this.flushing;
  }

  /** Write this consumer's state again (its stream was not deleted after all). */
  resume(c: Consumer): void {
    if (this.held.delete(c)) this.changed(c);
  }

  /** Stop writing this consumer's state for good, and wait for a write in progress. */
  async forget(c: Consumer): Promise<void> {
    this.dirty.delete(c);
    this.held.delete(c);
    this.failing.delete(c);
    await this.flushing;
  }

  /**
   * Remove a consumer's files (delete; hold it first). Throws when they could not be removed; then
   * `exists` tells whether they are still in place.
   */
  async removeFiles(c: Consumer): Promise<void> {
    if (ConsumerFiles.persists(c)) await this.catalog.removeConsumer(c.stream.name, c.name);
  }

  /** Are this consumer's files on disk? */
  async exists(c: Consumer): Promise<boolean> {
    return ConsumerFiles.persists(c) && (await this.catalog.hasConsumer(c.stream.name, c.name));
  }

  /**
   * The consumers a stream left on disk. Files that cannot be used (missing or damaged config, a
   * damaged state) are reported in `damage` and left on disk; those consumers are not returned.
   */
  async list(stream: string): Promise<{ consumers: SavedConsumer[]; damage: CatalogDamage[] }> {
    const { entries, damage } = await this.catalog.consumers(stream);
    const consumers: SavedConsumer[] = [];
    for (const e of entries) {
      let state: ConsumerState | null = null;
      if (e.state !== null) {
        const s = parseConsumerState(e.state);
        if (typeof s === "string") {
          damage.push({ stream, consumer: e.name, file: e.stateFile, reason: s });
          continue;
        }
        state = s;
      }
      consumers.push({ name: e.name, config: e.config, created: e.created, state, metaFile: e.metaFile });
    }
    return { consumers, damage };
  }

  /** Write every pending state now and stop the timer (shutdown); a failure is reported, not retried. */
  async close(): Promise<void> {
    for (const t of [this.timer, this.retryTimer]) if (t !== null) clearTimeout(t);
    this.timer = null;
    this.retryTimer = null;
    await this.flushing;
    await this.flush(false);
  }

  private async flush(retry: boolean): Promise<void> {
    const list = [...this.dirty];
    this.dirty.clear();
    for (const c of list) {
      if (!this.current(c) || this.held.has(c) || !ConsumerFiles.persists(c)) continue;
      try {
        await this.catalog.writeConsumerState(c.stream.name, c.name, c.state());
        if (this.failing.delete(c)) this.report(c, null);
      } catch (err) {
        // Deleted meanwhile: nothing to keep. Otherwise the old state stays on disk; try again later.
        if (!this.current(c) || this.held.has(c)) continue;
        this.stateWriteErrors++;
        if (!this.failing.has(c)) {
          this.failing.add(c);
          this.report(c, err instanceof Error ? err : new Error(String(err)));
        }
        if (retry) this.armRetry();
      }
    }
  }

  /** Write again, CONSUMER_STATE_RETRY_MS from now, every consumer whose last write failed. */
  private armRetry(): void {
    if (this.retryTimer !== null) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      for (const c of this.failing) this.dirty.add(c);
      this.arm(0);
    }, CONSUMER_STATE_RETRY_MS);
  }
}
