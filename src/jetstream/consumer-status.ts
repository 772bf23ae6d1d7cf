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

/** Parse a `-NAK` delay: JSON `{"delay": ns}` or a Go duration such as `5s`, `250ms`. Returns ms, or -1. */
export function parseNakDelayMs(arg: string): number {
  if (arg.startsWith("{")) {
    try {
      const v = (JSON.parse(arg) as { delay?: unknown }).delay;
      return typeof v === "number" && v >= 0 ? v / 1e6 : -1;
    } catch {
      return -1;
    }
  }
  const m = /^(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)$/.exec(arg);
  if (m === null) return -1;
  const unit: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1e3, m: 6e4, h: 3.6e6 };
  return Number(m[1]) * (unit[m[2] as string] as number);
}
