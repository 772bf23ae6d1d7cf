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
  /** `remove`: delete this consumer (it passed its inactive threshold); `warn`: told what an operator must know. */
  constructor(
    private readonly streams: ReadonlyMap<string, StreamEntry>,
    private readonly bus: Bus,
    private readonly stateWriter: ConsumerStateWriter,
    private readonly remove: (c: Consumer) => void,
    private readonly warn: (line: string) => void,
  ) {}

  /** Remember to write this consumer's state soon. */
  changed(c: Consumer): void {
    this.stateWriter.changed(c);
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

  /**
   * Copy a message that failed for good into the consumer's dead-letter stream, if it names one.
   * The dead-letter stream admits it as it would a publish; one it refuses (sealed, full with
   * discard new, too large, a failing store) is reported, naming the message.
   */
  deadLetter(c: Consumer, msg: StoredMsg, deliveries: number, reason: DeadLetterReason): void {
    const target = c.config.metadata?.[DEAD_LETTER_METADATA_KEY];
    if (target === undefined) return;
    const seq = msg.seq;
    void copyToDeadLetters(this.streams, target, c.stream.name, c.name, msg, deliveries, reason).then((r) => {
      if (r !== null && "error" in r) this.warn(`JetStream: consumer "${c.stream.name} > ${c.name}": dead letter of sequence ${seq} (${reason}) refused by stream "${target}": ${r.error.description}`);
    });
  }

  /** Publish an advisory on the bus, when anyone listens. */
  advisory(subject: string, body: Record<string, unknown>): void {
    if (!this.bus.hasInterest(subject)) return;
    this.bus.publish(subject, "", null, Buffer.from(JSON.stringify(body)));
  }
}
