import type { StoreBackends } from "../stores/catalog-types.js";
import { systemClock, type Clock, type TimerHandle } from "./clock.js";
import type { Consumer } from "./consumer.js";
import type { ConsumerConfig } from "./consumer-config.js";

/**
 * How long a consumer's state may stay unwritten after a change: the bound by which the state in
 * the store lags acknowledgements (plus the time of the write itself). Acks are at least once across
 * a crash: one given in the last CONSUMER_STATE_FLUSH_MS may be lost, and its message delivered
 * again; the stored state is always one the consumer had, never ahead of what was acknowledged.
 */
export const CONSUMER_STATE_FLUSH_MS = 50;
/** After a state write failed (disk full, I/O error), how long before it is tried again. */
export const CONSUMER_STATE_RETRY_MS = 1000;

/**
 * Durable consumers' config and state in their stream's backend (through its ConsumerStore, each
 * write whole and durable): a new consumer's config and state appear together, an update replaces
 * the config, and state changes are gathered and written within CONSUMER_STATE_FLUSH_MS, one write
 * at a time. A state write that fails is reported and tried again CONSUMER_STATE_RETRY_MS later
 * (the store keeps the previous state meanwhile), for as long as the consumer is served.
 * Ephemeral consumers, and durables made with `mem_storage`, keep their state in memory only.
 */
export class ConsumerStateWriter {
  private readonly dirty = new Set<Consumer>();
  /** Consumers whose state is not written now (their stream is being deleted). */
  private readonly held = new Set<Consumer>();
  /** Consumers whose last state write failed; reported once per run of failures. */
  private readonly failing = new Set<Consumer>();
  private timer: TimerHandle | null = null;
  private retryTimer: TimerHandle | null = null;
  private flushing: Promise<void> = Promise.resolve();
  /** State writes that failed (each is retried), since start. */
  stateWriteErrors = 0;

  /**
   * `current`: is this consumer still the one served under its name (not deleted or replaced)?
   * `report`: told when a consumer's state writes start failing (with the error) and when one
   * succeeds again (null); not of every failure in between.
   */
  constructor(
    private readonly backends: StoreBackends,
    private readonly current: (c: Consumer) => boolean,
    private readonly report: (c: Consumer, err: Error | null) => void,
    /** Time as the consumers see it (a manual clock in tests): the flush and retry timers run on it. */
    private readonly clock: Clock = systemClock,
  ) {}

  /** Durable consumers keep config and state in their stream's backend; the rest live in memory only. */
  static persists(c: Consumer): boolean {
    return c.durable && c.config.mem_storage !== true;
  }

  /**
   * Write a new consumer's config and state, together (create), and give the consumer its store.
   * Throws when they could not be written.
   */
  async create(c: Consumer): Promise<void> {
    if (!ConsumerStateWriter.persists(c)) return;
    c.store = await this.backends[c.stream.config.storage].createConsumer(c.stream.name, c.name, c.config, c.created, c.state());
  }

  /** Replace a consumer's config with `config` (update). Throws when it could not be written (the old one stays). */
  async saveConfig(c: Consumer, config: ConsumerConfig): Promise<void> {
    await c.store?.updateConfig(config, c.created);
  }

  /** Write this consumer's state soon. */
  changed(c: Consumer): void {
    if (c.store === null) return;
    this.dirty.add(c);
    this.arm(CONSUMER_STATE_FLUSH_MS);
  }

  private arm(ms: number): void {
    if (this.timer !== null) return;
    this.timer = this.clock.setTimeout(() => {
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
   * Remove a consumer's config and state (delete; hold it first). Throws when they could not be
   * removed; then `exists` tells whether they are still in place.
   */
  async remove(c: Consumer): Promise<void> {
    await c.store?.delete();
  }

  /** Are this consumer's config and state in its store? */
  async exists(c: Consumer): Promise<boolean> {
    return (await c.store?.exists()) === true;
  }

  /** Write every pending state now and stop the timer (shutdown); a failure is reported, not retried. */
  async close(): Promise<void> {
    for (const t of [this.timer, this.retryTimer]) if (t !== null) this.clock.clearTimeout(t);
    this.timer = null;
    this.retryTimer = null;
    await this.flushing;
    await this.flush(false);
  }

  private async flush(retry: boolean): Promise<void> {
    const list = [...this.dirty];
    this.dirty.clear();
    for (const c of list) {
      const store = c.store;
      if (!this.current(c) || this.held.has(c) || store === null) continue;
      try {
        await store.writeState(c.state());
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
    this.retryTimer = this.clock.setTimeout(() => {
      this.retryTimer = null;
      for (const c of this.failing) this.dirty.add(c);
      this.arm(0);
    }, CONSUMER_STATE_RETRY_MS);
  }
}
