/** A timer a Clock armed, to clear it with. */
export type TimerHandle = { readonly clockTimer: true } | NodeJS.Timeout;

/**
 * Time as a consumer sees it: the wall clock in ms and one-shot timers. Injected so that ack
 * waits, naks, backoff, redelivery, heartbeats and inactivity can be tested by moving a manual
 * clock instead of sleeping. Timers never keep the process alive, and callers clamp their delays
 * (clampTimerMs) as they would for Node's own.
 */
export interface Clock {
  /** ms since the epoch (Date.now). */
  now(): number;
  /** Run `fn` once, `ms` from now. */
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(t: TimerHandle): void;
}

/** The clock of the process: Date.now and Node's timers, unref'd. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref();
    return t;
  },
  clearTimeout: (t) => clearTimeout(t as NodeJS.Timeout),
};
