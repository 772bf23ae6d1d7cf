import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

/**
 * Memory handed back once a burst of traffic is over.
 *
 * While messages flow, V8 grows its young generation (up to 48 MB here) and promotes what is in
 * flight (publishes waiting for their fsync, acks waiting for their flush) to the old one; when the
 * traffic stops nothing allocates, so no collection runs, and the process keeps that size for as
 * long as it is idle (seen here after 10 M publishes: RSS 131 MB 20 s after the last one, of which
 * 56 MB V8 heap with 12 MB in use). Go's runtime, under nats-server, hands such memory back by itself.
 * So the server owning the process checks every IDLE_TRIM_CHECK_MS: when no message was routed
 * since the last check and at least IDLE_TRIM_AFTER_MSGS were since the last collection, it runs one
 * full collection, in which V8 also shrinks the young generation (measured here: 22 ms, RSS 131 ->
 * 89 MB). An idle server pays it once per burst; a busy one never.
 *
 * Only `cuebus server` does this: a process embedding the server (startServer) keeps its own policy.
 */
export const IDLE_TRIM_CHECK_MS = 5000;
/** Messages routed since the last collection that make an idle spell worth one. */
export const IDLE_TRIM_AFTER_MSGS = 100_000;

/** Decides when a collection is due, from a count of routed messages read at each check. */
export class IdleTrim {
  private lastCount = -1;
  private countAtTrim = 0;
  private timer: NodeJS.Timeout | null = null;

  /**
   * `activity`: a count that only grows while messages are routed (in + out); `collect`: runs one
   * full collection.
   */
  constructor(
    private readonly activity: () => number,
    private readonly collect: () => void,
  ) {}

  /** Check every `everyMs` from now on (the timer does not keep the process alive). */
  start(everyMs: number = IDLE_TRIM_CHECK_MS): void {
    this.lastCount = this.activity();
    this.countAtTrim = this.lastCount;
    this.timer = setInterval(() => this.check(), everyMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  /** One check: true when it ran a collection. */
  check(): boolean {
    const count = this.activity();
    const idle = count === this.lastCount;
    this.lastCount = count;
    if (!idle || count - this.countAtTrim < IDLE_TRIM_AFTER_MSGS) return false;
    this.countAtTrim = count;
    this.collect();
    return true;
  }
}

let fullGc: (() => void) | null = null;

/**
 * A function running one full, synchronous collection. V8 exposes `gc` only to contexts made after
 * `--expose-gc` is set: the flag is set at the first call and the function taken from a new context
 * (the main context's globals are left as they are).
 */
export function fullCollection(): () => void {
  if (fullGc === null) {
    setFlagsFromString("--expose-gc");
    fullGc = runInNewContext("gc") as () => void;
  }
  return fullGc;
}
