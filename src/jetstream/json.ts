import type { StreamState } from "../stores/types.js";

/** Go's zero time, which nats-server prints for "never". */
export const ZERO_TIME = "0001-01-01T00:00:00Z";

const NS_PER_SECOND = 1_000_000_000n;
const SECONDS_PER_DAY = 86_400;
/** Days from 0000-03-01 to 1970-01-01 in the proleptic Gregorian calendar (civil-from-days below). */
const EPOCH_SHIFT_DAYS = 719_468;
const DAYS_PER_ERA = 146_097;
/** Seconds of 10000-01-01T00:00:00Z: from there on (as before year 1) the slow path prints the year. */
const YEAR_10000_SECONDS = 253_402_300_800;

const two = (n: number): string => (n < 10 ? `0${n}` : String(n));

/**
 * `YYYY-MM-DDTHH:MM:SS` of `second` (since the epoch, years 1-9999), without a Date: a direct get
 * prints one per message, each of another second (Howard Hinnant's civil-from-days).
 */
function isoSecondText(second: number): string {
  const days = Math.floor(second / SECONDS_PER_DAY);
  let rest = second - days * SECONDS_PER_DAY;
  const hour = Math.floor(rest / 3600);
  rest -= hour * 3600;
  const minute = Math.floor(rest / 60);
  const z = days + EPOCH_SHIFT_DAYS;
  const era = Math.floor(z / DAYS_PER_ERA);
  const dayOfEra = z - era * DAYS_PER_ERA;
  const yearOfEra = Math.floor((dayOfEra - Math.floor(dayOfEra / 1460) + Math.floor(dayOfEra / 36_524) - Math.floor(dayOfEra / 146_096)) / 365);
  const dayOfYear = dayOfEra - (365 * yearOfEra + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100));
  const mp = Math.floor((5 * dayOfYear + 2) / 153);
  const day = dayOfYear - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0);
  return `${String(year).padStart(4, "0")}-${two(month)}-${two(day)}T${two(hour)}:${two(minute)}:${two(rest - minute * 60)}`;
}

/** The second nsToIso printed last, and its text: messages published together share it. */
let lastSecond = -1;
let lastSecondText = "";

/** RFC 3339 with nanoseconds, as Go prints times. */
export function nsToIso(ns: bigint): string {
  if (ns === 0n) return ZERO_TIME;
  if (ns < 0n) return nsToIsoSlow(ns);
  const second = ns / NS_PER_SECOND;
  const s = Number(second);
  if (s >= YEAR_10000_SECONDS) return nsToIsoSlow(ns);
  if (s !== lastSecond) {
    lastSecond = s;
    lastSecondText = isoSecondText(s);
  }
  let frac = Number(ns - second * NS_PER_SECOND);
  if (frac === 0) return `${lastSecondText}Z`;
  // Nine digits with the trailing zeros dropped, as Go prints them.
  let digits = 9;
  while (frac % 10 === 0) {
    frac /= 10;
    digits--;
  }
  return `${lastSecondText}.${String(frac).padStart(digits, "0")}Z`;
}

function nsToIsoSlow(ns: bigint): string {
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
