import type { Clock, TimerHandle } from "../../src/jetstream/clock.js";

interface ManualTimer {
  readonly clockTimer: true;
  atMs: number;
  /** Order of arming: timers due at the same time run in the order they were set. */
  order: number;
  fn: () => void;
}

/**
 * A Clock that moves only when told (`advance`), running the timers that fall due on the way in
 * time order, each with `now()` at its own due time. For unit tests of ack waits, backoff,
 * redelivery and heartbeats without sleeping.
 */
export class ManualClock implements Clock {
  private nowMs: number;
  private timers: ManualTimer[] = [];
  private armed = 0;

  constructor(startMs = 1_700_000_000_000) {
    this.nowMs = startMs;
  }

  now(): number {
    return this.nowMs;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const t: ManualTimer = { clockTimer: true, atMs: this.nowMs + Math.max(0, ms), order: this.armed++, fn };
    this.timers.push(t);
    return t;
  }

  clearTimeout(t: TimerHandle): void {
    this.timers = this.timers.filter((x) => x !== t);
  }

  /** Timers armed and not yet run. */
  get pendingTimers(): number {
    return this.timers.length;
  }

  /** Move time forward by `ms`, running every timer due by then (including ones those arm). */
  advance(ms: number): void {
    const until = this.nowMs + ms;
    for (;;) {
      let next: ManualTimer | undefined;
      for (const t of this.timers) if (t.atMs <= until && (next === undefined || t.atMs < next.atMs || (t.atMs === next.atMs && t.order < next.order))) next = t;
      if (next === undefined) break;
      this.timers = this.timers.filter((x) => x !== next);
      this.nowMs = Math.max(this.nowMs, next.atMs);
      next.fn();
    }
    this.nowMs = until;
  }
}
