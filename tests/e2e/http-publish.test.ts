import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { connect as tcpConnect, type Socket } from "node:net";
import { join } from "node:path";
import { connect } from "@nats-io/transport-node";
import { headers as natsHeaders, type Msg } from "@nats-io/nats-core";
import { AckPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { startServer, type Server, type ServerOptions } from "../../src/index.js";
import { waitFor } from "../helpers/wait.js";

async function jsServer(t: { after: (fn: () => unknown) => void }, extra: ServerOptions = {}): Promise<Server> {
  const dir = mkdtempSync(join(tmpdir(), "cuebus-http-"));
  const server = await startServer({ port: 0, httpPort: 0, jetstream: { storeDir: dir }, ...extra });
  t.after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return server;
}

type Body = { error?: { code: number; description: string; err_code?: number } } & Record<string, unknown>;
async function json(res: Response): Promise<Body> {
  assert.match(res.headers.get("content-type") ?? "", /application\/json/);
  return (await res.json()) as Body;
}

/** A raw protocol client subscribed to `subject`, collecting what it is sent after its PONG. */
async function rawSub(t: { after: (fn: () => unknown) => void }, port: number, headers: boolean, subject: string): Promise<{ text: () => string }> {
  const sock: Socket = tcpConnect(port, "127.0.0.1");
  t.after(() => sock.destroy());
  let text = "";
  sock.on("data", (d: Buffer) => (text += d.toString("latin1")));
  sock.write(`CONNECT {"verbose":false,"headers":${headers}}\r\nSUB ${subject} 1\r\nPING\r\n`);
  await waitFor(() => text.includes("PONG\r\n"), 2000, "PONG");
  text = "";
  return { text: () => text };
}

test("HTTP publish on a core subject reaches a NATS subscriber with its headers; 204", async (t) => {
  const server = await startServer({ port: 0, httpPort: 0 });
  t.after(() => server.close());
  const nc = await connect({ servers: server.url });
  t.after(() => nc.close());
  const got: Msg[] = [];
  nc.subscribe("greet.*", { callback: (_e, m) => void got.push(m) });
  await nc.flush();
  // The exact frames: with headers (HMSG, the block then the body) and to a client without them (MSG, the body alone).
  const port = Number(new URL(server.url).port);
  const withHeaders = await rawSub(t, port, true, "greet.world");
  const without = await rawSub(t, port, false, "greet.world");
  const res = await fetch(`${server.httpUrl}/v1/publish/greet.world`, {
    method: "POST",
    headers: { "Nats-Msg-Id": "m-1", "content-type": "text/plain", traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", cookie: "secret=1" },
    body: "hello",
  });
  assert.equal(res.status, 204);
  await waitFor(() => got.length === 1, 2000, "the message");
  const m = got[0] as Msg;
  assert.equal(m.subject, "greet.world");
  assert.equal(m.string(), "hello");
  assert.equal(m.headers?.get("Nats-Msg-Id"), "m-1");
  assert.equal(m.headers?.get("content-type"), "text/plain");
  assert.equal(m.headers?.get("traceparent"), "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
  assert.equal(m.headers?.get("cookie"), "", "other request headers stay on the HTTP side");
  await waitFor(() => withHeaders.text().endsWith("hello\r\n") && without.text().endsWith("hello\r\n"), 2000, "the raw frames");
  assert.equal(without.text(), "MSG greet.world 1 5\r\nhello\r\n");
  const frame = /^HMSG greet\.world 1 (\d+) (\d+)\r\n(NATS\/1\.0\r\n[\s\S]*\r\n\r\n)hello\r\n$/.exec(withHeaders.text());
  assert.ok(frame !== null, withHeaders.text());
  const block = frame[3] as string;
  assert.equal(Number(frame[1]), block.length, "header length");
  assert.equal(Number(frame[2]), block.length + 5, "total length");
  assert.match(block, /\r\nNats-Msg-Id: m-1\r\n/);
});

test("HTTP publish to a stream subject answers with the durable publish ack; Nats-Msg-Id and the CloudEvents id deduplicate; expectations are checked", async (t) => {
  const server = await jsServer(t);
  const nc = await connect({ servers: server.url });
  t.after(() => nc.close());
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: "ORDERS", subjects: ["orders.>"] });
  const post = (subject: string, body: string, headers: Record<string, string> = {}): Promise<Response> =>
    fetch(`${server.httpUrl}/v1/publish/${subject}`, { method: "POST", headers, body });

  let res = await post("orders.new", "one", { "Nats-Msg-Id": "o-1" });
  assert.equal(res.status, 200);
  assert.deepEqual(await json(res), { stream: "ORDERS", seq: 1, duplicate: false });
  res = await post("orders.new", "one again", { "Nats-Msg-Id": "o-1" });
  assert.deepEqual(await json(res), { stream: "ORDERS", seq: 1, duplicate: true });
  res = await post("orders.new", "two", { "ce-id": "ev-7", "ce-source": "/shop", "ce-type": "order.created", "ce-specversion": "1.0" });
  assert.deepEqual(await json(res), { stream: "ORDERS", seq: 2, duplicate: false });
  res = await post("orders.new", "two again", { "ce-id": "ev-7", "ce-source": "/shop", "ce-type": "order.created", "ce-specversion": "1.0" });
  assert.deepEqual(await json(res), { stream: "ORDERS", seq: 2, duplicate: true });

  // A failed expectation is the stream's own error, with its err_code, and stores nothing.
  res = await post("orders.new", "three", { "Nats-Expected-Last-Sequence": "7" });
  assert.equal(res.status, 400);
  const err = await json(res);
  assert.equal(err.error?.err_code, 10071);
  assert.match(err.error?.description ?? "", /wrong last sequence: 2/);
  res = await post("orders.new", "three", { "Nats-Expected-Stream": "OTHER" });
  assert.equal(res.status, 400);
  assert.equal((await json(res)).error?.err_code, 10060);

  const info = await jsm.streams.info("ORDERS");
  assert.equal(info.state.messages, 2);
  // The stored messages, read back with the official JetStream client.
  const js = jetstream(nc);
  await jsm.consumers.add("ORDERS", { durable_name: "r", ack_policy: AckPolicy.None });
  const c = await js.consumers.get("ORDERS", "r");
  const batch = await c.fetch({ max_messages: 2, expires: 2000 });
  const seen: string[] = [];
  for await (const m of batch) seen.push(`${m.seq}:${m.string()}:${m.headers?.get("ce-type") ?? ""}`);
  assert.deepEqual(seen, ["1:one:", "2:two:order.created"]);
});

test("CloudEvents: structured in is stored in binary form; binary from NATS comes out structured or binary", async (t) => {
  const server = await jsServer(t);
  const nc = await connect({ servers: server.url });
  t.after(() => nc.close());
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: "EV", subjects: ["ev.>"] });
  const event = { specversion: "1.0", id: "c-1", source: "/billing", type: "invoice.paid", subject: "inv-9", time: "2026-12-01T00:00:00Z", datacontenttype: "application/json", data: { amount: 42 }, tenant: "acme" };
  let res = await fetch(`${server.httpUrl}/v1/publish/ev.invoice`, { method: "POST", headers: { "content-type": "application/cloudevents+json" }, body: JSON.stringify(event) });
  assert.deepEqual(await json(res), { stream: "EV", seq: 1, duplicate: false });

  // What a NATS consumer sees: the NATS CloudEvents binding's binary mode.
  const m = await jsm.streams.getMessage("EV", { seq: 1 });
  assert.ok(m !== null);
  assert.deepEqual(m.json(), { amount: 42 });
  assert.equal(m.header.get("ce-id"), "c-1");
  assert.equal(m.header.get("ce-type"), "invoice.paid");
  assert.equal(m.header.get("ce-tenant"), "acme");
  assert.equal(m.header.get("content-type"), "application/json");
  assert.equal(m.header.get("Nats-Msg-Id"), "c-1");

  // And back out over HTTP, structured when asked for.
  res = await fetch(`${server.httpUrl}/v1/streams/EV/messages/1`, { headers: { accept: "application/cloudevents+json" } });
  assert.equal(res.headers.get("content-type"), "application/cloudevents+json");
  assert.deepEqual(await res.json(), event);

  // Published by a NATS client in binary mode, read over HTTP in binary mode.
  const h = natsHeaders();
  h.set("ce-id", "c-2");
  h.set("ce-source", "/nats");
  h.set("ce-type", "ping");
  h.set("ce-specversion", "1.0");
  h.set("content-type", "text/plain");
  const js = jetstream(nc);
  await js.publish("ev.ping", "pong", { headers: h });
  res = await fetch(`${server.httpUrl}/v1/streams/EV/messages/2`);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("ce-id"), "c-2");
  assert.equal(res.headers.get("ce-type"), "ping");
  assert.equal(res.headers.get("content-type"), "text/plain");
  assert.equal(res.headers.get("nats-sequence"), "2");
  assert.equal(res.headers.get("nats-subject"), "ev.ping");
  assert.equal(await res.text(), "pong");
  res = await fetch(`${server.httpUrl}/v1/streams/EV/messages/2`, { headers: { accept: "application/cloudevents+json" } });
  assert.deepEqual(await res.json(), { id: "c-2", source: "/nats", type: "ping", specversion: "1.0", datacontenttype: "text/plain", data: "pong" });
  res = await fetch(`${server.httpUrl}/v1/streams/EV/messages/last?subject=ev.ping`);
  assert.equal(await res.text(), "pong");

  // Bad events are refused and store nothing.
  for (const bad of ["{", JSON.stringify({ ...event, specversion: "0.3" }), JSON.stringify({ id: "x", source: "/s", specversion: "1.0" }), JSON.stringify({ ...event, data_base64: "AA==" }), JSON.stringify({ ...event, "Bad-Name": 1 })]) {
    res = await fetch(`${server.httpUrl}/v1/publish/ev.bad`, { method: "POST", headers: { "content-type": "application/cloudevents+json" }, body: bad });
    assert.equal(res.status, 400, bad);
    assert.equal((await json(res)).error?.code, 400);
  }
  assert.equal((await jsm.streams.info("EV")).state.messages, 2);
});

