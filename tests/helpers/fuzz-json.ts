/**
 * JetStream request bodies for the fuzzer: stream and consumer configs, pull requests, purges,
 * message gets, acks, each valid or mutated (huge integers written as the digits a Go client
 * sends, wrong types, deep nesting, unknown fields, truncated or broken JSON).
 */
import type { Rng } from "./fuzz-rng.js";

/** A JSON token written exactly as given (int64 max does not fit a JS number). */
export class RawJson {
  constructor(readonly text: string) {}
}

export type JsonLike = null | boolean | number | string | RawJson | JsonLike[] | { [k: string]: JsonLike };

/** Serialize, writing RawJson tokens as they are. */
export function toJson(v: JsonLike): string {
  if (v instanceof RawJson) return v.text;
  if (Array.isArray(v)) return `[${v.map(toJson).join(",")}]`;
  if (v !== null && typeof v === "object") {
    return `{${Object.entries(v)
      .map(([k, x]) => `${JSON.stringify(k)}:${toJson(x)}`)
      .join(",")}}`;
  }
  return JSON.stringify(v);
}

/** Streams the fuzzer works with: FZ0..FZ<n-1>, on subjects fz.<k>.>. */
export const FUZZ_STREAMS = 8;
/** Durable consumer names the fuzzer uses (so acks and pulls can reach them): D0..D<n-1>. */
export const FUZZ_DURABLES = 6;

/** Integers at and past every boundary a duration or count can cross. */
const HUGE = [
  "9223372036854775807",
  "-9223372036854775808",
  "18446744073709551615",
  "9223372036854775808",
  "4611686018427387903",
  "9007199254740993",
  "4294967296",
  "2147483648",
  "2147483647000000",
  "1e308",
  "-1e308",
  "1e400",
  "-1",
  "0",
  "0.5",
  "-0",
  "1.5e-300",
];

const NS_MS = 1_000_000;

/** A value of any type: a huge number, a wrong type, deep nesting. */
export function evilValue(rng: Rng): JsonLike {
  switch (rng.int(12)) {
    case 0:
    case 1:
    case 2:
      return new RawJson(rng.pick(HUGE));
    case 3:
      return rng.int(2_000_000_000) - 1_000_000_000;
    case 4:
      return rng.pick(["", "x", "9223372036854775807", "1s", "-1", "true", "null", "ü日本", "a.b.>", "*", "\u0000"]);
    case 5:
      return "x".repeat(rng.int(5000));
    case 6:
      return rng.pick([[], [1, 2, 3], ["a"], [null], [new RawJson("9223372036854775807")]]);
    case 7:
      return rng.pick<JsonLike>([{}, { a: 1 }, { seq: "x" }, { nested: { deeper: [1, { x: null }] } }]);
    case 8:
      return rng.chance(0.5);
    case 9:
      return null;
    case 10:
      return deep(rng, 5 + rng.int(300));
    default:
      return rng.next() * 1e6;
  }
}

/** Arrays and objects nested `depth` levels. */
function deep(rng: Rng, depth: number): RawJson {
  if (rng.chance(0.5)) return new RawJson(`${"[".repeat(depth)}1${"]".repeat(depth)}`);
  return new RawJson(`${'{"a":'.repeat(depth)}1${"}".repeat(depth)}`);
}

/** Replace, add or remove fields; now and then break the text itself. */
function mutate(rng: Rng, body: Record<string, JsonLike>, p: number): Record<string, JsonLike> {
  if (!rng.chance(p)) return body;
  const keys = Object.keys(body);
  for (let n = 1 + rng.int(3); n > 0; n--) {
    const r = rng.int(10);
    if (r < 7 && keys.length > 0) body[rng.pick(keys)] = evilValue(rng);
    else if (r < 9) body[rng.pick(["unknown", "x", "", "config", "name", "seq", "__proto__", "constructor"])] = evilValue(rng);
    else if (keys.length > 0) delete body[rng.pick(keys)];
  }
  return body;
}

