import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:http";
import { connect as tcpConnect, type AddressInfo, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect } from "@nats-io/transport-node";
import { AckPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream";
import parsePrometheusTextFormat, { type PrometheusFamily } from "parse-prometheus-text-format";
import { startServer } from "../../src/index.js";
import { waitFor } from "../helpers/wait.js";

type Family = PrometheusFamily;

/** Scrape `/metrics` and parse it with a Prometheus text parser: family name → family. */
async function scrape(base: string): Promise<Map<string, Family>> {
  const res = await fetch(`${base}/metrics`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
  const families = parsePrometheusTextFormat(await res.text());
  return new Map(families.map((f) => [f.name, f]));
}

/**
 * The count of one label set of a labelled histogram. parse-prometheus-text-format merges a
 * histogram's label sets into one and drops labelled `_count`/`_sum` lines, so the text is cut
 * down to that label set's buckets first; the `+Inf` bucket is the count.
 */
async function histogramCount(base: string, name: string, labels: Record<string, string>): Promise<number | undefined> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  const lines = text.split("\n").filter((l) => l === `# TYPE ${name} histogram` || (l.startsWith(`${name}_bucket{`) && wanted.every((w) => l.includes(w))));
  const f = parsePrometheusTextFormat(lines.join("\n") + "\n")[0];
  const inf = f?.metrics[0]?.buckets?.["+Inf"];
  return inf === undefined ? undefined : Number(inf);
}

/** The value of one series; undefined when the family or the label set is absent. */
function value(m: Map<string, Family>, name: string, labels: Record<string, string> = {}): number | undefined {
  const f = m.get(name);
  const s = f?.metrics.find((x) => Object.entries(labels).every(([k, v]) => x.labels?.[k] === v) && Object.keys(x.labels ?? {}).length === Object.keys(labels).length);
  if (s === undefined) return undefined;
  return Number(s.value ?? s.count);
}

async function getJson(url: string): Promise<Record<string, unknown>> {
  const res = await fetch(url);
  assert.equal(res.status, 200, url);
  return (await res.json()) as Record<string, unknown>;
}

/** A raw client that subscribes to `subject` and then stops reading, to become a slow consumer. */
async function stalledReader(port: number, subject: string): Promise<Socket> {
  const sock = tcpConnect(port, "127.0.0.1");
  let text = "";
  sock.on("data", (d) => (text += d.toString("latin1")));
  sock.on("error", () => {});
  await new Promise<void>((r) => sock.once("connect", () => r()));
  sock.write(`CONNECT {"verbose":false}\r\nSUB ${subject} 1\r\nPING\r\n`);
  await waitFor(() => text.includes("PONG"), 2000, "PONG");
  sock.pause();
  return sock;
}

test("/metrics after real traffic: core counters, slow consumers, streams, consumers, HTTP and fsync", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "cuebus-metrics-"));
  const server = await startServer({ port: 0, httpPort: 0, jetstream: { storeDir: dir }, limits: { maxPendingBytes: 256 * 1024 } });
  // Clients first, then the server, then its directory (after hooks run in the order added).
  const closers: Array<() => unknown> = [];
  t.after(async () => {
    for (const c of closers.reverse()) await c();
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });
  const base = server.httpUrl as string;

  const before = await scrape(base);
  assert.equal(before.get("cuebus_connections")?.type, "GAUGE");
  assert.equal(before.get("cuebus_messages_in_total")?.type, "COUNTER");
  assert.equal(before.get("cuebus_fsync_duration_seconds")?.type, "HISTOGRAM");
  assert.equal(value(before, "cuebus_connections"), 0);
  assert.equal(value(before, "cuebus_slow_consumers_total"), 0);

  // Core traffic: 10 messages of 5 bytes to one subscriber.
  const sub = await connect({ servers: server.url });
  closers.push(() => sub.close());
  const pub = await connect({ servers: server.url });
  closers.push(() => pub.close());
  let got = 0;
  sub.subscribe("core.x", {
    callback: () => {
      got++;
    },
  });
  await sub.flush();
  const mid = await scrape(base);
  for (let i = 0; i < 10; i++) pub.publish("core.x", "hello");
  await pub.flush();
  await waitFor(() => got === 10, 5000, "10 messages delivered");
  const after = await scrape(base);
  const delta = (name: string): number => (value(after, name) ?? NaN) - (value(mid, name) ?? NaN);
  assert.equal(delta("cuebus_messages_in_total"), 10);
  assert.equal(delta("cuebus_messages_out_total"), 10);
  assert.equal(delta("cuebus_bytes_in_total"), 50);
  assert.equal(delta("cuebus_bytes_out_total"), 50);
  assert.equal(value(after, "cuebus_connections"), 2);
  assert.equal(value(after, "cuebus_connections_total"), 2);
  // The same numbers /varz shows, read off the same counters.
  const varz = await getJson(`${base}/varz`);
  assert.equal(value(after, "cuebus_messages_in_total"), varz["in_msgs"]);
  assert.equal(value(after, "cuebus_subscriptions"), varz["subscriptions"]);

  // JetStream: a file stream with 3 messages, a consumer with one unacknowledged message, and a
  // consumer whose message was redelivered.
  const jsm = await jetstreamManager(pub);
  await jsm.streams.add({ name: "ORDERS", subjects: ["orders.>"] });
  await jsm.consumers.add("ORDERS", { durable_name: "worker", ack_policy: AckPolicy.Explicit });
  await jsm.consumers.add("ORDERS", { durable_name: "retry", ack_policy: AckPolicy.Explicit, ack_wait: 200_000_000, filter_subject: "orders.0" });
  const js = jetstream(pub);
  for (let i = 0; i < 3; i++) await js.publish(`orders.${i}`, "order");
  const worker = await js.consumers.get("ORDERS", "worker");
  const first = await worker.next({ expires: 2000 });
  assert.equal(first?.seq, 1); // left unacknowledged
  const retry = await js.consumers.get("ORDERS", "retry");
  assert.equal((await retry.next({ expires: 2000 }))?.redelivered, false);
  let again = await retry.next({ expires: 2000 });
  while (again !== null && !again.redelivered) again = await retry.next({ expires: 2000 });
  assert.equal(again?.seq, 1);
  const info = await jsm.streams.info("ORDERS");

  const js1 = await scrape(base);
  const stream = { stream: "ORDERS" };
  assert.equal(value(js1, "cuebus_stream_messages", stream), 3);
  assert.equal(value(js1, "cuebus_stream_bytes", stream), info.state.bytes);
  assert.equal(value(js1, "cuebus_stream_consumers", stream), 2);
  const w = { stream: "ORDERS", consumer: "worker" };
  assert.equal(value(js1, "cuebus_consumer_pending", w), 2);
  assert.equal(value(js1, "cuebus_consumer_ack_pending", w), 1);
  assert.equal(value(js1, "cuebus_consumer_redelivered", w), 0);
  const r = { stream: "ORDERS", consumer: "retry" };
  assert.equal(value(js1, "cuebus_consumer_ack_pending", r), 1);
  assert.equal(value(js1, "cuebus_consumer_redelivered", r), 1);
  // Every publish to the file stream was fdatasync'ed before its ack, each sync timed once.
  const fsyncs = value(js1, "cuebus_fsync_duration_seconds") ?? 0;
  assert.ok(fsyncs >= 1 && fsyncs <= 3, `fsync count ${fsyncs}`);
  const fsync = js1.get("cuebus_fsync_duration_seconds")?.metrics[0];
  assert.ok(Number(fsync?.sum) > 0);
  assert.equal(Number(fsync?.buckets?.["+Inf"]), fsyncs);
  const jsz = await getJson(`${base}/jsz`);
  assert.equal(value(js1, "cuebus_jetstream_api_requests_total"), (jsz["api"] as { total: number }).total);
  // Scraping reads state in place: it is not JetStream API traffic itself.
  assert.equal(value(await scrape(base), "cuebus_jetstream_api_requests_total"), value(js1, "cuebus_jetstream_api_requests_total"));

  // A deleted stream's series go away.
  await jsm.streams.add({ name: "TEMP", subjects: ["temp"] });
  assert.equal(value(await scrape(base), "cuebus_stream_messages", { stream: "TEMP" }), 0);
  await jsm.streams.delete("TEMP");
  assert.equal(value(await scrape(base), "cuebus_stream_messages", { stream: "TEMP" }), undefined);

  // A slow consumer: a reader that stops reading while 60 KiB messages pile up.
  const slow = await stalledReader(server.port, "big");
  closers.push(() => slow.destroy());
  const payload = "x".repeat(60 * 1024);
  for (let i = 0; i < 400 && server.core.stats.slowConsumers === 0; i++) {
    pub.publish("big", payload);
    await new Promise((res) => setImmediate(res));
  }
  await waitFor(async () => value(await scrape(base), "cuebus_slow_consumers_total") === 1, 5000, "slow consumer counted");

  // HTTP: three 404s and a 405, counted by route pattern and status.
  for (let i = 0; i < 3; i++) assert.equal((await fetch(`${base}/nope/${i}`)).status, 404);
  assert.equal((await fetch(`${base}/metrics`, { method: "DELETE" })).status, 405);
  const http = await scrape(base);
  assert.equal(value(http, "cuebus_http_requests_total", { route: "unmatched", method: "GET", status: "404" }), 3);
  assert.equal(value(http, "cuebus_http_requests_total", { route: "unmatched", method: "DELETE", status: "405" }), 1);
  assert.equal(value(http, "cuebus_http_requests_total", { route: "/varz", method: "GET", status: "200" }), 1);
  // Each earlier scrape is counted once its response closed (this one is still open).
  const scrapes = value(http, "cuebus_http_requests_total", { route: "/metrics", method: "GET", status: "200" }) ?? 0;
  assert.ok(scrapes >= 8, `scrapes counted: ${scrapes}`);
  assert.equal(await histogramCount(base, "cuebus_http_request_duration_seconds", { route: "unmatched", method: "GET" }), 3);
  assert.equal(await histogramCount(base, "cuebus_http_request_duration_seconds", { route: "unmatched", method: "DELETE" }), 1);
});

