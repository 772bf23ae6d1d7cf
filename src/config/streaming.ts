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
  /** nats-streaming-server's store limits (`store_limits {}`, `-mc`, `-mm`, `-mb`, `-ma`, `-msu`): the STAN adapter's StanStoreLimits. */
  limits?: ConfStoreLimits;
}

/** One channel's limits (the STAN adapter's StanChannelLimits): absent inherits, 0 is unlimited. */
export interface ConfChannelLimits {
  maxMsgs?: number;
  maxBytes?: number;
  maxAgeMs?: number;
  maxSubs?: number;
}

/** Store limits as read (the STAN adapter's StanStoreLimits; checked there when it starts). */
export interface ConfStoreLimits extends ConfChannelLimits {
  maxChannels?: number;
  channels?: Record<string, ConfChannelLimits>;
}

/** Keys of a `streaming {}` block cuebus reads, with nats-streaming-server's aliases (server/conf.go). */
const STREAMING_KEYS = new Set([
  "enabled", "id", "cluster_id", "cid", "store", "st", "store_type", "storetype", "dir", "datastore",
  "hb_interval", "hbi", "server_to_client_hb_interval", "hb_timeout", "hbt", "server_to_client_hb_timeout",
  "hb_fail_count", "hbf", "server_to_client_hb_fail_count", "limits", "store_limits", "storelimits",
]);

/** The first of `keys` present in `m`. */
function pick(m: Record<string, ConfValue>, keys: readonly string[]): [string, ConfValue] | undefined {
  for (const k of keys) {
    const v = m[k];
    if (v !== undefined) return [k, v];
  }
  return undefined;
}

/**
 * A size as nats-server's config lexer reads one (conf/lex.go, which nats-streaming-server's
 * `-mb` goes through too): `k`, `m`, `g`, `t` are powers of 1000, `kb`/`ki`/`kib` (and so on)
 * of 1024. Undefined when `v` is not one.
 */
export function natsSize(v: ConfValue): number | undefined {
  if (typeof v === "number") return Number.isSafeInteger(v) ? v : undefined;
  if (typeof v !== "string") return undefined;
  const m = /^(-?\d+)\s*(?:([kmgt])(b|i|ib)?)?$/i.exec(v.trim());
  if (m === null) return undefined;
  const power = m[2] === undefined ? 0 : "kmgt".indexOf(m[2].toLowerCase()) + 1;
  const n = Number(m[1]) * (m[3] === undefined ? 1000 : 1024) ** power;
  return Number.isSafeInteger(n) ? n : undefined;
}