test("HTTP request/reply: the reply's body and headers; 503 with no responders; 504 on timeout", async (t) => {
  const server = await startServer({ port: 0, httpPort: 0 });
  t.after(() => server.close());
  const nc = await connect({ servers: server.url });
  t.after(() => nc.close());
  nc.subscribe("svc.echo", {
    callback: (_e, m) => {
      const h = natsHeaders();
      h.set("X-Handled-By", "echo");
      h.set("content-type", "text/plain");
      m.respond(`echo:${m.string()}:${m.headers?.get("Nats-Trace") ?? ""}`, { headers: h });
    },
  });
  nc.subscribe("svc.silent", { callback: () => {} });
  await nc.flush();
  let res = await fetch(`${server.httpUrl}/v1/request/svc.echo`, { method: "POST", headers: { "Nats-Trace": "t1" }, body: "hi" });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("x-handled-by"), "echo");
  assert.equal(res.headers.get("content-type"), "text/plain");
  assert.equal(await res.text(), "echo:hi:t1");
  res = await fetch(`${server.httpUrl}/v1/request/svc.nobody`, { method: "POST", body: "hi" });
  assert.equal(res.status, 503);
  assert.match((await json(res)).error?.description ?? "", /no responders/);
  const t0 = Date.now();
  res = await fetch(`${server.httpUrl}/v1/request/svc.silent?timeout_ms=200`, { method: "POST", body: "hi" });
  assert.equal(res.status, 504);
  assert.ok(Date.now() - t0 >= 190);
  res = await fetch(`${server.httpUrl}/v1/request/svc.echo?timeout_ms=0`, { method: "POST", body: "hi" });
  assert.equal(res.status, 400);
  res = await fetch(`${server.httpUrl}/v1/request/svc.echo?timeout_ms=abc`, { method: "POST", body: "hi" });
  assert.equal(res.status, 400);
});

