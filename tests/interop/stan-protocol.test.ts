import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { startServer, type Server, type StanOptions } from "../../src/index.js";
import type { ConnectResponse } from "../../src/stan/protocol.js";
import {
  decodeConnectResponse,
  decodeErrorResponse,
  decodePubAck,
  decodeSubscriptionResponse,
  encodeCloseRequest,
  encodeConnectRequest,
  encodePing,
  encodePubMsg,
  encodeSubscriptionRequest,
  encodeUnsubscribeRequest,
} from "../../src/stan/protocol-client.js";
import { closeStan, collect, connectStan, publishAll, subscriptionReady, type Stan } from "../helpers/stan.js";
import { waitFor } from "../helpers/wait.js";

/*
 * The STAN protocol's edges: bad input gets nats-streaming-server's error text in the response
 * (never a hang), the duplicate client-id check, pings and heartbeats, close; and a channel is an
 * ordinary stream that a JetStream client reads. Raw exchanges use @nats-io/transport-node with
 * the codec's encoders; the STAN client is node-nats-streaming@0.3.2.
 */

async function serve(t: TestContext, streaming?: StanOptions): Promise<{ server: Server; raw: NatsConnection; stan: (id: string) => Promise<Stan> }> {
  const dir = await mkdtemp(join(tmpdir(), "cuebus-stan-"));
  const server = await startServer({ port: 0, jetstream: { storeDir: dir }, streaming });
  const raw = await connect({ servers: server.url });
  const clients: Stan[] = [];
  t.after(async () => {
    await Promise.all(clients.map(closeStan));
    await raw.close();
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });
  const stan = async (id: string): Promise<Stan> => {
    const sc = await connectStan(streaming?.clusterId ?? "test-cluster", id, server.url);
    clients.push(sc);
    return sc;
  };
  return { server, raw, stan };
}

async function request(nc: NatsConnection, subject: string, data: Buffer): Promise<Buffer> {
  const m = await nc.request(subject, data, { timeout: 2000 });
  return Buffer.from(m.data);
}

/** Connect over the raw connection as a client would; the response (error included). */
async function rawConnect(nc: NatsConnection, clientID: string, hbInbox: string, cluster = "test-cluster", connID = `conn-${clientID}`): Promise<ConnectResponse> {
  return decodeConnectResponse(await request(nc, `_STAN.discover.${cluster}`, encodeConnectRequest({ clientID, heartbeatInbox: hbInbox, protocol: 1, connID: Buffer.from(connID), pingInterval: 5, pingMaxOut: 3 })));
}

test("connect: the response names the protocol subjects; bad requests get nats-streaming-server's errors", async (t) => {
  const { raw } = await serve(t, { clusterId: "ticketing" });
  const ok = await rawConnect(raw, "svc-1", "_INBOX.hb1", "ticketing");
  assert.equal(ok.error, "");
  assert.match(ok.pubPrefix, /^_STAN\.pub\./);
  assert.match(ok.subRequests, /^_STAN\.sub\./);
  assert.match(ok.unsubRequests, /^_STAN\.unsub\./);
  assert.match(ok.subCloseRequests, /^_STAN\.subclose\./);
  assert.match(ok.closeRequests, /^_STAN\.close\./);
  assert.equal(ok.pingRequests, "_STAN.discover.ticketing.pings");
  assert.equal(ok.protocol, 1);
  assert.equal(ok.pingInterval, 5);
  assert.equal(ok.pingMaxOut, 3);
  assert.equal((await rawConnect(raw, "bad id!", "_INBOX.x", "ticketing")).error, "stan: invalid clientID: only alphanumeric and `-` or `_` characters allowed");
  assert.equal((await rawConnect(raw, "svc-2", "", "ticketing")).error, "stan: invalid connection request");
  const garbage = decodeConnectResponse(await request(raw, "_STAN.discover.ticketing", Buffer.from([0x0a, 0x7f, 0x01])));
  assert.equal(garbage.error, "stan: invalid connection request");
  // Another cluster id: nobody answers (no responders), as with nats-streaming-server.
  await assert.rejects(request(raw, "_STAN.discover.other", encodeConnectRequest({ clientID: "x", heartbeatInbox: "_INBOX.y" })));
});

