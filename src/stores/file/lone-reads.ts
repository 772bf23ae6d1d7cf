import { readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";

/**
 * Lone reads made on the spot, and when to stop making them.
 *
 * A lone read is one of a record that no read-ahead stretch holds or is bringing in and that does
 * not start where a read before it ended: a direct get of a random sequence, a consumer's first
 * message. The file store makes it on the event loop's thread, a positioned read (`readSync`) of
 * just the record. From the page cache that costs a microsecond or two; through libuv's thread pool
 * it cost a promise, two thread hops and a 4 KiB read each, which held random direct gets from a
 * 2 M-message stream to 0.3x nats-server (bench:scale).
 *
 * On a cold disk the event loop waits for the device instead, and every other client with it: about
 * 0.1 ms a read on an SSD (below LONE_READ_SLOW_MS: still made on the spot; the stall is short and
 * the page cache warms), 1 ms on a network volume, 5-10 ms on a spinning disk. A read slower than
 * LONE_READ_SLOW_MS counts as slow; once more than LONE_READ_SLOW_MAX slow ones fall within
 * LONE_READ_SLOW_WINDOW_MS, and waiting for a CPU does not explain at least half of their time,
 * lone reads go through the thread pool for LONE_READ_PAUSE_MS, then are tried on the spot again.
 * A slow disk thus stalls the event loop for at most LONE_READ_SLOW_MAX + 1 reads per window and
 * pause (50 ms per 2 s on a spinning disk).
 *
 * The time the thread waited for a CPU is asked of Linux (`/proc/thread-self/schedstat`), because a
 * slow read alone does not tell the disk from the scheduler: on a machine with more runnable threads
 * than cores the event loop is pre-empted for 1-3 ms at a time (seen here under other processes'
 * load: dozens of page-cache reads a second taking 0.5-25 ms), and a pacer going by time alone sent
 * lone reads through the thread pool for most of each second. (Bytes the thread had read from the
 * device, /proc/thread-self/io, did not tell either: page faults on Node's own code count there.)
 * Where schedstat cannot be read, slow reads are taken for the disk. The count is shared by every
 * store in the process: they share the disk and the thread.
 */
export const LONE_READ_SLOW_MS = 0.5;
/** Slow lone reads let through per LONE_READ_SLOW_WINDOW_MS; one more may pause lone reads. */
export const LONE_READ_SLOW_MAX = 4;
/** The time slow lone reads are counted over (see LONE_READ_SLOW_MS). */
export const LONE_READ_SLOW_WINDOW_MS = 1000;
/** How long lone reads go through the thread pool once too many were slow. */
export const LONE_READ_PAUSE_MS = 1000;

const SCHEDSTAT = "/proc/thread-self/schedstat";

/**
 * Milliseconds the calling thread has spent runnable but waiting for a CPU (the second field of
 * Linux's schedstat), or -1 where that is not known. Read only around slow lone reads (reading a
 * /proc file takes ~0.05 ms here).
 */
export function threadCpuWaitMs(): number {
  try {
    const text = readFileSync(SCHEDSTAT, "latin1");
    const from = text.indexOf(" ") + 1;
    const ns = Number(text.slice(from, text.indexOf(" ", from)));
    return from > 0 && Number.isFinite(ns) ? ns / 1e6 : -1;
  } catch {
    return -1;
  }
}

/** Whether lone reads are made on the spot now, from how many of the recent ones were slow and why. */
export class LoneReadPacer {
  private slow = 0;
  /** Time taken by the slow reads of the window after its first. */
  private slowMs = 0;
  private windowStartMs = Number.NEGATIVE_INFINITY;
  /** threadCpuWaitMs when the window started (after its first slow read). */
  private windowCpuWaitMs = -1;
  private pausedUntilMs = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly now: () => number = () => performance.now(),
    private readonly cpuWaitMs: () => number = threadCpuWaitMs,
  ) {}

  /**
   * A lone read is about to be made: when it starts (hand that to `ended` once it is made), or -1
   * when lone reads are not made on the spot now.
   */
  started(): number {
    const t = this.now();
    return t >= this.pausedUntilMs ? t : -1;
  }

  /** The lone read that `started` at `t0` is made: count it if it was slow. */
  ended(t0: number): void {
    const t = this.now();
    const took = t - t0;
    if (took <= LONE_READ_SLOW_MS) return;
    if (t - this.windowStartMs > LONE_READ_SLOW_WINDOW_MS) {
      this.windowStartMs = t;
      this.windowCpuWaitMs = this.cpuWaitMs();
      this.slow = 1;
      this.slowMs = 0;
      return;
    }
    this.slowMs += took;
    if (++this.slow <= LONE_READ_SLOW_MAX) return;
    const waitedMs = this.windowCpuWaitMs < 0 ? -1 : this.cpuWaitMs() - this.windowCpuWaitMs;
    if (waitedMs < 0 || waitedMs < this.slowMs / 2) this.pausedUntilMs = t + LONE_READ_PAUSE_MS;
    this.windowStartMs = Number.NEGATIVE_INFINITY;
  }
}

/** The process's pacer, shared by every file store. */
export const loneReads = new LoneReadPacer();
