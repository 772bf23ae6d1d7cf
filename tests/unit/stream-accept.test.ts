import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, open, rm, type FileHandle } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FileStore } from "../../src/stores/file/file-store.js";
import { MemoryStore } from "../../src/stores/memory/memory-store.js";
import type { StreamStore } from "../../src/stores/types.js";
import { Stream } from "../../src/jetstream/stream.js";
import { normalizeStreamConfig, type StreamConfig } from "../../src/jetstream/stream-config.js";
import type { JsApiError } from "../../src/jetstream/errors.js";

interface Ack {
  reply: string;
  seq: number;
  duplicate: boolean;
  error: JsApiError | null;
  /** The store's durable sequence when the ack was sent. */
  durable: number;
}

function streamOn(store: StreamStore): { stream: Stream; acks: Ack[]; woken: number[] } {
  const config = normalizeStreamConfig({ name: "S", subjects: ["s.>"] }) as StreamConfig;
  const stream = new Stream(config, store, new Date());
  const acks: Ack[] = [];
  stream.setAckSink((reply, seq, duplicate, error) => acks.push({ reply, seq, duplicate, error, durable: store.durableSequence() }));
  const woken: number[] = [];
  stream.onAppend((seq) => woken.push(seq));
  return { stream, acks, woken };
}

const msgId = (id: string): Buffer => Buffer.from(`NATS/1.0\r\nNats-Msg-Id: ${id}\r\n\r\n`);

/** A file store in a temp dir removed after the test. */
async function freshFileStore(t: TestContext): Promise<{ dir: string; store: FileStore }> {
  const dir = await mkdtemp(join(tmpdir(), "cuebus-accept-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return { dir, store: await FileStore.open({ dir }) };
}

async function until(cond: () => boolean): Promise<void> {
  const end = Date.now() + 5000;
  while (!cond()) {
    if (Date.now() > end) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 2));
  }
}

test("accept on a file store: every ack is sent once, after its message is durable, in order", async (t) => {
  const { dir, store } = await freshFileStore(t);
  const { stream, acks, woken } = streamOn(store);
  const n = 300; // past one eager batch with 1 KiB payloads
  for (let i = 0; i < n; i++) stream.accept(`s.${i % 4}`, `r.${i}`, msgId(`m${i}`), Buffer.alloc(1024, i));
  assert.equal(acks.length, 0, "nothing is acknowledged before its batch is synced");
  await until(() => acks.length === n);
  assert.deepEqual(
    acks.map((a) => [a.reply, a.seq, a.duplicate, a.error]),
    Array.from({ length: n }, (_, i) => [`r.${i}`, i + 1, false, null]),
  );
  for (const a of acks) assert.ok(a.durable >= a.seq, `ack for ${a.seq} sent when durable through ${a.durable}`);
  assert.equal(Math.max(...woken), n, "consumers are woken up to the last durable sequence");
  assert.equal(stream.durableSeq, n);
  // A retry of a stored id is a duplicate, acked at once with the first sequence.
  stream.accept("s.0", "r.dup", msgId("m7"), Buffer.from("again"));
  assert.deepEqual(acks.at(-1), { reply: "r.dup", seq: 8, duplicate: true, error: null, durable: n });
  await store.close();
  const reopened = await FileStore.open({ dir });
  assert.equal(reopened.state().messages, n);
  await reopened.close();
});

test("accept on a file store: a duplicate of a message still in flight is acknowledged no sooner than the original", async (t) => {
  const { store } = await freshFileStore(t);
  const { stream, acks } = streamOn(store);
  stream.accept("s.a", "r.first", msgId("once"), Buffer.from("1"));
  stream.accept("s.a", "r.retry", msgId("once"), Buffer.from("1"));
  assert.equal(acks.length, 0, "neither is acknowledged before the original is synced");
  await until(() => acks.length === 2);
  assert.deepEqual(
    acks.map((a) => [a.reply, a.seq, a.duplicate, a.error]),
    [
      ["r.first", 1, false, null],
      ["r.retry", 1, true, null],
    ],
  );
  for (const a of acks) assert.ok(a.durable >= 1);
  // The general path (a rollup header) waits the same way.
  const rollup = Buffer.from("NATS/1.0\r\nNats-Msg-Id: twice\r\nNats-Rollup: sub\r\n\r\n");
  stream.config.allow_rollup_hdrs = true;
  stream.accept("s.b", "r.b1", msgId("twice"), Buffer.from("2"));
  stream.accept("s.b", "r.b2", rollup, Buffer.from("2"));
  await until(() => acks.length === 4);
  const retry = acks.find((a) => a.reply === "r.b2");
  assert.ok(retry !== undefined && retry.duplicate && retry.seq === 2 && retry.durable >= 2);
  await store.close();
});