test("streams and consumers over HTTP answer with the same JSON as $JS.API", async (t) => {
  const server = await jsServer(t);
  const nc = await connect({ servers: server.url });
  t.after(() => nc.close());
  const jsm = await jetstreamManager(nc);
  const base = `${server.httpUrl}/v1/streams`;
  let res = await fetch(base, { method: "POST", body: JSON.stringify({ name: "S1", subjects: ["s1.>"], max_msgs: 100 }) });
  assert.equal(res.status, 201);
  const created = await json(res);
  assert.equal(created["type"], "io.nats.jetstream.api.v1.stream_create_response");
  assert.equal((created["config"] as { max_msgs: number }).max_msgs, 100);
  await jsm.streams.add({ name: "S2", subjects: ["s2.>"] });

  const list = await json(await fetch(base));
  assert.equal(list["total"], 2);
  assert.deepEqual((list["streams"] as Array<{ config: { name: string } }>).map((s) => s.config.name).sort(), ["S1", "S2"]);
  const info = await json(await fetch(`${base}/S2`));
  const viaNats = await jsm.streams.info("S2");
  assert.deepEqual(info["config"], JSON.parse(JSON.stringify(viaNats.config)));
  res = await fetch(`${base}/S1`, { method: "PUT", body: JSON.stringify({ subjects: ["s1.>"], max_msgs: 5 }) });
  assert.equal(res.status, 200);
  assert.equal((await jsm.streams.info("S1")).config.max_msgs, 5);

  res = await fetch(`${base}/S1/consumers`, { method: "POST", body: JSON.stringify({ durable_name: "d1", ack_policy: "explicit", filter_subject: "s1.a" }) });
  assert.equal(res.status, 201);
  assert.equal((await json(res))["name"], "d1");
  const ci = await json(await fetch(`${base}/S1/consumers/d1`));
  assert.equal((ci["config"] as { filter_subject: string }).filter_subject, "s1.a");
  assert.equal((await jsm.consumers.info("S1", "d1")).config.filter_subject, "s1.a");
  const cl = await json(await fetch(`${base}/S1/consumers`));
  assert.equal(cl["total"], 1);
  res = await fetch(`${base}/S1/consumers/d1`, { method: "DELETE" });
  assert.deepEqual(await json(res), { type: "io.nats.jetstream.api.v1.consumer_delete_response", success: true });
  res = await fetch(`${base}/S1/consumers/d1`);
  assert.equal(res.status, 404);
  assert.equal((await json(res)).error?.err_code, 10014);

  res = await fetch(`${base}/S1`, { method: "DELETE" });
  assert.equal((await json(res))["success"], true);
  res = await fetch(`${base}/S1`);
  assert.equal(res.status, 404);
  assert.equal((await json(res)).error?.err_code, 10059);

  // Bad input is refused before any request reaches JetStream.
  for (const [url, init, status] of [
    [base, { method: "POST", body: "{not json" }, 400],
    [base, { method: "POST", body: "[1]" }, 400],
    [base, { method: "POST", body: JSON.stringify({ subjects: ["x"] }) }, 400],
    [base, { method: "POST", body: JSON.stringify({ name: "a.b" }) }, 400],
    [`${base}/S2/messages/0`, {}, 400],
    [`${base}/S2/messages/abc`, {}, 400],
    [`${base}/S2/messages/last`, {}, 400],
    [`${base}/S2/messages/9`, {}, 404],
    [`${base}/S2/consumers`, { method: "POST", body: JSON.stringify({ durable_name: "x y" }) }, 400],
    [`${base}?offset=-1`, {}, 400],
    [`${base}/S2`, { method: "PATCH" }, 405],
  ] as Array<[string, RequestInit, number]>) {
    res = await fetch(url, init);
    assert.equal(res.status, status, `${init.method ?? "GET"} ${url}`);
    const b = await json(res);
    assert.equal(b.error?.code, status);
    assert.ok((b.error?.description ?? "").length > 0);
  }
  assert.deepEqual((await jsm.streams.names().next()).sort(), ["S2"]);
});

