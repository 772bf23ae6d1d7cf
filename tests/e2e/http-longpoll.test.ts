import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect, headers as natsHeaders, nanos, type NatsConnection } from "@nats-io/transport-node";
import { AckPolicy, ReplayPolicy, jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from "@nats-io/jetstream";
import { startServer, type ServerOptions } from "../../src/index.js";
import { LONG_POLL_MAX_BATCH, LONG_POLL_MAX_WAIT_MS } from "../../src/gateway/long-poll.js";
import { waitFor } from "../helpers/wait.js";

interface Env {
  base: string;
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
}

async function setup(t: TestContext, extra: Partial<ServerOptions> = {}, natsAuth: { user?: string; pass?: string } = {}): Promise<Env> {
  const storeDir = await mkdtemp(join(tmpdir(), "cuebus-lp-"));
  const server = await startServer({ port: 0, httpPort: 0, host: "127.0.0.1", jetstream: { storeDir }, ...extra });
  t.after(() => server.close());
  // Hooks run in the order registered: the store goes once the server has stopped writing to it.
  t.after(() => rm(storeDir, { recursive: true, force: true }));
  const nc = await connect({ servers: server.url, ...natsAuth });
  t.after(() => nc.close());
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: "JOBS", subjects: ["jobs.>"] });
  return { base: `http://127.0.0.1:${server.httpPort}`, nc, js: jetstream(nc), jsm };
}

interface Msg {
  subject: string;
  seq: number;
  time: string;
  deliveries: number;
  headers?: Record<string, string | string[]>;
  data?: string;
  data_base64?: string;
  ack_token: string;
}

interface Poll {
  status: number;
  messages: Msg[];
  elapsedMs: number;
  error?: { code: number; description: string; err_code?: number };
}

async function poll(base: string, consumer: string, q: string, init: RequestInit = {}, stream = "JOBS"): Promise<Poll> {
  const started = Date.now();
  const r = await fetch(`${base}/v1/streams/${stream}/consumers/${consumer}/next?${q}`, init);
  const text = await r.text();
  const body = text === "" ? {} : (JSON.parse(text) as { messages?: Msg[]; error?: Poll["error"] });
  return { status: r.status, messages: body.messages ?? [], elapsedMs: Date.now() - started, ...(body.error === undefined ? {} : { error: body.error }) };
}

async function ack(base: string, token: string, q = "", body?: unknown, init: RequestInit = {}): Promise<{ status: number; body: Record<string, unknown> }> {
  const r = await fetch(`${base}/v1/ack/${token}${q === "" ? "" : `?${q}`}`, {
    method: "POST",
    ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { "content-type": "application/json" } }),
    ...init,
  });
  const text = await r.text();
  return { status: r.status, body: text === "" ? {} : (JSON.parse(text) as Record<string, unknown>) };
}

async function addPull(jsm: JetStreamManager, name: string, ackWaitMs = 30_000, filter = `jobs.${name}`): Promise<void> {
  await jsm.consumers.add("JOBS", { durable_name: name, ack_policy: AckPolicy.Explicit, ack_wait: nanos(ackWaitMs), filter_subject: filter });
}

