import type { NatsCore } from "./server.js";
import { NATS_COMPAT_VERSION, NATS_PROTO, CUEBUS_VERSION } from "./version.js";
import { availableParallelism } from "node:os";
import type { Client } from "./client.js";
import { GLOBAL_ACCOUNT, type Account } from "./account.js";

/** Requests served per monitoring path, as nats-server's `http_req_stats`. */
export const httpReqStats: Record<string, number> = {};

/** Go-style uptime string like nats-server's (`1h2m3s`). */
export function uptime(ms: number): string {
  let s = Math.floor(ms / 1000);
  const d = Math.floor(s / 86400);
  s -= d * 86400;
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  return `${d > 0 ? `${d}d` : ""}${d > 0 || h > 0 ? `${h}h` : ""}${d > 0 || h > 0 || m > 0 ? `${m}m` : ""}${s}s`;
}

/** `/varz` with nats-server's field names (`server/monitor.go` Varz). */
export function varz(core: NatsCore, httpPort: number): Record<string, unknown> {
  const mem = process.memoryUsage();
  const r = core.router;
  return {
    server_id: core.serverId,
    server_name: core.serverName,
    version: NATS_COMPAT_VERSION,
    proto: NATS_PROTO,
    cuebus: CUEBUS_VERSION,
    host: core.host,
    port: core.port,
    max_connections: core.limits.maxConnections,
    ping_interval: core.limits.pingIntervalMs * 1e6,
    ping_max: core.limits.maxPingsOutstanding,
    http_host: core.host,
    http_port: httpPort,
    auth_timeout: core.limits.authTimeoutMs / 1000,
    max_control_line: core.limits.maxControlLineBytes,
    max_payload: core.limits.maxPayloadBytes,
    max_pending: core.limits.maxPendingBytes,
    start: core.startedAt.toISOString(),
    now: new Date().toISOString(),
    uptime: uptime(Date.now() - core.startedAt.getTime()),
    mem: mem.rss,
    cores: availableParallelism(),
    gomaxprocs: availableParallelism(),
    cpu: 0,
    config_load_time: core.startedAt.toISOString(),
    http_base_path: "",
    https_port: 0,
    tls_timeout: 2,
    write_deadline: core.limits.writeDeadlineMs * 1e6,
    system_account: "",
    go: "cuebus",
    cluster: {},
    gateway: {},
    leaf: {},
    mqtt: {},
    websocket: {},
    jetstream: {},
    routes: 0,
    remotes: 0,
    leafnodes: 0,
    http_req_stats: httpReqStats,
    connections: core.clients.size,
    total_connections: core.stats.totalConnections,
    in_msgs: r.inMsgs,
    out_msgs: r.outMsgs,
    in_bytes: r.inBytes,
    out_bytes: r.outBytes,
    slow_consumers: core.stats.slowConsumers,
    subscriptions: r.subscriptionCount(),
  };
}

function connInfo(c: Client, subs: "none" | "list" | "detail"): Record<string, unknown> {
  const o: Record<string, unknown> = {
    cid: c.cid,
    kind: "Client",
    type: c.transport.kind === "websocket" ? "websocket" : "nats",
    ip: c.transport.remoteAddress.replace(/^::ffff:/, ""),
    port: c.transport.remotePort,
    start: new Date(c.startMs).toISOString(),
    last_activity: new Date(c.lastActivityMs).toISOString(),
    uptime: uptime(Date.now() - c.startMs),
    idle: uptime(Date.now() - c.lastActivityMs),
    pending_bytes: c.transport.pendingBytes + c.out.len,
    in_msgs: c.inMsgs,
    out_msgs: c.outMsgs,
    in_bytes: c.inBytes,
    out_bytes: c.outBytes,
    subscriptions: c.subs.size,
    name: c.opts.name,
    lang: c.opts.lang,
    version: c.opts.version,
  };
  if (c.user !== "") o["authorized_user"] = c.user;
  // nats-server names the account only when it is not the global one.
  if (c.account.name !== GLOBAL_ACCOUNT) o["account"] = c.account.name;
  if (subs === "list") {
    o["subscriptions_list"] = [...c.subs.values()].map((s) => s.subject);
  } else if (subs === "detail") {
    o["subscriptions_list_detail"] = [...c.subs.values()].map((s) => ({
      subject: s.subject,
      ...(s.queue !== "" ? { qgroup: s.queue } : {}),
      sid: s.sid,
      msgs: s.delivered,
      ...(s.max > 0 ? { max: s.max } : {}),
      cid: c.cid,
    }));
  }
  return o;
}

