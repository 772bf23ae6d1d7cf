import { NAK_REQUEST, decodeBody } from "./api/request-schema.js";

/**
 * What a consumer writes on the wire besides messages: the status header blocks nats-server sends
 * to pull requests and push subscribers (ADR-9, ADR-13), and the durations it prints in them.
 */

/** A header block from its text. */
export const enc = (s: string): Buffer => Buffer.from(s, "latin1");
export const EMPTY = Buffer.alloc(0);
export const H_NO_MESSAGES = enc("NATS/1.0 404 No Messages\r\n\r\n");
export const H_CONSUMER_DELETED = enc("NATS/1.0 409 Consumer Deleted\r\n\r\n");
export const H_FLOW_CONTROL = enc("NATS/1.0 100 FlowControl Request\r\n\r\n");
/** Pull request with a heartbeat: the heartbeat must fit twice in the expiry (nats-server rule). */
export const HB_TOO_LARGE = "heartbeat value too large";

/** `NATS/1.0 <code> <text>` with no headers. */
export const statusHeader = (code: number, text: string): Buffer => enc(`NATS/1.0 ${code} ${text}\r\n\r\n`);
/** A status that also says what the request still wanted (408/409 to pull requests). */
export const pendingStatus = (code: number, text: string, n: number, b: number): Buffer =>
  enc(`NATS/1.0 ${code} ${text}\r\nNats-Pending-Messages: ${n}\r\nNats-Pending-Bytes: ${b}\r\n\r\n`);

/** Go's time.Duration String(), as nats-server prints durations in status texts. */
export function goDuration(ns: number): string {
  if (ns === 0) return "0s";
  if (ns < 1000) return `${ns}ns`;
  if (ns < 1e6) return `${ns / 1000}µs`;
  if (ns < 1e9) return `${ns / 1e6}ms`;
  let s = ns / 1e9;
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  const sec = `${Number(s.toFixed(9))}s`;
  return h > 0 ? `${h}h${m}m${sec}` : m > 0 ? `${m}m${sec}` : sec;
}

const NS_PER_UNIT: Readonly<Record<string, number>> = { ns: 1, us: 1e3, "\u00b5s": 1e3, "\u03bcs": 1e3, ms: 1e6, s: 1e9, m: 6e10, h: 3.6e12 };
const DURATION_PART = /([0-9]*)(?:\.([0-9]*))?(ns|us|\u00b5s|\u03bcs|ms|s|m|h)/y;
/** Longest duration Go holds: 2^63-1 ns. */
const MAX_DURATION_NS = 2 ** 63;

/** Go's time.ParseDuration (`1h30m`, `250ms`, `-1.5s`, `0`): nanoseconds, or null when Go refuses it. */
export function parseGoDuration(text: string): number | null {
  let i = 0;
  let sign = 1;
  if (text[0] === "-" || text[0] === "+") {
    sign = text[0] === "-" ? -1 : 1;
    i = 1;
  }
  if (text.slice(i) === "0") return 0;
  if (i === text.length) return null;
  let ns = 0;
  while (i < text.length) {
    DURATION_PART.lastIndex = i;
    const m = DURATION_PART.exec(text);
    if (m === null) return null;
    const whole = m[1] as string;
    const frac = m[2] ?? "";
    if (whole === "" && frac === "") return null;
    const unit = NS_PER_UNIT[m[3] as string] as number;
    ns += Number(whole === "" ? 0 : whole) * unit + (frac === "" ? 0 : Number(`0.${frac}`) * unit);
    if (ns > MAX_DURATION_NS) return null;
    i = DURATION_PART.lastIndex;
  }
  return sign * ns;
}

/** Go's strconv.Atoi: an optionally signed run of digits within int64, else null. */
export function goAtoi(text: string): number | null {
  if (!/^[+-]?[0-9]+$/.test(text)) return null;
  const n = BigInt(text);
  return n < -(2n ** 63n) || n >= 2n ** 63n ? null : Number(n);
}

/**
 * Parse a `-NAK` delay as nats-server's processNak does: JSON `{"delay": ns}` (decoded field by
 * field) or a Go duration such as `5s`, `1m30s`. Returns ms (a negative delay is 0: due now), or
 * -1 when the text is not a delay, which nats-server treats as a plain NAK.
 */
export function parseNakDelayMs(arg: string): number {
  if (arg.startsWith("{")) {
    const d = decodeBody(Buffer.from(arg), NAK_REQUEST);
    return "refused" in d ? -1 : Math.max(0, d.ok.delay ?? 0) / 1e6;
  }
  const ns = parseGoDuration(arg);
  return ns === null ? -1 : Math.max(0, ns) / 1e6;
}
