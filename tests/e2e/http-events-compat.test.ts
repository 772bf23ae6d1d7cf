import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { connect } from "@nats-io/transport-node";
import { jetstreamManager } from "@nats-io/jetstream";
import { startServer, type Server, type ServerOptions } from "../../src/index.js";
import { waitFor } from "../helpers/wait.js";

const SERVICE = fileURLToPath(new URL("../fixtures/event-bus-service.js", import.meta.url));

interface Seen {
  type: string;
  data: Record<string, unknown>;
  via: "replay" | "live";
}

/** A port nobody listens on right now (the service binds it a moment later). */
async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** Run the fixture service as its own process; resolves once it has replayed the history. */
async function runService(t: test.TestContext, env: Record<string, string>): Promise<{ url: string; replayed: number }> {
  const child: ChildProcess = spawn(process.execPath, [SERVICE], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "inherit"] });
  t.after(() => {
    if (child.exitCode === null) child.kill("SIGTERM");
  });
  const line = await new Promise<string>((resolve, reject) => {
    let buf = "";
    child.stdout?.on("data", (c: Buffer) => {
      buf += c.toString();
      const i = buf.indexOf("\n");
      if (i >= 0) resolve(buf.slice(0, i));
    });
    child.once("exit", (code) => reject(new Error(`${env["SERVICE"]} exited with ${code}`)));
  });
  const ready = JSON.parse(line) as { port: number; replayed: number };
  return { url: `http://127.0.0.1:${ready.port}`, replayed: ready.replayed };
}

/** A JetStream server with the HTTP edge, in a temp dir closed and removed after the test. */
async function busServer(t: TestContext, extra: Partial<ServerOptions> = {}): Promise<Server> {
  const dir = await mkdtemp(join(tmpdir(), "cuebus-events-"));
  const server = await startServer({ port: 0, httpPort: 0, jetstream: { storeDir: dir }, ...extra });
  t.after(async () => {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });
  return server;
}

const seen = async (url: string): Promise<Seen[]> => (await (await fetch(`${url}/seen`)).json()) as Seen[];

test("events: services written for a plain HTTP event bus run unchanged against cuebus, and a late starter replays the history", async (t) => {
  const server = await busServer(t);
  const bus = server.httpUrl as string;

  // The bus's targets are webhooks on the EVENTS stream (made on demand), registered before the
  // services are up: deliveries are retried until they listen.
  const ports = { posts: await freePort(), query: await freePort() };
  for (const [name, port] of Object.entries(ports)) {
    const r = await fetch(`${bus}/v1/webhooks`, {
      method: "POST",
      body: JSON.stringify({ name, url: `http://127.0.0.1:${port}/events`, stream: "EVENTS", max_attempts: 20, backoff_ms: [50, 100, 200] }),
    });
    assert.equal(r.status, 201, await r.text());
  }
  const posts = await runService(t, { BUS_URL: bus, PORT: String(ports.posts), SERVICE: "posts" });
  const query = await runService(t, { BUS_URL: bus, PORT: String(ports.query), SERVICE: "query", REACT: "PostCreated:PostIndexed" });
  assert.equal(posts.replayed, 0);

  // posts publishes; query hears it and reacts; both hear both events (the bus sends every event to every service).
  const emitted = await fetch(`${posts.url}/emit`, { method: "POST", body: JSON.stringify({ type: "PostCreated", data: { id: "p1", title: "hello" } }) });
  assert.equal(emitted.status, 200);
  const answer = (await emitted.json()) as Record<string, unknown>;
  assert.equal(answer["status"], "OK");
  assert.equal(answer["stream"], "EVENTS");
  assert.equal(answer["seq"], 1);
  await waitFor(async () => (await seen(posts.url)).some((e) => e.type === "PostIndexed"), 10_000, "posts hears query's reaction");
  await waitFor(async () => (await seen(query.url)).length === 2, 10_000, "query hears both events");
  const expected: Array<{ type: string; data: unknown }> = [
    { type: "PostCreated", data: { id: "p1", title: "hello" } },
    { type: "PostIndexed", data: { id: "p1", title: "hello", by: "query" } },
  ];
  for (const url of [posts.url, query.url]) {
    const s = await seen(url);
    assert.deepEqual(s.map(({ type, data }) => ({ type, data })), expected);
    assert.ok(s.every((e) => e.via === "live"));
  }
  // An event type that is not a subject token is kept as it was sent.
  const odd = { type: "comment.created/v1 beta", data: { text: "nice", n: [1, 2] } };
  assert.equal((await fetch(`${posts.url}/emit`, { method: "POST", body: JSON.stringify(odd) })).status, 200);
  expected.push(odd);
  await waitFor(async () => (await seen(query.url)).length === 3, 10_000, "the third event");

  // The history, in order, as the bus's GET /events answers it.
  const history = await fetch(`${bus}/events`);
  assert.equal(history.status, 200);
  assert.match(history.headers.get("content-type") ?? "", /application\/json/);
  assert.deepEqual(await history.json(), expected);
  const tail = (await (await fetch(`${bus}/events?start_seq=2`)).json()) as unknown[];
  assert.deepEqual(tail, expected.slice(1));

  // A service that starts late replays everything it missed, then hears new events live.
  const late = await runService(t, { BUS_URL: bus, SERVICE: "late" });
  assert.equal(late.replayed, 3);
  assert.deepEqual((await seen(late.url)).map(({ type, data, via }) => ({ type, data, via })), expected.map((e) => ({ ...e, via: "replay" })));

  // What NATS clients see: a stream EVENTS on events.>, subjects events.<type token>.
  const nc = await connect({ servers: server.url });
  t.after(() => nc.close());
  const jsm = await jetstreamManager(nc);
  const info = await jsm.streams.info("EVENTS");
  assert.deepEqual(info.config.subjects, ["events.>"]);
  assert.equal(info.state.messages, 3);
  const m3 = await jsm.streams.getMessage("EVENTS", { seq: 3 });
  assert.equal(m3?.subject, "events.comment_created_v1_beta");
  assert.deepEqual(m3?.json(), odd);
  await waitFor(async () => {
    for (const c of ["webhook-posts", "webhook-query"]) {
      const ci = await jsm.consumers.info("EVENTS", c);
      if (ci.num_pending + ci.num_ack_pending !== 0) return false;
    }
    return true;
  }, 5000, "every delivery acked");
});