test("long poll answers at once when messages exist, 204 after wait_ms when none, and early when one arrives", async (t) => {
  const { base, js, jsm } = await setup(t);
  await addPull(jsm, "a");
  const h = natsHeaders();
  h.append("X-Kind", "k1");
  await js.publish("jobs.a", "one", { headers: h });
  await js.publish("jobs.a", Uint8Array.from([0xc3, 0x28]));
  await js.publish("jobs.a", "three");

  const got = await poll(base, "a", "batch=10&wait_ms=5000");
  assert.equal(got.status, 200);
  assert.ok(got.elapsedMs < 2000, `answered at once (${got.elapsedMs} ms)`);
  assert.deepEqual(got.messages.map((m) => m.seq), [1, 2, 3]);
  const [m1, m2] = got.messages as [Msg, Msg];
  assert.equal(m1.subject, "jobs.a");
  assert.equal(m1.data, "one");
  assert.deepEqual(m1.headers, { "X-Kind": "k1" });
  assert.equal(m1.deliveries, 1);
  assert.ok(!Number.isNaN(Date.parse(m1.time)));
  assert.equal(m2.data, undefined);
  assert.equal(m2.data_base64, Buffer.from([0xc3, 0x28]).toString("base64"));
  assert.match(Buffer.from(m1.ack_token, "base64url").toString(), /^\$JS\.ACK\.JOBS\.a\.1\.1\.1\.\d+\.\d+$/);

  // batch bounds what one answer holds.
  await js.publish("jobs.a", "four");
  await js.publish("jobs.a", "five");
  const one = await poll(base, "a", "batch=1&wait_ms=1000");
  assert.deepEqual(one.messages.map((m) => m.data), ["four"]);

  // Nothing else: 204 with no body once wait_ms has passed.
  await poll(base, "a", "batch=5&wait_ms=0"); // takes "five"
  const empty = await poll(base, "a", "batch=5&wait_ms=300");
  assert.equal(empty.status, 204);
  assert.ok(empty.elapsedMs >= 280, `waited (${empty.elapsedMs} ms)`);
  const noWait = await poll(base, "a", "wait_ms=0");
  assert.equal(noWait.status, 204);

  // A message published during the wait is answered well before wait_ms.
  const pending = poll(base, "a", "batch=10&wait_ms=20000");
  await waitFor(async () => (await jsm.consumers.info("JOBS", "a")).num_waiting === 1, 5000, "the poll waiting at the consumer");
  await js.publish("jobs.a", "late");
  const late = await pending;
  assert.equal(late.status, 200);
  assert.ok(late.elapsedMs < 5000, `answered early (${late.elapsedMs} ms)`);
  assert.deepEqual(late.messages.map((m) => m.data), ["late"]);
});

test("acks over HTTP: ack removes, nak with delay redelivers after it, ack_wait expiry redelivers, term does not, progress extends", async (t) => {
  const { base, js, jsm } = await setup(t);

  // ack
  await addPull(jsm, "ack");
  await js.publish("jobs.ack", "x");
  const a = (await poll(base, "ack", "wait_ms=2000")).messages[0] as Msg;
  assert.equal((await jsm.consumers.info("JOBS", "ack")).num_ack_pending, 1);
  assert.equal((await ack(base, a.ack_token)).status, 204);
  assert.equal((await jsm.consumers.info("JOBS", "ack")).num_ack_pending, 0);

  // nak with a delay: not before the delay, then again with deliveries 2.
  await addPull(jsm, "nak");
  await js.publish("jobs.nak", "y");
  const n = (await poll(base, "nak", "wait_ms=2000")).messages[0] as Msg;
  const nakAt = Date.now();
  assert.equal((await ack(base, n.ack_token, "", { kind: "nak", delay_ms: 600 })).status, 204);
  assert.equal((await poll(base, "nak", "wait_ms=200")).status, 204, "not redelivered before the delay");
  const again = await poll(base, "nak", "wait_ms=5000");
  assert.equal(again.status, 200);
  assert.ok(Date.now() - nakAt >= 550, `redelivered after the delay (${Date.now() - nakAt} ms)`);
  assert.equal(again.messages[0]?.seq, n.seq);
  assert.equal(again.messages[0]?.deliveries, 2);
  // nak without delay: at once, deliveries 3.
  assert.equal((await ack(base, again.messages[0]?.ack_token as string, "kind=nak")).status, 204);
  const third = await poll(base, "nak", "wait_ms=2000");
  assert.equal(third.messages[0]?.deliveries, 3);

  // ack_wait expiry redelivers.
  await addPull(jsm, "exp", 400);
  await js.publish("jobs.exp", "z");
  const e1 = (await poll(base, "exp", "wait_ms=2000")).messages[0] as Msg;
  const e2 = (await poll(base, "exp", "wait_ms=5000")).messages[0] as Msg;
  assert.equal(e2.seq, e1.seq);
  assert.equal(e2.deliveries, 2);

  // term: never again.
  await addPull(jsm, "term", 300);
  await js.publish("jobs.term", "t");
  const tm = (await poll(base, "term", "wait_ms=2000")).messages[0] as Msg;
  assert.equal((await ack(base, tm.ack_token, "kind=term")).status, 204);
  assert.equal((await poll(base, "term", "wait_ms=900")).status, 204, "a terminated message is not redelivered");
  assert.equal((await jsm.consumers.info("JOBS", "term")).num_ack_pending, 0);

  // progress restarts ack_wait: no redelivery at the first ack_wait.
  await addPull(jsm, "wpi", 800);
  await js.publish("jobs.wpi", "p");
  const p = (await poll(base, "wpi", "wait_ms=2000")).messages[0] as Msg;
  const deliveredAt = Date.now();
  await new Promise((r) => setTimeout(r, 500)); // part of ack_wait must pass for "progress" to mean anything
  assert.equal((await ack(base, p.ack_token, "kind=progress")).status, 204);
  const quiet = await poll(base, "wpi", `wait_ms=${Math.max(0, deliveredAt + 1100 - Date.now())}`);
  assert.equal(quiet.status, 204, "not redelivered at the original ack_wait");
  const later = await poll(base, "wpi", "wait_ms=3000");
  assert.equal(later.messages[0]?.deliveries, 2, "redelivered once the extended ack_wait passes");
});