test("bad publishes get a 4xx JSON error and publish nothing", async (t) => {
  const server = await jsServer(t, { limits: { maxPayloadBytes: 1024 } });
  const nc = await connect({ servers: server.url });
  t.after(() => nc.close());
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: "B", subjects: ["b.>"] });
  let received = 0;
  nc.subscribe(">", { callback: (_e, m) => { if (!m.subject.startsWith("$JS") && !m.subject.startsWith("_INBOX")) received++; } });
  await nc.flush();
  const cases: Array<[string, RequestInit, number]> = [
    ["/v1/publish/b.*", { method: "POST", body: "x" }, 400],
    ["/v1/publish/b..c", { method: "POST", body: "x" }, 400],
    ["/v1/publish/b.>", { method: "POST", body: "x" }, 400],
    ["/v1/publish/b.big", { method: "POST", body: "x".repeat(1025) }, 413],
    ["/v1/publish/core.big", { method: "POST", body: "x".repeat(2000) }, 413],
    ["/v1/publish/b.hdr", { method: "POST", body: "x".repeat(1000), headers: { "Nats-Msg-Id": "y".repeat(100) } }, 413],
    ["/v1/publish/b.x?timeout_ms=999999", { method: "POST", body: "x" }, 400],
    ["/v1/publish/b.x", { method: "GET" }, 405],
    ["/v1/publish/", { method: "POST", body: "x" }, 404],
  ];
  for (const [path, init, status] of cases) {
    const res = await fetch(`${server.httpUrl}${path}`, init);
    assert.equal(res.status, status, path);
    const b = await json(res);
    assert.equal(b.error?.code, status, path);
  }
  // An ok publish after the bad ones proves the subscriber was listening all along.
  const res = await fetch(`${server.httpUrl}/v1/publish/b.ok`, { method: "POST", body: "x" });
  assert.equal(res.status, 200);
  await waitFor(() => received === 1, 2000, "only the good message");
  assert.equal((await jsm.streams.info("B")).state.messages, 1);
});

