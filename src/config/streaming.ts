import type { ConfValue } from "./conf-parser.js";
import { toDurationMs } from "./conf-parser.js";
import { isMap, num, str } from "./users.js";

/**
 * NATS Streaming as the config file and command line set it (the STAN adapter's StanOptions;
 * config/ does not import stan/). Absent fields keep the adapter's defaults.
 */
export interface ConfStreaming {
  /** `streaming { enabled: false }` turns it off (it is on whenever JetStream is). */
  enabled?: boolean;
  /** `streaming { cluster_id }`, `-cid`, `--cluster_id`. */
  clusterId?: string;
  /** `streaming { store: file | memory }`. */
  store?: "file" | "memory";
  /** `streaming { hb_interval, hb_timeout, hb_fail_count }` (nats-streaming-server's names). */
  hbIntervalMs?: number;
  hbTimeoutMs?: number;
  hbFailCount?: number;
}

/** Keys of a `streaming {}` block cuebus reads. */
const STREAMING_KEYS = new Set(["enabled", "cluster_id", "cid", "store", "hb_interval", "hb_timeout", "hb_fail_count"]);

/** nats-streaming-server's cluster id rule: letters, digits, `-` and `_`. */
export function checkClusterId(id: string, key: string): string {
  if (!/^[a-zA-Z0-9_-]+$/.test(id)) throw new Error(`${key}: invalid cluster id ${JSON.stringify(id)}: only alphanumeric and \`-\` or \`_\` characters allowed`);
  return id;
}

/**
 * Read a `streaming` value: `false`/`true`, or a block. Keys cuebus does not read go into
 * `unknown` (as `streaming.<key>`) for the start-up warning.
 */
export function parseStreaming(v: ConfValue | undefined, unknown: string[]): ConfStreaming | undefined {
  if (v === undefined) return undefined;
  if (typeof v === "boolean") return { enabled: v };
  if (!isMap(v)) throw new Error("streaming: expected a block or true/false");
  const out: ConfStreaming = {};
  for (const k of Object.keys(v)) if (!STREAMING_KEYS.has(k)) unknown.push(`streaming.${k}`);
  const enabled = v["enabled"];
  if (enabled !== undefined) {
    if (typeof enabled !== "boolean") throw new Error("streaming.enabled: expected true or false");
    out.enabled = enabled;
  }
  const cid = str(v["cluster_id"] ?? v["cid"], "streaming.cluster_id");
  if (cid !== undefined) out.clusterId = checkClusterId(cid, "streaming.cluster_id");
  const store = str(v["store"], "streaming.store");
  if (store !== undefined) {
    const s = store.toLowerCase();
    if (s !== "file" && s !== "memory") throw new Error(`streaming.store: expected file or memory, got ${JSON.stringify(store)}`);
    out.store = s;
  }
  const hbi = toDurationMs(v["hb_interval"], "streaming.hb_interval");
  if (hbi !== undefined) out.hbIntervalMs = positive(hbi, "streaming.hb_interval");
  const hbt = toDurationMs(v["hb_timeout"], "streaming.hb_timeout");
  if (hbt !== undefined) out.hbTimeoutMs = positive(hbt, "streaming.hb_timeout");
  const hbf = num(v["hb_fail_count"], "streaming.hb_fail_count");
  if (hbf !== undefined) out.hbFailCount = positive(hbf, "streaming.hb_fail_count");
  return out;
}

function positive(n: number, key: string): number {
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${key}: expected a value above 0`);
  return n;
}
