import type { StoreWriteState } from "../types.js";

/**
 * How long a file store waits before it tries to write again after a failed write (a full disk,
 * say): one step per failed attempt in a row, the last step repeating until a write succeeds.
 * Meanwhile appends are refused at once, so a publisher hears why without the disk being tried
 * for each publish; the first batch of changes after the wait is the retry. (A stream nobody
 * publishes to stays reported until its next publish: no write is made just to find out.)
 */
export const WRITE_RETRY_BACKOFF_MS: readonly number[] = [100, 250, 500, 1000, 2000, 5000];

/**
 * Where a file store reports, one line each, that its writes started failing and that they succeed
 * again (JetStream hands it its `warn`: the CLI's log, or stderr when embedded).
 */
export type StoreLog = (line: string) => void;

export interface WriteOutageOptions {
  /** Names the store in log lines (its directory). */
  what: string;
  backoffMs: readonly number[];
  log: StoreLog;
  /** Called when a wait is over: the store repairs itself if the last try failed; appends are taken again. */
  retry: () => void;
}

/**
 * A file store's write outage, while it lasts: why writes fail, since when, the backoff before
 * the next attempt and its timer, the failed writes counted, and one log line when it starts and
 * one when it ends. The store keeps what is on disk and in memory right; this keeps time and tells.
 */
export class WriteOutage {
  /** The last write error of the outage; null while writes succeed. */
  error: Error | null = null;
  /** Writes that failed since the store was opened (batches, and the cuts back after them). */
  failedWrites = 0;
  private sinceMs = 0;
  /** Failed attempts in a row (the first write, then each retry). */
  private attempts = 0;
  /** The backoff timer, while the store waits (its firing, not the clock, ends the wait). */
  private timer: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(private readonly opts: WriteOutageOptions) {}

  /** The wait after the last failed attempt is over (appends may be taken: they are the retry). */
  get waited(): boolean {
    return this.timer === null;
  }

  /** A write, or the repair after one, failed: start (or go on with) the outage and wait the next step. */
  failed(err: Error): void {
    const backoff = this.opts.backoffMs;
    const delayMs = backoff[Math.min(this.attempts, backoff.length - 1)] ?? 0;
    this.attempts++;
    if (this.error === null) {
      this.sinceMs = Date.now();
      this.opts.log(`JetStream store ${this.opts.what}: write failed, publishes are refused until a write succeeds again (retried with backoff, first in ${delayMs} ms): ${err.message}`);
    }
    this.error = err;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    if (this.closed) return;
    this.timer = setTimeout(this.fire, delayMs);
    this.timer.unref();
  }

  /** A batch of changes was written after an outage. */
  recovered(): void {
    if (this.error === null) return;
    const seconds = ((Date.now() - this.sinceMs) / 1000).toFixed(1);
    this.opts.log(`JetStream store ${this.opts.what}: writes succeed again after ${seconds} s and ${this.attempts} failed attempts`);
    this.error = null;
    this.attempts = 0;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  /** What `/healthz` and `/metrics` report. */
  state(): StoreWriteState {
    return { error: this.error === null ? null : this.error.message, failingSinceMs: this.error === null ? 0 : this.sinceMs, failedWrites: this.failedWrites };
  }

  close(): void {
    this.closed = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  private readonly fire = (): void => {
    this.timer = null;
    if (!this.closed && this.error !== null) this.opts.retry();
  };
}
