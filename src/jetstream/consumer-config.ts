import { isValidSubject, subjectMatches } from "../subjects/validate.js";
import { jsError, type JsApiError } from "./errors.js";
import type { StreamConfig } from "./stream-config.js";

/** Consumer configuration as `$JS.API` carries it (nats-server `ConsumerConfig`, JSON names, ns durations). */
export interface ConsumerConfig {
  durable_name?: string;
  name?: string;
  description?: string;
  deliver_policy: DeliverPolicy;
  opt_start_seq?: number;
  opt_start_time?: string;
  ack_policy: AckPolicy;
  ack_wait?: number;
  max_deliver?: number;
  backoff?: number[];
  filter_subject?: string;
  filter_subjects?: string[];
  replay_policy: "instant" | "original";
  rate_limit_bps?: number;
  sample_freq?: string;
  max_waiting?: number;
  max_ack_pending?: number;
  idle_heartbeat?: number;
  flow_control?: boolean;
  headers_only?: boolean;
  max_batch?: number;
  max_expires?: number;
  max_bytes?: number;
  deliver_subject?: string;
  deliver_group?: string;
  inactive_threshold?: number;
  num_replicas: number;
  mem_storage?: boolean;
  metadata?: Record<string, string>;
}

export type DeliverPolicy = "all" | "last" | "new" | "by_start_sequence" | "by_start_time" | "last_per_subject";
export type AckPolicy = "none" | "all" | "explicit";

const DELIVER_POLICIES: readonly string[] = ["all", "last", "new", "by_start_sequence", "by_start_time", "last_per_subject"];
const ACK_POLICIES: readonly string[] = ["none", "all", "explicit"];

/** nats-server's defaults (`server/consumer.go`, `jetstream_api.go`). */
export const ConsumerDefaults = {
  ackWaitNs: 30_000_000_000,
  maxAckPending: 1000,
  maxWaiting: 512,
  /** Ephemeral consumers are removed after this long without interest. */
  inactiveThresholdNs: 5_000_000_000,
  /** Push flow control window ceiling; the window starts at 1/16 of it and doubles per response. */
  flowControlMaxPendingBytes: 32 * 1024 * 1024,
  minHeartbeatNs: 100_000_000,
} as const;

/** Longest consumer name accepted (nats-server JSMaxNameLen). */
export const MAX_CONSUMER_NAME_BYTES = 255;
/** Longest description accepted (JSMaxDescriptionLen). */
export const MAX_DESCRIPTION_BYTES = 4096;
/** Most filter subjects one consumer may have. */
export const MAX_FILTER_SUBJECTS = 256;

/**
 * The consumer `metadata` key naming a dead-letter stream: a message that reaches `max_deliver` or
 * is terminated (`+TERM`) is copied there with `Cuebus-Dlq-*` headers (see docs/jetstream.md).
 */
export const DEAD_LETTER_METADATA_KEY = "cuebus.dead_letter_stream";

/** A consumer name: no `.`, `*`, `>`, whitespace or path separators. */
export function isValidConsumerName(name: string): boolean {
  return name.length > 0 && Buffer.byteLength(name) <= MAX_CONSUMER_NAME_BYTES && !/[.*>\s]/.test(name);
}

const num = (v: unknown): number | undefined => (typeof v === "number" && Number.isFinite(v) ? v : undefined);
const str = (v: unknown): string | undefined => (typeof v === "string" && v !== "" ? v : undefined);
const invalidPolicy = (err: string): JsApiError => jsError("ConsumerInvalidPolicy", { err });

/**
 * Apply nats-server's defaults to a requested consumer config and check it against its stream.
 * Returns the config with fields in the order nats-server prints them, or the API error.
 */
