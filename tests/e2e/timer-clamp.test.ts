/**
 * Durations past Node's timer limit (2^31-1 ms). nats-server takes int64 nanoseconds for every
 * duration and a huge one means "effectively never"; Node turns a delay past its limit into 1 ms
 * (with a TimeoutOverflowWarning), so before the clamp a consumer with ack_wait
 * 9223372036854775807 and one unacknowledged message re-armed its timer every millisecond, a push
 * consumer sent an idle heartbeat every millisecond, and a server with a huge ping interval closed
 * every connection as stale within milliseconds.
 *
 * Each case sets one such duration and then watches an idle stretch: no process warning, no storm
 * of timers being armed (counted with an async hook: every setTimeout makes one Timeout resource),
 * and nothing happening that a huge wait rules out (a redelivery, a heartbeat, a closed connection).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHook } from "node:async_hooks";
import { mkdtemp, rm } from "node:fs/promises";
import { connect as tcpConnect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect, createInbox, type Msg, type NatsConnection } from "@nats-io/transport-node";
import { jetstream } from "@nats-io/jetstream";
import { startServer, type Server } from "../../src/index.js";
import { MAX_TIMER_MS, clampTimerMs } from "../../src/util/timer.js";
import { waitFor } from "../helpers/wait.js";

/** int64 max, the largest duration nats-server takes (as the JSON text a Go client sends). */
const INT64_MAX = "9223372036854775807";
/** How long each case watches the server sit idle. */
const IDLE_WINDOW_MS = 400;
/**
 * Timers a quiet server and client may arm in the window: a handful (flushes, the window itself).
 * The storm this guards against arms one per millisecond, several hundred in the window.
 */
const MAX_TIMERS_IN_WINDOW = 40;

const warnings: string[] = [];
process.on("warning", (w) => warnings.push(`${w.name}: ${w.message}`));

/** Watch an idle stretch: the Timeout resources created and the warnings emitted in it. */
async function idleWindow(): Promise<{ timers: number; warnings: string[] }> {
  const before = warnings.length;
  let timers = 0;
  const hook = createHook({
    init(_id, type) {
      if (type === "Timeout") timers++;
    },
  });
  hook.enable();
  await new Promise((r) => setTimeout(r, IDLE_WINDOW_MS));
  hook.disable();
  // Warnings are emitted on the next tick.
  await new Promise((r) => setImmediate(r));
  return { timers, warnings: warnings.slice(before) };
}

async function assertQuiet(what: string): Promise<void> {
  const w = await idleWindow();
  assert.deepEqual(w.warnings, [], `${what}: process warnings`);
  assert.ok(w.timers < MAX_TIMERS_IN_WINDOW, `${what}: ${w.timers} timers armed in ${IDLE_WINDOW_MS} ms of idling`);
}

interface Env {
  server: Server;
  nc: NatsConnection;
}

