import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type IncomingHttpHeaders } from "node:http";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect, headers as natsHeaders, type NatsConnection } from "@nats-io/transport-node";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { Webhook } from "standardwebhooks";
import { startServer, type Server, type ServerOptions } from "../../src/index.js";
import { loadOptions } from "../../src/cli/server.js";
import { waitFor } from "../helpers/wait.js";

interface Hit {
  id: string;
  body: Buffer;
  headers: IncomingHttpHeaders;
  atMs: number;
  status: number;
}

/** A real HTTP receiver on 127.0.0.1:0 answering each POST with `answer(hit, attempt of that webhook-id)`. */
async function receiver(t: test.TestContext, answer: (attempt: number) => number): Promise<{ url: string; hits: Hit[] }> {
  const hits: Hit[] = [];
  const perId = new Map<string, number>();
  const srv = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on("data", (c: Buffer) => parts.push(c));
    req.on("end", () => {
      const id = String(req.headers["webhook-id"]);
      const n = (perId.get(id) ?? 0) + 1;
      perId.set(id, n);
      const status = answer(n);
      hits.push({ id, body: Buffer.concat(parts), headers: req.headers, atMs: Date.now(), status });
      res.writeHead(status, { "content-type": "text/plain" });
      res.end(status < 300 ? "ok" : "try again later");
    });
  });
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  t.after(() => new Promise<void>((r) => srv.close(() => r())));
  const a = srv.address();
  assert.ok(a !== null && typeof a === "object");
  return { url: `http://127.0.0.1:${a.port}/hook`, hits };
}

interface Env {
  server: Server;
  nc: NatsConnection;
  base: string;
  dir: string;
  restart(): Promise<void>;
}

async function setup(t: test.TestContext, extra: Partial<ServerOptions> = {}, creds: { user?: string; pass?: string } = {}): Promise<Env> {
  const dir = await mkdtemp(join(tmpdir(), "cuebus-wh-"));
  const opts = (): ServerOptions => ({ port: 0, httpPort: 0, jetstream: { storeDir: dir }, ...extra });
  const env = { dir } as Env;
  const open = async (): Promise<void> => {
    env.server = await startServer(opts());
    env.nc = await connect({ servers: env.server.url, ...creds });
    env.base = env.server.httpUrl as string;
  };
  await open();
  env.restart = async () => {
    await env.nc.close();
    await env.server.close();
    await open();
  };
  t.after(async () => {
    await env.nc.close();
    await env.server.close();
    await rm(dir, { recursive: true, force: true });
  });
  return env;
}

async function call(method: string, url: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const init: RequestInit = { method };
  if (body !== undefined) {
    init.body = typeof body === "string" ? body : JSON.stringify(body);
    init.headers = { "content-type": "application/json" };
  }
  const res = await fetch(url, init);
  const text = await res.text();
  return { status: res.status, json: text === "" ? {} : (JSON.parse(text) as Record<string, unknown>) };
}

const errorOf = (r: { json: Record<string, unknown> }): { code: number; description: string } => r.json["error"] as { code: number; description: string };

