import { isUtf8 } from "node:buffer";
import { parseHeaders } from "../protocol/headers.js";
import { nsToIso } from "../jetstream/json.js";
import { headerToText } from "./header-text.js";

/**
 * The JSON of one message as the HTTP edge shows it (SSE `data:` lines and long-poll answers):
 *
 * `{"subject":..,"seq"?:..,"time"?:..,"headers"?:{key: value | [values..]},"data": utf8 | "data_base64": base64 ..extra}`
 *
 * Built by concatenating escaped strings instead of `JSON.stringify` of a fresh object per message
 * (one string out, no intermediate objects); `extra` is a pre-built `,"key":value` tail
 * (long polling adds `deliveries` and `ack_token`). `seq` 0 and `timeNs` "" leave those out
 * (core messages have neither).
 */
export function messageJson(subject: string, seq: number, timeNs: string, headers: Buffer | null, data: Buffer, extra = ""): string {
  let s = `{"subject":${JSON.stringify(subject)}`;
  if (seq > 0) s += `,"seq":${seq}`;
  if (timeNs !== "") s += `,"time":"${nsToIso(BigInt(timeNs))}"`;
  if (headers !== null && headers.length > 0) s += headersJson(headers);
  // Payloads that are not UTF-8 would be mangled as a JSON string: they go base64.
  if (isUtf8(data)) s += `,"data":${JSON.stringify(data.toString("utf8"))}`;
  else s += `,"data_base64":"${data.toString("base64")}"`;
  return `${s}${extra}}`;
}

/** `,"headers":{..}` for a NATS header block (a repeated key becomes an array); "" when it has none. */
function headersJson(block: Buffer): string {
  const h = parseHeaders(block);
  if (h === null || h.entries.length === 0) return "";
  // Group repeated keys, keeping first-seen order.
  const grouped = new Map<string, string[]>();
  for (const [k, raw] of h.entries) {
    // Header bytes as text: UTF-8 values come out as sent, not one char per byte.
    const v = headerToText(raw);
    const list = grouped.get(k);
    if (list === undefined) grouped.set(k, [v]);
    else list.push(v);
  }
  let s = `,"headers":{`;
  let first = true;
  for (const [k, list] of grouped) {
    s += `${first ? "" : ","}${JSON.stringify(k)}:${list.length === 1 ? JSON.stringify(list[0]) : JSON.stringify(list)}`;
    first = false;
  }
  return `${s}}`;
}

/** What an ack subject (`$JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<dseq>.<ts>.<pending>`) says of its message. */
export interface AckInfo {
  stream: string;
  consumer: string;
  deliveries: number;
  seq: number;
  /** Stream timestamp, nanoseconds since the epoch, as the decimal text of the subject. */
  timeNs: string;
}

/** Token count of the ack subjects this server's consumers send (nats-server's v1 ack format). */
const ACK_TOKENS = 9;

/**
 * Parse an ack reply subject; null when it is not one (wrong prefix, token count, or a
 * non-numeric counter), so nothing else is ever published as an "ack".
 */
export function parseAckSubject(subject: string): AckInfo | null {
  if (!subject.startsWith("$JS.ACK.")) return null;
  const t = subject.split(".");
  if (t.length !== ACK_TOKENS) return null;
  const stream = t[2] as string;
  const consumer = t[3] as string;
  if (stream === "" || consumer === "" || stream === "*" || stream === ">" || consumer === "*" || consumer === ">") return null;
  for (let i = 4; i < ACK_TOKENS; i++) if (!/^\d{1,20}$/.test(t[i] as string)) return null;
  const deliveries = Number(t[4]);
  const seq = Number(t[5]);
  if (!Number.isSafeInteger(seq) || seq < 1 || !Number.isSafeInteger(deliveries)) return null;
  return { stream, consumer, deliveries, seq, timeNs: t[7] as string };
}