/** `/connz` (Connz): `subs=detail|1|true`, `cid`, `offset`, `limit`. */
export function connz(core: NatsCore, q: URLSearchParams): Record<string, unknown> {
  const subsArg = q.get("subs");
  const subs = subsArg === "detail" ? "detail" : subsArg === "1" || subsArg === "true" ? "list" : "none";
  let list = [...core.clients.values()].sort((a, b) => a.cid - b.cid);
  const cid = q.get("cid");
  if (cid !== null) list = list.filter((c) => c.cid === Number(cid));
  const acc = q.get("acc");
  if (acc !== null && acc !== "") list = list.filter((c) => c.account.name === acc);
  const offset = Math.max(0, Number(q.get("offset") ?? 0) || 0);
  const limit = Math.max(1, Number(q.get("limit") ?? 1024) || 1024);
  const page = list.slice(offset, offset + limit);
  return {
    server_id: core.serverId,
    now: new Date().toISOString(),
    num_connections: page.length,
    total: list.length,
    offset,
    limit,
    connections: page.map((c) => connInfo(c, subs)),
  };
}

/** `/subsz` (Subsz), with `subs=1` for the list. */
export function subsz(core: NatsCore, q: URLSearchParams): Record<string, unknown> {
  const accounts = [...core.router.allAccounts()];
  const sum = (f: (a: Account) => number): number => accounts.reduce((n, a) => n + f(a), 0);
  const matches = sum((a) => a.index.matches);
  const out: Record<string, unknown> = {
    server_id: core.serverId,
    now: new Date().toISOString(),
    num_subscriptions: sum((a) => a.index.count),
    num_cache: sum((a) => a.index.cacheSize),
    num_inserts: sum((a) => a.index.inserts),
    num_removes: sum((a) => a.index.removes),
    num_matches: matches,
    cache_hit_rate: matches === 0 ? 0 : sum((a) => a.index.cacheHits) / matches,
    max_fanout: 0,
    avg_fanout: 0,
  };
  const s = q.get("subs");
  if (s === "1" || s === "true" || s === "detail") {
    const acc = q.get("acc");
    const all = accounts.filter((a) => acc === null || acc === "" || a.name === acc).flatMap((a) => a.index.all());
    const offset = Math.max(0, Number(q.get("offset") ?? 0) || 0);
    const limit = Math.max(1, Number(q.get("limit") ?? 1024) || 1024);
    out["total"] = all.length;
    out["offset"] = offset;
    out["limit"] = limit;
    out["subscriptions_list"] = all.slice(offset, offset + limit).map((x) => ({
      account: x.account?.name ?? GLOBAL_ACCOUNT,
      subject: x.subject,
      ...(x.queue !== "" ? { qgroup: x.queue } : {}),
      sid: x.sid,
      msgs: x.delivered,
      cid: x.client.cid,
    }));
  }
  return out;
}

/** `/healthz` as nats-server's HealthStatus: `error` is left out when ok. */
export interface HealthStatus {
  status: "ok" | "unavailable";
  error?: string;
}

/**
 * `/healthz`: unavailable (HTTP 503, as nats-server answers a failed check) while a stream's store
 * cannot write, a full disk say, naming the first such stream as nats-server names the stream it
 * could not recover; ok otherwise.
 */
export function healthz(core: NatsCore): HealthStatus {
  const js = core.jetstream;
  if (js !== null) {
    for (const [name, e] of js.streams) {
      const w = e.stream.store.writeState();
      if (w.error !== null) return { status: "unavailable", error: `JetStream stream '${core.serviceAccount.name} > ${name}' cannot write to its store: ${w.error}` };
    }
  }
  return { status: "ok" };
}
