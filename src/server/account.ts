import { Sublist } from "../subjects/sublist.js";
import type { SubjectSpace, Subscription } from "./subscription.js";

/** The account of every client when no `accounts {}` are configured (nats-server's `$G`). */
export const GLOBAL_ACCOUNT = "$G";

/**
 * One account: a subject space of its own. A message published in an account reaches only the
 * subscriptions of the same account (nats-server's accounts without imports or exports).
 */
export class Account implements SubjectSpace {
  /** Its subscriptions, by subject. */
  readonly index = new Sublist<Subscription>();

  constructor(
    readonly name: string,
    /** Does JetStream serve this account's streams? */
    readonly jetstream: boolean = false,
  ) {}
}
