import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { startServer, type Server } from "../../src/index.js";
import { closeStan, collect, connectStan, publishAll, subscriptionGone } from "../helpers/stan.js";
import { differences, runMonitorScenario, untilAcked, type Exchange, type ScenarioRecord } from "../helpers/stan-monitor-scenario.js";

/*
 * nats-streaming-server's monitoring endpoints (`/streaming/serverz`, `storez`, `clientsz`,
 * `channelsz`, `isFTActive`) on cuebus's HTTP port. The scenario of
 * tests/helpers/stan-monitor-scenario.ts (node-nats-streaming@0.3.2: two clients, a durable, a
 * queue group, a durable queue group, an offline durable, four channels) ran against the real
 * nats-streaming-server 0.25.3; tests/fixtures/nss-monitor.json is what it answered
 * (scripts/record-stan-monitor.ts). Here the same scenario runs against cuebus and every answer is
 * compared with it: status, content type, field names and JSON types, and the values that must
 * agree (counts, sequences, flags, names, max_inflight, ack_wait, pending counts, the in/out
 * counters, paging); see VARYING_FIELDS for the ones that may not.
 */

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
const FIXTURE = join(root, "tests/fixtures/nss-monitor.json");

/** An embedded server with HTTP on `dir` (a new one by default); closed, and the store removed, when the test ends. */
async function serve(t: TestContext, opts: Parameters<typeof startServer>[0] = {}, dir?: string): Promise<Server> {
  const storeDir = dir ?? (await mkdtemp(join(tmpdir(), "cuebus-stan-mon-")));
  const server = await startServer({ port: 0, httpPort: 0, jetstream: { storeDir }, ...opts });
  t.after(async () => {
    await server.close();
    await rm(storeDir, { recursive: true, force: true });
  });
  return server;
}

async function getJson(server: Server, path: string): Promise<Record<string, unknown>> {
  const res = await fetch(`${server.httpUrl}${path}`);
  assert.equal(res.status, 200, path);
  assert.equal(res.headers.get("content-type"), "application/json", path);
  return (await res.json()) as Record<string, unknown>;
}

test("the /streaming endpoints answer the scenario as nats-streaming-server 0.25.3 did (fixture)", async (t) => {
  const fixture = JSON.parse(await readFile(FIXTURE, "utf8")) as ScenarioRecord & { recorded_with: string };
  const server = await serve(t);
  const got = await runMonitorScenario(server.url, server.httpUrl as string);
  const problems: string[] = [];
  for (const moment of ["live", "closed"] as const) {
    const expected = fixture[moment];
    assert.ok(expected !== undefined, `fixture has ${moment}`);
    for (const [path, want] of Object.entries(expected)) {
      const have = got[moment]?.[path] as Exchange | undefined;
      assert.ok(have !== undefined, `${moment} ${path} asked`);
      const where = `${moment} ${path}`;
      if (have.status !== want.status) problems.push(`${where}: status ${have.status}, nats-streaming-server ${want.status}`);
      if (have.contentType !== want.contentType) problems.push(`${where}: content-type ${have.contentType}, nats-streaming-server ${want.contentType}`);
      problems.push(...differences(have.body, want.body).map((d) => `${where}${d}`));
    }
  }
  assert.deepEqual(problems, []);
  // The values the comparison lets vary are still sensible.
  const serverz = got["live"]?.["/streaming/serverz"]?.body as Record<string, unknown>;
  assert.equal(serverz["go"], "cuebus");
  assert.equal(serverz["version"], "0.25.3");
  assert.ok(Number(serverz["total_bytes"]) > 0);
  assert.ok(!Number.isNaN(Date.parse(String(serverz["start_time"]))));
});

test("the index links /streaming; the HTML index and isFTActive answer as nats-streaming-server's do", async (t) => {
  const server = await serve(t);
  const index = await getJson(server, "/");
  assert.equal(index["streaming"], "/streaming");
  const html = await fetch(`${server.httpUrl}/streaming`);
  assert.equal(html.status, 200);
  assert.match(html.headers.get("content-type") ?? "", /^text\/html/);
  assert.match(await html.text(), /href="\.\/streaming\/channelsz"/);
  const ft = await fetch(`${server.httpUrl}/streaming/isFTActive`);
  assert.equal(ft.status, 204);
  assert.equal(await ft.text(), "");
  // A monitoring endpoint: no credentials asked even when the server has users.
  const doc = (await getJson(server, "/openapi.json")) as { paths: Record<string, unknown> };
  for (const p of ["/streaming/serverz", "/streaming/storez", "/streaming/clientsz", "/streaming/channelsz"]) assert.ok(doc.paths[p] !== undefined, p);
});