test("events: bad input gets 4xx JSON; GET before any event is an empty history", async (t) => {
  const bus = (await busServer(t, { auth: { token: "s3cret" } })).httpUrl as string;
  const auth = { authorization: "Bearer s3cret" };
  assert.equal((await fetch(`${bus}/events`)).status, 401, "same auth as /v1");
  const empty = await fetch(`${bus}/events`, { headers: auth });
  assert.equal(empty.status, 200);
  assert.deepEqual(await empty.json(), []);
  const cases: Array<[string, RegExp]> = [
    ["{nope", /not JSON/],
    ["[1,2]", /JSON object/],
    ['"text"', /JSON object/],
    ['{"data":1}', /string type/],
    ['{"type":"","data":1}', /string type/],
    ['{"type":7}', /string type/],
  ];
  for (const [body, re] of cases) {
    const r = await fetch(`${bus}/events`, { method: "POST", headers: auth, body });
    assert.equal(r.status, 400, body);
    const e = ((await r.json()) as { error: { code: number; description: string } }).error;
    assert.equal(e.code, 400);
    assert.match(e.description, re);
  }
  const big = await fetch(`${bus}/events`, { method: "POST", headers: auth, body: JSON.stringify({ type: "x", data: "y".repeat(1024 * 1024 + 1) }) });
  assert.equal(big.status, 413);
  assert.equal((await fetch(`${bus}/events?start_seq=0`, { headers: auth })).status, 400);
  assert.equal((await fetch(`${bus}/events?start_seq=abc`, { headers: auth })).status, 400);
  assert.equal((await fetch(`${bus}/events`, { method: "DELETE", headers: auth })).status, 405);
  // Nothing was published by the refused requests.
  const after = await fetch(`${bus}/events`, { headers: auth });
  assert.deepEqual(await after.json(), []);
});

test("events: a retried POST with the same Nats-Msg-Id is stored once", async (t) => {
  const bus = (await busServer(t)).httpUrl as string;
  const post = async (id: string, n: number): Promise<Record<string, unknown>> => {
    const r = await fetch(`${bus}/events`, { method: "POST", headers: { "Nats-Msg-Id": id }, body: JSON.stringify({ type: "OrderPlaced", data: { n } }) });
    assert.equal(r.status, 200);
    return (await r.json()) as Record<string, unknown>;
  };
  assert.deepEqual(await post("o-1", 1), { status: "OK", stream: "EVENTS", seq: 1, duplicate: false });
  assert.deepEqual(await post("o-1", 1), { status: "OK", stream: "EVENTS", seq: 1, duplicate: true });
  assert.deepEqual(await post("o-2", 2), { status: "OK", stream: "EVENTS", seq: 2, duplicate: false });
  const history = (await (await fetch(`${bus}/events`)).json()) as unknown[];
  assert.deepEqual(history, [
    { type: "OrderPlaced", data: { n: 1 } },
    { type: "OrderPlaced", data: { n: 2 } },
  ]);
});
