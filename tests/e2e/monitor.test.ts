import { test } from "node:test";
import assert from "node:assert/strict";
import { connect } from "@nats-io/transport-node";
import { startServer } from "../../src/index.js";

async function getJson(url: string): Promise<Record<string, unknown>> {
  const res = await fetch(url);
  assert.equal(res.status, 200, url);
  return (await res.json()) as Record<string, unknown>;
}

// Field names as nats-server 2.9.10 prints them (server/monitor.go), read off a live /varz.
const VARZ_FIELDS = [
  "server_id", "server_name", "version", "proto", "go", "host", "port", "max_connections", "ping_interval",
  "ping_max", "http_host", "http_port", "http_base_path", "https_port", "auth_timeout", "max_control_line",
  "max_payload", "max_pending", "cluster", "gateway", "leaf", "mqtt", "websocket", "jetstream", "tls_timeout",
  "write_deadline", "start", "now", "uptime", "mem", "cores", "gomaxprocs", "cpu", "connections",
  "total_connections", "routes", "remotes", "leafnodes", "in_msgs", "out_msgs", "in_bytes", "out_bytes",
  "slow_consumers", "subscriptions", "http_req_stats", "config_load_time", "system_account",
];

test("monitoring: /varz, /connz (subs=detail, cid), /subsz, /healthz with nats-server's field names", async (t) => {
  const server = await startServer({ port: 0, httpPort: 0 });
  t.after(() => server.close());
  const base = `http://127.0.0.1:${server.httpPort}`;
  const nc = await connect({ servers: server.url, name: "monitor-test" });
  t.after(() => nc.close());
  nc.subscribe("orders.>");
  nc.subscribe("work", { queue: "workers" });
  nc.publish("orders.new", "hello");
  await nc.flush();

  const varz = await getJson(`${base}/varz`);
  for (const f of VARZ_FIELDS) assert.ok(f in varz, `varz.${f}`);
  assert.equal(varz["port"], server.port);
  assert.equal(varz["connections"], 1);
  assert.ok((varz["in_msgs"] as number) >= 1);

  const connz = await getJson(`${base}/connz?subs=detail`);
  assert.equal(connz["num_connections"], 1);
  const conns = connz["connections"] as Array<Record<string, unknown>>;
  const c = conns[0] as Record<string, unknown>;
  assert.equal(c["name"], "monitor-test");
  assert.equal(c["lang"], "nats.js");
  const detail = c["subscriptions_list_detail"] as Array<Record<string, unknown>>;
  assert.deepEqual(detail.map((d) => d["subject"]).sort(), ["orders.>", "work"]);
  assert.equal(detail.find((d) => d["subject"] === "work")?.["qgroup"], "workers");

  const byCid = await getJson(`${base}/connz?cid=${String(c["cid"])}`);
  assert.equal(byCid["num_connections"], 1);
  const none = await getJson(`${base}/connz?cid=999999`);
  assert.equal(none["num_connections"], 0);

  const subsz = await getJson(`${base}/subsz?subs=1`);
  assert.ok((subsz["num_subscriptions"] as number) >= 2);
  const list = subsz["subscriptions_list"] as Array<Record<string, unknown>>;
  assert.ok(list.some((s) => s["subject"] === "orders.>"));

  assert.deepEqual(await getJson(`${base}/healthz`), { status: "ok" });
  const missing = await fetch(`${base}/nope`);
  assert.equal(missing.status, 404);
  assert.ok(((await missing.json()) as { error: { code: number } }).error.code === 404);
});