test("/metrics: each server in a process keeps its own registry", async (t) => {
  const a = await startServer({ port: 0, httpPort: 0 });
  t.after(() => a.close());
  const b = await startServer({ port: 0, httpPort: 0 });
  t.after(() => b.close());
  const nc = await connect({ servers: a.url });
  t.after(() => nc.close());
  await nc.flush();
  assert.equal((await fetch(`${a.httpUrl as string}/missing`)).status, 404);
  const ma = await scrape(a.httpUrl as string);
  const mb = await scrape(b.httpUrl as string);
  assert.equal(value(ma, "cuebus_connections"), 1);
  assert.equal(value(mb, "cuebus_connections"), 0);
  assert.equal(value(ma, "cuebus_http_requests_total", { route: "unmatched", method: "GET", status: "404" }), 1);
  assert.equal(value(mb, "cuebus_http_requests_total", { route: "unmatched", method: "GET", status: "404" }), undefined);
  // Without JetStream the stream families exist but have no series.
  assert.deepEqual(mb.get("cuebus_stream_messages")?.metrics ?? [], []);
});

// Needs the webhooks feature (branch gw-webhooks): on a build where POST /v1/webhooks is still a
// stub this test fails at the registration, by design.
test("/metrics: webhook deliveries, failures and dead letters from a real receiver", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "cuebus-metrics-wh-"));
  let flakyHits = 0;
  // /flaky fails the first two attempts, then accepts; /broken always fails.
  const receiver = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      if (req.url === "/flaky") flakyHits++;
      res.writeHead(req.url === "/flaky" && flakyHits > 2 ? 200 : 500);
      res.end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", r));
  const server = await startServer({ port: 0, httpPort: 0, jetstream: { storeDir: dir } });
  const nc = await connect({ servers: server.url });
  t.after(async () => {
    await nc.close();
    await server.close();
    await new Promise<void>((r) => receiver.close(() => r()));
    await rm(dir, { recursive: true, force: true });
  });
  const base = server.httpUrl as string;
  const port = (receiver.address() as AddressInfo).port;
  await (await jetstreamManager(nc)).streams.add({ name: "EV", subjects: ["ev.>"] });
  for (const [name, path, attempts] of [["flaky", "/flaky", 5], ["broken", "/broken", 2]] as const) {
    const res = await fetch(`${base}/v1/webhooks`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ name, url: `http://127.0.0.1:${port}${path}`, stream: "EV", filter_subject: `ev.${name}`, max_attempts: attempts, backoff_ms: { initial: 10, max: 20 } }),
    });
    assert.equal(res.status, 201, await res.text());
  }
  const js = jetstream(nc);
  await js.publish("ev.flaky", "one");
  await js.publish("ev.broken", "two");
  await waitFor(async () => {
    const m = await scrape(base);
    return value(m, "cuebus_webhook_deliveries_total", { webhook: "flaky" }) === 1 && value(m, "cuebus_webhook_dead_letters_total", { webhook: "broken" }) === 1;
  }, 10_000, "webhook delivered and dead-lettered");
  const m = await scrape(base);
  assert.equal(value(m, "cuebus_webhook_failures_total", { webhook: "flaky" }), 2);
  assert.equal(value(m, "cuebus_webhook_dead_letters_total", { webhook: "flaky" }), 0);
  assert.equal(value(m, "cuebus_webhook_deliveries_total", { webhook: "broken" }), 0);
  assert.equal(value(m, "cuebus_webhook_failures_total", { webhook: "broken" }), 2);
});