/** The body text: JSON, and with probability `broken` truncated, spliced or not JSON at all. */
export function bodyText(rng: Rng, v: JsonLike, broken = 0.04): string {
  const text = toJson(v);
  if (!rng.chance(broken)) return text;
  switch (rng.int(5)) {
    case 0:
      return text.slice(0, rng.int(text.length));
    case 1: {
      const i = rng.int(text.length + 1);
      return text.slice(0, i) + rng.pick(["}", "]", ",", '"', "\\", "\u0000", "{{", "NaN"]) + text.slice(i);
    }
    case 2:
      return rng.pick(["", "null", "[]", "1", '"x"', "true", "{", "not json"]);
    case 3:
      return `${text}${text}`;
    default:
      return `  ${text}\n`;
  }
}

const ns = (rng: Rng, minMs: number, maxMs: number): JsonLike => (minMs + rng.int(maxMs - minMs + 1)) * NS_MS;

/** A stream's config: mostly sane (bounded, so stored messages stay bounded), sometimes mutated. */
export function streamConfig(rng: Rng, k: number): Record<string, JsonLike> {
  const c: Record<string, JsonLike> = { name: `FZ${k}`, subjects: [`fz.${k}.>`] };
  if (rng.chance(0.1)) c["subjects"] = rng.pick([[`fz.${k}.a`, `fz.${k}.b.*`], [`fz.${(k + 1) % FUZZ_STREAMS}.>`], ["fz.>"], ["a..b"], [], [`fz.${k}.>`, `fz.${k}.>`]]);
  if (rng.chance(0.5)) c["retention"] = rng.pick(["limits", "limits", "interest", "workqueue"]);
  c["storage"] = rng.pick(["file", "file", "memory"]);
  // Limits keep what the fuzzer stores bounded; an unbounded stream is deleted soon enough.
  c["max_msgs"] = rng.pick([-1, 10, 100, 1000, 5000]);
  // Consumers are work the server does for the fuzzer (a push consumer on an inbox every
  // connection listens on is never idle; one with a short ack_wait redelivers for good): bounded,
  // or that work grows with the run and hides what the server itself does.
  c["max_consumers"] = rng.pick([4, 8, 16]);
  if (rng.chance(0.5)) c["max_bytes"] = rng.pick([-1, 64 * 1024, 1024 * 1024, 8 * 1024 * 1024]);
  // A memory stream's messages are the server's heap: always bounded (unless a mutation drops it).
  if (c["storage"] === "memory") c["max_bytes"] = rng.pick([64 * 1024, 1024 * 1024, 4 * 1024 * 1024]);
  if (rng.chance(0.4)) c["max_age"] = rng.pick([0, ns(rng, 1, 1000), ns(rng, 1000, 60_000), new RawJson("9223372036854775807")]);
  if (rng.chance(0.2)) c["max_msgs_per_subject"] = rng.pick([-1, 1, 5, 100]);
  if (rng.chance(0.2)) c["max_msg_size"] = rng.pick([-1, 0, 16, 1024, 1024 * 1024]);
  if (rng.chance(0.3)) c["discard"] = rng.pick(["old", "new"]);
  if (rng.chance(0.3)) c["duplicate_window"] = rng.pick([0, ns(rng, 1, 10_000), ns(rng, 10_000, 120_000)]);
  if (rng.chance(0.2)) c["allow_direct"] = rng.chance(0.5);
  if (rng.chance(0.2)) c["allow_rollup_hdrs"] = rng.chance(0.5);
  if (rng.chance(0.05)) c["deny_delete"] = true;
  if (rng.chance(0.05)) c["deny_purge"] = true;
  if (rng.chance(0.01)) c["sealed"] = true;
  if (rng.chance(0.1)) c["description"] = rng.pick(["fuzz", "", "d".repeat(5000)]);
  if (rng.chance(0.1)) c["metadata"] = rng.pick<JsonLike>([{ a: "b" }, { a: 1 }, {}]);
  if (rng.chance(0.1)) c["num_replicas"] = rng.pick([0, 1, 3, -1]);
  return mutate(rng, c, 0.35);
}

