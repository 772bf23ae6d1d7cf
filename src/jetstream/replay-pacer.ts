import type { StoredMsg } from "../stores/types.js";
import { clampTimerMs } from "../util/timer.js";
import { systemClock, type Clock, type TimerHandle } from "./clock.js";

/**
 * replay_policy original: the messages stored when the consumer started go out with the gaps they
 * were stored with; once past them (what arrives later), it is delivered as it comes.
 */
export class ReplayPacer {
  /** Still pacing: not yet past `until`. */
  active = true;
  private until = 0;
  private lastTimeNs = 0n;
  private stopped = false;
  /** The wait under way, and how stop() ends it early. */
  private timer: TimerHandle | null = null;
  private wake: (() => void) | null = null;

  constructor(private readonly clock: Clock = systemClock) {}

  /** The consumer starts: pace what is stored now, up to stream sequence `lastSeq`. */
  start(lastSeq: number): void {
    this.until = lastSeq;
  }

  /** How long `msg` waits behind the message sent before it (ms); 0 once pacing ended. */
  gapBefore(msg: StoredMsg): number {
    let gapMs = 0;
    if (msg.seq > this.until) this.active = false;
    else if (this.lastTimeNs > 0n) gapMs = Number(msg.timeNs - this.lastTimeNs) / 1e6;
    this.lastTimeNs = msg.timeNs;
    return gapMs;
  }

  /** Wait `ms` between two replayed messages, however long the gap was; stop() ends the wait. */
  async pause(ms: number): Promise<void> {
    const until = this.clock.now() + ms;
    for (let left = ms; left >= 1 && !this.stopped; left = until - this.clock.now()) {
      await new Promise<void>((r) => {
        this.wake = r;
        this.timer = this.clock.setTimeout(r, clampTimerMs(left));
      });
      this.timer = null;
      this.wake = null;
    }
  }

  /** The consumer stops: end a wait under way. */
  stop(): void {
    this.stopped = true;
    if (this.timer !== null) this.clock.clearTimeout(this.timer);
    this.wake?.();
  }
}