test("HTTP auth: Bearer token or Basic credentials, with the user's NATS publish permissions", async (t) => {
  const server = await startServer({
    port: 0,
    httpPort: 0,
    auth: {
      users: [
        { user: "app", password: "pw", permissions: { publish: { allow: ["app.>"] }, subscribe: { allow: ["app.>"] } } },
        { user: "admin", password: "root" },
        // allow_responses without a publish block: no publishing at all over HTTP (no replies are owed there).
        { user: "responder", password: "pw", permissions: { allowResponses: { max: 1, expiresMs: 60_000 } } },
      ],
    },
  });
  t.after(() => server.close());
  const nc = await connect({ servers: server.url, user: "admin", pass: "root" });
  t.after(() => nc.close());
  const got: string[] = [];
  nc.subscribe(">", { callback: (_e, m) => void got.push(m.subject) });
  await nc.flush();
  const basic = (u: string, p: string): string => `Basic ${Buffer.from(`${u}:${p}`).toString("base64")}`;
  const post = (subject: string, authorization?: string): Promise<Response> =>
    fetch(`${server.httpUrl}/v1/publish/${subject}`, { method: "POST", body: "x", headers: authorization === undefined ? {} : { authorization } });

  let res = await post("app.one");
  assert.equal(res.status, 401);
  assert.match(res.headers.get("www-authenticate") ?? "", /Bearer/);
  assert.equal((await json(res)).error?.code, 401);
  res = await post("app.one", basic("app", "wrong"));
  assert.equal(res.status, 401);
  res = await post("app.one", basic("app", "pw"));
  assert.equal(res.status, 204);
  res = await post("app.two", "Bearer app:pw");
  assert.equal(res.status, 204);
  res = await post("billing.x", basic("app", "pw"));
  assert.equal(res.status, 403);
  assert.equal((await json(res)).error?.description, 'Permissions Violation for Publish to "billing.x"');
  res = await post("billing.x", basic("admin", "root"));
  assert.equal(res.status, 204);
  res = await post("app.one", basic("responder", "pw"));
  assert.equal(res.status, 403);
  assert.equal((await json(res)).error?.description, 'Permissions Violation for Publish to "app.one"');
  // The monitoring endpoints stay open, as nats-server's do.
  assert.equal((await fetch(`${server.httpUrl}/varz`)).status, 200);
  await waitFor(() => got.length === 3, 2000, "three allowed publishes");
  assert.deepEqual(got.sort(), ["app.one", "app.two", "billing.x"]);

  const tokenServer = await startServer({ port: 0, httpPort: 0, auth: { token: "s3cret" } });
  t.after(() => tokenServer.close());
  res = await fetch(`${tokenServer.httpUrl}/v1/publish/a`, { method: "POST", body: "x", headers: { authorization: "Bearer s3cret" } });
  assert.equal(res.status, 204);
  res = await fetch(`${tokenServer.httpUrl}/v1/publish/a`, { method: "POST", body: "x", headers: { authorization: "Bearer nope" } });
  assert.equal(res.status, 401);
});