test("webhooks: failing first attempts are retried with the same webhook-id, signed per Standard Webhooks, then acked", async (t) => {
  const env = await setup(t);
  const jsm = await jetstreamManager(env.nc);
  await jsm.streams.add({ name: "ORDERS", subjects: ["orders.>"] });
  // Each message fails twice (500) and succeeds on its third attempt.
  const rx = await receiver(t, (n) => (n <= 2 ? 500 : 204));
  const created = await call("POST", `${env.base}/v1/webhooks`, { name: "orders", url: rx.url, stream: "ORDERS", filter_subject: "orders.>", max_attempts: 5, backoff_ms: [50, 100] });
  assert.equal(created.status, 201, JSON.stringify(created.json));
  const secret = created.json["secret"] as string;
  assert.match(secret, /^whsec_[A-Za-z0-9+/]+=*$/);
  assert.equal(created.json["max_attempts"], 5);
  assert.equal(created.json["dead_letter_stream"], "ORDERS_DLQ");

  const js = jetstream(env.nc);
  await js.publish("orders.new", JSON.stringify({ id: 1, total: 9.5 }));
  const h = natsHeaders();
  h.set("Content-Type", "text/plain; charset=utf-8");
  await js.publish("orders.note", "deliver by noon", { headers: h });
  const ce = natsHeaders();
  ce.set("ce-type", "com.example.order.raw");
  ce.set("ce-id", "evt-3");
  await js.publish("orders.raw", "plain bytes", { headers: ce });

  await waitFor(() => rx.hits.filter((x) => x.status < 300).length === 3, 10_000, "three successful deliveries");
  const wh = new Webhook(secret);
  // A message waiting for its retry does not hold back the next one, so successes come in any order.
  const ok = rx.hits.filter((x) => x.status < 300).sort((a, b) => (a.id < b.id ? -1 : 1));
  assert.deepEqual(ok.map((x) => x.id), ["ORDERS:1", "ORDERS:2", "ORDERS:3"], "ids are <stream>:<seq>");
  const firstTries = rx.hits.filter((x) => x.headers["cuebus-attempt"] === "1").map((x) => x.id);
  assert.deepEqual(firstTries, ["ORDERS:1", "ORDERS:2", "ORDERS:3"], "first attempts in stream order");
  for (const hit of ok) {
    const hs: Record<string, string> = {};
    for (const [k, v] of Object.entries(hit.headers)) if (typeof v === "string") hs[k] = v;
    assert.doesNotThrow(() => wh.verify(hit.body, hs, { jsonParse: false }), `signature of ${hit.id}`);
    assert.equal(rx.hits.filter((x) => x.id === hit.id).length, 3, `${hit.id}: two failures then success, same id`);
    assert.equal(hit.headers["cuebus-attempt"], "3");
  }
  assert.throws(() => new Webhook(`whsec_${Buffer.alloc(32, 7).toString("base64")}`).verify((ok[0] as Hit).body, ok[0]?.headers as Record<string, string>, { jsonParse: false }), "another secret does not verify");
  assert.deepEqual(JSON.parse((ok[0] as Hit).body.toString()), { id: 1, total: 9.5 });
  assert.equal(ok[0]?.headers["content-type"], "application/json");
  assert.equal(ok[1]?.headers["content-type"], "text/plain; charset=utf-8");
  assert.equal(ok[1]?.body.toString(), "deliver by noon");
  assert.equal(ok[2]?.headers["content-type"], "application/octet-stream");
  assert.equal(ok[2]?.headers["ce-type"], "com.example.order.raw", "CloudEvents headers go out in binary mode");
  assert.equal(ok[2]?.headers["ce-id"], "evt-3");
  assert.equal(ok[0]?.headers["ce-type"], undefined);
  assert.equal(ok[0]?.headers["cuebus-subject"], "orders.new");

  await waitFor(async () => {
    const ci = await jsm.consumers.info("ORDERS", "webhook-orders");
    return ci.num_pending === 0 && ci.num_ack_pending === 0 && ci.ack_floor.stream_seq === 3;
  }, 5000, "everything acked");
  const ins = await call("GET", `${env.base}/v1/webhooks/orders`);
  assert.equal(ins.status, 200);
  assert.equal(ins.json["secret"], undefined, "inspect never shows the secret");
  assert.equal(ins.json["deliveries"], 3);
  assert.equal(ins.json["failures"], 6);
  assert.equal(ins.json["attempts"], 9);
  assert.equal(ins.json["last_status"], 204);
  assert.equal(ins.json["last_error"], "");
  assert.equal(ins.json["lag"], 0);
  assert.equal(ins.json["url"], rx.url);
  const list = await call("GET", `${env.base}/v1/webhooks`);
  assert.deepEqual((list.json["webhooks"] as Array<Record<string, unknown>>).map((w) => w["name"]), ["orders"]);
  const sec = await call("GET", `${env.base}/v1/webhooks/orders/secret`);
  assert.equal(sec.json["secret"], secret);
  const counters = env.server.gateway?.webhooks.list() ?? [];
  assert.deepEqual(
    counters.map((c) => [c.name, c.deliveries, c.failures, c.attempts, c.deadLetters, c.lastStatus]),
    [["orders", 3, 6, 9, 0, 204]],
    "counters exposed for /metrics",
  );

  // Delete: the webhook and its consumer go; the dead-letter stream stays.
  const del = await call("DELETE", `${env.base}/v1/webhooks/orders`);
  assert.equal(del.status, 200);
  assert.equal((await call("GET", `${env.base}/v1/webhooks/orders`)).status, 404);
  await assert.rejects(jsm.consumers.info("ORDERS", "webhook-orders"), /consumer not found/);
  assert.equal((await jsm.streams.info("ORDERS_DLQ")).config.name, "ORDERS_DLQ");
  assert.equal((await call("DELETE", `${env.base}/v1/webhooks/orders`)).status, 404);
});