test("streaming off: /streaming/* is not served (404), as on a server without NATS Streaming", async (t) => {
  const server = await serve(t, { streaming: false });
  for (const p of ["/streaming/serverz", "/streaming/channelsz", "/streaming"]) {
    const res = await fetch(`${server.httpUrl}${p}`);
    assert.equal(res.status, 404, p);
    await res.text();
  }
  assert.equal((await getJson(server, "/"))["streaming"], undefined);
});

test("storez names the store type; serverz counts what came in and went out, redeliveries included", async (t) => {
  const server = await serve(t, { streaming: { store: "memory" } });
  const storez = await getJson(server, "/streaming/storez");
  assert.equal(storez["type"], "MEMORY");
  assert.equal((storez["limits"] as Record<string, unknown>)["max_msgs"], 1_000_000);
  const sc = await connectStan("test-cluster", "counter", server.url);
  t.after(() => closeStan(sc));
  await publishAll(sc, "jobs", ["a", "b"]);
  const { got } = await collect(sc, "jobs", sc.subscriptionOptions().setDeliverAllAvailable().setManualAckMode(true).setAckWait(1000), false);
  await got.until(2);
  got.messages[1]?.ack();
  // Message 1 is not acked: it comes again after the ack wait.
  await got.until(3, 5000);
  const serverz = await getJson(server, "/streaming/serverz");
  assert.equal(serverz["in_msgs"], 2);
  assert.equal(serverz["out_msgs"], 3);
  // Each MsgProto as sent: the client's own protobuf code encodes the same fields to the same size.
  const sizeOf = (m: (typeof got.messages)[number]): number => (m as unknown as { msg: { serializeBinary(): Uint8Array } }).msg.serializeBinary().length;
  assert.equal(serverz["out_bytes"], got.messages.reduce((n, m) => n + sizeOf(m), 0));
  assert.equal(serverz["total_msgs"], 2);
  const ch = await getJson(server, "/streaming/channelsz?channel=jobs&subs=1");
  const sub = (ch["subscriptions"] as Array<Record<string, unknown>>)[0];
  assert.equal(sub?.["last_sent"], 2);
  assert.equal(sub?.["pending_count"], 1);
  assert.equal(sub?.["is_stalled"], false);
});

test("after a restart: channels, durables kept offline and their positions are listed from the streams", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "cuebus-stan-mon-"));
  const first = await startServer({ port: 0, httpPort: 0, jetstream: { storeDir: dir } });
  try {
    const sc = await connectStan("test-cluster", "svc", first.url);
    await publishAll(sc, "orders.eu", ["1", "2", "3"]);
    const d = await collect(sc, "orders.eu", sc.subscriptionOptions().setDeliverAllAvailable().setDurableName("billing"), true);
    const q = await collect(sc, "orders.eu", sc.subscriptionOptions().setDeliverAllAvailable().setDurableName("ship"), true, "shippers");
    await d.got.until(3);
    await q.got.until(3);
    // The automatic acks reach the server before the subscriptions close.
    await untilAcked(`http://127.0.0.1:${first.httpPort}`, "orders.eu");
    await subscriptionGone(d.sub, true);
    await subscriptionGone(q.sub, true);
    await closeStan(sc);
  } finally {
    await first.close();
  }

  const server = await serve(t, {}, dir);
  const channels = await getJson(server, "/streaming/channelsz");
  assert.deepEqual(channels["names"], ["orders.eu"]);
  const ch = await getJson(server, "/streaming/channelsz?channel=orders.eu&subs=1");
  assert.equal(ch["msgs"], 3);
  assert.equal(ch["first_seq"], 1);
  assert.equal(ch["last_seq"], 3);
  const subs = ch["subscriptions"] as Array<Record<string, unknown>>;
  assert.deepEqual(
    subs.map((s) => [s["client_id"], s["durable_name"] ?? "", s["queue_name"] ?? "", s["is_durable"], s["is_offline"], s["last_sent"], s["pending_count"]]),
    [
      ["svc", "billing", "", true, true, 3, 0],
      ["svc", "", "ship:shippers", true, true, 3, 0],
    ],
  );
  const serverz = await getJson(server, "/streaming/serverz");
  assert.equal(serverz["clients"], 0);
  assert.equal(serverz["subscriptions"], 2);
  assert.equal(serverz["channels"], 1);
  assert.equal(serverz["in_msgs"], 0);
  const clients = await getJson(server, "/streaming/clientsz");
  assert.deepEqual(clients["clients"], []);
});
