import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect, createInbox, type NatsConnection } from "@nats-io/transport-node";
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager, type JsMsg } from "@nats-io/jetstream";
import { startServer, type Server } from "../../src/index.js";
import { DELIVERIES_PER_TURN } from "../../src/jetstream/delivery-loop.js";

interface Env {
  nc: NatsConnection;
  server: Server;
  restart: () => Promise<NatsConnection>;
}

async function setup(t: test.TestContext): Promise<Env> {
  const dir = await mkdtemp(join(tmpdir(), "cuebus-jsc-"));
  const env = { server: await startServer({ port: 0, jetstream: { storeDir: dir } }) } as Env;
  env.nc = await connect({ servers: env.server.url });
  env.restart = async () => {
    await env.nc.close();
    await env.server.close();
    env.server = await startServer({ port: 0, jetstream: { storeDir: dir } });
    env.nc = await connect({ servers: env.server.url });
    return env.nc;
  };
  t.after(async () => {
    await env.nc.close();
    await env.server.close();
    await rm(dir, { recursive: true, force: true });
  });
  return env;
}

async function fill(nc: NatsConnection, subject: (i: number) => string, n: number): Promise<void> {
  const js = jetstream(nc);
  for (let i = 1; i <= n; i++) await js.publish(subject(i), `m${i}`);
}

test("pull consumer: fetch, next, consume with explicit acks; info counts", async (t) => {
  const { nc } = await setup(t);
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: "ORDERS", subjects: ["orders.>"] });
  await fill(nc, (i) => `orders.${i % 2 === 0 ? "paid" : "new"}`, 10);
  const ci = await jsm.consumers.add("ORDERS", { durable_name: "worker", ack_policy: AckPolicy.Explicit });
  assert.equal(ci.name, "worker");
  assert.equal(ci.num_pending, 10);
  assert.equal(ci.config.ack_wait, 30_000_000_000);
  assert.equal(ci.config.max_ack_pending, 1000);

  const js = jetstream(nc);
  const c = await js.consumers.get("ORDERS", "worker");
  const batch = await c.fetch({ max_messages: 3, expires: 1000 });
  const got: string[] = [];
  for await (const m of batch) {
    got.push(m.string());
    assert.equal(m.info.deliveryCount, 1);
    m.ack();
  }
  assert.deepEqual(got, ["m1", "m2", "m3"]);
  const one = await c.next({ expires: 1000 });
  assert.equal(one?.seq, 4);
  assert.equal(one?.subject, "orders.paid");
  await one?.ackAck();

  let info = await c.info();
  assert.equal(info.delivered.stream_seq, 4);
  assert.equal(info.ack_floor.stream_seq, 4);
  assert.equal(info.num_pending, 6);
  assert.equal(info.num_ack_pending, 0);

  const seen: number[] = [];
  const iter = await c.consume({ max_messages: 4 });
  for await (const m of iter) {
    seen.push(m.seq);
    m.ack();
    if (m.seq === 10) break;
  }
  assert.deepEqual(seen, [5, 6, 7, 8, 9, 10]);
  info = await c.info(false);
  assert.equal(info.num_pending, 0);
  // An empty fetch ends promptly rather than waiting forever.
  const none = await c.fetch({ max_messages: 5, expires: 1000 });
  let count = 0;
  for await (const _ of none) count++;
  assert.equal(count, 0);
});

test("acks: nak redelivers with a higher count, nak with delay waits, term stops, working extends", async (t) => {
  const { nc } = await setup(t);
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: "T", subjects: ["t.>"] });
  await fill(nc, () => "t.x", 3);
  await jsm.consumers.add("T", { durable_name: "c", ack_policy: AckPolicy.Explicit, ack_wait: 2_000_000_000 });
  const c = await jetstream(nc).consumers.get("T", "c");

  const first = await c.next({ expires: 1000 });
  assert.equal(first?.seq, 1);
  first?.nak();
  const again = await c.next({ expires: 1000 });
  assert.equal(again?.seq, 1);
  assert.equal(again?.info.deliveryCount, 2);
  assert.equal(again?.redelivered, true);
  again?.nak(400);
  const t0 = Date.now();
  const m2 = await c.next({ expires: 1000 });
  assert.equal(m2?.seq, 2, "the delayed message is not redelivered before its delay");
  m2?.term();
  const m3 = await c.next({ expires: 1000 });
  assert.equal(m3?.seq, 3);
  m3?.working();
  m3?.ack();
  const back = await c.next({ expires: 2000 });
  assert.equal(back?.seq, 1);
  assert.ok(Date.now() - t0 >= 350, "nak delay honoured");
  assert.equal(back?.info.deliveryCount, 3);
  back?.ack();
  const none = await c.next({ expires: 1000 });
  assert.equal(none, null, "a terminated message is not redelivered");
  const info = await c.info();
  assert.equal(info.num_ack_pending, 0);
  assert.equal(info.ack_floor.stream_seq, 3);
});