test("webhooks: a target that never succeeds gets max_attempts tries with growing waits, then the dead-letter stream", async (t) => {
  const env = await setup(t);
  const jsm = await jetstreamManager(env.nc);
  await jsm.streams.add({ name: "JOBS", subjects: ["jobs.>"] });
  const rx = await receiver(t, () => 503);
  const r = await call("POST", `${env.base}/v1/webhooks`, { name: "jobs", url: rx.url, stream: "JOBS", max_attempts: 4, backoff_ms: { initial: 120, max: 2000 }, dead_letter_stream: "JOBS_FAILED" });
  assert.equal(r.status, 201, JSON.stringify(r.json));
  const js = jetstream(env.nc);
  await js.publish("jobs.resize", "img-7");

  await waitFor(async () => (await jsm.streams.info("JOBS_FAILED")).state.messages === 1, 10_000, "the dead letter");
  assert.equal(rx.hits.length, 4, "exactly max_attempts tries");
  const gaps = rx.hits.slice(1).map((h, i) => h.atMs - (rx.hits[i] as Hit).atMs);
  // Waits of 120, 240, 480 ms less up to 25 % jitter. A retry never comes early, so each wait is at
  // least its floor (90, 180, 360 ms); a busy machine can only make them longer, so the growth is
  // checked between the first and the last, whose ranges are far apart.
  [90, 180, 360].forEach((floor, i) => assert.ok((gaps[i] as number) >= floor - 5, `wait ${i + 1} is ${gaps[i]} ms, under ${floor}`));
  assert.ok((gaps[2] as number) > (gaps[0] as number), `waits grow: ${gaps.join(", ")}`);

  const m = await jsm.streams.getMessage("JOBS_FAILED", { seq: 1 });
  assert.ok(m !== null);
  assert.equal(m.string(), "img-7");
  assert.equal(m.subject, "jobs.resize");
  assert.equal(m.header.get("Cuebus-Dlq-Reason"), "max_deliveries");
  assert.equal(m.header.get("Cuebus-Dlq-Deliveries"), "4");
  assert.equal(m.header.get("Cuebus-Dlq-Stream"), "JOBS");
  assert.equal(m.header.get("Cuebus-Dlq-Consumer"), "webhook-jobs");
  assert.equal(m.header.get("Cuebus-Dlq-Sequence"), "1");
  await waitFor(async () => {
    const ci = await jsm.consumers.info("JOBS", "webhook-jobs");
    return ci.num_pending === 0 && ci.num_ack_pending === 0;
  }, 5000, "nothing left pending");
  const ins = await call("GET", `${env.base}/v1/webhooks/jobs`);
  assert.equal(ins.json["dead_letters"], 1);
  assert.equal(ins.json["failures"], 4);
  assert.equal(ins.json["deliveries"], 0);
  assert.equal(ins.json["last_status"], 503);
  assert.match(ins.json["last_error"] as string, /HTTP 503: try again later/);
});

