import { hasWildcard, isValidSubject, subjectMatches } from "../subjects/validate.js";
import { GoTypeError, arrayOf, bool, decodeStruct, duration, int, mapOf, oneOf, str, time, type Decoded } from "./api/go-decode.js";
import { jsError, type JsApiError } from "./errors.js";
import { MAX_METADATA_BYTES, isSubsetMatch, isValidStreamName, metadataBytes, type NormalizeOptions, type StreamConfig } from "./stream-config.js";

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

/**
 * nats-server 2.9's `ConsumerConfig` field by field (`server/consumer.go`), plus 2.10's
 * `filter_subjects` and `metadata`. `direct` (internal to mirrors and sources) is checked and dropped.
 */
export const CONSUMER_CONFIG_FIELDS = {
  durable_name: str,
  name: str,
  description: str,
  // DeliverPolicy's UnmarshalJSON also takes "undefined" for "all".
  deliver_policy: oneOf(["all", "last", "new", "by_start_sequence", "by_start_time", "last_per_subject"] as const, { aliases: { undefined: "all" } }),
  opt_start_seq: int("uint64"),
  opt_start_time: time,
  ack_policy: oneOf(["none", "all", "explicit"] as const),
  ack_wait: duration,
  max_deliver: int("int"),
  backoff: arrayOf(duration),
  filter_subject: str,
  filter_subjects: arrayOf(str),
  replay_policy: oneOf(["instant", "original"] as const),
  rate_limit_bps: int("uint64"),
  sample_freq: str,
  max_waiting: int("int"),
  max_ack_pending: int("int"),
  idle_heartbeat: duration,
  flow_control: bool,
  headers_only: bool,
  max_batch: int("int"),
  max_expires: duration,
  max_bytes: int("int"),
  deliver_subject: str,
  deliver_group: str,
  inactive_threshold: duration,
  num_replicas: int("int"),
  mem_storage: bool,
  direct: bool,
  metadata: mapOf(str),
} as const;

/** A consumer config as decoded from a request, before defaults. */
export type ConsumerConfigRequest = Decoded<typeof CONSUMER_CONFIG_FIELDS>;

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

/** A consumer name: at most MAX_CONSUMER_NAME_BYTES, and what nats-server's isValidName takes. */
export function isValidConsumerName(name: string): boolean {
  return Buffer.byteLength(name) <= MAX_CONSUMER_NAME_BYTES && isValidStreamName(name);
}

const invalidPolicy = (err: string): JsApiError => jsError("ConsumerInvalidPolicy", { err });

/**
 * nats-server's `validFilteredSubject`: a valid subject inside one of the stream's subjects, or a
 * wildcard filter wider than one of them.
 */
export function isValidFilter(filter: string, streamSubjects: readonly string[]): boolean {
  if (!isValidSubject(filter)) return false;
  const wide = hasWildcard(filter);
  return streamSubjects.some((s) => isSubsetMatch(filter, s) || (wide && isSubsetMatch(s, filter)));
}

/** Go's strconv.Atoi error for a sample frequency, or null when it parses (as nats-server words it). */
function atoiError(s: string): string | null {
  if (!/^[+-]?[0-9]+$/.test(s)) return `strconv.Atoi: parsing ${JSON.stringify(s)}: invalid syntax`;
  const n = BigInt(s);
  if (n < -(2n ** 63n) || n >= 2n ** 63n) return `strconv.Atoi: parsing ${JSON.stringify(s)}: value out of range`;
  return null;
}

/**
 * Decode a requested consumer config, apply nats-server's defaults (`setConsumerConfigDefaults`)
 * and check it against its stream as `checkConsumerCfg` does, in its order and with its texts.
 * Returns the config with fields in the order nats-server prints them, or the API error. Also
 * used on configs cuebus stored itself (`opts.recovering`): a config this returns normalizes
 * again to itself.
 */
