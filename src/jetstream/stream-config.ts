import { isValidSubject } from "../subjects/validate.js";
import { GoTypeError, arrayOf, bool, decodeStruct, duration, int, mapOf, oneOf, str, struct, time, type Decoded } from "./api/go-decode.js";
import { jsError, type JsApiError } from "./errors.js";
import { subjectsOverlap } from "./overlap.js";
import { compileTransform } from "./subject-transform.js";

/** Stream configuration as `$JS.API` carries it (nats-server `StreamConfig`, JSON names). */
export interface StreamConfig {
  name: string;
  description?: string;
  subjects: string[];
  retention: "limits" | "interest" | "workqueue";
  max_consumers: number;
  max_msgs: number;
  max_bytes: number;
  /** Nanoseconds; 0 = unlimited. */
  max_age: number;
  max_msgs_per_subject: number;
  max_msg_size: number;
  discard: "old" | "new";
  storage: "file" | "memory";
  num_replicas: number;
  /** Nanoseconds. */
  duplicate_window: number;
  /** Republish each stored message matching `src` to `dest` (transformed), as nats-server's RePublish. */
  republish?: RePublish;
  allow_direct: boolean;
  mirror_direct: boolean;
  /** Printed only when true (nats-server: omitempty). */
  discard_new_per_subject?: boolean;
  sealed: boolean;
  deny_delete: boolean;
  deny_purge: boolean;
  allow_rollup_hdrs: boolean;
  metadata?: Record<string, string>;
}

/** nats-server's RePublish; `src` defaults to `>`, `headers_only` is printed only when true. */
export interface RePublish {
  src: string;
  dest: string;
  headers_only?: boolean;
}

/** StreamSource (mirror, sources): decoded so a wrongly typed one is refused; cuebus does not source. */
const STREAM_SOURCE = struct({
  name: str,
  opt_start_seq: int("uint64"),
  opt_start_time: time,
  filter_subject: str,
  external: struct({ api: str, deliver: str }),
});

/**
 * nats-server 2.9's `StreamConfig` field by field (`server/stream.go`), plus 2.10's `metadata`.
 * Fields cuebus does not act on (placement, mirror, sources, no_ack, template_owner) are still
 * type-checked, as nats-server would refuse them.
 */
export const STREAM_CONFIG_FIELDS = {
  name: str,
  description: str,
  subjects: arrayOf(str),
  retention: oneOf(["limits", "interest", "workqueue"] as const),
  max_consumers: int("int"),
  max_msgs: int("int64"),
  max_bytes: int("int64"),
  max_age: duration,
  max_msgs_per_subject: int("int64"),
  max_msg_size: int("int32"),
  // nats-server lower-cases the discard policy before comparing; nats-server 2.10 drops "any" storage.
  discard: oneOf(["old", "new"] as const, { foldCase: true }),
  storage: oneOf(["file", "memory"] as const),
  num_replicas: int("int"),
  no_ack: bool,
  template_owner: str,
  duplicate_window: duration,
  placement: struct({ cluster: str, tags: arrayOf(str) }),
  mirror: STREAM_SOURCE,
  sources: arrayOf(STREAM_SOURCE),
  republish: struct({ src: str, dest: str, headers_only: bool }),
  allow_direct: bool,
  mirror_direct: bool,
  discard_new_per_subject: bool,
  sealed: bool,
  deny_delete: bool,
  deny_purge: bool,
  allow_rollup_hdrs: bool,
  metadata: mapOf(str),
} as const;

/** A stream config as decoded from a request, before defaults. */
export type StreamConfigRequest = Decoded<typeof STREAM_CONFIG_FIELDS>;

/** nats-server's default duplicate window: 2 minutes, in ns. */
export const DEFAULT_DUPLICATE_WINDOW_NS = 120_000_000_000;
/** Longest stream name accepted (JSMaxNameLen, bytes). */
export const MAX_STREAM_NAME_BYTES = 255;
/** Longest stream description accepted (JSMaxDescriptionLen, bytes). */
export const MAX_STREAM_DESCRIPTION_BYTES = 4096;
/** Most bytes of metadata keys and values together, per stream or consumer (nats-server 2.10 JSMaxMetadataLen). */
export const MAX_METADATA_BYTES = 128 * 1024;
/** Most replicas a stream config may ask for (StreamMaxReplicas); more than 1 is refused unclustered. */
export const MAX_STREAM_REPLICAS = 5;
/** Shortest max_age and duplicate window nats-server accepts: 100 ms, in ns. */
export const MIN_STREAM_WINDOW_NS = 100_000_000;

