import type { Bus } from "../jetstream/bus.js";
import { clampTimerMs } from "../util/timer.js";

/** Requests the adapter itself waits on at once (heartbeats and duplicate checks); more are failed. */
export const MAX_STAN_REQUESTS = 100_000;

const EMPTY = Buffer.alloc(0);

/**
 * Requests the server makes to clients: heartbeats to a client's heartbeat inbox, and the check of
 * an old connection when a client id connects again. One wildcard inbox; each request resolves
 * true when anything answers within its time, false otherwise. Not on a message path.
 */
export class StanRequests {
  private readonly prefix: string;
  private next = 1;
  private readonly waiting = new Map<number, { resolve: (answered: boolean) => void; timer: NodeJS.Timeout }>();
  private unsub: (() => void) | null = null;

  constructor(
    private readonly bus: Bus,
    serverId: string,
  ) {
    this.prefix = `_STAN.req.${serverId}.`;
  }

  start(): void {
    this.unsub = this.bus.subscribe(`${this.prefix}*`, "", (subject) => {
      const token = Number(subject.slice(this.prefix.length));
      const w = this.waiting.get(token);
      if (w === undefined) return;
      this.waiting.delete(token);
      clearTimeout(w.timer);
      w.resolve(true);
    });
  }

  /** Send an empty request to `subject`; true if answered within `timeoutMs`. */
  ask(subject: string, timeoutMs: number): Promise<boolean> {
    if (this.waiting.size >= MAX_STAN_REQUESTS) return Promise.resolve(false);
    const token = this.next++;
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => {
        this.waiting.delete(token);
        resolve(false);
      }, clampTimerMs(timeoutMs));
      this.waiting.set(token, { resolve, timer });
      if (this.bus.publish(subject, this.prefix + token, null, EMPTY) === 0) {
        // Nobody listens there: no answer will come.
        this.waiting.delete(token);
        clearTimeout(timer);
        resolve(false);
      }
    });
  }

  /** Stop: every request waiting resolves false. */
  stop(): void {
    this.unsub?.();
    this.unsub = null;
    for (const w of this.waiting.values()) {
      clearTimeout(w.timer);
      w.resolve(false);
    }
    this.waiting.clear();
  }
}