test("redelivery after ack_wait, max_deliver, and the dead-letter stream with replay", async (t) => {
  const { nc } = await setup(t);
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: "JOBS", subjects: ["jobs.>"] });
  await jsm.streams.add({ name: "JOBS_DLQ", subjects: ["dlq.jobs"] });
  const js = jetstream(nc);
  await js.publish("jobs.resize", "img-1", { headers: undefined });
  await js.publish("jobs.resize", "img-2");
  await jsm.consumers.add("JOBS", {
    durable_name: "resizer",
    ack_policy: AckPolicy.Explicit,
    ack_wait: 300_000_000,
    max_deliver: 2,
    metadata: { "cuebus.dead_letter_stream": "JOBS_DLQ" },
  });
  const advisories: string[] = [];
  const adv = nc.subscribe("$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.JOBS.resizer", { callback: (_e, m) => void advisories.push(m.string()) });
  const c = await js.consumers.get("JOBS", "resizer");
  const d1 = await c.next({ expires: 1000 });
  assert.equal(d1?.seq, 1);
  // not acked: redelivered after ack_wait
  const d2 = await c.next({ expires: 2000 });
  assert.equal(d2?.seq, 2);
  d2?.term();
  const d3 = await c.next({ expires: 2000 });
  assert.equal(d3?.seq, 1);
  assert.equal(d3?.info.deliveryCount, 2);
  // not acked again: max_deliver reached, no third delivery
  const d4 = await c.next({ expires: 1200 });
  assert.equal(d4, null);
  await nc.flush();
  adv.unsubscribe();
  assert.equal(advisories.length, 1);
  const a = JSON.parse(advisories[0] as string) as Record<string, unknown>;
  assert.equal(a["type"], "io.nats.jetstream.advisory.v1.max_deliver");
  assert.equal(a["stream_seq"], 1);
  assert.equal(a["deliveries"], 2);

  const dlq = await jsm.streams.info("JOBS_DLQ");
  assert.equal(dlq.state.messages, 2);
  const byReason = new Map<string, { seq: string; data: string; deliveries: string; subject: string }>();
  for (const seq of [1, 2]) {
    const m = await jsm.streams.getMessage("JOBS_DLQ", { seq });
    assert.ok(m);
    byReason.set(m.header.get("Cuebus-Dlq-Reason"), {
      seq: m.header.get("Cuebus-Dlq-Sequence"),
      data: m.string(),
      deliveries: m.header.get("Cuebus-Dlq-Deliveries"),
      subject: m.subject,
    });
    assert.equal(m.header.get("Cuebus-Dlq-Stream"), "JOBS");
    assert.equal(m.header.get("Cuebus-Dlq-Consumer"), "resizer");
  }
  assert.deepEqual(byReason.get("max_deliveries"), { seq: "1", data: "img-1", deliveries: "2", subject: "jobs.resize" });
  assert.deepEqual(byReason.get("terminated"), { seq: "2", data: "img-2", deliveries: "1", subject: "jobs.resize" });

  // Replay puts both back on their original subject, into JOBS, without the dead-letter headers.
  const r = await nc.request("$CUEBUS.API.DLQ.REPLAY.JOBS_DLQ", JSON.stringify({ delete: true }));
  assert.deepEqual(r.json(), { replayed: 2, failed: 0 });
  assert.equal((await jsm.streams.info("JOBS_DLQ")).state.messages, 0);
  const back = await jsm.streams.getMessage("JOBS", { seq: 3 });
  assert.equal(back?.subject, "jobs.resize");
  assert.equal(back?.header?.get("Cuebus-Dlq-Reason") ?? "", "");
  const d5 = await c.next({ expires: 1000 });
  assert.ok(d5 !== null && d5.seq >= 3);
});