export function normalizeConsumerConfig(input: unknown, stream: StreamConfig): ConsumerConfig | JsApiError {
  if (typeof input !== "object" || input === null || Array.isArray(input)) return jsError("ConsumerConfigRequired");
  const r = input as Record<string, unknown>;
  const deliverPolicy = r["deliver_policy"] ?? "all";
  if (typeof deliverPolicy !== "string" || !DELIVER_POLICIES.includes(deliverPolicy)) return jsError("InvalidJSON", { err: `can not unmarshal deliver_policy ${JSON.stringify(deliverPolicy)}` });
  const ackPolicy = r["ack_policy"] ?? "none";
  if (typeof ackPolicy !== "string" || !ACK_POLICIES.includes(ackPolicy)) return jsError("InvalidJSON", { err: `can not unmarshal ack_policy ${JSON.stringify(ackPolicy)}` });
  const replay = r["replay_policy"] === "original" ? "original" : "instant";
  const deliverSubject = str(r["deliver_subject"]);
  const push = deliverSubject !== undefined;
  const explicitish = ackPolicy === "explicit" || ackPolicy === "all";

  const c: ConsumerConfig = { deliver_policy: deliverPolicy as DeliverPolicy, ack_policy: ackPolicy as AckPolicy, replay_policy: replay, num_replicas: 0 };
  // Build in nats-server's print order.
  const out: Record<string, unknown> = {};
  const durable = str(r["durable_name"]);
  const name = str(r["name"]);
  if (durable !== undefined) out["durable_name"] = durable;
  if (name !== undefined) out["name"] = name;
  const description = str(r["description"]);
  if (description !== undefined) out["description"] = description;
  out["deliver_policy"] = c.deliver_policy;
  const optStartSeq = num(r["opt_start_seq"]);
  if (optStartSeq !== undefined && optStartSeq > 0) out["opt_start_seq"] = optStartSeq;
  const optStartTime = str(r["opt_start_time"]);
  if (optStartTime !== undefined) {
    if (Number.isNaN(Date.parse(optStartTime))) return jsError("InvalidJSON", { err: `parsing time ${JSON.stringify(optStartTime)}` });
    out["opt_start_time"] = optStartTime;
  }
  out["ack_policy"] = c.ack_policy;
  const backoff = Array.isArray(r["backoff"]) ? r["backoff"].filter((v): v is number => typeof v === "number" && v > 0) : [];
  let ackWait = num(r["ack_wait"]) ?? 0;
  if (ackWait === 0 && explicitish) ackWait = ConsumerDefaults.ackWaitNs;
  if (backoff.length > 0) ackWait = backoff[0] as number;
  if (ackWait > 0) out["ack_wait"] = ackWait;
  let maxDeliver = num(r["max_deliver"]) ?? 0;
  if (maxDeliver === 0) maxDeliver = -1;
  out["max_deliver"] = maxDeliver;
  if (backoff.length > 0) out["backoff"] = backoff;
  const filter = str(r["filter_subject"]);
  if (filter !== undefined) out["filter_subject"] = filter;
  out["replay_policy"] = replay;
  const rate = num(r["rate_limit_bps"]);
  if (rate !== undefined && rate > 0) out["rate_limit_bps"] = rate;
  const sample = str(r["sample_freq"]);
  if (sample !== undefined) out["sample_freq"] = sample;
  let maxWaiting = num(r["max_waiting"]) ?? 0;
  if (!push && maxWaiting === 0) maxWaiting = ConsumerDefaults.maxWaiting;
  if (maxWaiting !== 0) out["max_waiting"] = maxWaiting;
  let maxAckPending = num(r["max_ack_pending"]) ?? 0;
  if (explicitish && maxAckPending === 0) maxAckPending = ConsumerDefaults.maxAckPending;
  if (maxAckPending !== 0) out["max_ack_pending"] = maxAckPending;
  const hb = num(r["idle_heartbeat"]) ?? 0;
  if (hb > 0) out["idle_heartbeat"] = hb;
  if (r["flow_control"] === true) out["flow_control"] = true;
  if (r["headers_only"] === true) out["headers_only"] = true;
  const maxBatch = num(r["max_batch"]) ?? 0;
  if (maxBatch !== 0) out["max_batch"] = maxBatch;
  const maxExpires = num(r["max_expires"]) ?? 0;
  if (maxExpires !== 0) out["max_expires"] = maxExpires;
  const maxBytes = num(r["max_bytes"]) ?? 0;
  if (maxBytes !== 0) out["max_bytes"] = maxBytes;
  if (deliverSubject !== undefined) out["deliver_subject"] = deliverSubject;
  const group = str(r["deliver_group"]);
  if (group !== undefined) out["deliver_group"] = group;
  let inactive = num(r["inactive_threshold"]) ?? 0;
  if (durable === undefined && inactive <= 0) inactive = ConsumerDefaults.inactiveThresholdNs;
  if (inactive > 0) out["inactive_threshold"] = inactive;
  const replicas = num(r["num_replicas"]) ?? 0;
  out["num_replicas"] = replicas;
  if (r["mem_storage"] === true) out["mem_storage"] = true;
  if (Array.isArray(r["filter_subjects"]) && r["filter_subjects"].length > 0) {
    if (r["filter_subjects"].length > MAX_FILTER_SUBJECTS) return jsError("ConsumerCreate", { err: `consumer has more than ${MAX_FILTER_SUBJECTS} filter subjects` });
    const fs = r["filter_subjects"].filter((s): s is string => typeof s === "string");
    if (fs.length !== r["filter_subjects"].length || fs.some((s) => !isValidSubject(s))) return jsError("ConsumerCreate", { err: "consumer filter subject is not a valid subject" });
    if (filter !== undefined) return jsError("ConsumerDuplicateFilterSubjects");
    for (let i = 0; i < fs.length; i++) for (let j = i + 1; j < fs.length; j++) if (subjectsIntersect(fs[i] as string, fs[j] as string)) return jsError("ConsumerOverlappingSubjectFilters");
    out["filter_subjects"] = fs;
  }
  if (typeof r["metadata"] === "object" && r["metadata"] !== null && !Array.isArray(r["metadata"])) {
    const md = Object.entries(r["metadata"] as Record<string, unknown>).filter((e): e is [string, string] => typeof e[1] === "string");
    if (md.length > 0) out["metadata"] = Object.fromEntries(md);
  }
  const cfg = out as unknown as ConsumerConfig;

  // Checks, in the order of nats-server's checkConsumerCfg.
  if (replicas > 0 && replicas > stream.num_replicas) return jsError("ConsumerReplicasExceedsStream");
  if (replicas < 0) return jsError("ReplicasCountCannotBeNegative");
  if (backoff.length > 0 && maxDeliver <= backoff.length) return jsError("ConsumerMaxDeliverBackoff");
  if (description !== undefined && Buffer.byteLength(description) > MAX_DESCRIPTION_BYTES) return jsError("ConsumerDescriptionTooLong", { max: MAX_DESCRIPTION_BYTES });
  if (push) {
    if (/[*>]/.test(deliverSubject)) return jsError("ConsumerDeliverToWildcards");
    if (!isValidSubject(deliverSubject)) return jsError("ConsumerInvalidDeliverSubject");
    if (stream.subjects.some((s) => subjectMatches(s, deliverSubject))) return jsError("ConsumerDeliverCycle");
    if (maxWaiting !== 0) return jsError("ConsumerPushMaxWaiting");
    if (maxAckPending > 0 && ackPolicy === "none") return jsError("ConsumerMaxPendingAckPolicyRequired");
    if (hb > 0 && hb < ConsumerDefaults.minHeartbeatNs) return jsError("ConsumerSmallHeartbeat");
  } else {
    if (ackPolicy === "none" && stream.retention === "workqueue") return jsError("ConsumerPullRequiresAck");
    if (rate !== undefined && rate > 0) return jsError("ConsumerPullWithRateLimit");
    if (maxWaiting < 0) return jsError("ConsumerMaxWaitingNegative");
    if (hb > 0) return jsError("ConsumerHBRequiresPush");
    if (r["flow_control"] === true) return jsError("ConsumerFCRequiresPush");
    if (maxBatch < 0) return jsError("ConsumerMaxRequestBatchNegative");
    if (maxExpires !== 0 && maxExpires < 1_000_000) return jsError("ConsumerMaxRequestExpiresToSmall");
  }
  const filters = cfg.filter_subjects ?? (filter !== undefined ? [filter] : []);
  for (const f of filters) {
    if (!isValidSubject(f) || !stream.subjects.some((s) => subjectsIntersect(s, f))) return jsError("ConsumerFilterNotSubset");
  }
  const hasSeq = optStartSeq !== undefined && optStartSeq > 0;
  const hasTime = optStartTime !== undefined;
  const badStart = (dp: string, what: string): JsApiError => invalidPolicy(`consumer delivery policy is deliver ${dp}, but optional start ${what} is also set`);
  const notSet = (dp: string, what: string): JsApiError => invalidPolicy(`consumer delivery policy is deliver ${dp}, but optional ${what} is not set`);
  switch (c.deliver_policy) {
    case "all":
    case "last":
    case "new":
      if (hasSeq) return badStart(c.deliver_policy, "sequence");
      if (hasTime) return badStart(c.deliver_policy, "time");
      break;
    case "last_per_subject":
      if (hasSeq) return badStart("last per subject", "sequence");
      if (hasTime) return badStart("last per subject", "time");
      if (filters.length === 0) return notSet("last per subject", "filter subject");
      break;
    case "by_start_sequence":
      if (!hasSeq) return notSet("by start sequence", "start sequence");
      if (hasTime) return badStart("by start sequence", "time");
      break;
    case "by_start_time":
      if (!hasTime) return notSet("by start time", "start time");
      if (hasSeq) return badStart("by start time", "start sequence");
      break;
  }
  if (r["flow_control"] === true && hb === 0) return jsError("ConsumerWithFlowControlNeedsHeartbeats");
  if (durable !== undefined && name !== undefined && name !== durable) return jsError("ConsumerCreateDurableAndNameMismatch");
  for (const n of [durable, name]) {
    if (n === undefined) continue;
    if (Buffer.byteLength(n) > MAX_CONSUMER_NAME_BYTES) return jsError("ConsumerNameTooLong", { max: MAX_CONSUMER_NAME_BYTES });
    if (!isValidConsumerName(n)) return jsError("ConsumerBadDurableName");
  }
  return cfg;
}

