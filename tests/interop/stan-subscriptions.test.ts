import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startServer, type Server } from "../../src/index.js";
import { collect, closeStan, connectStan, publishAll, redeliveryCount, subscriptionGone, subscriptionReady, type Collector, type Stan } from "../helpers/stan.js";
import { waitFor } from "../helpers/wait.js";

/*
 * Subscriptions with node-nats-streaming@0.3.2 against an embedded cuebus (startServer with
 * JetStream; NATS Streaming is on with it, cluster id `test-cluster`): start positions,
 * maxInFlight, ack wait and redelivery, manual and automatic acks, durables, queue groups,
 * unsubscribe versus close.
 */

/** An embedded server and a way to connect clients to it; clients close before the server does. */
async function serve(t: TestContext): Promise<{ server: Server; client: (id: string) => Promise<Stan> }> {
  const dir = await mkdtemp(join(tmpdir(), "cuebus-stan-"));
  const server = await startServer({ port: 0, jetstream: { storeDir: dir } });
  const clients: Stan[] = [];
  t.after(async () => {
    await Promise.all(clients.map(closeStan));
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });
  const client = async (id: string): Promise<Stan> => {
    const sc = await connectStan("test-cluster", id, server.url);
    clients.push(sc);
    return sc;
  };
  return { server, client };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

test("start positions: new only, last received, time delta, sequence, first", async (t) => {
  const { server, client } = await serve(t);
  const sc = await client("c1");
  await publishAll(sc, "orders", ["1", "2", "3", "4", "5"]);

  const open = async (opts: ReturnType<Stan["subscriptionOptions"]>): Promise<Collector> => (await collect(sc, "orders", opts, true)).got;
  const newOnly = await open(sc.subscriptionOptions());
  const last = await open(sc.subscriptionOptions().setStartWithLastReceived());
  const delta = await open(sc.subscriptionOptions().setStartAtTimeDelta(60_000));
  const fromSeq = await open(sc.subscriptionOptions().setStartAtSequence(3));
  const beyond = await open(sc.subscriptionOptions().setStartAtSequence(100));
  const first = await open(sc.subscriptionOptions().setDeliverAllAvailable());
  await waitFor(() => first.messages.length === 5 && fromSeq.messages.length === 3 && delta.messages.length === 5 && last.messages.length === 1, 5000, "starts");
  await publishAll(sc, "orders", ["6"]);
  await waitFor(() => newOnly.messages.length === 1 && beyond.messages.length === 1 && first.messages.length === 6, 5000, "message 6 everywhere");
  assert.deepEqual(newOnly.data, ["6"]);
  assert.deepEqual(last.data, ["5", "6"]);
  assert.deepEqual(delta.data, ["1", "2", "3", "4", "5", "6"]);
  assert.deepEqual(fromSeq.sequences, [3, 4, 5, 6]);
  // A start sequence past the last message means new messages only (nats-streaming-server).
  assert.deepEqual(beyond.sequences, [6]);
  assert.deepEqual(first.sequences, [1, 2, 3, 4, 5, 6]);
  const m = first.messages[0];
  assert.ok(m !== undefined);
  assert.equal(m.getSubject(), "orders");
  assert.equal(m.isRedelivered(), false);
  assert.ok(Math.abs(m.getTimestamp().getTime() - Date.now()) < 10_000, "timestamp is the time it was stored");
});

test("a message not acked within ackWait comes again, flagged redelivered; an acked one does not", async (t) => {
  const { server, client } = await serve(t);
  const sc = await client("c1");
  const { got } = await collect(sc, "jobs", sc.subscriptionOptions().setManualAckMode(true).setAckWait(1000), false);
  await publishAll(sc, "jobs", ["a", "b"]);
  await got.until(2);
  got.messages[1]?.ack();
  await got.until(3, 4000);
  const again = got.messages[2];
  assert.ok(again !== undefined);
  assert.equal(again.getSequence(), 1);
  assert.equal(again.isRedelivered(), true);
  assert.equal(redeliveryCount(again), 1);
  again.ack();
  await sleep(1500);
  assert.equal(got.messages.length, 3, "nothing more once both are acked");
});

test("automatic acks: nothing is redelivered", async (t) => {
  const { server, client } = await serve(t);
  const sc = await client("c1");
  const { got } = await collect(sc, "auto", sc.subscriptionOptions().setAckWait(1000).setDeliverAllAvailable(), false);
  await publishAll(sc, "auto", ["x", "y"]);
  await got.until(2);
  await sleep(1600);
  assert.deepEqual(got.sequences, [1, 2]);
});

test("maxInFlight: no more unacknowledged messages than allowed are out at once", async (t) => {
  const { server, client } = await serve(t);
  const sc = await client("c1");
  const { got } = await collect(sc, "work", sc.subscriptionOptions().setManualAckMode(true).setMaxInFlight(2).setAckWait(30_000), false);
  await publishAll(sc, "work", ["1", "2", "3", "4", "5"]);
  await got.until(2);
  await sleep(200);
  assert.equal(got.messages.length, 2);
  got.messages[0]?.ack();
  await got.until(3);
  await sleep(100);
  assert.equal(got.messages.length, 3);
  for (const m of got.messages) m.ack();
  await got.until(5);
  assert.deepEqual(got.sequences, [1, 2, 3, 4, 5]);
});

test("durable: a close keeps its position, a second registration is refused, an unsubscribe removes it", async (t) => {
  const { server, client } = await serve(t);
  const sc = await client("c1");
  const opts = (): ReturnType<Stan["subscriptionOptions"]> => sc.subscriptionOptions().setDurableName("dur").setDeliverAllAvailable();
  await publishAll(sc, "d", ["1", "2"]);
  let { sub, got } = await collect(sc, "d", opts(), true);
  await got.until(2);
  await assert.rejects(subscriptionReady(sc.subscribe("d", opts())), /stan: duplicate durable registration/);
  await subscriptionGone(sub, true);
  await publishAll(sc, "d", ["3"]);
  ({ sub, got } = await collect(sc, "d", opts(), true));
  await got.until(1);
  assert.deepEqual(got.sequences, [3]);
  await subscriptionGone(sub, false);
  // Unsubscribed: the durable is gone, so it starts again where its options say (all available).
  ({ got } = await collect(sc, "d", opts(), true));
  await got.until(3);
  assert.deepEqual(got.sequences, [1, 2, 3]);
  // The durable is one consumer of the channel's stream, named after the client and durable.
  assert.ok(server.jetstream?.streams.get("STAN_d")?.consumers.has("D:c1:dur"));
});

test("durable queue group: survives all members closing, removed when the last one unsubscribes", async (t) => {
  const { server, client } = await serve(t);
  const a = await client("a");
  const b = await client("b");
  const qopts = (sc: Stan): ReturnType<Stan["subscriptionOptions"]> => sc.subscriptionOptions().setDurableName("dq").setDeliverAllAvailable().setManualAckMode(true).setAckWait(30_000);
  const { sub: sa, got: ga } = await collect(a, "q", qopts(a), true, "workers");
  const { sub: sb, got: gb } = await collect(b, "q", qopts(b), true, "workers");
  await publishAll(a, "q", ["1", "2", "3", "4"]);
  await waitFor(() => ga.messages.length + gb.messages.length === 4, 5000, "4 split");
  await subscriptionGone(sa, true);
  await subscriptionGone(sb, true);
  assert.ok(server.jetstream?.streams.get("STAN_q")?.consumers.has("Q:dq:workers"), "kept after every member closed");
  await publishAll(a, "q", ["5"]);
  const { sub: sc, got: gc } = await collect(a, "q", qopts(a), true, "workers");
  await gc.until(1);
  assert.deepEqual(gc.sequences, [5]);
  await subscriptionGone(sc, false);
  await waitFor(() => server.jetstream?.streams.get("STAN_q")?.consumers.has("Q:dq:workers") === false, 2000, "removed by the last unsubscribe");
});

test("queue group member leaving: what it had not acked goes to another member at once", async (t) => {
  const { server, client } = await serve(t);
  const a = await client("a");
  const b = await client("b");
  const opts = (sc: Stan): ReturnType<Stan["subscriptionOptions"]> => sc.subscriptionOptions().setManualAckMode(true).setAckWait(60_000).setMaxInFlight(1);
  const { sub: sa, got: ga } = await collect(a, "qq", opts(a), false, "g");
  await publishAll(a, "qq", ["1"]);
  await ga.until(1);
  const { got: gb } = await collect(b, "qq", opts(b), true, "g");
  await subscriptionGone(sa, true);
  await gb.until(1, 3000);
  assert.equal(gb.messages[0]?.getSequence(), 1);
  assert.equal(gb.messages[0]?.isRedelivered(), true);
});

test("a plain subscription's consumer goes away with it; closing the client closes its subscriptions", async (t) => {
  const { server } = await serve(t);
  const sc = await connectStan("test-cluster", "short", server.url);
  await publishAll(sc, "p", ["1"]);
  const sub = await subscriptionReady(sc.subscribe("p", sc.subscriptionOptions()));
  const consumers = (): number => server.jetstream?.streams.get("STAN_p")?.consumers.size ?? -1;
  assert.equal(consumers(), 1);
  await subscriptionGone(sub, false);
  await waitFor(() => consumers() === 0, 2000, "consumer removed");
  await subscriptionReady(sc.subscribe("p", sc.subscriptionOptions()));
  await subscriptionReady(sc.subscribe("p", sc.subscriptionOptions().setDurableName("keep")));
  assert.equal(consumers(), 2);
  await closeStan(sc);
  await waitFor(() => consumers() === 1, 2000, "only the durable left");
  assert.equal(server.streaming?.clientCount, 0);
  assert.equal(server.streaming?.subscriptionCount, 0);
});