test("push consumer with a queue group, flow control and heartbeats; ephemeral removed when unused", async (t) => {
  const { nc } = await setup(t);
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: "P", subjects: ["p.>"] });
  await fill(nc, (i) => `p.${i}`, 20);
  // (The client refuses flow control together with a queue group; the group is tested below.)
  await jsm.consumers.add("P", {
    durable_name: "pusher",
    deliver_subject: "deliver.p",
    ack_policy: AckPolicy.Explicit,
    flow_control: true,
    idle_heartbeat: 500_000_000,
  });
  const js = jetstream(nc);
  const pc = await js.consumers.getPushConsumer("P", "pusher");
  const got: number[] = [];
  const msgs = await pc.consume();
  for await (const m of msgs) {
    got.push(m.seq);
    m.ack();
    if (got.length === 20) break;
  }
  assert.deepEqual(got, Array.from({ length: 20 }, (_, i) => i + 1));
  const info = await jsm.consumers.info("P", "pusher");
  assert.equal(info.config.flow_control, true);
  assert.equal(info.delivered.consumer_seq, 20);

  // A raw subscriber sees the idle heartbeat status message.
  const hb = await new Promise<string>((resolve) => {
    const sub = nc.subscribe("deliver.p");
    void (async () => {
      for await (const m of sub) {
        if (m.headers?.code === 100) {
          sub.unsubscribe();
          resolve(m.headers.description);
        }
      }
    })();
  });
  assert.equal(hb, "Idle Heartbeat");

  // A queue group shares one push consumer's messages.
  await jsm.consumers.add("P", { durable_name: "grouped", deliver_subject: "deliver.g", deliver_group: "workers", ack_policy: AckPolicy.None });
  const shares = [0, 0];
  let total = 0;
  await new Promise<void>((resolve) => {
    for (const i of [0, 1]) {
      nc.subscribe("deliver.g", {
        queue: "workers",
        callback: () => {
          shares[i] = (shares[i] ?? 0) + 1;
          if (++total === 20) resolve();
        },
      });
    }
  });
  assert.equal((shares[0] ?? 0) + (shares[1] ?? 0), 20);
  assert.ok((shares[0] ?? 0) > 0 && (shares[1] ?? 0) > 0, `both members got some: ${shares.join("/")}`);

  const eph = await jsm.consumers.add("P", { inactive_threshold: 300_000_000, ack_policy: AckPolicy.None });
  assert.equal(eph.config.inactive_threshold, 300_000_000);
  // An ephemeral push consumer goes away once its subscriber does.
  let lastSeen = "";
  const watcher = nc.subscribe("deliver.eph", { callback: (_e, m) => void (lastSeen = m.subject) });
  const ephPush = await jsm.consumers.add("P", { deliver_subject: "deliver.eph", inactive_threshold: 300_000_000, ack_policy: AckPolicy.None });
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(lastSeen, "p.20");
  await new Promise((r) => setTimeout(r, 400));
  assert.ok((await jsm.consumers.list("P").next()).some((c) => c.name === ephPush.name), "kept while subscribed");
  watcher.unsubscribe();
  await new Promise((r) => setTimeout(r, 1200));
  const names = await jsm.consumers.list("P").next();
  assert.deepEqual(names.map((n) => n.name).sort(), ["grouped", "pusher"]);
});

test("ordered consumer and deliver policies", async (t) => {
  const { nc } = await setup(t);
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: "O", subjects: ["o.>"] });
  await fill(nc, (i) => `o.${i % 3}`, 9);
  const js = jetstream(nc);
  const oc = await js.consumers.get("O");
  const seqs: number[] = [];
  const it = await oc.consume();
  for await (const m of it) {
    seqs.push(m.seq);
    if (m.seq === 9) break;
  }
  assert.deepEqual(seqs, [1, 2, 3, 4, 5, 6, 7, 8, 9]);

  const lastPer = await jsm.consumers.add("O", { name: "lps", deliver_policy: DeliverPolicy.LastPerSubject, filter_subject: "o.*", ack_policy: AckPolicy.None });
  assert.equal(lastPer.num_pending, 3);
  const c = await js.consumers.get("O", "lps");
  const b = await c.fetch({ max_messages: 10, expires: 1000 });
  const lp: number[] = [];
  for await (const m of b) lp.push(m.seq);
  assert.deepEqual(lp, [7, 8, 9]);

  await jsm.consumers.add("O", { name: "from5", deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: 5, ack_policy: AckPolicy.None, filter_subject: "o.1" });
  const f = await (await js.consumers.get("O", "from5")).fetch({ max_messages: 10, expires: 1000 });
  const fs: number[] = [];
  for await (const m of f) fs.push(m.seq);
  assert.deepEqual(fs, [7]);

  await jsm.consumers.add("O", { name: "last", deliver_policy: DeliverPolicy.Last, ack_policy: AckPolicy.None });
  assert.equal((await (await js.consumers.get("O", "last")).next({ expires: 1000 }))?.seq, 9);
  await jsm.consumers.add("O", { name: "new", deliver_policy: DeliverPolicy.New, ack_policy: AckPolicy.None });
  const nw = await js.consumers.get("O", "new");
  const pending = nw.next({ expires: 2000 });
  await new Promise((r) => setTimeout(r, 100));
  await js.publish("o.7", "late");
  assert.equal((await pending)?.seq, 10);
});