test("long poll and ack refuse bad input and unknown streams or consumers with JSON errors", async (t) => {
  const { base, js, jsm } = await setup(t);
  await addPull(jsm, "c");
  for (const q of ["batch=0", `batch=${LONG_POLL_MAX_BATCH + 1}`, "batch=x", "wait_ms=-1", `wait_ms=${LONG_POLL_MAX_WAIT_MS + 1}`, "wait_ms=1.5"]) {
    const r = await poll(base, "c", q);
    assert.equal(r.status, 400, q);
    assert.equal(r.error?.code, 400);
  }
  const noStream = await poll(base, "c", "wait_ms=0", {}, "NOPE");
  assert.equal(noStream.status, 404);
  assert.equal(noStream.error?.err_code, 10059);
  const noConsumer = await poll(base, "nope", "wait_ms=0");
  assert.equal(noConsumer.status, 404);
  assert.equal(noConsumer.error?.err_code, 10014);
  assert.equal((await poll(base, "a*b", "wait_ms=0")).status, 400);
  assert.equal((await poll(base, "c", "wait_ms=0", {}, "A.B")).status, 400);
  // A push consumer cannot be pulled.
  await jsm.consumers.add("JOBS", { durable_name: "push", deliver_subject: "deliver.here", ack_policy: AckPolicy.Explicit });
  assert.equal((await poll(base, "push", "wait_ms=0")).status, 409);

  await js.publish("jobs.c", "m");
  const m = (await poll(base, "c", "wait_ms=2000")).messages[0] as Msg;
  const b64 = (s: string): string => Buffer.from(s).toString("base64url");
  for (const token of ["not+base64", b64("jobs.c"), b64("$JS.ACK.>"), b64("$JS.ACK.JOBS.c.1.1.1"), b64("$JS.ACK.JOBS.c.x.1.1.1.0"), "A".repeat(2000)]) {
    const r = await ack(base, token);
    assert.equal(r.status, 400, token.slice(0, 40));
    assert.equal((r.body["error"] as Record<string, unknown>)["code"], 400);
  }
  assert.equal((await ack(base, m.ack_token, "kind=maybe")).status, 400);
  assert.equal((await ack(base, m.ack_token, "kind=ack&delay_ms=5")).status, 400);
  assert.equal((await ack(base, m.ack_token, "kind=nak&delay_ms=-5")).status, 400);
  assert.equal((await ack(base, m.ack_token, "", { kind: "nak", delay_ms: "soon" })).status, 400);
  assert.equal((await ack(base, m.ack_token, "", "[1]")).status, 400);
  // None of those acknowledged anything.
  assert.equal((await jsm.consumers.info("JOBS", "c")).num_ack_pending, 1);
  // A token whose consumer is gone.
  await jsm.consumers.delete("JOBS", "c");
  const gone = await ack(base, m.ack_token);
  assert.equal(gone.status, 404);
});

