import type { StreamState } from "../stores/types.js";

/** Go's zero time, which nats-server prints for "never". */
export const ZERO_TIME = "0001-01-01T00:00:00Z";

/** RFC 3339 with nanoseconds, as Go prints times. */
export function nsToIso(ns: bigint): string {
  if (ns === 0n) return ZERO_TIME;
  const ms = ns / 1_000_000n;
  const iso = new Date(Number(ms)).toISOString(); // ...sss Z
  const frac = (ns % 1_000_000_000n).toString().padStart(9, "0").replace(/0+$/, "");
  return `${iso.slice(0, 19)}${frac === "" ? "" : `.${frac}`}Z`;
}

/**
 * Parse an RFC 3339 time to nanoseconds since the epoch, keeping all nine fraction digits
 * (`Date.parse` stops at milliseconds; nats-server compares start times in nanoseconds).
 * NaN-like input gives null.
 */
export function isoToNs(iso: string): bigint | null {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return null;
  const frac = /T\d{2}:\d{2}:\d{2}\.(\d+)/.exec(iso)?.[1];
  const seconds = BigInt(Math.floor(ms / 1000));
  if (frac === undefined) return BigInt(ms) * 1_000_000n;
  return seconds * 1_000_000_000n + BigInt(frac.slice(0, 9).padEnd(9, "0"));
}

/** What `STREAM.INFO` adds to a state when asked: per-subject counts and the deleted sequences. */
export interface StateDetails {
  subjects?: Record<string, number>;
  deleted?: number[];
}

/** Stream state in `$JS.API` JSON, in nats-server's field order (StreamState). */
export function stateJson(s: StreamState, consumerCount: number, details: StateDetails = {}): Record<string, unknown> {
  const empty = s.lastSeq === 0;
  const out: Record<string, unknown> = {
    messages: s.messages,
    bytes: s.bytes,
    first_seq: empty ? 0 : s.firstSeq,
    first_ts: s.messages === 0 ? ZERO_TIME : nsToIso(s.firstTimeNs),
    last_seq: s.lastSeq,
    last_ts: nsToIso(s.lastTimeNs),
  };
  if (s.numSubjects > 0) out["num_subjects"] = s.numSubjects;
  if (details.subjects !== undefined) out["subjects"] = details.subjects;
  if (s.numDeleted > 0) out["num_deleted"] = s.numDeleted;
  if (details.deleted !== undefined && details.deleted.length > 0) out["deleted"] = details.deleted;
  if (s.lost !== undefined) out["lost"] = { msgs: s.lost.msgs, bytes: s.lost.bytes };
  out["consumer_count"] = consumerCount;
  return out;
}
