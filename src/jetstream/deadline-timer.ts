import { clampTimerMs } from "../util/timer.js";
import type { Clock, TimerHandle } from "./clock.js";

/**
 * A timer for a deadline that may lie further ahead than Node's timers wait (MAX_TIMER_MS: a
 * client's idle_heartbeat or inactive_threshold can be int64 nanoseconds): each wait is clamped,
 * and a wait that ends before the deadline arms itself again for what is left, so `due` runs
 * once, at the deadline. The timer does not keep the process alive.
 */
export class DeadlineTimer {
  private timer: TimerHandle | null = null;
  /** When `due` runs (ms since the epoch). */
  private dueMs = 0;

  constructor(
    private readonly clock: Clock,
    private readonly due: () => void,
  ) {}

  /** Run `due` at `atMs` (ms since the epoch), instead of at any deadline set before. */
  set(atMs: number): void {
    this.dueMs = atMs;
    this.arm();
  }

  /** Forget the deadline. */
  clear(): void {
    if (this.timer !== null) this.clock.clearTimeout(this.timer);
    this.timer = null;
  }

  private arm(): void {
    if (this.timer !== null) this.clock.clearTimeout(this.timer);
    this.timer = this.clock.setTimeout(this.onTimer, clampTimerMs(this.dueMs - this.clock.now()));
  }

  private readonly onTimer = (): void => {
    this.timer = null;
    // A deadline further than a timer can wait: this was a stop on the way.
    if (this.dueMs - this.clock.now() >= 1) {
      this.arm();
      return;
    }
    this.due();
  };
}