/** A consumer's config on stream k: pull or push, durable or ephemeral, sometimes mutated. */
export function consumerConfig(rng: Rng, k: number, durable: string | null): Record<string, JsonLike> {
  const c: Record<string, JsonLike> = {};
  if (durable !== null) c[rng.chance(0.5) ? "durable_name" : "name"] = durable;
  c["ack_policy"] = rng.pick(["explicit", "explicit", "none", "all"]);
  if (rng.chance(0.5)) c["deliver_policy"] = rng.pick(["all", "last", "new", "last_per_subject", "by_start_sequence", "by_start_time"]);
  if (c["deliver_policy"] === "by_start_sequence" || rng.chance(0.05)) c["opt_start_seq"] = rng.pick([1, 5, 1000, new RawJson("9223372036854775807")]);
  if (c["deliver_policy"] === "by_start_time" || rng.chance(0.05)) c["opt_start_time"] = rng.pick(["2024-01-01T00:00:00Z", new Date().toISOString(), "yesterday"]);
  if (rng.chance(0.5)) c["ack_wait"] = rng.pick([ns(rng, 1, 200), ns(rng, 200, 30_000), new RawJson("9223372036854775807")]);
  if (rng.chance(0.3)) c["max_deliver"] = rng.pick([-1, 1, 2, 5, 100]);
  if (rng.chance(0.1)) c["backoff"] = rng.pick([[ns(rng, 1, 100), ns(rng, 100, 1000)], [new RawJson("9223372036854775807")], []]);
  if (rng.chance(0.4)) c["filter_subject"] = rng.pick([`fz.${k}.a`, `fz.${k}.>`, `fz.${k}.*`, "other", ""]);
  if (rng.chance(0.05)) c["filter_subjects"] = [`fz.${k}.a`, `fz.${k}.b`];
  if (rng.chance(0.05)) c["replay_policy"] = rng.pick(["instant", "original"]);
  if (rng.chance(0.2)) c["max_ack_pending"] = rng.pick([-1, 1, 10, 1000]);
  if (rng.chance(0.1)) c["max_waiting"] = rng.pick([1, 10, 512]);
  if (rng.chance(0.1)) c["max_batch"] = rng.pick([1, 10, 100]);
  if (rng.chance(0.1)) c["max_expires"] = rng.pick([ns(rng, 1, 1000), ns(rng, 1000, 60_000)]);
  if (rng.chance(0.05)) c["max_bytes"] = rng.pick([16, 1024, 1024 * 1024]);
  if (rng.chance(0.05)) c["headers_only"] = true;
  if (rng.chance(0.3)) {
    // Push: delivered to an inbox the sending connection listens on, or to nobody.
    c["deliver_subject"] = rng.pick([`fzd.${k}.${rng.int(4)}`, `_R.push.${rng.int(4)}`]);
    if (rng.chance(0.3)) c["idle_heartbeat"] = rng.pick([ns(rng, 100, 5000), new RawJson("9223372036854775807")]);
    if (rng.chance(0.1)) c["flow_control"] = true;
    if (rng.chance(0.1)) c["deliver_group"] = "q";
  }
  if (rng.chance(0.3)) c["inactive_threshold"] = rng.pick([ns(rng, 10, 1000), ns(rng, 1000, 10_000), new RawJson("9223372036854775807")]);
  if (rng.chance(0.05)) c["mem_storage"] = true;
  if (rng.chance(0.05)) c["metadata"] = rng.pick<JsonLike>([{ "cuebus.dead_letter_stream": `FZ${(k + 1) % FUZZ_STREAMS}` }, { a: "b" }]);
  if (rng.chance(0.05)) c["num_replicas"] = rng.pick([0, 1, 3]);
  return mutate(rng, c, 0.35);
}

