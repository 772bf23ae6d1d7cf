/**
 * The consumer-state contract of the stores (src/stores/catalog-types.ts): a consumer's state is
 * written behind its acknowledgements, whole, within CONSUMER_STATE_FLUSH_MS of a change, and is
 * never ahead of them. Each state written is what a crash right after that write would leave, so
 * checking every write the server makes checks a crash between any two of them. The server runs
 * on a file backend wrapped to record each state write and when it was made.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { connect } from "@nats-io/transport-node";
import { jetstream, jetstreamManager, AckPolicy, type JsMsg } from "@nats-io/jetstream";
import { startServer } from "../../src/index.js";
import { CONSUMER_STATE_FLUSH_MS } from "../../src/jetstream/consumer-state-writer.js";
import type { BackendOptions, ConsumerState, StoreBackend } from "../../src/stores/catalog-types.js";
import { FileBackend } from "../../src/stores/file/file-backend.js";
import { MemoryBackend } from "../../src/stores/memory/memory-backend.js";
import { ackedBy, withStateWrites } from "../helpers/consumer-state.js";
import { waitFor } from "../helpers/wait.js";

interface StateWrite {
  atMs: number;
  state: ConsumerState;
}

/** `inner`, with every consumer state write recorded (time and a copy of the state) before it is made. */
function recording(inner: StoreBackend, writes: StateWrite[]): StoreBackend {
  return withStateWrites(inner, (state, next) => {
    writes.push({ atMs: performance.now(), state: structuredClone(state) });
    return next(state);
  });
}

test("consumer state is written within its flush bound after acks and never runs ahead of them; a restart finds the last", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "cuebus-cstate-"));
  // Closed in this order at the end (node:test runs after hooks in the order they were added).
  const closers: Array<() => Promise<void>> = [];
  t.after(async () => {
    for (const close of closers) await close();
    await rm(dir, { recursive: true, force: true });
  });
  const warnings: string[] = [];
  const opts: BackendOptions = { storeDir: dir, sync: "always", syncIntervalMs: undefined, observeSync: () => {}, warn: (l) => warnings.push(l) };
  const writes: StateWrite[] = [];
  const server = await startServer({ port: 0, jetstream: { storeDir: dir, backends: { file: recording(new FileBackend(opts), writes), memory: new MemoryBackend() } }, logger: { warn: (l) => warnings.push(l) } });
  let closed = false;
  closers.push(() => (closed ? Promise.resolve() : server.close()));
  const nc = await connect({ servers: server.url });
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: "S", subjects: ["s"] });
  await jsm.consumers.add("S", { durable_name: "C", ack_policy: AckPolicy.Explicit, ack_wait: 60_000_000_000 });
  const js = jetstream(nc);
  const N = 30;
  for (let i = 0; i < N; i++) await js.publish("s", `m${i}`);
  const c = await js.consumers.get("S", "C");
  const msgs: JsMsg[] = [];
  const iter = await c.fetch({ max_messages: N, expires: 5000 });
  for await (const m of iter) msgs.push(m);
  assert.equal(msgs.length, N);

  // Acknowledge out of order (odd sequences, then even), each confirmed by the server; most one at
  // a time, waiting for its state to be written, so that there are many writes to check.
  const sentAtMs = new Map<number, number>();
  const confirmedAtMs = new Map<number, number>();
  for (const m of [...msgs.filter((m) => m.seq % 2 === 1), ...msgs.filter((m) => m.seq % 2 === 0)]) {
    sentAtMs.set(m.seq, performance.now());
    assert.equal(await m.ackAck(), true);
    confirmedAtMs.set(m.seq, performance.now());
    if (m.seq % 3 !== 0) await waitFor(() => writes.some((w) => ackedBy(w.state).includes(m.seq)), 5000, `the ack of ${m.seq} written`);
  }
  await waitFor(() => writes.some((w) => w.state.ack_floor.stream_seq === N && w.state.pending.length === 0), 5000, "a state with every ack");

  // Never ahead: everything a written state counts as acknowledged had been sent before the write.
  for (const w of writes) for (const seq of ackedBy(w.state)) assert.ok((sentAtMs.get(seq) ?? Infinity) < w.atMs, `state written at ${w.atMs} counts ${seq} acknowledged before its ack was sent`);
  assert.ok(
    writes.every((w) => w.state.ack_floor.stream_seq <= w.state.delivered.stream_seq),
    "the floor is never past what was delivered",
  );
  // Within the bound: after each confirmed ack, a state counting it is written within the flush
  // interval (plus the time of a write, under the load of a shared machine).
  const SLACK_MS = 1000;
  let worstMs = 0;
  for (const [seq, at] of confirmedAtMs) {
    const first = writes.find((w) => ackedBy(w.state).includes(seq));
    assert.ok(first !== undefined, `ack of ${seq} written`);
    worstMs = Math.max(worstMs, first.atMs - at);
  }
  assert.ok(worstMs <= CONSUMER_STATE_FLUSH_MS + SLACK_MS, `an ack waited ${worstMs.toFixed(1)} ms to be written`);
  t.diagnostic(`${writes.length} state writes for ${N} deliveries and ${N} acks; longest from an ack's confirmation to its write: ${worstMs.toFixed(1)} ms (bound ${CONSUMER_STATE_FLUSH_MS} ms)`);

  await nc.close();
  await server.close();
  closed = true;
  // A restart on the same directory finds the consumer where the last write left it.
  const again = await startServer({ port: 0, jetstream: { storeDir: dir }, logger: { warn: (l) => warnings.push(l) } });
  const nc2 = await connect({ servers: again.url });
  closers.push(
    () => nc2.close(),
    () => again.close(),
  );
  const info = await (await jetstreamManager(nc2)).consumers.info("S", "C");
  assert.deepEqual([info.ack_floor.stream_seq, info.delivered.stream_seq, info.num_ack_pending], [N, N, 0]);
  assert.deepEqual(warnings, []);
});