test("duplicate client id: refused while the old connection answers its heartbeat inbox, taken over once it does not", async (t) => {
  const { raw, server, stan } = await serve(t);
  const first = await stan("dup");
  await assert.rejects(connectStan("test-cluster", "dup", server.url), /stan: clientID already registered/);
  // A registration whose heartbeat inbox nobody listens on is replaced.
  assert.equal((await rawConnect(raw, "ghost", "_INBOX.nobody")).error, "");
  assert.equal((await rawConnect(raw, "ghost", "_INBOX.nobody-2")).error, "");
  await publishAll(first, "still.ok", ["1"]);
});

test("bad input: invalid subject, unknown client, bad start, bad values and malformed protobuf get the STAN error text", async (t) => {
  const { raw, stan } = await serve(t);
  const sc = await stan("good");
  // node-nats-streaming surfaces the server's text.
  await assert.rejects(subscriptionReady(sc.subscribe("foo..bar")), /^Error: stan: invalid subject$/);
  await assert.rejects(subscriptionReady(sc.subscribe("foo.*")), /stan: invalid subject/);
  await assert.rejects(subscriptionReady(sc.subscribe("ok", "q:x", sc.subscriptionOptions().setDurableName("d:1"))), /stan: durable name of a durable queue subscriber can't contain the character ':'/);
  await assert.rejects(publishAll(sc, "foo.>", ["x"]), /stan: invalid publish request/);

  const cr = await rawConnect(raw, "raw-1", "_INBOX.raw1");
  const sub = (fields: Parameters<typeof encodeSubscriptionRequest>[0]): Promise<string> =>
    request(raw, cr.subRequests, encodeSubscriptionRequest({ clientID: "raw-1", subject: "ok", inbox: "_INBOX.d", maxInFlight: 10, ackWaitInSecs: 30, ...fields })).then((b) => decodeSubscriptionResponse(b).error);
  assert.equal(await sub({ clientID: "nobody" }), "stan: unknown clientID");
  assert.equal(await sub({ clientID: "" }), "stan: clientID missing");
  assert.equal(await sub({ ackWaitInSecs: 0 }), "stan: invalid ack wait time, should be >= 1s");
  assert.equal(await sub({ maxInFlight: -1 }), "stan: invalid MaxInflight, should be >= 1");
  assert.equal(await sub({ startPosition: 9 }), "stan: invalid start position");
  assert.equal(await sub({ subject: "a/b" }), "stan: invalid subject");
  assert.equal(decodeSubscriptionResponse(await request(raw, cr.subRequests, Buffer.from([0xff]))).error, "stan: invalid subscription request");

  const unsub = (fields: Parameters<typeof encodeUnsubscribeRequest>[0]): Promise<string> => request(raw, cr.unsubRequests, encodeUnsubscribeRequest({ clientID: "raw-1", ...fields })).then((b) => decodeSubscriptionResponse(b).error);
  assert.equal(await unsub({ subject: "never-used", inbox: "x" }), "stan: unknown channel");
  await publishAll(sc, "ok", ["1"]);
  assert.equal(await unsub({ subject: "ok", inbox: "_STAN.ack.nope.1" }), "stan: invalid subscription");
  assert.equal(decodeSubscriptionResponse(await request(raw, cr.unsubRequests, Buffer.from([0x0a, 0x09]))).error, "stan: invalid unsubscribe request");

  const pub = (body: Buffer): Promise<{ guid: string; error: string }> => request(raw, `${cr.pubPrefix}.ok`, body).then(decodePubAck);
  assert.deepEqual(await pub(encodePubMsg({ clientID: "nobody", guid: "g1", subject: "ok", data: Buffer.from("x") })), { guid: "g1", error: "stan: invalid publish request" });
  assert.deepEqual(await pub(encodePubMsg({ clientID: "raw-1", guid: "", subject: "ok" })), { guid: "", error: "stan: invalid publish request" });
  assert.deepEqual(await pub(encodePubMsg({ clientID: "raw-1", guid: "g2", subject: "ok", connID: Buffer.from("someone-else") })), { guid: "g2", error: "stan: invalid publish request" });
  assert.deepEqual(await pub(Buffer.from([0x12, 0x40])), { guid: "", error: "stan: invalid publish request" });
  assert.deepEqual(await pub(encodePubMsg({ clientID: "raw-1", guid: "g3", subject: "ok", data: Buffer.from("fine"), connID: Buffer.from("conn-raw-1") })), { guid: "g3", error: "" });

  assert.equal(decodeErrorResponse(await request(raw, cr.closeRequests, Buffer.from([0x0a, 0x05]))).error, "stan: invalid close request");
  assert.equal(decodeErrorResponse(await request(raw, cr.closeRequests, encodeCloseRequest("nobody"))).error, "stan: unknown clientID");
  // The connection that sent all this is still served.
  await publishAll(sc, "ok", ["2"]);
});

test("pings: answered for a registered connection, an error once it is closed; close unregisters", async (t) => {
  const { raw } = await serve(t);
  const cr = await rawConnect(raw, "pinger", "_INBOX.p", "test-cluster", "conn-pinger");
  const ping = async (): Promise<string> => decodeErrorResponse(await request(raw, cr.pingRequests, encodePing(Buffer.from("conn-pinger")))).error;
  assert.equal(await ping(), "");
  assert.equal(decodeErrorResponse(await request(raw, cr.closeRequests, encodeCloseRequest("pinger"))).error, "");
  assert.equal(await ping(), "client has been replaced or is no longer registered");
  const pub = decodePubAck(await request(raw, `${cr.pubPrefix}.x`, encodePubMsg({ clientID: "pinger", guid: "g", subject: "x" })));
  assert.equal(pub.error, "stan: invalid publish request");
});

test("heartbeats: a client that answers stays; one that does not is closed after hb_fail_count misses", async (t) => {
  const { raw, server, stan } = await serve(t, { hbIntervalMs: 100, hbTimeoutMs: 100, hbFailCount: 2 });
  const alive = await stan("alive");
  assert.equal((await rawConnect(raw, "silent", "_INBOX.silent")).error, "");
  assert.equal(server.streaming?.clientCount, 2);
  await waitFor(() => server.streaming?.clientCount === 1, 3000, "the silent client closed");
  await new Promise((r) => setTimeout(r, 500));
  await publishAll(alive, "hb", ["still here"]);
});

test("a channel is a stream a JetStream client reads, and JetStream publishes reach STAN subscribers", async (t) => {
  const { raw, stan } = await serve(t);
  const sc = await stan("mixed");
  await publishAll(sc, "ticket:created", ['{"id":"t1"}', '{"id":"t2"}']);
  const jsm = await jetstreamManager(raw);
  const info = await jsm.streams.info("STAN_ticket:created");
  assert.deepEqual(info.config.subjects, ["_STAN.ch.ticket:created"]);
  assert.equal(info.state.messages, 2);
  const js = jetstream(raw);
  const c = await js.consumers.get("STAN_ticket:created");
  const m = await c.next({ expires: 2000 });
  assert.ok(m !== null);
  assert.equal(m.string(), '{"id":"t1"}');
  assert.equal(m.seq, 1);
  // The other way: a JetStream publish to the channel's subject reaches a STAN subscriber.
  const { got } = await collect(sc, "ticket:created", sc.subscriptionOptions().setStartAtSequence(3), true);
  const ack = await js.publish("_STAN.ch.ticket:created", '{"id":"t3"}');
  assert.equal(ack.seq, 3);
  await got.until(1);
  assert.equal(got.data[0], '{"id":"t3"}');
  assert.equal(got.messages[0]?.getSubject(), "ticket:created");
});

test("streaming { enabled: false } and startServer({ streaming: false }) turn it off", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "cuebus-stan-"));
  const off = await startServer({ port: 0, jetstream: { storeDir: dir }, streaming: { enabled: false } });
  const nc = await connect({ servers: off.url });
  t.after(async () => {
    await nc.close();
    await off.close();
    await rm(dir, { recursive: true, force: true });
  });
  assert.equal(off.streaming, null);
  await assert.rejects(request(nc, "_STAN.discover.test-cluster", encodeConnectRequest({ clientID: "x", heartbeatInbox: "_INBOX.y" })));
  const noJs = await startServer({ port: 0 });
  t.after(() => noJs.close());
  assert.equal(noJs.streaming, null);
});