/** CONSUMER.CREATE's body: `{stream_name, config, action?}`. */
export function consumerCreate(rng: Rng, k: number, durable: string | null): JsonLike {
  const b: Record<string, JsonLike> = { stream_name: `FZ${k}`, config: consumerConfig(rng, k, durable) };
  if (rng.chance(0.1)) b["action"] = rng.pick(["create", "update", "", "bogus"]);
  return mutate(rng, b, 0.1);
}

/** CONSUMER.MSG.NEXT's body: a JSON request, a bare batch number, or nothing. */
export function pullRequest(rng: Rng): string {
  const r = rng.int(10);
  if (r === 0) return "";
  if (r === 1) return String(rng.pick([1, 10, 0, -1, 1000000]));
  const b: Record<string, JsonLike> = { batch: rng.pick([1, 1, 5, 20, 100]) };
  if (rng.chance(0.7)) b["expires"] = rng.pick([ns(rng, 1, 100), ns(rng, 100, 5000), new RawJson("9223372036854775807")]);
  if (rng.chance(0.3)) b["no_wait"] = true;
  if (rng.chance(0.1)) b["max_bytes"] = rng.pick([1, 100, 1024 * 1024]);
  if (rng.chance(0.1)) b["idle_heartbeat"] = rng.pick([ns(rng, 10, 1000), new RawJson("4611686018427387903"), new RawJson("1152921504606846976")]);
  return bodyText(rng, mutate(rng, b, 0.2));
}

/** STREAM.PURGE's body. */
export function purgeRequest(rng: Rng, k: number): string {
  const b: Record<string, JsonLike> = {};
  if (rng.chance(0.3)) b["filter"] = rng.pick([`fz.${k}.a`, `fz.${k}.>`, "x"]);
  if (rng.chance(0.3)) b["seq"] = rng.pick([1, 10, 1000]);
  else if (rng.chance(0.3)) b["keep"] = rng.pick([1, 10, 1000]);
  return bodyText(rng, mutate(rng, b, 0.3));
}

/** STREAM.MSG.GET / MSG.DELETE / DIRECT.GET bodies. */
export function msgRequest(rng: Rng, k: number): string {
  const b: Record<string, JsonLike> = {};
  const r = rng.int(3);
  if (r === 0) b["seq"] = rng.pick([1, 2, 10, 100, 0]);
  else if (r === 1) b["last_by_subj"] = rng.pick([`fz.${k}.a`, `fz.${k}.b`, "x"]);
  else {
    b["next_by_subj"] = `fz.${k}.>`;
    b["seq"] = rng.int(50);
  }
  return bodyText(rng, mutate(rng, b, 0.3));
}

/** NAMES / LIST bodies. */
export function listRequest(rng: Rng): string {
  const b: Record<string, JsonLike> = {};
  if (rng.chance(0.3)) b["offset"] = rng.pick([0, 1, 100, -1]);
  if (rng.chance(0.3)) b["subject"] = rng.pick(["fz.0.a", "fz.>", ""]);
  return bodyText(rng, mutate(rng, b, 0.3));
}

/** What an ack carries: acks, naks (with delays), progress, term, next, or nonsense. */
export function ackBody(rng: Rng): string {
  switch (rng.int(12)) {
    case 0:
      return "";
    case 1:
    case 2:
      return "+ACK";
    case 3:
      return "-NAK";
    case 4:
      return `-NAK ${toJson({ delay: rng.chance(0.3) ? new RawJson(rng.pick(HUGE)) : rng.int(2000) * NS_MS })}`;
    case 5:
      return `-NAK ${rng.pick(["1s", "10ms", "2562047h", "9999999999h", "x"])}`;
    case 6:
      return "+WPI";
    case 7:
      return "+TERM";
    case 8:
      return `+NXT ${pullRequest(rng)}`;
    case 9:
      return "+OK";
    default:
      return rng.bytes(rng.int(20)).toString("latin1");
  }
}
