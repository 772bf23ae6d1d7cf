import { encodeHeaders, parseHeaders } from "../protocol/headers.js";
import type { StoredMsg } from "../stores/types.js";

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
