import { MAX_TIMER_MS, clampTimerMs } from "../util/timer.js";

/** What a connection's timers act on. */
export interface KeepaliveTarget {
  readonly connected: boolean;
  readonly closed: boolean;
  /** Send a PING (the count of unanswered ones is kept here). */
  sendPing(): void;
  /** CONNECT did not come in time (`authorization { timeout }`). */
  authTimedOut(): void;
  /** More PINGs unanswered than `ping_max`. */
  stale(): void;
}

/**
 * A connection's two clocks: the auth timeout (CONNECT due within `authTimeoutMs` when auth is
 * required) and the server's PINGs every `pingIntervalMs`, closing a client that leaves more than
 * `maxPingsOutstanding` unanswered. Intervals past what a Node timer can wait are re-armed for
 * what is left, never turned into Node's 1 ms.
 */
export class Keepalive {
  /** PINGs sent and not yet answered. */
  pingsOut = 0;
  private pingTimer: NodeJS.Timeout | null = null;
  private authTimer: NodeJS.Timeout | null = null;
  /** Only for a ping interval past MAX_TIMER_MS: when the next PING is due (ms), else 0. */
  private pingDueMs = 0;

  constructor(
    private readonly target: KeepaliveTarget,
    private readonly limits: { readonly pingIntervalMs: number; readonly maxPingsOutstanding: number; readonly authTimeoutMs: number },
  ) {}

  start(authRequired: boolean): void {
    if (authRequired) this.armAuthTimer(Date.now() + this.limits.authTimeoutMs);
    const pingMs = this.limits.pingIntervalMs;
    if (pingMs > MAX_TIMER_MS) this.pingDueMs = Date.now() + pingMs;
    this.pingTimer = setInterval(() => this.pingTick(pingMs), clampTimerMs(pingMs));
    this.pingTimer.unref();
  }

  /** CONNECT came: the auth timeout is off. */
  connected(): void {
    if (this.authTimer !== null) clearTimeout(this.authTimer);
    this.authTimer = null;
  }

  /** The client answered a PING. */
  pong(): void {
    this.pingsOut = 0;
  }

  stop(): void {
    if (this.pingTimer !== null) clearInterval(this.pingTimer);
    if (this.authTimer !== null) clearTimeout(this.authTimer);
    this.pingTimer = null;
    this.authTimer = null;
  }

  /** Close the connection if CONNECT has not come by `dueMs`; a longer wait than a timer's is re-armed. */
  private armAuthTimer(dueMs: number): void {
    this.authTimer = setTimeout(() => {
      const t = this.target;
      if (t.connected || t.closed) return;
      if (dueMs - Date.now() >= 1) this.armAuthTimer(dueMs);
      else t.authTimedOut();
    }, clampTimerMs(dueMs - Date.now()));
  }

  private pingTick(intervalMs: number): void {
    if (this.target.closed) return;
    // A ping interval longer than a timer can wait: the ticks until it has passed send nothing.
    if (this.pingDueMs > 0) {
      if (Date.now() < this.pingDueMs) return;
      this.pingDueMs = Date.now() + intervalMs;
    }
    if (this.pingsOut + 1 > this.limits.maxPingsOutstanding) {
      this.target.stale();
      return;
    }
    this.pingsOut++;
    this.target.sendPing();
  }
}