test("accept on a file store: a failed batch answers each of its publishes with an error, never a sequence", async (t) => {
  const { dir, store } = await freshFileStore(t);
  const { stream, acks } = streamOn(store);
  stream.accept("s.a", "r.ok", null, Buffer.from("1"));
  await until(() => acks.length === 1);
  // Take the segment directory away and force a new segment: the next write fails.
  await rm(dir, { recursive: true, force: true });
  const forced = (store as unknown as { writer: { fh: { close(): Promise<void> } | null } }).writer;
  await forced.fh?.close();
  forced.fh = null;
  for (let i = 0; i < 5; i++) stream.accept("s.a", `r.${i}`, null, Buffer.from("x"));
  await until(() => acks.length === 6);
  for (const a of acks.slice(1)) {
    assert.equal(a.seq, 0);
    assert.equal(a.error?.err_code, 10077, "StreamStoreFailed");
  }
  // Later publishes fail at once with the error while the store cannot write (its directory is
  // gone, so even cutting the segment back fails, and is retried with backoff).
  stream.accept("s.a", "r.later", null, Buffer.from("y"));
  assert.equal(acks.at(-1)?.reply, "r.later");
  assert.equal(acks.at(-1)?.error?.err_code, 10077);
});

test("accept on a memory store acknowledges at once", () => {
  const { stream, acks, woken } = streamOn(new MemoryStore());
  stream.accept("s.a", "r.1", null, Buffer.from("1"));
  stream.accept("s.a", "", null, Buffer.from("no reply"));
  assert.deepEqual(
    acks.map((a) => [a.reply, a.seq]),
    [["r.1", 1]],
  );
  assert.deepEqual(woken, [1, 2]);
});

test("accept on a file store: a rollup whose purge the disk refuses still acknowledges the stored message (as nats-server) and changes nothing else", async (t) => {
  const { dir, store } = await freshFileStore(t);
  const { stream, acks } = streamOn(store);
  stream.config.allow_rollup_hdrs = true;
  stream.accept("s.k", "r.1", null, Buffer.from("v1"));
  stream.accept("s.k", "r.2", null, Buffer.from("v2"));
  await until(() => acks.length === 2);
  // The rollup's message is written; the write of its purge (the next one) finds the disk full.
  const probe = await open(join(dir, "probe"), "w");
  type Writev = (this: FileHandle, bufs: Buffer[], pos?: number) => Promise<{ bytesWritten: number; buffers: Buffer[] }>;
  const proto = Object.getPrototypeOf(probe) as { writev: Writev };
  await probe.close();
  const writev = proto.writev;
  let writes = 0;
  proto.writev = function (this: FileHandle, bufs: Buffer[], pos?: number) {
    if (typeof pos === "number" && ++writes === 2) return Promise.reject(Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" }));
    return writev.call(this, bufs, pos);
  };
  t.after(() => {
    proto.writev = writev;
  });
  stream.accept("s.k", "r.3", Buffer.from("NATS/1.0\r\nNats-Rollup: sub\r\n\r\n"), Buffer.from("v3"));
  await until(() => acks.length === 3);
  assert.deepEqual([acks[2]?.reply, acks[2]?.seq, acks[2]?.error], ["r.3", 3, null]);
  assert.equal(writes, 2, "the purge was tried");
  assert.deepEqual([store.state().messages, store.state().lastSeq], [3, 3], "the purge changed nothing");
  assert.match(store.writeState().error ?? "", /ENOSPC/);
  await store.close();
});
