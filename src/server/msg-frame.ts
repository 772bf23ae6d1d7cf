import type { Outbound } from "./outbound.js";
import type { Subscription } from "./subscription.js";

/**
 * Append one `MSG <subject> <sid> [reply] <size>` (or `HMSG ... <hdr size> <total size>`) frame
 * with its payload to `out`. `head` is the header block apart from `payload` (which is then the
 * data alone), or null when the block leads `payload`. Returns the frame's total payload size.
 * On the delivery hot path: no allocation while a subscription's subject repeats.
 */
export function writeMsgFrame(out: Outbound, sub: Subscription, subject: string, reply: string, hdrBytes: number, payload: Buffer, head: Buffer | null): number {
  const headers = hdrBytes > 0;
  // The prefix `MSG <subject> <sid> ` is cached on the subscription once a subject repeats; a
  // subscription whose subject changes every time (a wildcard inbox taking acks) writes it directly.
  const prefix = sub.prefix;
  if (prefix !== null && sub.prefixSubject === subject && sub.prefixHeaders === headers) out.range(prefix, 0, prefix.length);
  else if (sub.prefixSubject === subject && sub.prefixHeaders === headers) {
    const p = Buffer.from(headers ? `HMSG ${subject} ${sub.sid} ` : `MSG ${subject} ${sub.sid} `, "latin1");
    sub.prefix = p;
    out.range(p, 0, p.length);
  } else {
    sub.prefix = null;
    sub.prefixSubject = subject;
    sub.prefixHeaders = headers;
    out.ascii(headers ? "HMSG " : "MSG ");
    out.ascii(subject);
    out.byte(32);
    out.ascii(sub.sid);
    out.byte(32);
  }
  if (reply !== "") {
    out.ascii(reply);
    out.byte(32);
  }
  if (headers) {
    out.decimal(hdrBytes);
    out.byte(32);
  }
  const total = head === null ? payload.length : hdrBytes + payload.length;
  out.decimal(total);
  out.crlf();
  if (head !== null) out.range(head, 0, head.length);
  out.range(payload, 0, payload.length);
  out.crlf();
  return total;
}