test("webhooks: a target that does not answer in timeout_ms is retried like a failure", async (t) => {
  const env = await setup(t);
  const jsm = await jetstreamManager(env.nc);
  await jsm.streams.add({ name: "SLOW", subjects: ["slow"] });
  let calls = 0;
  const srv = createServer((req, res) => {
    calls++;
    req.resume();
    // The first attempt hangs past the timeout; the second is answered.
    if (calls === 1) setTimeout(() => res.end(), 1500).unref();
    else res.end();
  });
  await new Promise<void>((res) => srv.listen(0, "127.0.0.1", res));
  t.after(() => new Promise<void>((res) => {
    srv.closeAllConnections();
    srv.close(() => res());
  }));
  const port = (srv.address() as { port: number }).port;
  const r = await call("POST", `${env.base}/v1/webhooks`, { name: "slow", url: `http://127.0.0.1:${port}/`, stream: "SLOW", timeout_ms: 200, backoff_ms: [50] });
  assert.equal(r.status, 201);
  await jetstream(env.nc).publish("slow", "x");
  await waitFor(async () => (await call("GET", `${env.base}/v1/webhooks/slow`)).json["deliveries"] === 1, 5000, "delivered on the second attempt");
  const ins = await call("GET", `${env.base}/v1/webhooks/slow`);
  assert.equal(ins.json["failures"], 1);
  assert.equal(ins.json["attempts"], 2);
});

test("webhooks: registrations survive a restart and the durable consumer resumes where it was", async (t) => {
  const env = await setup(t);
  const jsm = await jetstreamManager(env.nc);
  await jsm.streams.add({ name: "AUDIT", subjects: ["audit.*"] });
  const rx = await receiver(t, () => 200);
  const r = await call("POST", `${env.base}/v1/webhooks`, { name: "audit", url: rx.url, stream: "AUDIT", filter_subject: "audit.login" });
  assert.equal(r.status, 201);
  const secret = r.json["secret"] as string;
  const js = jetstream(env.nc);
  await js.publish("audit.login", "alice");
  await js.publish("audit.logout", "alice");
  await waitFor(() => rx.hits.length === 1, 5000, "first delivery");
  const file = JSON.parse(await readFile(join(env.dir, "gateway", "webhooks.json"), "utf8")) as { webhooks: Array<{ name: string }> };
  assert.deepEqual(file.webhooks.map((w) => w.name), ["audit"]);

  await env.restart();
  const ins = await call("GET", `${env.base}/v1/webhooks/audit`);
  assert.equal(ins.status, 200);
  assert.equal(ins.json["filter_subject"], "audit.login");
  assert.equal((await call("GET", `${env.base}/v1/webhooks/audit/secret`)).json["secret"], secret, "same secret after restart");
  await jetstream(env.nc).publish("audit.login", "bob");
  await waitFor(() => rx.hits.length === 2, 5000, "delivery after restart");
  assert.deepEqual(rx.hits.map((h) => [h.id, h.body.toString()]), [["AUDIT:1", "alice"], ["AUDIT:3", "bob"]], "nothing redelivered, filter applied");
  assert.doesNotThrow(() => new Webhook(secret).verify((rx.hits[1] as Hit).body, rx.hits[1]?.headers as Record<string, string>, { jsonParse: false }));

  // A consumer deleted behind the webhook's back (over $JS.API) is made again, from the webhook's
  // registration ("new" means since then): what it had delivered comes again under the same
  // webhook-id (receivers deduplicate on it), and nothing is lost.
  const jsm2 = await jetstreamManager(env.nc);
  assert.equal(await jsm2.consumers.delete("AUDIT", "webhook-audit"), true);
  await waitFor(async () => (await call("GET", `${env.base}/v1/webhooks/audit`)).json["lag"] === 0, 10_000, "the consumer re-created");
  await jetstream(env.nc).publish("audit.login", "carol");
  await waitFor(() => rx.hits.some((h) => h.body.toString() === "carol"), 5000, "delivery through the re-created consumer");
  const again = rx.hits.slice(2).map((h) => [h.id, h.body.toString()]);
  assert.deepEqual(again, [["AUDIT:1", "alice"], ["AUDIT:3", "bob"], ["AUDIT:4", "carol"]]);
});

