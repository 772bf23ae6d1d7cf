import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect } from "@nats-io/transport-node";
import { headers as natsHeaders } from "@nats-io/nats-core";
import { DiscardPolicy, jetstream, jetstreamManager, JetStreamApiError } from "@nats-io/jetstream";
import { startServer } from "../../src/index.js";

async function setup(t: test.TestContext): Promise<{ url: string; dir: string; restart: () => Promise<string> }> {
  const dir = await mkdtemp(join(tmpdir(), "cuebus-js-"));
  let server = await startServer({ port: 0, jetstream: { storeDir: dir } });
  t.after(async () => {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });
  return {
    url: server.url,
    dir,
    restart: async () => {
      await server.close();
      server = await startServer({ port: 0, jetstream: { storeDir: dir } });
      return server.url;
    },
  };
}

test("official jetstream client: stream management, publish acks, dedup, expectations", async (t) => {
  const { url } = await setup(t);
  const nc = await connect({ servers: url });
  t.after(() => nc.close());
  const jsm = await jetstreamManager(nc);
  const si = await jsm.streams.add({ name: "ORDERS", subjects: ["orders.>"] });
  assert.equal(si.config.name, "ORDERS");
  assert.equal(si.config.retention, "limits");
  assert.equal(si.state.messages, 0);

  const js = jetstream(nc);
  const a1 = await js.publish("orders.new", "one");
  assert.deepEqual([a1.stream, a1.seq, a1.duplicate], ["ORDERS", 1, false]);
  const a2 = await js.publish("orders.new", "two", { msgID: "id-2" });
  const dup = await js.publish("orders.new", "two again", { msgID: "id-2" });
  assert.equal(dup.duplicate, true);
  assert.equal(dup.seq, a2.seq);
  await assert.rejects(js.publish("orders.new", "x", { expect: { lastSequence: 1 } }), /wrong last sequence: 2/);
  await assert.rejects(js.publish("orders.new", "x", { expect: { streamName: "OTHER" } }), /expected stream does not match/);
  await assert.rejects(js.publish("orders.new", "x", { expect: { lastMsgID: "nope" } }), /wrong last msg ID: id-2/);
  const ok = await js.publish("orders.paid", "three", { expect: { lastSequence: 2, lastMsgID: "id-2" } });
  assert.equal(ok.seq, 3);
  await assert.rejects(js.publish("orders.paid", "x", { expect: { lastSubjectSequence: 1 } }), /wrong last sequence: 3/);

  const info = await jsm.streams.info("ORDERS");
  assert.equal(info.state.messages, 3);
  assert.equal(info.state.last_seq, 3);
  assert.deepEqual(await jsm.streams.names().next(), ["ORDERS"]);

  const m = await jsm.streams.getMessage("ORDERS", { seq: 2 });
  assert.equal(m?.string(), "two");
  const last = await jsm.streams.getMessage("ORDERS", { last_by_subj: "orders.new" });
  assert.equal(last?.seq, 2);
  assert.equal(await jsm.streams.deleteMessage("ORDERS", 1), true);
  const purged = await jsm.streams.purge("ORDERS", { filter: "orders.paid" });
  assert.equal(purged.purged, 1);

  await assert.rejects(jsm.streams.add({ name: "OVERLAP", subjects: ["orders.new"] }), (e: unknown) => e instanceof JetStreamApiError && e.code === 10065);
  await assert.rejects(jsm.streams.info("NOPE"), (e: unknown) => e instanceof Error && /stream not found/.test(e.message));
  const up = await jsm.streams.update("ORDERS", { max_msgs: 10 });
  assert.equal(up.config.max_msgs, 10);
  assert.equal(await jsm.streams.delete("ORDERS"), true);
});

test("jetstream: max_msg_size, discard new, sealed, deny_delete/deny_purge, rollup", async (t) => {
  const { url } = await setup(t);
  const nc = await connect({ servers: url });
  t.after(() => nc.close());
  const jsm = await jetstreamManager(nc);
  const js = jetstream(nc);
  await jsm.streams.add({ name: "SMALL", subjects: ["small"], max_msg_size: 8, max_msgs: 1, discard: DiscardPolicy.New });
  await assert.rejects(js.publish("small", "0123456789"), /message size exceeds maximum allowed/);
  await js.publish("small", "1");
  await assert.rejects(js.publish("small", "2"), /maximum messages exceeded/);
  // nats-server refuses roll-ups on a stream that denies purges ("roll-ups require the purge permission").
  await assert.rejects(jsm.streams.add({ name: "LOCKED", subjects: ["locked"], deny_purge: true, allow_rollup_hdrs: true }), /roll-ups require the purge permission/);
  await jsm.streams.add({ name: "LOCKED", subjects: ["locked"], deny_delete: true, deny_purge: true });
  await js.publish("locked", "a");
  await assert.rejects(jsm.streams.deleteMessage("LOCKED", 1), /message delete not permitted/);
  await assert.rejects(jsm.streams.purge("LOCKED"), /stream purge not permitted/);
  await jsm.streams.add({ name: "ROLL", subjects: ["roll"], deny_delete: true, allow_rollup_hdrs: true });
  await js.publish("roll", "a");
  const h = natsHeaders();
  h.set("Nats-Rollup", "sub");
  await js.publish("roll", "b", { headers: h });
  assert.equal((await jsm.streams.info("ROLL")).state.messages, 1);
  // The client types leave `sealed` out of updates, but the API takes it.
  const sealed = await jsm.streams.update("LOCKED", { sealed: true } as Parameters<typeof jsm.streams.update>[1]);
  assert.equal(sealed.config.sealed, true);
  await assert.rejects(js.publish("locked", "c"), /invalid operation on sealed stream/);
});

