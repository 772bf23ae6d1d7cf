import { Account, GLOBAL_ACCOUNT } from "./account.js";
import type { SubjectMap } from "../subjects/subject-map.js";
import { subjectMatches } from "../subjects/validate.js";
import type { Deliverer, SubjectSpace, Subscription } from "./subscription.js";

/** Who publishes: a client connection or an internal client. `echo` false skips its own subs. */
export interface Publisher {
  readonly cid: number;
  /** Its messages reach the subscriptions of this account only. */
  readonly account: Account;
  readonly opts?: { echo: boolean };
}

/** Called when a subscription with an UNSUB max has had its last message. */
export type AutoUnsub = (sub: Subscription) => void;

/**
 * The one routing path: every publish, from sockets or internal clients, goes through publish().
 * Each account is a subject space of its own (its own subject index); the counters are the server's.
 */
export class Router {
  /** The global account (`$G`): every client's, unless `accounts {}` put its user elsewhere. */
  readonly global: Account;
  private readonly accounts = new Map<string, Account>();
  inMsgs = 0;
  inBytes = 0;
  outMsgs = 0;
  outBytes = 0;
  /** Rewrites of published subjects (a JetStream domain's); null when there are none. */
  mappings: SubjectMap | null = null;
  private rr = 0;
  private readonly watchers = new Set<(account: SubjectSpace, subject: string, added: boolean) => void>();

  constructor(
    private readonly onAutoUnsub: AutoUnsub,
    /** The global account serves JetStream when no `accounts {}` are configured. */
    globalJetStream = false,
  ) {
    this.global = new Account(GLOBAL_ACCOUNT, globalJetStream);
    this.accounts.set(GLOBAL_ACCOUNT, this.global);
  }

  /** Add a configured account (or return the one of that name). */
  addAccount(name: string, jetstream: boolean): Account {
    let a = this.accounts.get(name);
    if (a === undefined) {
      a = new Account(name, jetstream);
      this.accounts.set(name, a);
    }
    return a;
  }

  /** The account of this name; undefined for one not configured. */
  account(name: string): Account | undefined {
    return this.accounts.get(name);
  }

  /** Every account, the global one first. */
  allAccounts(): IterableIterator<Account> {
    return this.accounts.values();
  }

  /** Subscriptions in all accounts. */
  subscriptionCount(): number {
    let n = 0;
    for (const a of this.accounts.values()) n += a.index.count;
    return n;
  }

  subscribe(sub: Subscription): void {
    const account = sub.client.account;
    sub.account = account;
    account.index.insert(sub);
    if (this.watchers.size > 0) for (const w of this.watchers) w(account, sub.subject, true);
  }

  /**
   * Be told of every subscription's account and subject as it is added, and as it is removed
   * (`added` false): push consumers wait for interest this way, and stop when it is gone.
   */
  watchSubscriptions(fn: (account: SubjectSpace, subject: string, added: boolean) => void): () => void {
    this.watchers.add(fn);
    return () => this.watchers.delete(fn);
  }

  /** Is anyone in `account` subscribed to a subject matching this literal subject? */
  hasInterest(account: SubjectSpace, subject: string): boolean {
    const r = account.index.match(subject);
    return r.plain.length > 0 || r.queues.length > 0;
  }

  unsubscribe(sub: Subscription): void {
    const account = sub.account;
    if (account === null) return;
    account.index.remove(sub);
    sub.account = null;
    if (this.watchers.size > 0) for (const w of this.watchers) w(account, sub.subject, false);
  }

  /**
   * Route one message; returns how many subscriptions received it. `shown` is the subject the
   * receivers see, when it differs from the one routed on (JetStream delivers a stored message's
   * own subject to a consumer's deliver subject or pull inbox). `head`: the header block, when the
   * caller holds it apart from the data (`payload` is then the data alone, `hdrBytes` its length):
   * delivered as two pieces rather than joined into a new buffer.
   */
  publish(from: Publisher, route: string, reply: string, hdrBytes: number, payload: Buffer, shown: string = route, head: Buffer | null = null): number {
    if (this.mappings !== null && shown === route) route = shown = this.mappings.map(route);
    const size = head === null ? payload.length : hdrBytes + payload.length;
    this.inMsgs++;
    this.inBytes += size;
    const subject = shown;
    const r = from.account.index.match(route);
    const noEcho = from.opts !== undefined && !from.opts.echo;
    let n = 0;
    const plain = r.plain;
    for (let i = 0; i < plain.length; i++) {
      const sub = plain[i] as Subscription;
      if (noEcho && sub.client.cid === from.cid) continue;
      this.deliverTo(sub, subject, reply, hdrBytes, payload, head, size);
      n++;
    }
    const queues = r.queues;
    for (let q = 0; q < queues.length; q++) {
      const group = queues[q] as Subscription[];
      const sub = this.pick(group, noEcho ? from.cid : -1);
      if (sub === null) continue;
      this.deliverTo(sub, subject, reply, hdrBytes, payload, head, size);
      n++;
    }
    return n;
  }

  private pick(group: Subscription[], skipCid: number): Subscription | null {
    const len = group.length;
    if (len === 0) return null;
    const start = (this.rr = (this.rr + 1) % 0x7fffffff) % len;
    for (let i = 0; i < len; i++) {
      const sub = group[(start + i) % len] as Subscription;
      if (sub.client.cid !== skipCid) return sub;
    }
    return null;
  }

  /** `size`: the message's bytes, header block included. */
  private deliverTo(sub: Subscription, subject: string, reply: string, hdrBytes: number, payload: Buffer, head: Buffer | null, size: number): void {
    const client: Deliverer = sub.client;
    this.outMsgs++;
    this.outBytes += size;
    sub.delivered++;
    client.deliver(sub, subject, reply, hdrBytes, payload, head);
    if (sub.max > 0 && sub.delivered >= sub.max) this.onAutoUnsub(sub);
  }

  /** Does one subscription subject match a literal subject? */
  matchesOne(pattern: string, subject: string): boolean {
    return subjectMatches(pattern, subject);
  }
}