test("a STAN publish passes the stream's own admission: a limit a JetStream client sets refuses it with that reason", async (t) => {
  const { raw, stan } = await serve(t, { store: "memory" });
  const sc = await stan("limited");
  await publishAll(sc, "big", ["small"]);
  const jsm = await jetstreamManager(raw);
  const info = await jsm.streams.info("STAN_big");
  assert.equal(info.config.storage, "memory");
  await jsm.streams.update("STAN_big", { ...info.config, max_msg_size: 16 });
  await assert.rejects(publishAll(sc, "big", ["x".repeat(17)]), /^Error: stan: message size exceeds maximum allowed$/);
  await publishAll(sc, "big", ["fits"]);
  assert.equal((await jsm.streams.info("STAN_big")).state.messages, 2);
});

test("clients and subscriptions are kept across a restart; under another cluster id they are dropped with their consumers", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "cuebus-stan-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const first = await startServer({ port: 0, jetstream: { storeDir: dir } });
  const raw = await connect({ servers: first.url });
  const cr = await rawConnect(raw, "kept", "_INBOX.kept");
  const sub = (fields: Parameters<typeof encodeSubscriptionRequest>[0]): Promise<{ ackInbox: string; error: string }> =>
    request(raw, cr.subRequests, encodeSubscriptionRequest({ clientID: "kept", subject: "k", inbox: "_INBOX.kd", maxInFlight: 10, ackWaitInSecs: 30, ...fields })).then(decodeSubscriptionResponse);
  const plain = await sub({});
  await sub({ durableName: "dur" });
  await sub({ qGroup: "workers" });
  assert.equal(plain.error, "");
  await raw.close();
  await first.close();

  const again = await startServer({ port: 0, jetstream: { storeDir: dir } });
  assert.equal(again.streaming?.clientCount, 1);
  assert.equal(again.streaming?.subscriptionCount, 3);
  // The same subjects as before the restart: the client's publishes and acks still reach the server.
  assert.equal(again.streaming?.pubPrefix, cr.pubPrefix);
  assert.deepEqual([...(again.jetstream?.streams.get("STAN_k")?.consumers.keys() ?? [])].sort(), ["D:kept:dur", "G:workers", "S:kept:1"]);
  await again.close();

  const other = await startServer({ port: 0, jetstream: { storeDir: dir }, streaming: { clusterId: "another" } });
  t.after(() => other.close());
  assert.equal(other.streaming?.clientCount, 0);
  assert.equal(other.streaming?.subscriptionCount, 0);
  assert.notEqual(other.streaming?.pubPrefix, cr.pubPrefix);
  // The durable is kept for its client to resume; what only served the old subscriptions is gone.
  assert.deepEqual([...(other.jetstream?.streams.get("STAN_k")?.consumers.keys() ?? [])], ["D:kept:dur"]);
});