/** Go's time.ParseDuration, in ms: `"24h"`, `"1h30m"`, `"500ms"`, `"0"`. Undefined when `v` is not one. */
export function goDurationMs(v: string): number | undefined {
  if (v === "0" || v === "+0" || v === "-0") return 0;
  const m = /^([+-]?)((?:(?:\d+\.?\d*|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+)$/.exec(v);
  if (m === null) return undefined;
  const unit: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, μs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  let total = 0;
  for (const p of (m[2] as string).matchAll(/(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)/g)) total += Number(p[1]) * (unit[p[2] as string] ?? 0);
  return m[1] === "-" ? -total : total;
}

/** A count of a store limit: an integer (nats-server's lexer reads `1k` as 1000 too). */
function count(v: ConfValue, key: string): number {
  const n = natsSize(v);
  if (n === undefined) throw new Error(`${key}: expected a whole number, got ${JSON.stringify(v)}`);
  return n;
}

/** A max age: a duration (`"24h"`, `"90s"`, `"0"`), or a number of seconds. */
function age(v: ConfValue, key: string): number {
  if (typeof v === "number") return v * 1000;
  const ms = typeof v === "string" ? goDurationMs(v) : undefined;
  if (ms === undefined) throw new Error(`${key}: expected a duration like "24h" or "90s", got ${JSON.stringify(v)}`);
  return ms;
}

/** nats-streaming-server's per-channel limit keys and their aliases (server/conf.go parseChannelLimits). */
const CHANNEL_LIMIT_KEYS = {
  maxSubs: ["max_subs", "msu", "max_subscriptions", "maxsubscriptions"],
  maxMsgs: ["max_msgs", "mm", "maxmsgs", "max_count", "maxcount"],
  maxBytes: ["max_bytes", "mb", "maxbytes"],
  maxAgeMs: ["max_age", "ma", "maxage"],
} as const;
const MAX_CHANNELS_KEYS = ["max_channels", "mc", "maxchannels"];
const PER_CHANNEL_KEYS = ["channels", "channels_limits", "channelslimits", "per_channel", "per_channel_limits"];

/** Keys lower-cased, as nats-streaming-server reads them. */
function lower(m: Record<string, ConfValue>): Record<string, ConfValue> {
  return Object.fromEntries(Object.entries(m).map(([k, v]) => [k.toLowerCase(), v]));
}

/** One channel's (or the global) limits of a block; unknown keys go to `unknown`. */
function channelLimits(m: Record<string, ConfValue>, at: string, unknown: string[], skip: readonly string[]): ConfChannelLimits {
  const out: ConfChannelLimits = {};
  const known = new Set<string>([...Object.values(CHANNEL_LIMIT_KEYS).flat(), ...skip]);
  for (const k of Object.keys(m)) {
    // max_inactivity too: cuebus does not remove a channel that has been idle.
    if (!known.has(k)) unknown.push(`${at}.${k}`);
  }
  for (const [field, keys] of Object.entries(CHANNEL_LIMIT_KEYS) as Array<[keyof ConfChannelLimits, readonly string[]]>) {
    const hit = pick(m, keys);
    if (hit === undefined) continue;
    const key = `${at}.${hit[0]}`;
    out[field] = field === "maxAgeMs" ? age(hit[1], key) : field === "maxBytes" ? size(hit[1], key) : count(hit[1], key);
  }
  return out;
}

function size(v: ConfValue, key: string): number {
  const n = natsSize(v);
  if (n === undefined) throw new Error(`${key}: expected a size like 1073741824, 1GB or "512MB", got ${JSON.stringify(v)}`);
  return n;
}

/**
 * `store_limits {}` (nats-streaming-server's parseStoreLimits): `max_channels`, the global channel
 * limits, and `channels { "<name or pattern>": { ... } }`. In a channel's block 0 means unlimited.
 * Values are checked by the STAN adapter when it starts (negatives, channel names, how many).
 */
export function parseStoreLimits(v: ConfValue, at: string, unknown: string[]): ConfStoreLimits {
  if (!isMap(v)) throw new Error(`${at}: expected a block`);
  const m = lower(v);
  const out: ConfStoreLimits = channelLimits(m, at, unknown, [...MAX_CHANNELS_KEYS, ...PER_CHANNEL_KEYS]);
  const mc = pick(m, MAX_CHANNELS_KEYS);
  if (mc !== undefined) out.maxChannels = count(mc[1], `${at}.${mc[0]}`);
  const per = pick(m, PER_CHANNEL_KEYS);
  if (per !== undefined) {
    const pat = `${at}.${per[0]}`;
    if (!isMap(per[1])) throw new Error(`${pat}: expected a block of channels, each with its limits`);
    out.channels = {};
    for (const [name, cl] of Object.entries(per[1])) {
      if (!isMap(cl)) throw new Error(`${pat}.${name}: expected a block of limits`);
      out.channels[name] = channelLimits(lower(cl), `${pat}.${name}`, unknown, []);
    }
  }
  return out;
}

/** nats-streaming-server's cluster id rule: letters, digits, `-` and `_`. */
export function checkClusterId(id: string, key: string): string {
  if (!/^[a-zA-Z0-9_-]+$/.test(id)) throw new Error(`${key}: invalid cluster id ${JSON.stringify(id)}: only alphanumeric and \`-\` or \`_\` characters allowed`);
  return id;
}

/**
 * Read a `streaming` value: `false`/`true`, or a block. Keys cuebus does not read go into
 * `unknown` (as `streaming.<key>`) for the start-up warning.
 */
export function parseStreaming(v: ConfValue | undefined, unknown: string[]): (ConfStreaming & { dir?: string }) | undefined {
  if (v === undefined) return undefined;
  if (typeof v === "boolean") return { enabled: v };
  if (!isMap(v)) throw new Error("streaming: expected a block or true/false");
  const out: ConfStreaming & { dir?: string } = {};
  for (const k of Object.keys(v)) if (!STREAMING_KEYS.has(k)) unknown.push(`streaming.${k}`);
  const enabled = v["enabled"];
  if (enabled !== undefined) {
    if (typeof enabled !== "boolean") throw new Error("streaming.enabled: expected true or false");
    out.enabled = enabled;
  }
  const cid = str(v["cluster_id"] ?? v["cid"] ?? v["id"], "streaming.cluster_id");
  if (cid !== undefined) out.clusterId = checkClusterId(cid, "streaming.cluster_id");
  const dir = str(v["dir"] ?? v["datastore"], "streaming.dir");
  if (dir !== undefined) out.dir = dir;
  const store = str(v["store"] ?? v["st"] ?? v["store_type"] ?? v["storetype"], "streaming.store");
  if (store !== undefined) {
    const s = store.toLowerCase();
    if (s !== "file" && s !== "memory") throw new Error(`streaming.store: expected file or memory, got ${JSON.stringify(store)}`);
    out.store = s;
  }
  const hbi = toDurationMs(v["hb_interval"] ?? v["hbi"] ?? v["server_to_client_hb_interval"], "streaming.hb_interval");
  if (hbi !== undefined) out.hbIntervalMs = positive(hbi, "streaming.hb_interval");
  const hbt = toDurationMs(v["hb_timeout"] ?? v["hbt"] ?? v["server_to_client_hb_timeout"], "streaming.hb_timeout");
  if (hbt !== undefined) out.hbTimeoutMs = positive(hbt, "streaming.hb_timeout");
  const hbf = num(v["hb_fail_count"] ?? v["hbf"] ?? v["server_to_client_hb_fail_count"], "streaming.hb_fail_count");
  if (hbf !== undefined) out.hbFailCount = positive(hbf, "streaming.hb_fail_count");
  const limits = pick(v, ["store_limits", "limits", "storelimits"]);
  if (limits !== undefined) out.limits = parseStoreLimits(limits[1], `streaming.${limits[0]}`, unknown);
  return out;
}

function positive(n: number, key: string): number {
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${key}: expected a value above 0`);
  return n;
}
