import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect } from "@nats-io/transport-node";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import { startServer } from "../../src/index.js";

/*
 * What the official clients read of issue 15's STREAM.INFO details and RePublish, through their own
 * calls (the JSON itself is compared with nats-server in jsapi-compare.test.ts).
 */
test("official clients: stream info with subjects_filter and deleted_details, a KV bucket with RePublish", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "cuebus-jsdetails-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const server = await startServer({ port: 0, host: "127.0.0.1", jetstream: { storeDir: dir } });
  t.after(() => server.close());
  const nc = await connect({ port: server.port });
  t.after(() => nc.close());

  const jsm = await jetstreamManager(nc);
  const js = jetstream(nc);
  await jsm.streams.add({ name: "S", subjects: ["s.>"] });
  for (const s of ["s.a", "s.b", "s.a", "s.c", "s.a"]) await js.publish(s, "x");
  await jsm.streams.deleteMessage("S", 2);
  await jsm.streams.deleteMessage("S", 4);
  const si = await jsm.streams.info("S", { subjects_filter: ">", deleted_details: true });
  assert.deepEqual(si.state.subjects, { "s.a": 3 });
  assert.deepEqual(si.state.deleted, [2, 4]);
  assert.equal(si.state.num_deleted, 2);
  const plain = await jsm.streams.info("S");
  assert.equal(plain.state.subjects, undefined);
  assert.equal(plain.state.deleted, undefined);

  // nats.c's test_KeyValueRePublish, with @nats-io/kv: a bucket made with RePublish republishes puts.
  const kv = await new Kvm(nc).create("RPB", { republish: { src: ">", dest: "bar.>" } });
  const info = await jsm.streams.info("KV_RPB");
  assert.deepEqual(info.config.republish, { src: ">", dest: "bar.>" });
  const sub = nc.subscribe("bar.>", { max: 1 });
  await kv.put("foo", "value");
  for await (const m of sub) {
    assert.equal(m.subject, "bar.$KV.RPB.foo");
    assert.equal(m.string(), "value");
    assert.equal(m.headers?.get("Nats-Subject"), "$KV.RPB.foo");
    assert.equal(m.headers?.get("Nats-Stream"), "KV_RPB");
  }
  // Changing it is refused, as nats-server refuses it.
  await assert.rejects(jsm.streams.update("KV_RPB", { ...info.config, republish: { src: ">", dest: "baz.>" } }), /can not change RePublish/);
});
