import { isValidSubject } from "../subjects/validate.js";
import { jsError, type JsApiError } from "./errors.js";

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
  allow_direct: boolean;
  mirror_direct: boolean;
  sealed: boolean;
  deny_delete: boolean;
  deny_purge: boolean;
  allow_rollup_hdrs: boolean;
  metadata?: Record<string, string>;
}

/** nats-server's default duplicate window: 2 minutes, in ns. */
export const DEFAULT_DUPLICATE_WINDOW_NS = 120_000_000_000;
/** Longest stream name accepted. */
export const MAX_STREAM_NAME_BYTES = 255;

const num = (v: unknown, d: number): number => (typeof v === "number" && Number.isFinite(v) ? v : d);
const bool = (v: unknown): boolean => v === true;

/** A stream name: no `.`, `*`, `>`, whitespace or path separators. */
export function isValidStreamName(name: string): boolean {
  return name.length > 0 && Buffer.byteLength(name) <= MAX_STREAM_NAME_BYTES && !/[.*>\s/\\]/.test(name);
}

/**
 * Fill nats-server's defaults into a requested config and validate it. Returns the config in the
 * field order nats-server prints, or the API error to answer with.
 */
export function normalizeStreamConfig(input: unknown): StreamConfig | JsApiError {
  if (typeof input !== "object" || input === null || Array.isArray(input)) return jsError("BadRequest");
  const r = input as Record<string, unknown>;
  const name = typeof r["name"] === "string" ? r["name"] : "";
  if (!isValidStreamName(name)) return jsError("StreamCreate", { err: "stream name is required and can not contain '.', '*', '>'" });
  let subjects = Array.isArray(r["subjects"]) ? r["subjects"].filter((s): s is string => typeof s === "string") : [];
  if (subjects.length === 0) subjects = [name];
  for (const s of subjects) if (!isValidSubject(s)) return jsError("StreamCreate", { err: `invalid subject: ${s}` });
  const retention = r["retention"] === "interest" || r["retention"] === "workqueue" ? r["retention"] : "limits";
  const storage = r["storage"] === "memory" ? "memory" : "file";
  const discard = r["discard"] === "new" ? "new" : "old";
  const cfg: StreamConfig = {
    name,
    subjects,
    retention,
    max_consumers: num(r["max_consumers"], -1),
    max_msgs: num(r["max_msgs"], -1),
    max_bytes: num(r["max_bytes"], -1),
    max_age: num(r["max_age"], 0),
    max_msgs_per_subject: num(r["max_msgs_per_subject"], -1),
    max_msg_size: num(r["max_msg_size"], -1),
    discard,
    storage,
    num_replicas: Math.max(1, num(r["num_replicas"], 1)),
    duplicate_window: num(r["duplicate_window"], DEFAULT_DUPLICATE_WINDOW_NS) || DEFAULT_DUPLICATE_WINDOW_NS,
    allow_direct: bool(r["allow_direct"]),
    mirror_direct: bool(r["mirror_direct"]),
    sealed: bool(r["sealed"]),
    deny_delete: bool(r["deny_delete"]),
    deny_purge: bool(r["deny_purge"]),
    allow_rollup_hdrs: bool(r["allow_rollup_hdrs"]),
  };
  if (typeof r["description"] === "string" && r["description"] !== "") cfg.description = r["description"];
  if (typeof r["metadata"] === "object" && r["metadata"] !== null && !Array.isArray(r["metadata"])) {
    cfg.metadata = Object.fromEntries(Object.entries(r["metadata"] as Record<string, unknown>).filter((e): e is [string, string] => typeof e[1] === "string"));
  }
  if (cfg.max_age < 0 || cfg.duplicate_window < 0) return jsError("StreamCreate", { err: "max age and duplicate window must be positive" });
  if (cfg.max_age > 0 && cfg.duplicate_window > cfg.max_age) cfg.duplicate_window = cfg.max_age;
  if (cfg.num_replicas > 1) return jsError("StreamCreate", { err: "replicas > 1 not supported in non-clustered mode" });
  return cfg;
}

/** Same configuration (for idempotent create). */
export function sameConfig(a: StreamConfig, b: StreamConfig): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
