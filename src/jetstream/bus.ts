/**
 * What JetStream needs of the router, as an internal client: subscribe with a handler and
 * publish. The server implements it (server/internal-client.ts); JetStream never imports server/.
 * Handlers get slices valid only during the call: copy what must be kept.
 */
export type BusHandler = (subject: string, reply: string, headers: Buffer | null, data: Buffer) => void;

export interface Bus {
  /** Subscribe; returns a function that unsubscribes. */
  subscribe(subject: string, queue: string, handler: BusHandler): () => void;
  /** Publish; returns how many subscriptions received it. */
  publish(subject: string, reply: string, headers: Buffer | null, data: Buffer): number;
  /** Route on `route` but show receivers `shown` as the subject; returns how many received it. */
  publishAs(route: string, shown: string, reply: string, headers: Buffer | null, data: Buffer): number;
  /**
   * Write what publishes so far queued for clients now, instead of at the end of this event-loop
   * turn (after every other I/O callback of the turn has run).
   */
  flush(): void;
  /** Is anyone subscribed to this literal subject? */
  hasInterest(subject: string): boolean;
  /**
   * Be told of every subscription's subject as it is added, and as it is removed (`added` false);
   * returns a function that stops it.
   */
  watchSubscriptions(fn: (subject: string, added: boolean) => void): () => void;
}
