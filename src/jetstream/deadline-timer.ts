import { clampTimerMs } from "../util/timer.js";

/**
 * A timer for a deadline that may lie further ahead than Node's timers wait (MAX_TIMER_MS: a
 * client's idle_heartbeat or inactive_threshold can be int64 nanoseconds): each wait is clamped,
 * and a wait that ends before the deadline arms itself again for what is left, so `due` runs
 * once, at the deadline. The timer does not keep the process alive.
 */
export class DeadlineTimer {
  private timer: NodeJS.Timeout | null = null;
  /** When `due` runs (ms since the epoch). */
  private dueMs = 0;

  constructor(private readonly due: () => void) {}

  /** Run `due` at `atMs` (ms since the epoch), instead of at any deadline set before. */
  set(atMs: number): void {
    this.dueMs = atMs;
    this.arm();
  }

  /** Forget the deadline. */
  clear(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  private arm(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = setTimeout(this.onTimer, clampTimerMs(this.dueMs - Date.now()));
    this.timer.unref();
  }

  private readonly onTimer = (): void => {
    this.timer = null;
    // A deadline further than a timer can wait: this was a stop on the way.
    if (this.dueMs - Date.now() >= 1) {
      this.arm();
      return;
    }
    this.due();
  };
}
