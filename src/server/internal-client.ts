import type { Bus, BusHandler } from "../jetstream/bus.js";
import type { Account } from "./account.js";
import type { Router } from "./router.js";
import { Subscription, type Deliverer } from "./subscription.js";

/**
 * A client inside the server (JetStream, the HTTP gateway, ...): it subscribes and publishes
 * through the same router, permission-free, with one cid of its own, in one account.
 */
export class InternalClient implements Deliverer, Bus {
  readonly opts = { echo: true };
  private nextSid = 1;
  private readonly handlers = new Map<Subscription, BusHandler>();

  constructor(
    readonly cid: number,
    private readonly router: Router,
    private readonly flushAll: () => void = () => {},
    readonly account: Account = router.global,
  ) {}

  subscribe(subject: string, queue: string, handler: BusHandler): () => void {
    const sub = new Subscription(this, subject, queue, String(this.nextSid++));
    this.handlers.set(sub, handler);
    this.router.subscribe(sub);
    return () => {
      if (this.handlers.delete(sub)) this.router.unsubscribe(sub);
    };
  }

  publish(subject: string, reply: string, headers: Buffer | null, data: Buffer): number {
    return this.publishAs(subject, subject, reply, headers, data);
  }

  /** Route on one subject, show receivers another. */
  publishAs(route: string, shown: string, reply: string, headers: Buffer | null, data: Buffer): number {
    if (headers === null || headers.length === 0) return this.router.publish(this, route, reply, 0, data, shown);
    return this.router.publish(this, route, reply, headers.length, data, shown, headers);
  }

  flush(): void {
    this.flushAll();
  }

  hasInterest(subject: string): boolean {
    return this.router.hasInterest(this.account, subject);
  }

  watchSubscriptions(fn: (subject: string, added: boolean) => void): () => void {
    const mine = this.account;
    return this.router.watchSubscriptions((account, subject, added) => {
      if (account === mine) fn(subject, added);
    });
  }

  deliver(sub: Subscription, subject: string, reply: string, hdrBytes: number, payload: Buffer, head: Buffer | null): void {
    const h = this.handlers.get(sub);
    if (h === undefined) return;
    if (head !== null) h(subject, reply, head, payload);
    else if (hdrBytes > 0) h(subject, reply, payload.subarray(0, hdrBytes), payload.subarray(hdrBytes));
    else h(subject, reply, null, payload);
  }

  /** Drop every subscription. */
  close(): void {
    for (const sub of this.handlers.keys()) this.router.unsubscribe(sub);
    this.handlers.clear();
  }
}
