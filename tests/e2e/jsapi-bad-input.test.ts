import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect, createInbox, type NatsConnection } from "@nats-io/transport-node";
import { startServer } from "../../src/index.js";

/**
 * Issue 14, defects 1, 2 and 7 (the `$JS.API` side): a malformed request body is refused with
 * nats-server's 400 / 10025 `invalid JSON` and changes nothing. Each answer here was checked
 * against nats-server 2.9.10 -js (tests/e2e/jsapi-compare.test.ts runs the same kind of steps
 * against both servers); our descriptions add the field and what it must be after `invalid JSON`.
 */

interface ApiError {
  code: number;
  err_code: number;
  description: string;
}

async function setup(t: test.TestContext): Promise<NatsConnection> {
  const dir = await mkdtemp(join(tmpdir(), "cuebus-badinput-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const server = await startServer({ port: 0, host: "127.0.0.1", jetstream: { storeDir: dir } });
  t.after(() => server.close());
  const nc = await connect({ port: server.port });
  t.after(() => nc.close());
  return nc;
}

async function api(nc: NatsConnection, subject: string, body: unknown): Promise<Record<string, unknown>> {
  const payload = typeof body === "string" ? body : JSON.stringify(body);
  const r = await nc.request(`$JS.API.${subject}`, payload, { timeout: 5000 });
  return r.json<Record<string, unknown>>();
}

function assertInvalidJson(res: Record<string, unknown>, field: string, what: string): void {
  const e = res["error"] as ApiError | undefined;
  assert.ok(e !== undefined, `${what}: expected an error, got ${JSON.stringify(res)}`);
  assert.equal(e.code, 400, what);
  assert.equal(e.err_code, 10025, what);
  assert.match(e.description, /^invalid JSON/, what);
  assert.ok(e.description.includes(field), `${what}: description names ${field}: ${e.description}`);
}

const nested = (n: number): string => `${'{"a":'.repeat(n)}1${"}".repeat(n)}`;

test("defect 1: a purge with a wrongly typed seq, keep or filter is refused and the stream keeps every message", async (t) => {
  const nc = await setup(t);
  await api(nc, "STREAM.CREATE.P", { name: "P", subjects: ["p.>"] });
  for (let i = 0; i < 5; i++) await nc.request(`p.${i % 2}`, "x");
  const bodies: Array<[unknown, string]> = [
    [{ seq: "x" }, "seq"],
    [{ keep: "x" }, "keep"],
    [{ filter: 5 }, "filter"],
    [{ seq: 1.5 }, "seq"],
    [{ keep: -1 }, "keep"],
    [{ keep: true }, "keep"],
    [{ filter: ["p.0"] }, "filter"],
    ['{"keep":18446744073709551616}', "keep"],
  ];
  for (const [body, field] of bodies) {
    const res = await api(nc, "STREAM.PURGE.P", body);
    assertInvalidJson(res, field, `purge ${JSON.stringify(body)}`);
    const info = await api(nc, "STREAM.INFO.P", "");
    assert.equal((info["state"] as { messages: number }).messages, 5, `purge ${JSON.stringify(body)} left the stream`);
  }
  // Nesting far past any request's shape is refused before it is parsed.
  assertInvalidJson(await api(nc, "STREAM.PURGE.P", nested(20_000)), "nest", "purge nested 20,000 deep");
  assert.equal(((await api(nc, "STREAM.INFO.P", ""))["state"] as { messages: number }).messages, 5);
  // The well-formed purge still works.
  const ok = await api(nc, "STREAM.PURGE.P", { filter: "p.0", keep: 1 });
  assert.equal(ok["success"], true);
  assert.equal(ok["purged"], 2);
});

test("defect 2: wrongly typed stream and consumer fields are refused, never dropped or defaulted", async (t) => {
  const nc = await setup(t);
  const created = await api(nc, "STREAM.CREATE.HT", { name: "HT", subjects: ["ht.>"] });
  const before = created["config"];
  // An update whose subjects is a string changed the subjects to ["HT"]; it must change nothing.
  assertInvalidJson(await api(nc, "STREAM.UPDATE.HT", { name: "HT", subjects: "ht.>" }), "subjects", "update subjects string");
  assert.deepEqual((await api(nc, "STREAM.INFO.HT", ""))["config"], before);

  const creates: Array<[Record<string, unknown>, string]> = [
    [{ max_msgs: "5" }, "max_msgs"],
    [{ storage: "disk" }, "storage"],
    [{ retention: 5 }, "retention"],
    [{ retention: null }, "retention"],
    [{ discard: "sometimes" }, "discard"],
    [{ max_age: 1.5 }, "max_age"],
    [{ max_msg_size: 2147483648 }, "max_msg_size"],
    [{ sealed: "true" }, "sealed"],
    [{ description: 5 }, "description"],
    [{ metadata: { owner: 5 } }, "metadata"],
  ];
  for (const [extra, field] of creates) {
    const res = await api(nc, "STREAM.CREATE.T", { name: "T", ...extra });
    assertInvalidJson(res, field, `create ${JSON.stringify(extra)}`);
  }
  const names = await api(nc, "STREAM.NAMES", "");
  assert.deepEqual(names["streams"], ["HT"], "no stream was created by a refused request");

  const consumerBodies: Array<[Record<string, unknown>, string]> = [
    [{ max_deliver: "x" }, "max_deliver"],
    [{ ack_wait: "30s" }, "ack_wait"],
    [{ ack_policy: "sometimes" }, "ack_policy"],
    [{ replay_policy: "fast" }, "replay_policy"],
    [{ filter_subject: 5 }, "filter_subject"],
    [{ backoff: ["1s"] }, "backoff"],
    [{ deliver_policy: "by_start_time", opt_start_time: "yesterday" }, "opt_start_time"],
  ];
  for (const [cfg, field] of consumerBodies) {
    const res = await api(nc, "CONSUMER.DURABLE.CREATE.HT.d", { stream_name: "HT", config: { durable_name: "d", ...cfg } });
    assertInvalidJson(res, field, `consumer ${JSON.stringify(cfg)}`);
  }
  const consumers = await api(nc, "CONSUMER.NAMES.HT", "");
  assert.equal(consumers["total"], 0, "no consumer was created by a refused request");

  // An existing consumer is not changed by a refused update.
  const c = await api(nc, "CONSUMER.DURABLE.CREATE.HT.d", { stream_name: "HT", config: { durable_name: "d", ack_policy: "explicit", max_deliver: 3 } });
  assertInvalidJson(
    await api(nc, "CONSUMER.DURABLE.CREATE.HT.d", { stream_name: "HT", config: { durable_name: "d", ack_policy: "explicit", max_deliver: "7" } }),
    "max_deliver",
    "consumer update max_deliver string",
  );
  assert.deepEqual((await api(nc, "CONSUMER.INFO.HT.d", ""))["config"], c["config"]);
});

test("defect 7 ($JS.API): bodies nested 20,000 deep get invalid JSON from every endpoint that reads a body", async (t) => {
  const nc = await setup(t);
  await api(nc, "STREAM.CREATE.N", { name: "N", subjects: ["n.>"] });
  await nc.request("n.1", "x");
  for (const subject of ["STREAM.CREATE.M", "STREAM.UPDATE.N", "STREAM.PURGE.N", "STREAM.MSG.GET.N", "STREAM.MSG.DELETE.N", "STREAM.NAMES", "STREAM.LIST", "STREAM.INFO.N", "CONSUMER.CREATE.N", "CONSUMER.DURABLE.CREATE.N.d", "CONSUMER.NAMES.N", "CONSUMER.LIST.N"]) {
    const res = await api(nc, subject, nested(20_000));
    const e = res["error"] as ApiError | undefined;
    assert.ok(e !== undefined, `${subject}: ${JSON.stringify(res).slice(0, 200)}`);
    assert.equal(e.err_code, 10025, subject);
    assert.match(e.description, /^invalid JSON/, subject);
  }
  const info = await api(nc, "STREAM.INFO.N", "");
  assert.equal((info["state"] as { messages: number }).messages, 1);
});

test("a direct get whose body is JSON null is answered (408 Empty Request) and the server lives on", async (t) => {
  const nc = await setup(t);
  await api(nc, "STREAM.CREATE.D", { name: "D", subjects: ["d.>"], allow_direct: true });
  await nc.request("d.1", "x");
  // nats-server 2.9.10: null decodes to an empty request.
  const r = await nc.request("$JS.API.DIRECT.GET.D", "null", { timeout: 2000 });
  assert.equal(r.headers?.code, 408);
  assert.equal(r.headers?.description, "Empty Request");
  const bad = await nc.request("$JS.API.DIRECT.GET.D", '{"seq":"1"}', { timeout: 2000 });
  assert.equal(bad.headers?.code, 408);
  assert.equal(bad.headers?.description, "Malformed Request");
  const ok = await nc.request("$JS.API.DIRECT.GET.D", '{"seq":1}', { timeout: 2000 });
  assert.equal(ok.headers?.get("Nats-Sequence"), "1");
});

test("a pull request with a wrongly typed field is refused with 400 Bad Request naming it, and delivers nothing", async (t) => {
  const nc = await setup(t);
  await api(nc, "STREAM.CREATE.Q", { name: "Q", subjects: ["q.>"] });
  await api(nc, "CONSUMER.DURABLE.CREATE.Q.c", { stream_name: "Q", config: { durable_name: "c", ack_policy: "explicit" } });
  await nc.request("q.1", "x");
  for (const [body, field] of [
    ['{"batch":"1"}', "batch"],
    ['{"batch":1.5}', "batch"],
    ['{"expires":"1s"}', "expires"],
    ['{"no_wait":"true"}', "no_wait"],
    ['{"max_bytes":"x"}', "max_bytes"],
    ['{"idle_heartbeat":"1s"}', "idle_heartbeat"],
  ] as const) {
    const inbox = createInbox();
    const sub = nc.subscribe(inbox, { max: 1 });
    nc.publish("$JS.API.CONSUMER.MSG.NEXT.Q.c", body, { reply: inbox });
    for await (const m of sub) {
      assert.equal(m.headers?.code, 400, body);
      assert.match(m.headers?.description ?? "", new RegExp(`^Bad Request - .*${field}`), body);
      assert.equal(m.data.length, 0);
    }
  }
  const info = await api(nc, "CONSUMER.INFO.Q.c", "");
  assert.equal(info["num_ack_pending"], 0, "nothing was delivered");
  assert.equal(info["num_pending"], 1);
});

test("a request whose handler fails inside is answered as the server-side failure it is (500, its own type), not as a bad request", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "cuebus-badinput-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const server = await startServer({ port: 0, host: "127.0.0.1", jetstream: { storeDir: dir } });
  t.after(() => server.close());
  const nc = await connect({ port: server.port });
  t.after(() => nc.close());
  await api(nc, "STREAM.CREATE.A", { name: "A", subjects: ["a.>"] });
  // A file where stream T's directory (<storeDir>/jetstream/T/) must go: opening its store throws.
  await writeFile(join(dir, "jetstream", "T"), "not a directory");
  const res = await api(nc, "STREAM.CREATE.T", { name: "T", subjects: ["t.>"] });
  assert.equal(res["type"], "io.nats.jetstream.api.v1.stream_create_response");
  const e = res["error"] as ApiError;
  assert.equal(e.code, 500);
  assert.equal(e.err_code, 10049);
  assert.match(e.description, /ENOTDIR|EEXIST|not a directory/);
  assert.deepEqual((await api(nc, "STREAM.NAMES", ""))["streams"], ["A"]);
});