/** Can two subject patterns match a common subject? (A filter must fall inside the stream's subjects.) */
export function subjectsIntersect(a: string, b: string): boolean {
  const ta = a.split(".");
  const tb = b.split(".");
  for (let i = 0; i < ta.length && i < tb.length; i++) {
    const x = ta[i] as string;
    const y = tb[i] as string;
    if (x === ">" || y === ">") return true;
    if (x !== "*" && y !== "*" && x !== y) return false;
  }
  return ta.length === tb.length;
}

/**
 * Which changes an existing consumer accepts (nats-server `checkNewConsumerConfig`). Returns the
 * error text for ConsumerCreate, or null when the update is allowed.
 */
export function checkConsumerUpdate(old: ConsumerConfig, next: ConsumerConfig, deliverBound: boolean): string | JsApiError | null {
  if (JSON.stringify(old) === JSON.stringify(next)) return null;
  if (old.deliver_policy !== next.deliver_policy) return "deliver policy can not be updated";
  if (old.opt_start_seq !== next.opt_start_seq) return "start sequence can not be updated";
  if (old.opt_start_time !== next.opt_start_time) return "start time can not be updated";
  if (old.ack_policy !== next.ack_policy) return "ack policy can not be updated";
  if (old.replay_policy !== next.replay_policy) return "replay policy can not be updated";
  if (old.idle_heartbeat !== next.idle_heartbeat) return "heart beats can not be updated";
  if (old.flow_control !== next.flow_control) return "flow control can not be updated";
  if (old.max_waiting !== next.max_waiting) return "max waiting can not be updated";
  if (old.deliver_subject !== next.deliver_subject) {
    if (old.deliver_subject === undefined) return "can not update pull consumer to push based";
    if (next.deliver_subject === undefined) return "can not update push consumer to pull based";
    if (deliverBound) return jsError("ConsumerNameExist");
  }
  return null;
}
