import { encodeHeaders, headerValue, parseHeaders, type HeaderBlock } from "../protocol/headers.js";
import type { StoredMsg } from "../stores/types.js";
import type { Bus } from "./bus.js";
import { jsError, type JsApiError } from "./errors.js";
import type { PubResult } from "./stream.js";
import { writeToStream, type WriteTarget } from "./stream-write.js";

/**
 * Dead letters: a consumer whose config `metadata` names a dead-letter stream
 * (`cuebus.dead_letter_stream`) has every message that reaches `max_deliver`, or that a client
 * terminates with `+TERM`, copied into that stream on its original subject, with these headers.
 * `$CUEBUS.API.DLQ.REPLAY.<stream>` publishes dead letters back onto their original subjects.
 */
export const DeadLetterHeaders = {
  stream: "Cuebus-Dlq-Stream",
  consumer: "Cuebus-Dlq-Consumer",
  sequence: "Cuebus-Dlq-Sequence",
  deliveries: "Cuebus-Dlq-Deliveries",
  reason: "Cuebus-Dlq-Reason",
} as const;

/** Why a message became a dead letter: it reached max_deliver, or a client terminated it (`+TERM`). */
export type DeadLetterReason = "max_deliveries" | "terminated";

const DLQ_HEADER_PREFIX = "cuebus-dlq-";

/** Request subject prefix: `$CUEBUS.API.DLQ.REPLAY.<dead-letter stream>`, body `{"seq"?: n, "delete"?: bool}`. */
export const DEAD_LETTER_REPLAY_PREFIX = "$CUEBUS.API.DLQ.REPLAY.";

/** The original headers plus the dead-letter ones. */
export function deadLetterHeaders(msg: StoredMsg, stream: string, consumer: string, deliveries: number, reason: DeadLetterReason): Buffer {
  const entries = (parseHeaders(msg.headers)?.entries ?? []).filter(([k]) => !k.toLowerCase().startsWith(DLQ_HEADER_PREFIX));
  entries.push(
    [DeadLetterHeaders.stream, stream],
    [DeadLetterHeaders.consumer, consumer],
    [DeadLetterHeaders.sequence, String(msg.seq)],
    [DeadLetterHeaders.deliveries, String(deliveries)],
    [DeadLetterHeaders.reason, reason],
  );
  return encodeHeaders(entries);
}

/** Headers for replaying a dead letter: the original ones without the dead-letter ones (null if none remain). */
export function replayHeaders(headers: Buffer | null): Buffer | null {
  const entries = (parseHeaders(headers)?.entries ?? []).filter(([k]) => !k.toLowerCase().startsWith(DLQ_HEADER_PREFIX));
  return entries.length === 0 ? null : encodeHeaders(entries);
}

/** A stream served by name, as the dead-letter functions see the registry. */
type StreamsByName = ReadonlyMap<string, WriteTarget>;

/**
 * The id a dead letter is deduplicated by in its dead-letter stream: one per message and consumer,
 * so a message given up again after a restart (its consumer's state lagged the last deliveries)
 * is not stored twice within the stream's duplicate window, while the same message given up by
 * two consumers is stored for each.
 */
export function deadLetterId(stream: string, consumer: string, seq: number): string {
  return `$DLQ.${stream}.${consumer}.${seq}`;
}

/** The dead-letter id of a stored dead letter, from its headers (undefined for any other message): Stream.rebuildDedup's `internalId`. */
export function storedDeadLetterId(h: HeaderBlock): string | undefined {
  const stream = headerValue(h, DeadLetterHeaders.stream);
  const consumer = headerValue(h, DeadLetterHeaders.consumer);
  const seq = Number(headerValue(h, DeadLetterHeaders.sequence));
  return stream === undefined || consumer === undefined || !Number.isSafeInteger(seq) ? undefined : deadLetterId(stream, consumer, seq);
}

/**
 * Copy `msg`, which failed for good on consumer `consumer` of stream `from`, into the dead-letter
 * stream `target` (when it is served), with the dead-letter headers. It goes in as a publish
 * would (writeToStream): a sealed stream, a message past max_msg_size, a full stream with discard
 * new refuse it; the result says which.
 */
export function copyToDeadLetters(streams: StreamsByName, target: string, from: string, consumer: string, msg: StoredMsg, deliveries: number, reason: DeadLetterReason): Promise<PubResult | null> {
  const e = streams.get(target);
  if (e === undefined) return Promise.resolve(null);
  const headers = deadLetterHeaders(msg, from, consumer, deliveries, reason);
  return writeToStream(e, msg.subject, headers, msg.data, { internal: { msgId: deadLetterId(from, consumer, msg.seq) } });
}

/**
 * Publish the dead letters of stream `name` (all of them, or the one at `seq`) back onto their
 * original subjects, through the owning stream when there is one (so the ack is durable), without
 * the dead-letter headers; with `remove`, each one replayed is deleted from the dead-letter stream.
 */
export async function replayDeadLetters(streams: StreamsByName, bus: Bus, name: string, seq: number, remove: boolean): Promise<{ replayed: number; failed: number } | { error: JsApiError }> {
  const e = streams.get(name);
  if (e === undefined) return { error: jsError("StreamNotFound") };
  const store = e.stream.store;
  let replayed = 0;
  let failed = 0;
  const last = store.state().lastSeq;
  for (let s = seq > 0 ? seq : 1; s <= (seq > 0 ? seq : last); ) {
    const m = seq > 0 ? await store.load(s) : await store.loadNext("", s);
    if (m === null) break;
    s = m.seq + 1;
    const headers = replayHeaders(m.headers);
    const owner = [...streams.values()].find((o) => o !== e && o.stream.covers(m.subject));
    let ok = true;
    if (owner !== undefined) ok = !("error" in (await writeToStream(owner, m.subject, headers, m.data)));
    else bus.publish(m.subject, "", headers, m.data);
    if (!ok) {
      failed++;
      continue;
    }
    replayed++;
    if (remove) await store.remove(m.seq);
  }
  return { replayed, failed };
}
