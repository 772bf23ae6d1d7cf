import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createServer, connect as netConnect, type Socket } from "node:net";
import { get as httpGet, type IncomingMessage } from "node:http";
import { EventSource } from "eventsource";
import { connect, headers as natsHeaders, type NatsConnection } from "@nats-io/transport-node";
import { StorageType, jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from "@nats-io/jetstream";
import { startServer, type ServerOptions, type Server } from "../../src/index.js";
import { SSE_MAX_PENDING_BYTES } from "../../src/gateway/sse-stream.js";
import { waitFor } from "../helpers/wait.js";

interface Env {
  server: Server;
  base: string;
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  /** Close the server (once; the test's cleanup calls it too). */
  close: () => Promise<void>;
}

async function setup(t: TestContext, extra: Partial<ServerOptions> = {}, natsAuth: { user?: string; pass?: string } = {}): Promise<Env> {
  const storeDir = await mkdtemp(join(tmpdir(), "cuebus-sse-"));
  const server = await startServer({ port: 0, httpPort: 0, host: "127.0.0.1", jetstream: { storeDir }, ...extra });
  let closing: Promise<void> | null = null;
  const close = (): Promise<void> => (closing ??= server.close());
  t.after(close);
  // Hooks run in the order registered: the store goes once the server has stopped writing to it.
  t.after(() => rm(storeDir, { recursive: true, force: true }));
  const nc = await connect({ servers: server.url, ...natsAuth });
  t.after(() => nc.close());
  const jsm = await jetstreamManager(nc);
  return { server, base: `http://127.0.0.1:${server.httpPort}`, nc, js: jetstream(nc), jsm, close };
}

interface Received {
  id: string;
  data: Record<string, unknown>;
}

/** An EventSource collecting `message` events; `lastEventId` is sent on its first request too. */
function openEs(url: string, into: Received[], lastEventId?: string): EventSource {
  const es = new EventSource(url, {
    fetch: (u, init) => fetch(u, { ...init, headers: { ...init?.headers, ...(lastEventId === undefined ? {} : { "Last-Event-ID": lastEventId }) } }),
  });
  es.addEventListener("message", (ev) => into.push({ id: ev.lastEventId, data: JSON.parse(ev.data as string) as Record<string, unknown> }));
  return es;
}

/** A TCP proxy in front of the gateway whose connections the test can cut, as a network failure would. */
async function cuttableProxy(t: TestContext, port: number): Promise<{ port: number; cut: () => void; accepted: () => number }> {
  const live = new Set<Socket>();
  let accepted = 0;
  const srv = createServer((c) => {
    accepted++;
    const u = netConnect(port, "127.0.0.1");
    c.pipe(u);
    u.pipe(c);
    for (const s of [c, u]) {
      live.add(s);
      s.on("error", () => {});
      s.once("close", () => {
        live.delete(s);
        c.destroy();
        u.destroy();
      });
    }
  });
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  t.after(() => new Promise<void>((r) => srv.close(() => r())));
  t.after(() => {
    for (const s of live) s.destroy();
  });
  const addr = srv.address();
  assert.ok(addr !== null && typeof addr === "object");
  return {
    port: addr.port,
    cut: () => {
      for (const s of live) s.destroy();
    },
    accepted: () => accepted,
  };
}

function seqsOf(rs: Received[]): number[] {
  return rs.map((r) => r.data["seq"] as number);
}

test("SSE replays a stream and resumes with Last-Event-ID: every sequence exactly once, in order", async (t) => {
  const { server, base, js, jsm } = await setup(t);
  await jsm.streams.add({ name: "ORDERS", subjects: ["orders.>"] });
  for (let i = 1; i <= 10; i++) await js.publish("orders.eu", `m${i}`);
  const proxy = await cuttableProxy(t, server.httpPort as number);

  // 1. A real EventSource from the start; its connection is cut mid-stream, it reconnects by itself.
  const got: Received[] = [];
  const es1 = openEs(`http://127.0.0.1:${proxy.port}/v1/subscribe/orders.%3E?deliver=all&retry_ms=100`, got);
  t.after(() => es1.close());
  await waitFor(() => got.length >= 10, 5000, "the first 10 events");
  const publishing = (async () => {
    for (let i = 11; i <= 60; i++) {
      await js.publish(i % 2 === 0 ? "orders.eu" : "orders.us", `m${i}`);
      if (i === 25) proxy.cut();
    }
  })();
  await publishing;
  await waitFor(() => got.length >= 40 && proxy.accepted() >= 2, 10_000, "events after the reconnect");
  es1.close();
  const afterFirst = got.length;
  const lastId = got[got.length - 1]?.id as string;
  assert.equal(lastId, String(afterFirst), "id: is the stream sequence");

  // 2. A new client resuming explicitly from the last id it saw, while more is published.
  for (let i = 61; i <= 80; i++) await js.publish("orders.eu", `m${i}`);
  const es2 = openEs(`${base}/v1/subscribe/orders.%3E?deliver=all`, got, lastId);
  t.after(() => es2.close());
  for (let i = 81; i <= 100; i++) await js.publish("orders.us", `m${i}`);
  await waitFor(() => got.length >= 100, 10_000, "all 100 events");
  es2.close();

  assert.deepEqual(seqsOf(got), Array.from({ length: 100 }, (_, i) => i + 1));
  assert.deepEqual(got.map((r) => r.id), Array.from({ length: 100 }, (_, i) => String(i + 1)));
  const first = got[0]?.data as Record<string, unknown>;
  assert.equal(first["subject"], "orders.eu");
  assert.equal(first["data"], "m1");
  assert.ok(!Number.isNaN(Date.parse(first["time"] as string)), "time is RFC 3339");
  assert.equal(got[99]?.data["data"], "m100");
  // Every reader's ephemeral consumer goes when its reader does.
  await waitFor(async () => (await jsm.consumers.list("ORDERS").next()).length === 0, 5000, "consumers deleted");
});

test("SSE start_seq, start_time, deliver=last and a wildcard subject narrowed to part of a stream", async (t) => {
  const { base, js, jsm } = await setup(t);
  await jsm.streams.add({ name: "EV", subjects: ["ev.>"] });
  for (let i = 1; i <= 5; i++) await js.publish(`ev.a.${i}`, `a${i}`);
  // by_start_time resolves to the millisecond on this server (consumer.ts parses it with Date.parse):
  // let the clock pass message 5's millisecond so start_time can fall between 5 and 6.
  const m5Ms = (await jsm.streams.getMessage("EV", { seq: 5 }))?.time.getTime() as number;
  await waitFor(() => Date.now() > m5Ms, 1000, "the next millisecond");
  for (let i = 6; i <= 10; i++) await js.publish(i % 2 === 0 ? `ev.b.${i}` : `ev.a.${i}`, `x${i}`);
  // The stream's own (nanosecond) time of message 6, as RFC 3339.
  const mid = (await jsm.streams.getMessage("EV", { seq: 6 }))?.timestamp as string;

  const bySeq: Received[] = [];
  const e1 = openEs(`${base}/v1/subscribe/ev.%3E?start_seq=4`, bySeq);
  t.after(() => e1.close());
  await waitFor(() => bySeq.length >= 7, 5000, "start_seq events");
  assert.deepEqual(seqsOf(bySeq), [4, 5, 6, 7, 8, 9, 10]);

  const byTime: Received[] = [];
  const e2 = openEs(`${base}/v1/subscribe/ev.%3E?start_time=${encodeURIComponent(mid)}`, byTime);
  t.after(() => e2.close());
  await waitFor(() => byTime.length >= 5, 5000, "start_time events");
  assert.deepEqual(seqsOf(byTime), [6, 7, 8, 9, 10]);

  // ev.b.* is a wildcard inside the stream's ev.>: only its messages, from the start.
  const onlyB: Received[] = [];
  const e3 = openEs(`${base}/v1/subscribe/ev.b.*?deliver=all`, onlyB);
  t.after(() => e3.close());
  await waitFor(() => onlyB.length >= 3, 5000, "ev.b.* events");
  assert.deepEqual(seqsOf(onlyB), [6, 8, 10]);
  assert.deepEqual(onlyB.map((r) => r.data["subject"]), ["ev.b.6", "ev.b.8", "ev.b.10"]);

  const last: Received[] = [];
  const e4 = openEs(`${base}/v1/subscribe/ev.a.*?deliver=last`, last);
  t.after(() => e4.close());
  await waitFor(() => last.length >= 1, 5000, "deliver=last event");
  await js.publish("ev.a.11", "live");
  await waitFor(() => last.length >= 2, 5000, "live event after last");
  assert.deepEqual(seqsOf(last), [9, 11]);
  // The default (no start) is live from now: nothing old.
  const live: Received[] = [];
  const e5 = openEs(`${base}/v1/subscribe/ev.%3E`, live);
  t.after(() => e5.close());
  await new Promise<void>((r) => e5.addEventListener("open", () => r()));
  await js.publish("ev.c", "new");
  await waitFor(() => live.length >= 1, 5000, "live event");
  assert.deepEqual(seqsOf(live), [12]);
  for (const e of [e1, e2, e3, e4, e5]) e.close();
});

/** Read a text/event-stream with fetch until `until(text)` holds; returns the text and aborts. */
async function readStream(url: string, until: (text: string) => boolean, onOpen?: () => Promise<void>, init: RequestInit = {}): Promise<{ text: string; res: Response }> {
  const ac = new AbortController();
  const res = await fetch(url, { ...init, signal: ac.signal });
  assert.equal(res.status, 200);
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const dec = new TextDecoder();
  let text = "";
  if (onOpen !== undefined) await onOpen();
  const deadline = setTimeout(() => ac.abort(), 8000);
  try {
    while (!until(text)) {
      const r = await reader.read();
      if (r.done) break;
      text += dec.decode(r.value, { stream: true });
    }
  } finally {
    clearTimeout(deadline);
    ac.abort();
  }
  return { text, res };
}

function events(text: string): Array<{ event: string; id?: string; data: Record<string, unknown> }> {
  const out: Array<{ event: string; id?: string; data: Record<string, unknown> }> = [];
  for (const block of text.split("\n\n")) {
    let event = "message";
    let id: string | undefined;
    let data = "";
    for (const line of block.split("\n")) {
      if (line.startsWith("event: ")) event = line.slice(7);
      else if (line.startsWith("id: ")) id = line.slice(4);
      else if (line.startsWith("data: ")) data += line.slice(6);
    }
    if (data !== "") out.push({ event, ...(id === undefined ? {} : { id }), data: JSON.parse(data) as Record<string, unknown> });
  }
  return out;
}

test("SSE on a core subject streams live messages with headers and binary payloads, and keep-alive comments", async (t) => {
  const { base, nc } = await setup(t);
  const bin = Uint8Array.from([0xff, 0x00, 0xfe, 0x80]);
  const { text, res } = await readStream(
    `${base}/v1/subscribe/chat.*?keepalive_ms=100`,
    (s) => s.includes(": keep-alive\n\n") && events(s).length >= 3,
    async () => {
      const h = natsHeaders();
      h.append("X-Trace", "t1");
      h.append("X-Multi", "a");
      h.append("X-Multi", "b");
      nc.publish("chat.room1", "héllo", { headers: h });
      nc.publish("chat.room2", bin);
      nc.publish("other", "not this");
      nc.publish("chat.room1", "");
      await nc.flush();
    },
  );
  assert.match(res.headers.get("content-type") ?? "", /^text\/event-stream/);
  assert.equal(res.headers.get("cache-control"), "no-cache");
  const ev = events(text);
  assert.equal(ev.length, 3);
  assert.deepEqual(ev[0], { event: "message", data: { subject: "chat.room1", headers: { "X-Trace": "t1", "X-Multi": ["a", "b"] }, data: "héllo" } });
  assert.deepEqual(ev[1], { event: "message", data: { subject: "chat.room2", data_base64: Buffer.from(bin).toString("base64") } });
  assert.deepEqual(ev[2], { event: "message", data: { subject: "chat.room1", data: "" } });
  assert.ok(text.includes(": keep-alive\n\n"));
});

test("SSE closes a live reader that stops reading with a final slow-consumer event", async (t) => {
  const { base, nc } = await setup(t);
  const res = await new Promise<IncomingMessage>((resolve, reject) => httpGet(`${base}/v1/subscribe/flood`, resolve).on("error", reject));
  assert.equal(res.statusCode, 200);
  res.pause();
  const listed = async (): Promise<boolean> => {
    const subsz = (await (await fetch(`${base}/subsz?subs=1`)).json()) as { subscriptions_list?: Array<{ subject: string }> };
    return (subsz.subscriptions_list ?? []).some((s) => s.subject === "flood");
  };
  assert.ok(await listed(), "the gateway subscribes for the reader");
  // Far more than the pending limit plus what the kernel's socket buffers can hold.
  const payload = "x".repeat(64 * 1024);
  const sent = Math.ceil((SSE_MAX_PENDING_BYTES + 32 * 1024 * 1024) / payload.length);
  for (let i = 0; i < sent; i++) nc.publish("flood", payload);
  await nc.flush();
  const chunks: Buffer[] = [];
  const ended = new Promise<void>((resolve) => res.once("end", resolve));
  res.on("data", (c: Buffer) => chunks.push(c));
  res.resume();
  await ended;
  const text = Buffer.concat(chunks).toString("utf8");
  const ev = events(text);
  const last = ev[ev.length - 1];
  assert.equal(last?.event, "error");
  assert.equal(last?.data["reason"], "slow consumer");
  assert.equal(last?.data["limit_bytes"], SSE_MAX_PENDING_BYTES);
  const delivered = ev.filter((e) => e.event === "message").length;
  assert.ok(delivered > 0 && delivered < sent, `some but not all of ${sent} messages (got ${delivered})`);
  assert.ok(!(await listed()), "the gateway no longer subscribes for the reader");
});

test("SSE replay does not pull past what a reader has read: it waits, unclosed, and then delivers everything", async (t) => {
  const { base, js, jsm } = await setup(t);
  await jsm.streams.add({ name: "BIG", subjects: ["big"], storage: StorageType.Memory });
  const payload = "y".repeat(64 * 1024);
  const total = 800; // ~50 MB: far more than socket buffers and the pull size
  for (let i = 0; i < total; i += 50) await Promise.all(Array.from({ length: 50 }, () => js.publish("big", payload)));
  const res = await new Promise<IncomingMessage>((resolve, reject) => httpGet(`${base}/v1/subscribe/big?deliver=all`, resolve).on("error", reject));
  assert.equal(res.statusCode, 200);
  res.pause();
  const [consumer] = await jsm.consumers.list("BIG").next();
  assert.ok(consumer !== undefined);
  // The consumer stops delivering once the response backs up: no pull is waiting and delivered stops moving.
  let seen = -1;
  await waitFor(
    async () => {
      const info = await jsm.consumers.info("BIG", consumer.name);
      const stalled = info.num_waiting === 0 && info.delivered.stream_seq === seen;
      seen = info.delivered.stream_seq;
      if (!stalled) await new Promise((r) => setTimeout(r, 100)); // "not moving" needs some time to pass
      return stalled;
    },
    10_000,
    "replay to stall",
  );
  assert.ok(seen > 0 && seen < total, `replay paused part way (delivered ${seen} of ${total})`);
  let text = "";
  let count = 0;
  let lastSeq = 0;
  let inOrder = true;
  res.setEncoding("utf8");
  res.on("data", (c: string) => {
    text += c;
    const cut = text.lastIndexOf("\n\n");
    if (cut < 0) return;
    for (const e of events(text.slice(0, cut + 2))) {
      count++;
      if ((e.data["seq"] as number) !== lastSeq + 1) inOrder = false;
      lastSeq = e.data["seq"] as number;
    }
    text = text.slice(cut + 2);
  });
  res.resume();
  await waitFor(() => count >= total, 20_000, "every message after the reader resumed");
  assert.equal(count, total);
  assert.ok(inOrder, "in order, without gaps or repeats");
  res.destroy();
});

test("SSE replay survives its consumer being deleted: a new one continues after the last sequence sent", async (t) => {
  const { base, js, jsm } = await setup(t);
  await jsm.streams.add({ name: "RC", subjects: ["rc.*"] });
  for (let i = 1; i <= 5; i++) await js.publish("rc.x", `r${i}`);
  const got: Received[] = [];
  const es = openEs(`${base}/v1/subscribe/rc.*?deliver=all`, got);
  t.after(() => es.close());
  await waitFor(() => got.length >= 5, 5000, "the first events");
  const [first] = await jsm.consumers.list("RC").next();
  assert.ok(first !== undefined);
  await jsm.consumers.delete("RC", first.name);
  for (let i = 6; i <= 10; i++) await js.publish("rc.y", `r${i}`);
  await waitFor(() => got.length >= 10, 5000, "events after the consumer was replaced");
  assert.deepEqual(seqsOf(got), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  const now = await jsm.consumers.list("RC").next();
  assert.equal(now.length, 1);
  assert.notEqual(now[0]?.name, first.name);
  es.close();
});

test("SSE refuses bad subjects and parameters (400), readers without subscribe permission (403), and closes with the gateway", async (t) => {
  const users = [
    { user: "reader", password: "pw", permissions: { subscribe: { allow: ["public.>"] } } },
    { user: "admin", password: "pw" },
  ];
  const { base, js, jsm, close } = await setup(t, { auth: { users } }, { user: "admin", pass: "pw" });
  await jsm.streams.add({ name: "PUB", subjects: ["public.>"] });
  await js.publish("public.a", "1");
  const auth = (u: string): Record<string, string> => ({ authorization: `Basic ${Buffer.from(`${u}:pw`).toString("base64")}` });
  const status = async (path: string, who = "admin", headers: Record<string, string> = {}): Promise<[number, Record<string, unknown>]> => {
    const r = await fetch(`${base}${path}`, { headers: { ...auth(who), ...headers } });
    const body = r.headers.get("content-type")?.startsWith("application/json") === true ? ((await r.json()) as Record<string, unknown>) : {};
    if (r.status === 200) await r.body?.cancel();
    return [r.status, body];
  };
  for (const bad of ["a..b", "a.%3E.b", "a%20b", "%3Ex.%3E.y", "a."]) {
    const [s, body] = await status(`/v1/subscribe/${bad}`);
    assert.equal(s, 400, bad);
    assert.equal((body["error"] as Record<string, unknown>)["code"], 400);
  }
  for (const q of ["start_seq=0", "start_seq=x", "start_time=yesterday", "deliver=first", "keepalive_ms=1", "start_seq=1&deliver=all", "retry_ms=5"]) {
    assert.equal((await status(`/v1/subscribe/public.a?${q}`))[0], 400, q);
  }
  assert.equal((await status("/v1/subscribe/public.a", "admin", { "last-event-id": "abc" }))[0], 400);
  // Replay positions need a stream.
  assert.equal((await status("/v1/subscribe/nostream?deliver=all"))[0], 400);
  const [denied, deniedBody] = await status("/v1/subscribe/secret.x", "reader");
  assert.equal(denied, 403);
  assert.match(String((deniedBody["error"] as Record<string, unknown>)["description"]), /Permissions Violation for Subscription to "secret.x"/);
  assert.equal((await fetch(`${base}/v1/subscribe/public.a`)).status, 401);

  // An allowed reader gets the stream; closing the server ends its response.
  const got: Received[] = [];
  const es = new EventSource(`${base}/v1/subscribe/public.%3E?deliver=all`, {
    fetch: (u, init) => fetch(u, { ...init, headers: { ...init?.headers, ...auth("reader") } }),
  });
  t.after(() => es.close());
  es.addEventListener("message", (ev) => got.push({ id: ev.lastEventId, data: JSON.parse(ev.data as string) as Record<string, unknown> }));
  await waitFor(() => got.length === 1, 5000, "the reader's event");
  assert.equal((await jsm.consumers.list("PUB").next()).length, 1);
  const errors: unknown[] = [];
  es.addEventListener("error", (e) => errors.push(e));
  await close();
  await waitFor(() => errors.length > 0, 5000, "the stream to end");
  es.close();
});
