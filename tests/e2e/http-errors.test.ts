import { test } from "node:test";
import assert from "node:assert/strict";
import { connect } from "@nats-io/transport-node";
import { headers } from "@nats-io/nats-core";
import { jetstream } from "@nats-io/jetstream";
import { CE_JSON, call, ce, deep, jsServer, refused, snapshot } from "../helpers/http.js";

/**
 * Issue 14, defect 7: bad input over HTTP is a 4xx with the JSON error shape, never a 500, and
 * changes nothing: bodies nested past MAX_JSON_DEPTH, and JetStream refusals that JetStream itself
 * answers with code 500.
 */

test("defect 7: a body nested 20,000 levels deep is a 400 on every JSON route (was 500: JSON.stringify overflowed the stack), and nothing changes", async (t) => {
  const server = await jsServer(t);
  assert.equal((await call(server, "POST", "/v1/streams", JSON.stringify({ name: "HT", subjects: ["ht.>"] }))).status, 201);
  assert.equal((await call(server, "POST", "/v1/publish/ht.one", "one")).status, 200);
  const before = await snapshot(server, "HT");
  const d = deep(20_000);
  // A syntactically valid ack token (of a consumer that does not exist): the body is read before anything is sent.
  const token = Buffer.from("$JS.ACK.HT.C.1.1.1.1.0").toString("base64url");
  const cases: Array<[string, string, string, Record<string, string>?]> = [
    ["POST", "/v1/streams", `{"name":"DEEP","subjects":["deep.>"],"metadata":${d}}`],
    ["PUT", "/v1/streams/HT", `{"subjects":["ht.>"],"x":${d}}`],
    ["POST", "/v1/streams/HT/purge", `{"filter":${d}}`],
    ["POST", "/v1/streams/HT/consumers", `{"config":{"durable_name":"C","x":${d}}}`],
    ["POST", "/v1/streams/HT/consumers", `{"durable_name":"C","x":${d}}`],
    ["POST", "/v1/webhooks", `{"url":"http://127.0.0.1:9/x","stream":"HT","backoff_ms":${d}}`],
    // The ack body limit is 4096 bytes: 1,000 levels fit under it (20,000 would be a 413, rightly).
    ["POST", `/v1/ack/${token}`, `{"kind":${deep(1000)}}`],
    ["POST", "/events", `{"type":"t","data":${d}}`],
    ["POST", "/v1/publish/ht.two", ce({ data: JSON.parse(deep(100)) as unknown }).replace(deep(100), d), CE_JSON],
    ["POST", "/v1/request/ht.two", ce({ data: JSON.parse(deep(100)) as unknown }).replace(deep(100), d), CE_JSON],
  ];
  for (const [method, path, body, headers] of cases) {
    refused(await call(server, method, path, body, headers), 400, /nests arrays and objects deeper than 64 levels/, `${method} ${path}`);
  }
  assert.equal(await snapshot(server, "HT"), before, "nothing changed");
  // Just under the limit is read (and judged on its content).
  const ok = await call(server, "POST", "/v1/publish/ht.two", ce({ data: JSON.parse(deep(63)) as unknown }), CE_JSON);
  assert.equal(ok.status, 200);
});

test("defect 7: JetStream refusals it answers with code 500 (bad subject, storage change, bogus rollup, bad consumer) are 400 over HTTP with its err_code and description, and change nothing", async (t) => {
  const server = await jsServer(t);
  assert.equal((await call(server, "POST", "/v1/streams", JSON.stringify({ name: "HT", subjects: ["ht.>"], storage: "file" }))).status, 201);
  assert.equal((await call(server, "POST", "/v1/publish/ht.one", "one")).status, 200);
  const nc = await connect({ servers: server.url });
  t.after(() => nc.close());
  const before = await snapshot(server, "HT");
  const rollup = headers();
  rollup.set("Nats-Rollup", "bogus");
  // Each case over HTTP, and the same request over NATS: the error JetStream gives a NATS client.
  // (nats-server 2.9.10 answers these with code 500 too: 10052 for a..b and the storage change,
  // 10111 for the rollup.)
  const cases: Array<{ method: string; path: string; body: string; headers?: Record<string, string>; nats: () => Promise<string> }> = [
    { method: "POST", path: "/v1/streams", body: JSON.stringify({ name: "BAD", subjects: ["a..b"] }), nats: async () => (await nc.request("$JS.API.STREAM.CREATE.BAD", JSON.stringify({ name: "BAD", subjects: ["a..b"] }))).string() },
    { method: "PUT", path: "/v1/streams/HT", body: JSON.stringify({ subjects: ["a..b"] }), nats: async () => (await nc.request("$JS.API.STREAM.UPDATE.HT", JSON.stringify({ name: "HT", subjects: ["a..b"] }))).string() },
    { method: "PUT", path: "/v1/streams/HT", body: JSON.stringify({ subjects: ["ht.>"], storage: "memory" }), nats: async () => (await nc.request("$JS.API.STREAM.UPDATE.HT", JSON.stringify({ name: "HT", subjects: ["ht.>"], storage: "memory" }))).string() },
    { method: "POST", path: "/v1/publish/ht.two", body: "two", headers: { "Nats-Rollup": "bogus" }, nats: async () => (await nc.request("ht.two", "two", { headers: rollup, timeout: 5000 })).string() },
    {
      method: "POST",
      path: "/v1/streams/HT/consumers",
      body: JSON.stringify({ durable_name: "C", filter_subjects: ["a..b"] }),
      nats: async () => (await nc.request("$JS.API.CONSUMER.CREATE.HT.C", JSON.stringify({ stream_name: "HT", config: { durable_name: "C", filter_subjects: ["a..b"] } }))).string(),
    },
  ];
  let were500 = 0;
  for (const c of cases) {
    const what = `${c.method} ${c.path} ${c.body}`;
    const r = await call(server, c.method, c.path, c.body, c.headers);
    refused(r, 400, /./, what);
    const js = (JSON.parse(await c.nats()) as { error?: { code: number; err_code: number; description: string } }).error;
    assert.ok(js !== undefined, `${what}: refused over NATS too`);
    if (js.code === 500) were500++;
    assert.equal(r.json.error?.err_code, js.err_code, `${what}: err_code kept`);
    assert.equal(r.json.error?.description, js.description, `${what}: description kept`);
  }
  assert.ok(were500 >= 3, "the cases JetStream answers 500 are covered");
  assert.equal(await snapshot(server, "HT"), before, "nothing changed");
});

test("defect 7: stored JSON nested past the limit comes back as a structured CloudEvent in data_base64 instead of a 500", async (t) => {
  const server = await jsServer(t);
  assert.equal((await call(server, "POST", "/v1/streams", JSON.stringify({ name: "HT", subjects: ["ht.>"] }))).status, 201);
  const nc = await connect({ servers: server.url });
  t.after(() => nc.close());
  const h = headers();
  h.set("ce-specversion", "1.0");
  h.set("ce-id", "deep-1");
  h.set("ce-source", "/t");
  h.set("ce-type", "t");
  h.set("content-type", "application/json");
  await jetstream(nc).publish("ht.deep", deep(20_000), { headers: h });
  const res = await fetch(`${server.httpUrl}/v1/streams/HT/messages/1`, { headers: { accept: "application/cloudevents+json" } });
  assert.equal(res.status, 200);
  const ev = (await res.json()) as Record<string, unknown>;
  assert.equal(Buffer.from(ev["data_base64"] as string, "base64").toString(), deep(20_000));
});