test("webhooks: the allow-list refuses targets outside it with 403", async (t) => {
  const env = await setup(t, { http: { webhookAllow: ["10.0.0.0/8", "hooks.example.com", "fd00::/8"] } });
  const jsm = await jetstreamManager(env.nc);
  await jsm.streams.add({ name: "S", subjects: ["s.>"] });
  const post = (url: string, name: string): Promise<{ status: number; json: Record<string, unknown> }> => call("POST", `${env.base}/v1/webhooks`, { name, url, stream: "S" });
  const refused = await post("http://127.0.0.1:9/hook", "a");
  assert.equal(refused.status, 403, JSON.stringify(refused.json));
  assert.match(errorOf(refused).description, /not in the allow-list/);
  assert.equal((await post("http://localhost:9/hook", "b")).status, 403, "a name resolving outside the list");
  assert.equal((await post("http://evil.example.org/hook", "c")).status, 403);
  assert.equal((await post("http://10.1.2.3:8080/hook", "d")).status, 201);
  assert.equal((await post("https://hooks.example.com/in", "e")).status, 201);
  assert.equal((await post("http://[fd00::5]/in", "f")).status, 201);
  const list = await call("GET", `${env.base}/v1/webhooks`);
  assert.deepEqual((list.json["webhooks"] as Array<{ name: string }>).map((w) => w.name), ["d", "e", "f"]);
  // Nothing made for the refused ones.
  const names = await jsm.consumers.list("S").next();
  assert.deepEqual(names.map((c) => c.name).sort(), ["webhook-d", "webhook-e", "webhook-f"]);
});

test("webhooks: from the config file, through loadOptions, delivering /events bodies", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "cuebus-whc-"));
  let server: { close(): Promise<void> } | null = null;
  // One hook, so the store goes only after the server has stopped writing to it (hooks run in the order registered).
  t.after(async () => {
    await server?.close();
    await rm(dir, { recursive: true, force: true });
  });
  const rx = await receiver(t, () => 200);
  const conf = join(dir, "cuebus.conf");
  await writeFile(
    conf,
    `jetstream { store_dir: "${join(dir, "data")}" }
webhook_allow: ["127.0.0.0/8"]
webhooks: [
  { name: "svc", url: "${rx.url}", stream: "EVENTS", max_attempts: 3, backoff_ms: [100, 200] }
]
`,
  );
  const o = loadOptions(["-c", conf]);
  assert.deepEqual(o.webhookAllow, ["127.0.0.0/8"]);
  assert.equal(o.webhooks?.[0]?.name, "svc");
  assert.deepEqual(o.unknownKeys, []);
  assert.deepEqual(loadOptions(["-c", conf, "--webhook_allow", "10.0.0.0/8, hooks.example.com"]).webhookAllow, ["10.0.0.0/8", "hooks.example.com"], "the flag overrides the file");
  const started = await startServer({ port: 0, httpPort: 0, jetstream: { storeDir: o.storeDir }, http: { webhooks: o.webhooks, webhookAllow: o.webhookAllow } });
  server = started;
  const base = started.httpUrl as string;
  const ev = { type: "OrderPlaced", data: { id: "o-1", items: [1, 2] } };
  const p = await call("POST", `${base}/events`, ev);
  assert.equal(p.status, 200);
  await waitFor(() => rx.hits.length === 1, 5000, "config webhook delivery").catch(async (err: unknown) => {
    throw new Error(`${String(err)}: ${JSON.stringify((await call("GET", `${base}/v1/webhooks/svc`)).json)}`);
  });
  assert.deepEqual(JSON.parse((rx.hits[0] as Hit).body.toString()), ev);
  assert.equal(rx.hits[0]?.headers["content-type"], "application/json");
  const ins = await call("GET", `${base}/v1/webhooks/svc`);
  assert.equal(ins.json["source"], "config");
  assert.deepEqual(ins.json["backoff_ms"], [100, 200]);
  // A bad config-file webhook stops the server from starting, naming the entry.
  await assert.rejects(startServer({ port: 0, httpPort: 0, http: { webhooks: [{ url: "ftp://x", stream: "S" }] } }), /webhooks\[0\]: url must be http or https/);
  await assert.rejects(startServer({ port: 0, httpPort: 0, http: { webhookAllow: ["not a host!"] } }), /allow-list/);
});

