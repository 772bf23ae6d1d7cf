import type { IndexedSub, Sublist } from "../subjects/sublist.js";

/** What a subscription needs of its account (server/account.ts's Account): its name and subject index. */
export interface SubjectSpace {
  readonly name: string;
  readonly index: Sublist<Subscription>;
}

/** Whoever receives routed messages: a client connection or an internal client. */
export interface Deliverer {
  readonly cid: number;
  /** The account whose subject space its subscriptions are in. */
  readonly account: SubjectSpace;
  /**
   * Deliver one message to `sub`. `hdrBytes` is the header block's size: at the start of
   * `payload`, or, when `head` is given, `head` itself (and `payload` is the data alone).
   */
  deliver(sub: Subscription, subject: string, reply: string, hdrBytes: number, payload: Buffer, head: Buffer | null): void;
}

/** One SUB of one client. */
export class Subscription implements IndexedSub {
  /** UNSUB max; 0 = unlimited. */
  max = 0;
  delivered = 0;
  /** Encoded `MSG <subject> <sid> ` (or HMSG) for the last subject delivered, reused while it repeats. */
  prefix: Buffer | null = null;
  prefixSubject = "";
  prefixHeaders = false;
  /** The account whose index holds it, while subscribed (set by the router). */
  account: SubjectSpace | null = null;
  constructor(
    readonly client: Deliverer,
    readonly subject: string,
    readonly queue: string,
    readonly sid: string,
  ) {}
}