test("durable consumer state survives a restart", async (t) => {
  const env = await setup(t);
  const jsm = await jetstreamManager(env.nc);
  await jsm.streams.add({ name: "D", subjects: ["d.>"] });
  await fill(env.nc, () => "d.x", 5);
  await jsm.consumers.add("D", { durable_name: "keep", ack_policy: AckPolicy.Explicit });
  const c = await jetstream(env.nc).consumers.get("D", "keep");
  const b = await c.fetch({ max_messages: 3, expires: 1000 });
  const ms: JsMsg[] = [];
  for await (const m of b) ms.push(m);
  await ms[0]?.ackAck();
  await ms[1]?.ackAck();
  // ms[2] stays unacknowledged
  await new Promise((r) => setTimeout(r, 200));
  const nc2 = await env.restart();
  const jsm2 = await jetstreamManager(nc2);
  const info = await jsm2.consumers.info("D", "keep");
  assert.equal(info.delivered.stream_seq, 3);
  assert.equal(info.ack_floor.stream_seq, 2);
  assert.equal(info.num_ack_pending, 1);
  assert.equal(info.num_pending, 2);
  const c2 = await jetstream(nc2).consumers.get("D", "keep");
  const m = await c2.next({ expires: 1000 });
  assert.equal(m?.seq, 4);
});

test("work-queue and interest retention remove acknowledged messages", async (t) => {
  const { nc } = await setup(t);
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: "WQ", subjects: ["wq.>"], retention: "workqueue" as never });
  await fill(nc, () => "wq.a", 4);
  await jsm.consumers.add("WQ", { durable_name: "w", ack_policy: AckPolicy.Explicit });
  await assert.rejects(jsm.consumers.add("WQ", { durable_name: "w2", ack_policy: AckPolicy.Explicit }), /multiple non-filtered consumers not allowed on workqueue stream/);
  const c = await jetstream(nc).consumers.get("WQ", "w");
  const b = await c.fetch({ max_messages: 4, expires: 1000 });
  for await (const m of b) await m.ackAck();
  await new Promise((r) => setTimeout(r, 50));
  assert.equal((await jsm.streams.info("WQ")).state.messages, 0);

  await jsm.streams.add({ name: "I", subjects: ["i.>"], retention: "interest" as never });
  await fill(nc, () => "i.a", 2);
  assert.equal((await jsm.streams.info("I")).state.messages, 0, "no consumers, no interest: nothing kept");
  await jsm.consumers.add("I", { durable_name: "a", ack_policy: AckPolicy.Explicit });
  await jsm.consumers.add("I", { durable_name: "b", ack_policy: AckPolicy.Explicit });
  await fill(nc, () => "i.a", 1);
  const ca = await jetstream(nc).consumers.get("I", "a");
  await (await ca.next({ expires: 1000 }))?.ackAck();
  assert.equal((await jsm.streams.info("I")).state.messages, 1, "b has not acknowledged yet");
  const cb = await jetstream(nc).consumers.get("I", "b");
  await (await cb.next({ expires: 1000 }))?.ackAck();
  await new Promise((r) => setTimeout(r, 50));
  assert.equal((await jsm.streams.info("I")).state.messages, 0);
});

