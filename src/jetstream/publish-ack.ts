import { writeDecimal } from "../util/decimal.js";
import type { Bus } from "./bus.js";
import type { JsApiError } from "./errors.js";
import type { AckSink } from "./stream.js";

/**
 * Acks handed to an in-process publisher instead of routed: a stream's ack to a reply subject
 * under `prefix` goes to `ack` (NATS Streaming's PubAcks: one reply subject per publish, which
 * routed would be a subject-cache miss and insert per message). What the stream admits and when
 * it acks are the same either way.
 */
export interface DirectReplies {
  readonly prefix: string;
  ack(reply: string, seq: number, duplicate: boolean, error: JsApiError | null): void;
}

/** Where a stream's ack sink looks for DirectReplies (set once a publisher registers). */
export interface DirectRepliesSlot {
  current: DirectReplies | null;
}

/** Room an ack needs after the stream name: the sequence and the duplicate flag. */
const ACK_TAIL_BYTES = 64;
const ACK_DUPLICATE_TAIL = Buffer.from(`,"duplicate": true}`);

/**
 * A stream's publish acks (`{"stream":..., "seq":n}`, nats-server's PubAck with its spacing, and
 * `"domain"` between them when there is one),
 * written into a buffer of the stream's own that holds the constant prefix; only the sequence and
 * the end change. The router copies an ack out before publish returns, so one view per length is
 * made once and reused: no allocation per ack. An error is sent as `{error, stream, seq: 0}`.
 */
export function publishAckSink(bus: Bus, name: string, domain?: string, direct: DirectRepliesSlot = { current: null }): AckSink {
  // nats-server (stream.go): `{"stream":"S", "domain":"D", "seq":n}` when a domain is configured.
  const dom = domain === undefined || domain === "" ? "" : ` "domain":${JSON.stringify(domain)},`;
  const prefix = Buffer.from(`{"stream":${JSON.stringify(name)},${dom} "seq":`);
  const out = Buffer.alloc(prefix.length + ACK_TAIL_BYTES);
  prefix.copy(out, 0);
  const views: Buffer[] = [];
  return (reply, seq, duplicate, error) => {
    if (reply === "") return;
    const d = direct.current;
    if (d !== null && reply.startsWith(d.prefix)) {
      d.ack(reply, seq, duplicate, error);
      return;
    }
    if (error !== null) {
      bus.publish(reply, "", null, Buffer.from(JSON.stringify({ error, stream: name, seq: 0 })));
      return;
    }
    let n = writeDecimal(out, prefix.length, seq);
    if (duplicate) n += ACK_DUPLICATE_TAIL.copy(out, n);
    else out[n++] = 0x7d; // }
    bus.publish(reply, "", null, (views[n] ??= out.subarray(0, n)));
  };
}
