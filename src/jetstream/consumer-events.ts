import type { StoredMsg } from "../stores/types.js";
import type { Bus } from "./bus.js";
import type { Consumer, ConsumerHooks } from "./consumer.js";
import { DEAD_LETTER_METADATA_KEY } from "./consumer-config.js";
import type { ConsumerStateWriter } from "./consumer-state-writer.js";
import { copyToDeadLetters, type DeadLetterReason } from "./dead-letter.js";
import { acknowledged } from "./retention.js";
import type { StreamEntry } from "./stream-registry.js";

/**
 * What a consumer's events do to the rest of JetStream (its ConsumerHooks): state changes are
 * written (throttled, by ConsumerStateWriter), an unused ephemeral is removed, acknowledgements drive
 * interest and work-queue retention, messages that failed for good become dead letters, and
 * advisories are published when someone listens.
 */
export class ConsumerEvents implements ConsumerHooks {
  /** `remove`: delete this consumer (it passed its inactive threshold). */
  constructor(
    private readonly streams: ReadonlyMap<string, StreamEntry>,
    private readonly bus: Bus,
    private readonly files: ConsumerStateWriter,
    private readonly remove: (c: Consumer) => void,
  ) {}

  /** Remember to write this consumer's state soon. */
  changed(c: Consumer): void {
    this.files.changed(c);
  }

  /** An ephemeral consumer nobody uses any more. */
  inactive(c: Consumer): void {
    this.remove(c);
  }

  /** Interest and work-queue retention remove what every interested consumer acknowledged. */
  acked(c: Consumer, seq: number): void {
    const e = this.streams.get(c.stream.name);
    if (e === undefined) return;
    acknowledged(e.stream, e.consumers, seq);
  }

  /** Copy a message that failed for good into the consumer's dead-letter stream, if it names one. */
  deadLetter(c: Consumer, msg: StoredMsg, deliveries: number, reason: DeadLetterReason): void {
    const target = c.config.metadata?.[DEAD_LETTER_METADATA_KEY];
    if (target === undefined) return;
    copyToDeadLetters(this.streams, target, c.stream.name, c.name, msg, deliveries, reason);
  }

  /** Publish an advisory on the bus, when anyone listens. */
  advisory(subject: string, body: Record<string, unknown>): void {
    if (!this.bus.hasInterest(subject)) return;
    this.bus.publish(subject, "", null, Buffer.from(JSON.stringify(body)));
  }
}
