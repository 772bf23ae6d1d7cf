import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect } from "@nats-io/transport-node";
import { Kvm, type KvEntry } from "@nats-io/kv";
import { startServer } from "../../src/index.js";

test("official kv client: put, get, create, update, delete, purge, history, keys, watch", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "cuebus-kv-"));
  const server = await startServer({ port: 0, jetstream: { storeDir: dir } });
  const nc = await connect({ servers: server.url });
  t.after(async () => {
    await nc.close();
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });
  const kvm = new Kvm(nc);
  const kv = await kvm.create("config", { history: 5 });
  const st = await kv.status();
  assert.equal(st.bucket, "config");
  assert.equal(st.history, 5);
  assert.equal(st.streamInfo.config.name, "KV_config");
  assert.deepEqual(st.streamInfo.config.subjects, ["$KV.config.>"]);

  const r1 = await kv.put("db.url", "postgres://a");
  assert.equal(r1, 1);
  const e1 = await kv.get("db.url");
  assert.equal(e1?.string(), "postgres://a");
  assert.equal(e1?.revision, 1);
  assert.equal(e1?.operation, "PUT");

  await assert.rejects(kv.create("db.url", "other"), /wrong last sequence|exists/);
  const c1 = await kv.create("db.pool", "10");
  assert.equal(c1, 2);
  await assert.rejects(kv.update("db.pool", "20", 1), /wrong last sequence/);
  const u1 = await kv.update("db.pool", "20", 2);
  assert.equal(u1, 3);
  await kv.put("db.url", "postgres://b");

  const hist: string[] = [];
  for await (const e of await kv.history({ key: "db.url" })) hist.push(`${e.revision}:${e.string()}`);
  assert.deepEqual(hist, ["1:postgres://a", "4:postgres://b"]);

  await kv.delete("db.pool");
  assert.equal((await kv.get("db.pool"))?.operation, "DEL");
  const keys: string[] = [];
  for await (const k of await kv.keys()) keys.push(k);
  assert.deepEqual(keys.sort(), ["db.url"]);

  // create succeeds on a deleted key
  assert.equal(await kv.create("db.pool", "30"), 6);

  await kv.purge("db.url");
  assert.equal((await kv.get("db.url"))?.operation, "PURGE");
  const hist2: string[] = [];
  for await (const e of await kv.history({ key: "db.url" })) hist2.push(e.operation);
  assert.deepEqual(hist2, ["PURGE"], "purge leaves only its marker");

  // watch: the current value of each key in revision order (db.pool 6, db.url 7), then live updates
  const seen: KvEntry[] = [];
  const w = await kv.watch({ key: "db.>" });
  const done = (async () => {
    for await (const e of w) {
      seen.push(e);
      if (e.key === "db.new" && e.string() === "live") break;
    }
  })();
  await new Promise((r) => setTimeout(r, 200));
  await kv.put("db.new", "live");
  await done;
  assert.deepEqual(
    seen.map((e) => `${e.key}:${e.operation}`),
    ["db.pool:PUT", "db.url:PURGE", "db.new:PUT"],
  );

  // db.pool keeps revisions 2, 3, 5 (delete) and 6; db.url its purge marker; db.new one value.
  const after = await kv.status();
  assert.equal(after.values, 6);
  await kvm.create("other");
  const names: string[] = [];
  for await (const s of kvm.list()) names.push(s.bucket);
  assert.deepEqual(names.sort(), ["config", "other"]);
});