test("max_age: messages expire while the server runs", async (t) => {
  const { nc } = await setup(t);
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: "AGE", subjects: ["age.>"], max_age: 400_000_000 });
  await fill(nc, () => "age.x", 3);
  assert.equal((await jsm.streams.info("AGE")).state.messages, 3);
  await new Promise((r) => setTimeout(r, 800));
  const st = (await jsm.streams.info("AGE")).state;
  assert.equal(st.messages, 0);
  assert.equal(st.last_seq, 3);
});

test("backoff, max_ack_pending, ack all, filter_subjects, by_start_time, replay original", async (t) => {
  const { nc } = await setup(t);
  const jsm = await jetstreamManager(nc);
  const js = jetstream(nc);
  await jsm.streams.add({ name: "M", subjects: ["m.>"] });
  await fill(nc, (i) => `m.${["a", "b", "c"][i % 3] as string}`, 6);

  // backoff: first redelivery after 200 ms, the next after 600 ms.
  await jsm.streams.add({ name: "B", subjects: ["b.>"] });
  await js.publish("b.1", "once");
  await jsm.consumers.add("B", { durable_name: "bo", ack_policy: AckPolicy.Explicit, backoff: [200_000_000, 600_000_000], max_deliver: 4 });
  const bo = await js.consumers.get("B", "bo");
  const times: number[] = [];
  const t0 = Date.now();
  for (let i = 0; i < 3; i++) {
    const m = await bo.next({ expires: 2000 });
    assert.equal(m?.seq, 1);
    assert.equal(m?.info.deliveryCount, i + 1);
    times.push(Date.now() - t0);
  }
  assert.ok((times[1] as number) - (times[0] as number) >= 180, `first backoff step: ${times.join(",")}`);
  assert.ok((times[2] as number) - (times[1] as number) >= 550, `second backoff step: ${times.join(",")}`);

  // max_ack_pending 2: a third message waits until one is acknowledged.
  await jsm.consumers.add("M", { durable_name: "map", ack_policy: AckPolicy.Explicit, max_ack_pending: 2 });
  const map = await js.consumers.get("M", "map");
  const first = await map.fetch({ max_messages: 5, expires: 1000 });
  const held: JsMsg[] = [];
  for await (const m of first) held.push(m);
  assert.deepEqual(held.map((m) => m.seq), [1, 2]);
  await held[0]?.ackAck();
  assert.equal((await map.next({ expires: 1000 }))?.seq, 3);

  // ack all: acknowledging the 3rd acknowledges the first two as well.
  await jsm.consumers.add("M", { durable_name: "all", ack_policy: AckPolicy.All });
  const all = await js.consumers.get("M", "all");
  const three = await all.fetch({ max_messages: 3, expires: 1000 });
  const got: JsMsg[] = [];
  for await (const m of three) got.push(m);
  await got[2]?.ackAck();
  const ai = await all.info();
  assert.equal(ai.ack_floor.stream_seq, 3);
  assert.equal(ai.num_ack_pending, 0);

  // filter_subjects (several filters; needs a 2.10 server, which cuebus announces).
  await jsm.consumers.add("M", { durable_name: "fs", ack_policy: AckPolicy.None, filter_subjects: ["m.a", "m.c"] });
  const fs = await (await js.consumers.get("M", "fs")).fetch({ max_messages: 10, expires: 1000 });
  const fseqs: string[] = [];
  for await (const m of fs) fseqs.push(`${m.seq}:${m.subject}`);
  assert.deepEqual(fseqs, ["2:m.c", "3:m.a", "5:m.c", "6:m.a"]);

  // by_start_time: only what was stored at or after the time.
  await new Promise((r) => setTimeout(r, 20));
  const since = new Date();
  await fill(nc, () => "m.late", 2);
  await jsm.consumers.add("M", { durable_name: "time", ack_policy: AckPolicy.None, deliver_policy: DeliverPolicy.StartTime, opt_start_time: since.toISOString() });
  const tb = await (await js.consumers.get("M", "time")).fetch({ max_messages: 10, expires: 1000 });
  const tseqs: number[] = [];
  for await (const m of tb) tseqs.push(m.seq);
  assert.deepEqual(tseqs, [7, 8]);

  // replay original: messages come as far apart as they were stored.
  await jsm.streams.add({ name: "R", subjects: ["r.>"] });
  await js.publish("r.1", "a");
  await new Promise((r) => setTimeout(r, 300));
  await js.publish("r.1", "b");
  await jsm.consumers.add("R", { durable_name: "orig", ack_policy: AckPolicy.None, replay_policy: "original" as never });
  const rc = await js.consumers.get("R", "orig");
  const r0 = Date.now();
  const rb = await rc.fetch({ max_messages: 2, expires: 2000 });
  const at: number[] = [];
  for await (const _m of rb) at.push(Date.now() - r0);
  assert.equal(at.length, 2);
  assert.ok((at[1] as number) - (at[0] as number) >= 250, `replayed ${at.join(",")} ms apart`);
});

