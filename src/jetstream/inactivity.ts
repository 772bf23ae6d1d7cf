import type { Clock } from "./clock.js";
import { DeadlineTimer } from "./deadline-timer.js";

/** What the inactivity check needs of its consumer. */
export interface InactivityHost {
  /** inactive_threshold (ns) as the config says now; 0 or less: never. */
  thresholdNs(): number;
  isClosed(): boolean;
  /**
   * Push consumers: one check of the deliver subject's subscriber (PushDelivery.unusedTwice: true on
   * the second check in a row without one); null for pull consumers.
   */
  pushUnusedTwice: (() => boolean) | null;
  /** Pull requests waiting now. */
  pullsWaiting(): number;
  /** The consumer passed its threshold unused: its owner removes it. */
  inactive(): void;
}

/**
 * Ephemeral consumers (and durables with inactive_threshold) go away when unused that long
 * (nats-server `consumer.go`, ADR-15). Push: checked every half threshold; two checks in a row
 * without a subscriber on the deliver subject remove it (a client reconnecting in between keeps
 * it). Pull: no request and no ack for the threshold, with no request waiting.
 */
export class InactivityCheck {
  private lastActivityMs: number;
  private readonly timer: DeadlineTimer;

  constructor(
    private readonly clock: Clock,
    private readonly host: InactivityHost,
  ) {
    this.lastActivityMs = clock.now();
    this.timer = new DeadlineTimer(clock, () => this.check());
  }

  /** The consumer was used (a delivery, a pull request, an ack) at `nowMs`. */
  touch(nowMs: number = this.clock.now()): void {
    this.lastActivityMs = nowMs;
  }

  /** (Re)start counting from now. */
  arm(): void {
    const t = this.host.thresholdNs();
    if (t <= 0 || this.host.isClosed()) return;
    const ms = t / 1e6;
    this.timer.set(this.clock.now() + (this.host.pushUnusedTwice !== null ? ms / 2 : ms));
  }

  /** The consumer stops. */
  stop(): void {
    this.timer.clear();
  }

  private check(): void {
    if (this.host.isClosed()) return;
    const pushUnused = this.host.pushUnusedTwice;
    if (pushUnused !== null) {
      if (pushUnused()) this.host.inactive();
      else this.arm();
      return;
    }
    const idle = this.clock.now() - this.lastActivityMs;
    if (this.host.pullsWaiting() === 0 && idle >= this.host.thresholdNs() / 1e6) this.host.inactive();
    else this.arm();
  }
}