/** nats-server's isValidName: not empty, no whitespace, `.`, `*` or `>`. */
export function isValidStreamName(name: string): boolean {
  return name !== "" && !/[ \t\r\n\f.*>]/.test(name);
}

/** Path separators in a stream name (refused on create: the name is a directory). */
export const hasPathSeparator = (name: string): boolean => /[\\/]/.test(name);

/** Bytes of a metadata map's keys and values, as nats-server counts them. */
export function metadataBytes(md: Record<string, string> | undefined): number {
  let n = 0;
  if (md !== undefined) for (const [k, v] of Object.entries(md)) n += Buffer.byteLength(k) + Buffer.byteLength(v);
  return n;
}

const invalid = (err: string): JsApiError => jsError("StreamInvalidConfig", { err });

/**
 * nats-server's `subjectIsSubsetMatch`: does every subject `subject` matches also match `test`?
 * (Token by token: `>` in test takes the rest; `*` in subject needs `*` in test.)
 */
export function isSubsetMatch(subject: string, test: string): boolean {
  const tokens = subject.split(".");
  const testTokens = test.split(".");
  for (let i = 0; i < testTokens.length; i++) {
    const t2 = testTokens[i] as string;
    if (i >= tokens.length || t2 === "") return false;
    if (t2 === ">") return true;
    const t1 = tokens[i] as string;
    if (t1 === "" || t1 === ">") return false;
    if (t1 === "*") {
      if (t2 !== "*") return false;
      continue;
    }
    if (t2 !== "*" && t1 !== t2) return false;
  }
  return tokens.length === testTokens.length;
}

/** How a config is normalized. */
export interface NormalizeOptions {
  /**
   * A config read back from the store at start: types and the name are still checked, but not
   * the rules a config accepted by an earlier cuebus may break (nats-server likewise suppresses
   * some checks while recovering), so no stream or consumer is lost to a stricter release.
   */
  recovering?: boolean;
}

/**
 * Fill nats-server's defaults into a requested config and check it as `checkStreamCfg` does,
 * check by check in its order and with its texts. Returns the config in the field order
 * nats-server prints, or the API error. Also used on configs cuebus stored itself
 * (`opts.recovering`): a config this returns normalizes again to itself.
 */
