import type { ConnectionRights } from "../auth/connection-rights.js";
import { Subscription, type Deliverer } from "./subscription.js";

/** What a connection's subscriptions need from the router (see Router). */
export interface SubRouting {
  subscribe(sub: Subscription): void;
  unsubscribe(sub: Subscription): void;
  matchesOne(pattern: string, subject: string): boolean;
}

/** Where a subscription's removal is traced (see ClientTrace.delSub). */
export interface SubTrace {
  delSub(sid: string): void;
}

/**
 * One connection's subscriptions by sid, kept in step with the router's subject index: made by
 * SUB, removed by UNSUB (at once, or once the max it sets is delivered), moved with the connection
 * to another account, removed when new permissions no longer allow them, and all removed at close.
 * Whether a SUB is allowed at all is the connection's to say (see Client.onSub).
 */
export class ClientSubs {
  private readonly bySid = new Map<string, Subscription>();

  constructor(
    private readonly owner: Deliverer,
    private readonly router: SubRouting,
    private readonly tr: SubTrace | null,
  ) {}

  get size(): number {
    return this.bySid.size;
  }

  values(): IterableIterator<Subscription> {
    return this.bySid.values();
  }

  has(sid: string): boolean {
    return this.bySid.has(sid);
  }

  /** Subscribe `sid` to `subject` (in `queue`; "" for none). */
  add(subject: string, queue: string, sid: string): void {
    const sub = new Subscription(this.owner, subject, queue, sid);
    this.bySid.set(sid, sub);
    this.router.subscribe(sub);
  }

  /** UNSUB: remove `sid` now, or once `max` messages in all were delivered to it. */
  unsub(sid: string, max: number): void {
    const sub = this.bySid.get(sid);
    if (sub === undefined) return;
    if (max > 0 && sub.delivered < max) sub.max = max;
    else this.remove(sub);
  }

  /** Remove `sub` if it is still this connection's (UNSUB; the router calls it once a max is delivered). */
  remove(sub: Subscription): void {
    if (this.bySid.get(sub.sid) === sub) {
      this.bySid.delete(sub.sid);
      this.router.unsubscribe(sub);
      this.tr?.delSub(sub.sid);
    }
  }

  /** The connection moves to another account: `move` switches it, its subscriptions move with it. */
  moveWith(move: () => void): void {
    const router = this.router;
    for (const sub of this.bySid.values()) router.unsubscribe(sub);
    move();
    for (const sub of this.bySid.values()) router.subscribe(sub);
  }

  /** Remove every subscription `rights` no longer allow (the server's users changed); returns them. */
  denied(rights: ConnectionRights): Subscription[] {
    const removed: Subscription[] = [];
    for (const sub of [...this.bySid.values()]) {
      if (rights.maySubscribe(sub.subject, sub.queue)) continue;
      this.bySid.delete(sub.sid);
      this.router.unsubscribe(sub);
      removed.push(sub);
    }
    return removed;
  }

  /** The first subscription whose subject matches `subject` (the reply subject of a request nobody answers). */
  matching(subject: string): Subscription | undefined {
    for (const sub of this.bySid.values()) if (this.router.matchesOne(sub.subject, subject)) return sub;
    return undefined;
  }

  /** Remove them all (the connection closed). */
  clear(): void {
    for (const sub of this.bySid.values()) {
      this.router.unsubscribe(sub);
      this.tr?.delSub(sub.sid);
    }
    this.bySid.clear();
  }
}