test("jetstream: file streams and their messages survive a restart", async (t) => {
  const { url, restart } = await setup(t);
  let nc = await connect({ servers: url });
  const js = jetstream(nc);
  await (await jetstreamManager(nc)).streams.add({ name: "KEEP", subjects: ["keep.*"] });
  for (let i = 1; i <= 20; i++) await js.publish(`keep.${i % 3}`, `m${i}`, i % 5 === 0 ? { msgID: `id-${i}` } : undefined);
  await nc.close();
  nc = await connect({ servers: await restart() });
  t.after(() => nc.close());
  const jsm = await jetstreamManager(nc);
  const info = await jsm.streams.info("KEEP");
  assert.equal(info.state.messages, 20);
  assert.equal((await jsm.streams.getMessage("KEEP", { seq: 20 }))?.string(), "m20");
  const js2 = jetstream(nc);
  assert.equal((await js2.publish("keep.1", "m21")).seq, 21);
  // The dedup window is read back when a publish first needs it (as on nats-server): a retry of a
  // message stored before the restart is a duplicate, and publishes sent together keep their order
  // while it is read, ids or not.
  const acks = await Promise.all([
    js2.publish("keep.2", "m22"),
    js2.publish("keep.2", "m20 again", { msgID: "id-20" }),
    js2.publish("keep.2", "m23", { msgID: "id-23" }),
    js2.publish("keep.2", "m24"),
    js2.publish("keep.2", "m25", { expect: { lastMsgID: "id-23" } }),
  ]);
  assert.deepEqual(
    acks.map((a) => [a.seq, a.duplicate]),
    [[22, false], [20, true], [23, false], [24, false], [25, false]],
  );
});

test("a publish to a subject with an empty token is stored by no stream, as on nats-server (the official client sends no pedantic checks)", async (t) => {
  const { url } = await setup(t);
  const nc = await connect({ servers: url });
  t.after(() => nc.close());
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: "HT", subjects: ["ht.>"] });
  for (const subject of ["ht.", "ht..x"]) nc.publish(subject, "lost");
  nc.publish("ht.ok", "kept");
  await nc.flush();
  const si = await jsm.streams.info("HT");
  assert.equal(si.state.messages, 1);
  assert.equal((await jsm.streams.getMessage("HT", { seq: si.state.last_seq }))?.subject, "ht.ok");
  // A request to such a subject finds no responder (503, which this client reports as JetStream
  // not enabled), rather than a stream ack.
  await assert.rejects(jetstream(nc).publish("ht.", "x"), /jetstream is not enabled/);
});

test("a durable consumer updated by name without its durable_name stays durable and is loaded again after a restart (it was not: issue 14's fuzz)", async (t) => {
  const { url, restart } = await setup(t);
  let nc = await connect({ servers: url });
  t.after(() => nc.close());
  const request = async (subject: string, body: unknown): Promise<Record<string, unknown>> => JSON.parse(new TextDecoder().decode((await nc.request(subject, JSON.stringify(body))).data)) as Record<string, unknown>;
  await jetstreamManager(nc).then((jsm) => jsm.streams.add({ name: "S", subjects: ["s.>"] }));
  await request("$JS.API.CONSUMER.DURABLE.CREATE.S.C", { stream_name: "S", config: { durable_name: "C", ack_policy: "explicit" } });
  const updated = await request("$JS.API.CONSUMER.CREATE.S.C", { stream_name: "S", config: { name: "C", ack_policy: "explicit", max_ack_pending: 7 } });
  assert.equal(updated["error"], undefined, JSON.stringify(updated));
  const cfg = updated["config"] as Record<string, unknown>;
  assert.equal(cfg["max_ack_pending"], 7);
  assert.equal(cfg["inactive_threshold"], undefined, "not turned into an ephemeral that goes after 5 s idle");
  await nc.close();
  nc = await connect({ servers: await restart() });
  const info = await jetstreamManager(nc).then((jsm) => jsm.consumers.info("S", "C"));
  assert.equal(info.config.max_ack_pending, 7);
});
