import { removeIfNoInterest, type InterestedConsumer } from "./retention.js";
import type { PublishOptions, PubResult, Stream } from "./stream.js";

/** A served stream with its consumers, as a write into it needs them. */
export interface WriteTarget {
  readonly stream: Stream;
  readonly consumers: ReadonlyMap<string, InterestedConsumer>;
}

/**
 * Write one message into a served stream the way a client's publish goes in: the stream's
 * admission (sealed, max_msg_size, dedup, the store's limits and discard policy, see
 * Stream.publish) and then interest retention, which keeps (and republishes) a message only when
 * some consumer wants it, as nats-server does. Every write that is not the publish fast path
 * (`Stream.accept`) comes through here: interest streams' publishes, dead letters, replayed dead
 * letters. Never rejects.
 */
export async function writeToStream(e: WriteTarget, subject: string, headers: Buffer | null, data: Buffer, opts: PublishOptions = {}): Promise<PubResult> {
  const stream = e.stream;
  if (stream.config.retention !== "interest") return stream.publish(subject, headers, data, opts);
  const next = stream.store.lastSequence() + 1;
  let republish = false;
  if (stream.config.republish !== undefined) for (const c of e.consumers.values()) if (c.needAck(next, subject)) republish = true;
  const r = await stream.publish(subject, headers, data, { ...opts, republish: republish && opts.republish !== false });
  if (!("error" in r) && !r.duplicate) removeIfNoInterest(stream, e.consumers, r.seq, subject);
  return r;
}