test("long poll and ack apply the publish permissions a NATS client would need", async (t) => {
  const users = [
    { user: "worker", password: "pw", permissions: { publish: { allow: ["$JS.API.CONSUMER.MSG.NEXT.JOBS.w", "$JS.ACK.JOBS.w.>"] } } },
    { user: "peeker", password: "pw", permissions: { publish: { allow: ["$JS.API.CONSUMER.MSG.NEXT.JOBS.w"] } } },
    { user: "admin", password: "pw" },
  ];
  const { base, js, jsm } = await setup(t, { auth: { users } }, { user: "admin", pass: "pw" });
  await addPull(jsm, "w");
  await addPull(jsm, "other");
  await js.publish("jobs.w", "1");
  const as = (u: string): RequestInit => ({ headers: { authorization: `Bearer ${u}:pw` } });
  assert.equal((await poll(base, "other", "wait_ms=0", as("worker"))).status, 403);
  assert.equal((await poll(base, "w", "wait_ms=0")).status, 401);
  const got = await poll(base, "w", "wait_ms=2000", as("peeker"));
  assert.equal(got.status, 200);
  const token = got.messages[0]?.ack_token as string;
  const denied = await ack(base, token, "", undefined, as("peeker"));
  assert.equal(denied.status, 403);
  assert.match(String((denied.body["error"] as Record<string, unknown>)["description"]), /Permissions Violation for Publish to "\$JS\.ACK\.JOBS\.w\./);
  assert.equal((await jsm.consumers.info("JOBS", "w")).num_ack_pending, 1);
  assert.equal((await ack(base, token, "", undefined, as("worker"))).status, 204);
  assert.equal((await jsm.consumers.info("JOBS", "w")).num_ack_pending, 0);
});

test("a long poll whose client leaves hands its messages back for redelivery at once", async (t) => {
  const { base, js, jsm } = await setup(t);
  await addPull(jsm, "gone");
  const ac = new AbortController();
  const started = fetch(`${base}/v1/streams/JOBS/consumers/gone/next?wait_ms=20000`, { signal: ac.signal }).catch(() => null);
  await waitFor(async () => (await jsm.consumers.info("JOBS", "gone")).num_waiting === 1, 5000, "the poll waiting");
  ac.abort();
  await started;
  await waitFor(async () => (await jsm.consumers.info("JOBS", "gone")).num_waiting === 0, 5000, "the request dropped");
  await js.publish("jobs.gone", "kept");
  const r = await poll(base, "gone", "wait_ms=2000");
  assert.equal(r.messages[0]?.data, "kept");
  assert.equal(r.messages[0]?.deliveries, 1, "the message was not swallowed by the gone request");
});

test("a long poll whose client leaves after some messages came naks them: redelivered at once, not after ack_wait", async (t) => {
  const { base, js, jsm } = await setup(t);
  // Replay "original" holds the second message back for the 1.5 s that separated the two
  // publishes: the poll then holds the first one and is still open when its client goes.
  await js.publish("jobs.left", "first");
  await new Promise((r) => setTimeout(r, 1500));
  await js.publish("jobs.left", "second");
  await jsm.consumers.add("JOBS", { durable_name: "left", ack_policy: AckPolicy.Explicit, ack_wait: nanos(60_000), filter_subject: "jobs.left", replay_policy: ReplayPolicy.Original });
  const ac = new AbortController();
  const started = fetch(`${base}/v1/streams/JOBS/consumers/left/next?batch=2&wait_ms=20000`, { signal: ac.signal }).catch(() => null);
  await waitFor(async () => (await jsm.consumers.info("JOBS", "left")).num_ack_pending === 1, 5000, "the first message handed to the poll");
  ac.abort();
  await started;
  // Naked: delivered a second time at once (ack_wait is a minute).
  const again = await poll(base, "left", "batch=1&wait_ms=5000");
  assert.equal(again.messages[0]?.data, "first");
  assert.equal(again.messages[0]?.deliveries, 2);
});

test("without JetStream, long polling is a 503 and acks find no consumer", async (t) => {
  const server = await startServer({ port: 0, httpPort: 0, host: "127.0.0.1" });
  t.after(() => server.close());
  const base = `http://127.0.0.1:${server.httpPort}`;
  const r = await poll(base, "c", "wait_ms=0");
  assert.equal(r.status, 503);
  assert.equal(r.error?.code, 503);
  const token = Buffer.from("$JS.ACK.S.c.1.1.1.1700000000000000000.0").toString("base64url");
  assert.equal((await ack(base, token)).status, 404);
});