export function normalizeStreamConfig(input: unknown, opts: NormalizeOptions = {}): StreamConfig | JsApiError {
  const strict = opts.recovering !== true;
  let r: StreamConfigRequest;
  try {
    r = input === null || input === undefined ? {} : decodeStruct(input, STREAM_CONFIG_FIELDS, "");
  } catch (err) {
    if (err instanceof GoTypeError) return jsError("InvalidJSON", { err: err.message });
    throw err;
  }
  const name = r.name ?? "";
  if (!isValidStreamName(name)) return invalid("stream name is required and can not contain '.', '*', '>'");
  if (Buffer.byteLength(name) > MAX_STREAM_NAME_BYTES) return invalid(`stream name is too long, maximum allowed is ${MAX_STREAM_NAME_BYTES}`);
  if (hasPathSeparator(name)) return jsError("StreamNameContainsPathSeparators");
  const description = r.description ?? "";
  if (strict && Buffer.byteLength(description) > MAX_STREAM_DESCRIPTION_BYTES) return invalid(`stream description is too long, maximum allowed is ${MAX_STREAM_DESCRIPTION_BYTES}`);
  if (strict && metadataBytes(r.metadata) > MAX_METADATA_BYTES) return invalid(`stream metadata exceeds maximum size of ${MAX_METADATA_BYTES} bytes`);

  let replicas = r.num_replicas ?? 0;
  if (replicas === 0) replicas = 1;
  if (strict && replicas > MAX_STREAM_REPLICAS) return invalid(`maximum replicas is ${MAX_STREAM_REPLICAS}`);
  if (strict && replicas < 0) return jsError("ReplicasCountCannotBeNegative");
  const orUnlimited = (v: number | undefined): number => (v === undefined || v === 0 ? -1 : v);
  const maxAge = r.max_age ?? 0;
  let dup = r.duplicate_window ?? 0;
  if (dup === 0) dup = maxAge !== 0 && maxAge < DEFAULT_DUPLICATE_WINDOW_NS ? maxAge : DEFAULT_DUPLICATE_WINDOW_NS;
  if (strict && maxAge > 0 && maxAge < MIN_STREAM_WINDOW_NS) return invalid("max age needs to be >= 100ms");
  if (strict && dup < 0) return invalid("duplicates window can not be negative");
  if (strict && maxAge !== 0 && dup > maxAge) return invalid("duplicates window can not be larger then max age");
  if (strict && dup > 0 && dup < MIN_STREAM_WINDOW_NS) return invalid("duplicates window needs to be >= 100ms");
  if (strict && r.deny_purge === true && r.allow_rollup_hdrs === true) return invalid("roll-ups require the purge permission");
  const maxPerSubject = orUnlimited(r.max_msgs_per_subject);
  if (r.discard_new_per_subject === true) {
    if (strict && r.discard !== "new") return invalid("discard new per subject requires discard new policy to be set");
    if (strict && maxPerSubject <= 0) return invalid("discard new per subject requires max msgs per subject > 0");
  }

  const subjects = r.subjects !== undefined && r.subjects.length > 0 ? r.subjects : [name];
  const seen = new Set<string>();
  for (const s of subjects) {
    if (strict && seen.has(s)) return invalid("duplicate subjects detected");
    if (strict && isSubsetMatch(s, "$JS.API.>")) return invalid("subjects overlap with jetstream api");
    if (!isValidSubject(s)) return invalid("invalid subject");
    seen.add(s);
  }
  if (strict) for (const s of subjects) for (const t of subjects) if (t !== s && subjectsOverlap(t, s)) return invalid(`subject ${JSON.stringify(s)} overlaps with ${JSON.stringify(t)}`);
  let republish: RePublish | undefined;
  if (r.republish !== undefined) {
    // nats-server's checkStreamCfg: the source must meet the stream's subjects, the destination
    // must not (a cycle), and the pair must make a valid subject transform.
    const src = r.republish.src === undefined || r.republish.src === "" ? ">" : r.republish.src;
    const dest = r.republish.dest ?? "";
    if (!subjects.some((s) => subjectsOverlap(src, s))) return invalid("stream configuration for republish source is not valid subset of subjects");
    if (subjects.some((s) => subjectsOverlap(dest, s))) return invalid("stream configuration for republish destination forms a cycle");
    if (compileTransform(src, dest) === null) return invalid("stream configuration for republish not valid");
    republish = { src, dest };
    if (r.republish.headers_only === true) republish.headers_only = true;
  }

  const cfg: StreamConfig = { name } as StreamConfig;
  if (description !== "") cfg.description = description;
  Object.assign(cfg, {
    subjects,
    retention: r.retention ?? "limits",
    max_consumers: orUnlimited(r.max_consumers),
    max_msgs: orUnlimited(r.max_msgs),
    max_bytes: orUnlimited(r.max_bytes),
    max_age: maxAge,
    max_msgs_per_subject: maxPerSubject,
    max_msg_size: orUnlimited(r.max_msg_size),
    discard: r.discard ?? "old",
    storage: r.storage ?? "file",
    num_replicas: replicas,
    duplicate_window: dup,
  });
  if (republish !== undefined) cfg.republish = republish;
  Object.assign(cfg, {
    allow_direct: r.allow_direct ?? false,
    mirror_direct: r.mirror_direct ?? false,
  });
  if (r.discard_new_per_subject === true) cfg.discard_new_per_subject = true;
  Object.assign(cfg, {
    sealed: r.sealed ?? false,
    deny_delete: r.deny_delete ?? false,
    deny_purge: r.deny_purge ?? false,
    allow_rollup_hdrs: r.allow_rollup_hdrs ?? false,
  });
  if (r.metadata !== undefined && Object.keys(r.metadata).length > 0) cfg.metadata = r.metadata;
  return cfg;
}

/**
 * A stream update as nats-server's `configUpdateCheck` allows it, given the normalized old and
 * new configs. Returns the config to apply (a sealed stream also gets nats-server's sealed
 * settings) or the API error, with nats-server's texts.
 */
export function checkStreamUpdate(old: StreamConfig, next: StreamConfig): StreamConfig | JsApiError {
  if (next.name !== old.name) return invalid("stream configuration name must match original");
  if (next.max_consumers !== old.max_consumers) return invalid("stream configuration update can not change MaxConsumers");
  if (next.storage !== old.storage) return invalid("stream configuration update can not change storage type");
  if (next.retention !== old.retention) return invalid("stream configuration update can not change retention policy");
  if (!next.sealed && old.sealed) return invalid("stream configuration update can not unseal a sealed stream");
  if (!next.deny_delete && old.deny_delete) return invalid("stream configuration update can not cancel deny message deletes");
  if (!next.deny_purge && old.deny_purge) return invalid("stream configuration update can not cancel deny purge");
  if (JSON.stringify(next.republish) !== JSON.stringify(old.republish)) return invalid("stream configuration update can not change RePublish");
  if (!next.sealed) return next;
  return { ...next, max_age: 0, discard: "new", deny_delete: true, deny_purge: true, allow_rollup_hdrs: false };
}

/** Same configuration (for idempotent create). */
export function sameConfig(a: StreamConfig, b: StreamConfig): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