test("max_waiting: one pull request too many is refused with 409", async (t) => {
  const { nc } = await setup(t);
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: "W", subjects: ["w.>"] });
  await jsm.consumers.add("W", { durable_name: "c", ack_policy: AckPolicy.Explicit, max_waiting: 1 });
  const inbox = "reply.w";
  const statuses: string[] = [];
  nc.subscribe(`${inbox}.*`, { callback: (_e, m) => void statuses.push(`${m.headers?.code ?? 0} ${m.headers?.description ?? ""}`) });
  await nc.flush();
  nc.publish("$JS.API.CONSUMER.MSG.NEXT.W.c", JSON.stringify({ batch: 1, expires: 500_000_000 }), { reply: `${inbox}.1` });
  nc.publish("$JS.API.CONSUMER.MSG.NEXT.W.c", JSON.stringify({ batch: 1, expires: 500_000_000 }), { reply: `${inbox}.2` });
  await new Promise((r) => setTimeout(r, 800));
  assert.deepEqual(statuses.sort(), ["408 Request Timeout", "409 Exceeded MaxWaiting"]);
});

test("a pull request for more than one turn's deliveries is filled whole, in order, and its max_bytes holds across turns", async (t) => {
  const { nc } = await setup(t);
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: "LONG", subjects: ["long.>"] });
  const js = jetstream(nc);
  const n = DELIVERIES_PER_TURN * 4 + 17;
  await Promise.all(Array.from({ length: n }, (_, i) => js.publish(`long.${i % 3}`, `m${i + 1}`)));
  await jsm.consumers.add("LONG", { durable_name: "reader", ack_policy: AckPolicy.None });
  const upTo = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);
  // Two and a half turns' worth in one fetch: every message once, in order.
  const first = DELIVERIES_PER_TURN * 2 + DELIVERIES_PER_TURN / 2;
  const fetched: number[] = [];
  for await (const m of await (await js.consumers.get("LONG", "reader")).fetch({ max_messages: first, expires: 5000 })) {
    assert.equal(m.string(), `m${m.seq}`);
    fetched.push(m.seq);
  }
  assert.deepEqual(fetched, upTo(1, first));
  // A raw request (the client's fetch caps a max_bytes request at 100 messages) with bytes for about
  // a turn and a half: it ends with the 409 there, and the next request goes on from the very next
  // message (nothing skipped or repeated at a turn's edge).
  const pull = async (req: object): Promise<{ seqs: number[]; status: string }> => {
    const inbox = createInbox();
    const seqs: number[] = [];
    const sub = nc.subscribe(inbox);
    nc.publish("$JS.API.CONSUMER.MSG.NEXT.LONG.reader", JSON.stringify(req), { reply: inbox });
    for await (const m of sub) {
      const code = m.headers?.code ?? 0;
      if (code !== 0) {
        sub.unsubscribe();
        return { seqs, status: `${code} ${m.headers?.description ?? ""}` };
      }
      seqs.push(Number(m.string().slice(1)));
    }
    return { seqs, status: "" };
  };
  const byBytes = await pull({ batch: n, max_bytes: DELIVERIES_PER_TURN * 1.5 * 50, expires: 2_000_000_000 });
  assert.equal(byBytes.status.toLowerCase(), "409 message size exceeds maxbytes", `after ${byBytes.seqs.length}`);
  assert.ok(byBytes.seqs.length > DELIVERIES_PER_TURN && byBytes.seqs.length < n - first, `max_bytes stopped after ${byBytes.seqs.length}`);
  assert.deepEqual(byBytes.seqs, upTo(first + 1, first + byBytes.seqs.length));
  const rest = await pull({ batch: n, expires: 500_000_000 });
  assert.equal(rest.status, "408 Request Timeout");
  assert.deepEqual(rest.seqs, upTo(first + byBytes.seqs.length + 1, n));
});