test("webhooks: a config webhook whose stream appears after start misses nothing published before its set-up retry", async (t) => {
  const rx = await receiver(t, () => 200);
  const env = await setup(t, { http: { webhooks: [{ name: "late", url: rx.url, stream: "LATE" }] } });
  const jsm = await jetstreamManager(env.nc);
  await jsm.streams.add({ name: "LATE", subjects: ["late.>"] });
  const js = jetstream(env.nc);
  // Published at once: the webhook's consumer is only made at its next set-up retry (about 2 s on).
  for (let i = 1; i <= 3; i++) await js.publish("late.x", `m${i}`);
  await waitFor(() => rx.hits.length >= 3, 8000, "the three early messages");
  assert.deepEqual(rx.hits.map((h) => h.body.toString()), ["m1", "m2", "m3"]);
  const info = await jsm.consumers.info("LATE", "webhook-late");
  assert.equal(info.config.deliver_policy, "by_start_time");
});

test("webhooks: bad input gets 4xx JSON and makes nothing", async (t) => {
  const env = await setup(
    t,
    {
      auth: {
        users: [
          { user: "admin", password: "pw" },
          { user: "limited", password: "pw", permissions: { subscribe: { allow: ["public.>"] }, publish: { allow: ["$JS.API.>"] } } },
        ],
      },
    },
    { user: "admin", pass: "pw" },
  );
  const jsm = await jetstreamManager(env.nc);
  await jsm.streams.add({ name: "S", subjects: ["s.>", "public.>"] });
  const admin = { authorization: `Basic ${Buffer.from("admin:pw").toString("base64")}`, "content-type": "application/json" };
  const limited = { authorization: `Basic ${Buffer.from("limited:pw").toString("base64")}`, "content-type": "application/json" };
  const post = async (body: string, hdrs: Record<string, string> = admin): Promise<{ status: number; json: Record<string, unknown> }> => {
    const res = await fetch(`${env.base}/v1/webhooks`, { method: "POST", headers: hdrs, body });
    return { status: res.status, json: (await res.json()) as Record<string, unknown> };
  };
  const good = { url: "http://127.0.0.1:9/hook", stream: "S" };
  const cases: Array<[unknown, number, RegExp]> = [
    ["{nope", 400, /not JSON/],
    ["[1]", 400, /JSON object/],
    [{ stream: "S" }, 400, /url is required/],
    [{ ...good, url: "ftp://127.0.0.1/x" }, 400, /http or https/],
    [{ ...good, url: "not a url" }, 400, /not a valid URL/],
    [{ ...good, url: "http://u:p@127.0.0.1/x" }, 400, /user:password/],
    [{ ...good, url: `http://127.0.0.1/${"x".repeat(3000)}` }, 400, /longer than/],
    [{ url: good.url }, 400, /stream is required/],
    [{ ...good, stream: "a.b" }, 400, /not a valid stream name/],
    [{ ...good, stream: "NOPE" }, 404, /stream not found/],
    [{ ...good, name: "bad name!" }, 400, /name must be/],
    [{ ...good, max_attempts: 0 }, 400, /max_attempts must be between 1 and/],
    [{ ...good, max_attempts: 1000 }, 400, /max_attempts must be between/],
    [{ ...good, max_attempts: "3" }, 400, /max_attempts must be an integer/],
    [{ ...good, timeout_ms: 0 }, 400, /timeout_ms/],
    [{ ...good, backoff_ms: [] }, 400, /backoff_ms/],
    [{ ...good, backoff_ms: [-1] }, 400, /backoff_ms\[0\]/],
    [{ ...good, backoff_ms: { initial: 500, max: 100 } }, 400, /backoff_ms.max/],
    [{ ...good, backoff_ms: "fast" }, 400, /backoff_ms/],
    [{ ...good, secret: "hunter2" }, 400, /secret must be whsec_/],
    [{ ...good, filter_subject: "s..x" }, 400, /not a valid subject/],
    [{ ...good, filter_subject: "other.>" }, 400, /filter/i],
    [{ ...good, dead_letter_stream: "S" }, 400, /must differ/],
    [{ ...good, deliver_policy: "last" }, 400, /deliver_policy/],
    [{ ...good, colour: "red" }, 400, /unknown field "colour"/],
  ];
  for (const [body, status, re] of cases) {
    const r = await post(typeof body === "string" ? body : JSON.stringify(body));
    assert.equal(r.status, status, `${JSON.stringify(body).slice(0, 80)} -> ${JSON.stringify(r.json)}`);
    assert.equal(errorOf(r).code, status);
    assert.match(errorOf(r).description, re);
  }
  // Permissions: a user who may not subscribe to the subjects may not have them delivered.
  const denied = await post(JSON.stringify({ ...good, filter_subject: "s.>" }), limited);
  assert.equal(denied.status, 403);
  assert.match(errorOf(denied).description, /Permissions Violation for Subscription to "s.>"/);
  assert.equal((await post(JSON.stringify({ ...good, name: "mine", filter_subject: "public.>" }), limited)).status, 201);
  assert.equal((await fetch(`${env.base}/v1/webhooks`, { method: "POST", body: JSON.stringify(good) })).status, 401);
  // The same registration again is fine; a different one under the same name is a conflict.
  assert.equal((await post(JSON.stringify({ ...good, name: "mine", filter_subject: "public.>" }), limited)).status, 200);
  const conflict = await post(JSON.stringify({ ...good, name: "mine", filter_subject: "public.>", max_attempts: 2 }));
  assert.equal(conflict.status, 409);
  // Only "mine" was made: no consumer or dead-letter stream for any refused request.
  const consumers = await jsm.consumers.list("S").next();
  assert.deepEqual(consumers.map((c) => c.name), ["webhook-mine"]);
  assert.deepEqual((await jsm.streams.names().next()).sort(), ["S", "S_DLQ"]);
  const limitedList = await fetch(`${env.base}/v1/webhooks/mine`, { headers: limited });
  assert.equal(limitedList.status, 200);
  assert.equal((await fetch(`${env.base}/v1/webhooks/nope`, { headers: admin })).status, 404);
  assert.equal((await fetch(`${env.base}/v1/webhooks/mine`, { method: "PUT", headers: admin })).status, 405);
});

test("webhooks: 503 when JetStream is off", async (t) => {
  const server = await startServer({ port: 0, httpPort: 0 });
  t.after(() => server.close());
  const r = await call("POST", `${server.httpUrl as string}/v1/webhooks`, { url: "http://127.0.0.1:9/", stream: "S" });
  assert.equal(r.status, 503);
  assert.match(errorOf(r).description, /JetStream is not enabled/);
});
