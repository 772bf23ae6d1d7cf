import { resolve } from "node:path";
import type { NatsCore } from "../server/server.js";
import type { JetStreamView } from "../server/jetstream-view.js";
import type { StreamEntryView } from "../jetstream/api/context.js";
import { streamInfo } from "../jetstream/api/streams.js";
import { HttpError } from "./http-util.js";

/** The one account cuebus has: nats-server's global account. */
/**
 * nats-server prints an account's unlimited reservation as Go's uint64 max (-1 cast); JSON.stringify
 * cannot print it exactly, so it is written as this token and replaced in the text.
 */
const UINT64_MAX_TOKEN = "__cuebus_uint64_max__";
const UINT64_MAX_TEXT = "18446744073709551615";
/** Largest `limit` /jsz takes (accounts per page; nats-server's default is 1024). */
export const JSZ_MAX_LIMIT = 1024;

/** What `?accounts=`, `?streams=`, ... ask of `/jsz` (nats-server's JSzOptions). */
interface JszOptions {
  accounts: boolean;
  streams: boolean;
  consumers: boolean;
  config: boolean;
  acc: string;
  offset: number;
  limit: number;
}

/** Go's strconv.ParseBool, which nats-server uses for these flags. */
function boolParam(q: URLSearchParams, name: string): boolean {
  const raw = q.get(name);
  if (raw === null || raw === "") return false;
  if (["1", "t", "T", "TRUE", "true", "True"].includes(raw)) return true;
  if (["0", "f", "F", "FALSE", "false", "False"].includes(raw)) return false;
  throw new HttpError(400, `${name} must be a boolean (true, false, 1, 0), got "${raw.slice(0, 40)}"`);
}

function intParamOf(q: URLSearchParams, name: string, max: number, fallback: number): number {
  const raw = q.get(name);
  if (raw === null || raw === "") return fallback;
  if (!/^-?\d+$/.test(raw)) throw new HttpError(400, `${name} must be an integer, got "${raw.slice(0, 40)}"`);
  // nats-server takes a negative offset or limit as unset.
  return Math.max(0, Math.min(Number(raw), max));
}

function parseOptions(q: URLSearchParams): JszOptions {
  const consumers = boolParam(q, "consumers");
  // nats-server: consumers imply streams, streams imply accounts.
  const streams = boolParam(q, "streams") || consumers;
  const acc = q.get("acc") ?? "";
  const accounts = boolParam(q, "accounts") || streams || acc !== "";
  const limit = intParamOf(q, "limit", JSZ_MAX_LIMIT, JSZ_MAX_LIMIT);
  return { accounts, streams, consumers, config: boolParam(q, "config"), acc, offset: intParamOf(q, "offset", Number.MAX_SAFE_INTEGER, 0), limit: limit === 0 ? JSZ_MAX_LIMIT : limit };
}

interface Totals {
  memory: number;
  storage: number;
  streams: number;
  consumers: number;
  messages: number;
  bytes: number;
}

function totals(js: JetStreamView): Totals {
  const t: Totals = { memory: 0, storage: 0, streams: 0, consumers: 0, messages: 0, bytes: 0 };
  for (const e of js.streams.values()) {
    const st = e.stream.store.state();
    t.streams++;
    t.consumers += e.consumers.size;
    t.messages += st.messages;
    t.bytes += st.bytes;
    if (e.stream.config.storage === "memory") t.memory += st.bytes;
    else t.storage += st.bytes;
  }
  return t;
}

/** One stream of `stream_detail`, as nats-server's StreamDetail. */
function streamDetail(core: NatsCore, e: StreamEntryView, o: JszOptions): Record<string, unknown> {
  const info = streamInfo(e);
  const d: Record<string, unknown> = { name: e.stream.name, created: info["created"], cluster: { leader: core.serverId } };
  if (o.config) d["config"] = info["config"];
  d["state"] = info["state"];
  if (o.consumers && e.consumers.size > 0) {
    d["consumer_detail"] = [...e.consumers.values()].map((c) => {
      // The same JSON CONSUMER.INFO answers; nats-server leaves the config out unless asked.
      const ci = c.info();
      if (!o.config) delete ci["config"];
      return ci;
    });
  }
  return d;
}

