/**
 * The longest delay Node's `setTimeout`/`setInterval` honour: 2^31-1 ms (about 24.8 days). Node
 * replaces a longer delay by 1 ms (with a TimeoutOverflowWarning), and a NaN or negative one by
 * 1 ms without a word. nats-server's durations are int64 nanoseconds (up to about 292 years), and
 * a client may ask for any of them: a consumer with `ack_wait` 9223372036854775807 would have its
 * redelivery timer fire, and re-arm, every millisecond for as long as a message is unacknowledged.
 * Every delay that a client or the configuration can set passes through `clampTimerMs` where its
 * timer is armed; where the wait is a deadline, the timer that fires before it arms itself again
 * for what is left.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * A delay Node's timers keep as asked: at least 1 ms, at most MAX_TIMER_MS. A delay past the
 * limit, Infinity or NaN (a duration that could not be computed) becomes MAX_TIMER_MS: waiting
 * too long is corrected by re-arming, firing every millisecond is not corrected at all. Zero,
 * negatives and fractions below 1 ms become 1 ms, as Node would make them.
 */
export function clampTimerMs(ms: number): number {
  if (ms >= 1 && ms <= MAX_TIMER_MS) return ms;
  if (ms > MAX_TIMER_MS || Number.isNaN(ms)) return MAX_TIMER_MS;
  return 1;
}
