/**
 * A file stream long enough that its index is paged (more chunks than RESIDENT_PAGES_MAX), read
 * through the official clients before and after a restart: stream info, direct and API gets of old
 * messages, last by subject, a filtered consumer from the start, purge by subject, and a KV bucket
 * whose keys span many chunks (packed subject counts).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import { CHUNK_MSGS } from "../../src/stores/index/chunk.js";
import { RESIDENT_PAGES_MAX } from "../../src/stores/file/index-pages.js";
import { startServer } from "../../src/index.js";

const N = CHUNK_MSGS * (RESIDENT_PAGES_MAX + 6);
const KEYS = CHUNK_MSGS * 3;

/** Publish `n` messages `subject(i)` -> `m<i>` with a window of acks in flight. */
async function publishMany(nc: NatsConnection, n: number, subject: (i: number) => string): Promise<void> {
  const js = jetstream(nc);
  const window: Array<Promise<unknown>> = [];
  for (let i = 1; i <= n; i++) {
    window.push(js.publish(subject(i), `m${i}`));
    if (window.length >= 512) await Promise.all(window.splice(0));
  }
  await Promise.all(window);
}

test("a file stream whose index is paged answers the same through the clients, before and after a restart", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "cuebus-paged-"));
  let server = await startServer({ port: 0, jetstream: { storeDir: dir } });
  t.after(async () => {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });
  let nc = await connect({ servers: server.url });
  let jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: "P", subjects: ["p.>"], allow_direct: true });
  const subject = (i: number): string => (i % 10 === 0 ? `p.ten.${i % 3}` : "p.one");
  await publishMany(nc, N, subject);
  const kv = await new Kvm(nc).create("big", { history: 1 });
  for (let k = 0; k < KEYS; k += 512) await Promise.all(Array.from({ length: 512 }, (_, j) => kv.put(`k${k + j}`, `v${k + j}`)));
  await kv.put("k7", "again");
  await jsm.streams.purge("P", { filter: "p.ten.2" });

  const check = async (when: string): Promise<void> => {
    const si = await jsm.streams.info("P");
    const count = (f: (i: number) => boolean): number => Array.from({ length: N }, (_, i) => i + 1).filter(f).length;
    assert.equal(si.state.messages, N - count((i) => subject(i) === "p.ten.2"), `${when}: messages`);
    assert.equal(si.state.last_seq, N, when);
    for (const seq of [1, 4097, 77_777, N - 3]) {
      const want = subject(seq) === "p.ten.2" ? null : `m${seq}`;
      const got = await jsm.direct.getMessage("P", { seq }).catch(() => null);
      assert.equal(got?.string() ?? null, want, `${when}: direct get ${seq}`);
      assert.equal((await jsm.streams.getMessage("P", { seq }).catch(() => null))?.string() ?? null, want, `${when}: get ${seq}`);
    }
    let last = N;
    while (subject(last) !== "p.ten.1") last--;
    assert.equal((await jsm.streams.getMessage("P", { last_by_subj: "p.ten.1" }))?.seq, last, `${when}: last of p.ten.1`);
    // A consumer of one sparse subject from the start: every one of them, in order, and num_pending right.
    const ci = await jsm.consumers.add("P", { filter_subject: "p.ten.0", ack_policy: AckPolicy.None, deliver_policy: DeliverPolicy.All });
    assert.equal(ci.num_pending, count((i) => subject(i) === "p.ten.0"), `${when}: num_pending`);
    const c = await jetstream(nc).consumers.get("P", ci.name);
    const seqs: number[] = [];
    while (seqs.length < ci.num_pending) for await (const m of await c.fetch({ max_messages: 500, expires: 2000 })) seqs.push(m.seq);
    assert.deepEqual(seqs, Array.from({ length: ci.num_pending }, (_, i) => 30 * (i + 1)), `${when}: p.ten.0 in order`);
    await jsm.consumers.delete("P", ci.name);
    const bucket = await new Kvm(nc).open("big");
    assert.equal((await bucket.get("k7"))?.string(), "again", `${when}: kv k7`);
    assert.equal((await bucket.get(`k${KEYS - 1}`))?.string(), `v${KEYS - 1}`, `${when}: kv last key`);
    assert.equal((await bucket.status()).values, KEYS, `${when}: kv values`);
  };
  await check("before the restart");
  await nc.close();
  await server.close();
  const files = await readdir(join(dir, "jetstream", "P", "msgs")).catch(async () => readdir(join(dir, "jetstream", "P")));
  assert.ok(files.some((f) => f.endsWith(".idx")), `page files: ${files.join(" ")}`);
  server = await startServer({ port: 0, jetstream: { storeDir: dir } });
  nc = await connect({ servers: server.url });
  t.after(() => nc.close());
  jsm = await jetstreamManager(nc);
  await check("after the restart");
});