async function setup(t: test.TestContext, opts: Parameters<typeof startServer>[0] = {}, token?: string): Promise<Env> {
  const dir = await mkdtemp(join(tmpdir(), "cuebus-timer-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const server = await startServer({ port: 0, ...opts, jetstream: { storeDir: dir, ...(typeof opts.jetstream === "object" ? opts.jetstream : {}) } });
  t.after(() => server.close());
  const nc = await connect({ servers: server.url, token });
  t.after(() => nc.close());
  return { server, nc };
}

/** A `$JS.API` request with a raw JSON body (so int64 max is sent as the digits a Go client sends). */
async function api(nc: NatsConnection, subject: string, body: string): Promise<Record<string, unknown>> {
  const r = (await nc.request(`$JS.API.${subject}`, body)).json<Record<string, unknown>>();
  assert.equal(r["error"], undefined, `${subject}: ${JSON.stringify(r["error"])}`);
  return r;
}

async function stream(nc: NatsConnection, extra = ""): Promise<void> {
  await api(nc, "STREAM.CREATE.S", `{"name":"S","subjects":["s.>"]${extra}}`);
  await jetstream(nc).publish("s.a", "one");
}

/** Pull one message and leave it unacknowledged; returns its ack subject. */
async function pullUnacked(nc: NatsConnection, consumer: string): Promise<string> {
  const m: Msg = await nc.request(`$JS.API.CONSUMER.MSG.NEXT.S.${consumer}`, `{"batch":1,"expires":5000000000}`, {
    timeout: 5000,
    // A delivered message names its own subject, not the inbox: the muxed request would not see it.
    noMux: true,
  });
  assert.ok(m.reply !== undefined && m.reply.startsWith("$JS.ACK.S."), `a message, not ${m.headers?.code ?? "?"} ${m.headers?.description ?? ""}`);
  return m.reply;
}

async function consumerInfo(nc: NatsConnection, name: string): Promise<Record<string, unknown>> {
  return api(nc, `CONSUMER.INFO.S.${name}`, "");
}

test("clampTimerMs keeps Node's range: 1 ms to 2^31-1 ms; past it, NaN and Infinity wait the longest", () => {
  assert.equal(MAX_TIMER_MS, 2147483647);
  assert.equal(clampTimerMs(250), 250);
  assert.equal(clampTimerMs(MAX_TIMER_MS), MAX_TIMER_MS);
  assert.equal(clampTimerMs(MAX_TIMER_MS + 1), MAX_TIMER_MS);
  assert.equal(clampTimerMs(Number(INT64_MAX) / 1e6), MAX_TIMER_MS);
  assert.equal(clampTimerMs(Infinity), MAX_TIMER_MS);
  assert.equal(clampTimerMs(NaN), MAX_TIMER_MS);
  assert.equal(clampTimerMs(0), 1);
  assert.equal(clampTimerMs(-5), 1);
  assert.equal(clampTimerMs(0.25), 1);
});

test("ack_wait int64 max with an unacknowledged message: no warning, no timer storm, no redelivery", async (t) => {
  const { nc } = await setup(t);
  await stream(nc);
  await api(nc, "CONSUMER.DURABLE.CREATE.S.C", `{"stream_name":"S","config":{"durable_name":"C","ack_policy":"explicit","ack_wait":${INT64_MAX}}}`);
  await pullUnacked(nc, "C");
  await assertQuiet("ack_wait");
  const info = await consumerInfo(nc, "C");
  assert.equal(info["num_ack_pending"], 1);
  assert.equal(info["num_redelivered"], 0);
});

test("backoff of int64 max steps: no warning, no timer storm, no redelivery", async (t) => {
  const { nc } = await setup(t);
  await stream(nc);
  await api(nc, "CONSUMER.DURABLE.CREATE.S.C", `{"stream_name":"S","config":{"durable_name":"C","ack_policy":"explicit","max_deliver":5,"backoff":[${INT64_MAX},${INT64_MAX}]}}`);
  await pullUnacked(nc, "C");
  await assertQuiet("backoff");
  assert.equal((await consumerInfo(nc, "C"))["num_redelivered"], 0);
});

test("nak with a delay of int64 max: no warning, no timer storm, not redelivered", async (t) => {
  const { nc } = await setup(t);
  await stream(nc);
  await api(nc, "CONSUMER.DURABLE.CREATE.S.C", `{"stream_name":"S","config":{"durable_name":"C","ack_policy":"explicit","ack_wait":30000000000}}`);
  const ack = await pullUnacked(nc, "C");
  await nc.request(ack, `-NAK {"delay":${INT64_MAX}}`);
  await assertQuiet("nak delay");
  const info = await consumerInfo(nc, "C");
  assert.equal(info["num_ack_pending"], 1);
  assert.equal(info["num_redelivered"], 0);
});

test("push consumer with idle_heartbeat and inactive_threshold of int64 max: no heartbeat storm, not removed", async (t) => {
  const { nc } = await setup(t);
  await stream(nc);
  const deliver = createInbox();
  let heartbeats = 0;
  let messages = 0;
  const sub = nc.subscribe(deliver, {
    callback: (_e, m) => {
      if (m.headers?.code === 100) heartbeats++;
      else messages++;
    },
  });
  t.after(() => sub.unsubscribe());
  await api(
    nc,
    "CONSUMER.DURABLE.CREATE.S.P",
    `{"stream_name":"S","config":{"durable_name":"P","deliver_subject":"${deliver}","ack_policy":"none","idle_heartbeat":${INT64_MAX},"inactive_threshold":${INT64_MAX}}}`,
  );
  await waitFor(() => messages === 1, 5000, "the stored message");
  await assertQuiet("idle_heartbeat");
  assert.equal(heartbeats, 0, "heartbeats sent");
  await consumerInfo(nc, "P");
});

test("ephemeral pull consumer with inactive_threshold int64 max: no warning, no timer storm, still there", async (t) => {
  const { nc } = await setup(t);
  await stream(nc);
  const r = await api(nc, "CONSUMER.CREATE.S", `{"stream_name":"S","config":{"ack_policy":"explicit","inactive_threshold":${INT64_MAX}}}`);
  const name = r["name"] as string;
  await assertQuiet("inactive_threshold");
  await consumerInfo(nc, name);
});

test("pull request with expires of int64 max and an idle_heartbeat of 2^60 ns: waits quietly, is not expired", async (t) => {
  const { nc } = await setup(t);
  await api(nc, "STREAM.CREATE.S", `{"name":"S","subjects":["s.>"]}`);
  await api(nc, "CONSUMER.DURABLE.CREATE.S.C", `{"stream_name":"S","config":{"durable_name":"C","ack_policy":"explicit"}}`);
  const inbox = createInbox();
  const got: Msg[] = [];
  const sub = nc.subscribe(inbox, {
    callback: (_e, m) => {
      got.push(m);
    },
  });
  t.after(() => sub.unsubscribe());
  await nc.flush();
  nc.publish("$JS.API.CONSUMER.MSG.NEXT.S.C", `{"batch":1,"expires":${INT64_MAX},"idle_heartbeat":1152921504606846976}`, { reply: inbox });
  await waitFor(async () => (await consumerInfo(nc, "C"))["num_waiting"] === 1, 5000, "the request to wait");
  await assertQuiet("pull expires");
  assert.deepEqual(
    got.map((m) => m.headers?.code),
    [],
    "no 408 and no heartbeat",
  );
  await jetstream(nc).publish("s.a", "late");
  await waitFor(() => got.length === 1, 5000, "the message to reach the waiting request");
  assert.equal(got[0]?.string(), "late");
});

test("server with ping interval, auth timeout and sync interval past the limit: a silent connection is left alone", async (t) => {
  const huge = 2 ** 62;
  const { server, nc } = await setup(
    t,
    {
      limits: { pingIntervalMs: huge, authTimeoutMs: huge },
      auth: { token: "secret" },
      jetstream: { sync: "interval", syncIntervalMs: huge },
    },
    "secret",
  );
  // A file stream, so the file store's sync timer is armed; max_age arms the expiry check.
  await api(nc, "STREAM.CREATE.S", `{"name":"S","subjects":["s.>"],"max_age":${INT64_MAX}}`);
  const sock = tcpConnect(server.port, "127.0.0.1");
  t.after(() => sock.destroy());
  let text = "";
  let closed = false;
  sock.on("data", (d: Buffer) => (text += d.toString("latin1")));
  sock.on("close", () => (closed = true));
  sock.on("error", () => {});
  await waitFor(() => text.startsWith("INFO "), 5000, "INFO");
  // No CONNECT: only the auth timeout could close it, and only a ping tick could PING it.
  await assertQuiet("ping interval, auth timeout, sync interval");
  assert.equal(closed, false, `closed: ${JSON.stringify(text.slice(text.indexOf("\r\n") + 2))}`);
  assert.equal(text.slice(text.indexOf("\r\n") + 2), "", "nothing after INFO");
});