/**
 * `/jsz` as nats-server's (`server/monitor.go` JSInfo): JetStream's configuration, usage and API
 * counters, and with `accounts`/`streams`/`consumers`/`config` (Go booleans), `acc`, `offset`,
 * `limit`, the account, stream and consumer detail. Without JetStream it answers what nats-server
 * does: `disabled: true` and zeros. cuebus adds `unloaded` (streams and consumers whose files could
 * not be used at start: stream, consumer, file, reason) and `api.dropped` when there are any. Returns the JSON text
 * (it holds a uint64 Go prints exactly).
 */
export function jsz(core: NatsCore, q: URLSearchParams): string {
  const o = parseOptions(q);
  const js = core.jetstream;
  const now = new Date().toISOString();
  if (js === null) {
    return JSON.stringify(
      { server_id: core.serverId, now, disabled: true, config: { max_memory: 0, max_storage: 0 }, memory: 0, storage: 0, reserved_memory: 0, reserved_storage: 0, accounts: 0, ha_assets: 0, api: { total: 0, errors: 0 }, streams: 0, consumers: 0, messages: 0, bytes: 0 },
      null,
      2,
    );
  }
  const t = totals(js);
  // cuebus adds `dropped` (requests past request_queue_limit, dropped unanswered) once there are
  // any, so that the fields stay nats-server's while there is nothing to report, as `unloaded`.
  const api: Record<string, number> = { total: js.apiTotal, errors: js.apiErrors };
  if (js.apiDropped > 0) api["dropped"] = js.apiDropped;
  const out: Record<string, unknown> = {
    server_id: core.serverId,
    now,
    // cuebus sets no JetStream-wide memory or storage cap: -1 is "unlimited", as in account limits.
    // The store directory is absolute, as nats-server prints it.
    config: { max_memory: -1, max_storage: -1, store_dir: resolve(js.opts.storeDir, "jetstream"), ...(js.opts.domain !== undefined && js.opts.domain !== "" ? { domain: js.opts.domain } : {}) },
    memory: t.memory,
    storage: t.storage,
    reserved_memory: 0,
    reserved_storage: 0,
    accounts: 1,
    ha_assets: 0,
    api,
    streams: t.streams,
    consumers: t.consumers,
    messages: t.messages,
    bytes: t.bytes,
  };
  // cuebus's own: what was found on disk and not served (damaged metadata), so an operator sees
  // it. Only present when there is some, so the fields match nats-server's otherwise.
  if (js.unloaded.length > 0) out["unloaded"] = js.unloaded.map((u) => ({ stream: u.stream, ...(u.consumer !== undefined ? { consumer: u.consumer } : {}), file: u.file, reason: u.reason }));
  if (o.accounts) {
    // nats-server pages accounts (not streams) with offset and limit; a filter on another
    // account's name still lists JetStream's one, as nats-server 2.9 does.
    const accounts = [core.serviceAccount.name].slice(o.offset, o.offset + o.limit);
    if (accounts.length > 0) {
      out["account_details"] = accounts.map((name) => {
        const a: Record<string, unknown> = { name, id: name, memory: t.memory, storage: t.storage, reserved_memory: UINT64_MAX_TOKEN, reserved_storage: UINT64_MAX_TOKEN, accounts: 0, ha_assets: 0, api };
        if (o.streams && js.streams.size > 0) a["stream_detail"] = [...js.streams.values()].map((e) => streamDetail(core, e, o));
        return a;
      });
    }
  }
  return JSON.stringify(out, null, 2).replaceAll(`"${UINT64_MAX_TOKEN}"`, UINT64_MAX_TEXT);
}