export function normalizeConsumerConfig(input: unknown, stream: StreamConfig, opts: NormalizeOptions = {}): ConsumerConfig | JsApiError {
  let r: ConsumerConfigRequest;
  try {
    r = input === null || input === undefined ? {} : decodeStruct(input, CONSUMER_CONFIG_FIELDS, "");
  } catch (err) {
    if (err instanceof GoTypeError) return jsError("InvalidJSON", { err: err.message });
    throw err;
  }
  const nonEmpty = (s: string | undefined): string | undefined => (s === undefined || s === "" ? undefined : s);
  const deliverPolicy = r.deliver_policy ?? "all";
  const ackPolicy = r.ack_policy ?? "none";
  const replay = r.replay_policy ?? "instant";
  const deliverSubject = nonEmpty(r.deliver_subject);
  const push = deliverSubject !== undefined;
  const explicitish = ackPolicy === "explicit" || ackPolicy === "all";
  const durable = nonEmpty(r.durable_name);
  const name = nonEmpty(r.name);
  const description = nonEmpty(r.description);
  const optStartSeq = r.opt_start_seq ?? 0;
  const optStartTime = r.opt_start_time;
  const filter = nonEmpty(r.filter_subject);
  const backoff = r.backoff ?? [];
  const rate = r.rate_limit_bps ?? 0;
  const sample = nonEmpty(r.sample_freq);
  const hb = r.idle_heartbeat ?? 0;
  const flowControl = r.flow_control === true;
  const maxBatch = r.max_batch ?? 0;
  const maxExpires = r.max_expires ?? 0;
  const replicas = r.num_replicas ?? 0;

  // setConsumerConfigDefaults, then the ephemeral inactivity default (updateInactiveThreshold).
  let maxWaiting = r.max_waiting ?? 0;
  if (!push && maxWaiting === 0) maxWaiting = ConsumerDefaults.maxWaiting;
  let ackWait = r.ack_wait ?? 0;
  if (ackWait === 0 && explicitish) ackWait = ConsumerDefaults.ackWaitNs;
  let maxDeliver = r.max_deliver ?? 0;
  if (maxDeliver === 0) maxDeliver = -1;
  if (backoff.length > 0) ackWait = backoff[0] as number;
  let maxAckPending = r.max_ack_pending ?? 0;
  if (explicitish && maxAckPending === 0) maxAckPending = ConsumerDefaults.maxAckPending;
  let inactive = r.inactive_threshold ?? 0;
  if (durable === undefined && inactive <= 0) inactive = ConsumerDefaults.inactiveThresholdNs;

  // Built in nats-server's print order; omitempty fields only when set.
  const out: Record<string, unknown> = {};
  const put = (k: string, v: unknown, set: boolean): void => {
    if (set) out[k] = v;
  };
  put("durable_name", durable, durable !== undefined);
  put("name", name, name !== undefined);
  put("description", description, description !== undefined);
  out["deliver_policy"] = deliverPolicy;
  put("opt_start_seq", optStartSeq, optStartSeq !== 0);
  put("opt_start_time", optStartTime, optStartTime !== undefined);
  out["ack_policy"] = ackPolicy;
  put("ack_wait", ackWait, ackWait !== 0);
  out["max_deliver"] = maxDeliver;
  put("backoff", backoff, backoff.length > 0);
  put("filter_subject", filter, filter !== undefined);
  out["replay_policy"] = replay;
  put("rate_limit_bps", rate, rate !== 0);
  put("sample_freq", sample, sample !== undefined);
  put("max_waiting", maxWaiting, maxWaiting !== 0);
  put("max_ack_pending", maxAckPending, maxAckPending !== 0);
  put("idle_heartbeat", hb, hb !== 0);
  put("flow_control", true, flowControl);
  put("headers_only", true, r.headers_only === true);
  put("max_batch", maxBatch, maxBatch !== 0);
  put("max_expires", maxExpires, maxExpires !== 0);
  put("max_bytes", r.max_bytes, (r.max_bytes ?? 0) !== 0);
  put("deliver_subject", deliverSubject, push);
  put("deliver_group", r.deliver_group, nonEmpty(r.deliver_group) !== undefined);
  put("inactive_threshold", inactive, inactive !== 0);
  out["num_replicas"] = replicas;
  put("mem_storage", true, r.mem_storage === true);
  const filters = r.filter_subjects ?? [];
  put("filter_subjects", filters, filters.length > 0);
  put("metadata", r.metadata, r.metadata !== undefined && Object.keys(r.metadata).length > 0);
  const cfg = out as unknown as ConsumerConfig;
  // A stored config is served as it was accepted (its stream may have changed since); only its
  // name, which names its directory, is checked again.
  if (opts.recovering === true) return [durable, name].every((n) => n === undefined || isValidConsumerName(n)) ? cfg : jsError("ConsumerBadDurableName");

  // Checks, in the order of nats-server's checkConsumerCfg.
  if (replicas > 0 && replicas > stream.num_replicas) return jsError("ConsumerReplicasExceedsStream");
  if (replicas < 0) return jsError("ReplicasCountCannotBeNegative");
  if (backoff.length > 0 && maxDeliver <= backoff.length) return jsError("ConsumerMaxDeliverBackoff");
  if (description !== undefined && Buffer.byteLength(description) > MAX_DESCRIPTION_BYTES) return jsError("ConsumerDescriptionTooLong", { max: MAX_DESCRIPTION_BYTES });
  if (metadataBytes(r.metadata) > MAX_METADATA_BYTES) return jsError("ConsumerMetadataLength", { limit: `${MAX_METADATA_BYTES / 1024}KB` });
  if (push) {
    if (hasWildcard(deliverSubject)) return jsError("ConsumerDeliverToWildcards");
    if (!isValidSubject(deliverSubject)) return jsError("ConsumerInvalidDeliverSubject");
    if (stream.subjects.some((s) => subjectMatches(s, deliverSubject))) return jsError("ConsumerDeliverCycle");
    if (maxWaiting !== 0) return jsError("ConsumerPushMaxWaiting");
    if (maxAckPending > 0 && ackPolicy === "none") return jsError("ConsumerMaxPendingAckPolicyRequired");
    if (hb > 0 && hb < ConsumerDefaults.minHeartbeatNs) return jsError("ConsumerSmallHeartbeat");
  } else {
    if (ackPolicy === "none" && stream.retention === "workqueue") return jsError("ConsumerPullRequiresAck");
    if (rate > 0) return jsError("ConsumerPullWithRateLimit");
    if (maxWaiting < 0) return jsError("ConsumerMaxWaitingNegative");
    if (hb > 0) return jsError("ConsumerHBRequiresPush");
    if (flowControl) return jsError("ConsumerFCRequiresPush");
    if (maxBatch < 0) return jsError("ConsumerMaxRequestBatchNegative");
    if (maxExpires !== 0 && maxExpires < 1_000_000) return jsError("ConsumerMaxRequestExpiresToSmall");
  }
  // nats-server 2.10's filter_subjects.
  if (filters.length > MAX_FILTER_SUBJECTS) return jsError("ConsumerCreate", { err: `consumer has more than ${MAX_FILTER_SUBJECTS} filter subjects` });
  if (filters.length > 0) {
    if (filters.some((s) => !isValidSubject(s))) return jsError("ConsumerCreate", { err: "consumer filter subject is not a valid subject" });
    if (filter !== undefined) return jsError("ConsumerDuplicateFilterSubjects");
    for (let i = 0; i < filters.length; i++) for (let j = i + 1; j < filters.length; j++) if (subjectsIntersect(filters[i] as string, filters[j] as string)) return jsError("ConsumerOverlappingSubjectFilters");
  }
  const allFilters = filters.length > 0 ? filters : filter !== undefined ? [filter] : [];
  for (const f of allFilters) if (!isValidFilter(f, stream.subjects)) return jsError("ConsumerFilterNotSubset");

  const hasSeq = optStartSeq > 0;
  const hasTime = optStartTime !== undefined;
  const badStart = (dp: string, what: string): JsApiError => invalidPolicy(`consumer delivery policy is deliver ${dp}, but optional start ${what} is also set`);
  const notSet = (dp: string, what: string): JsApiError => invalidPolicy(`consumer delivery policy is deliver ${dp}, but optional ${what} is not set`);
  switch (deliverPolicy) {
    case "all":
    case "last":
    case "new":
      if (hasSeq) return badStart(deliverPolicy, "sequence");
      if (hasTime) return badStart(deliverPolicy, "time");
      break;
    case "last_per_subject":
      if (hasSeq) return badStart("last per subject", "sequence");
      if (hasTime) return badStart("last per subject", "time");
      if (allFilters.length === 0) return notSet("last per subject", "filter subject");
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
  if (sample !== undefined) {
    const digits = sample.endsWith("%") ? sample.slice(0, -1) : sample;
    const err = atoiError(digits);
    if (err !== null || Number(digits) < 0) return jsError("ConsumerInvalidSampling", { err: err ?? "<nil>" });
  }
  if (flowControl && hb === 0) return jsError("ConsumerWithFlowControlNeedsHeartbeats");
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
  // nats-server 2.10 refuses this (2.9.10 took it, keeping the consumer's state where it was).
  // Taken, a durable made without files (mem_storage) would have its state written where none exist.
  if ((old.mem_storage === true) !== (next.mem_storage === true)) return "storage type can not be updated";
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
