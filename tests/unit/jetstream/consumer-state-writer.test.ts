/**
 * ConsumerStateWriter on a manual clock: a durable consumer's stored state follows its
 * acknowledgements within CONSUMER_STATE_FLUSH_MS (not a millisecond later, not ahead of them), and
 * a state write that failed is tried again CONSUMER_STATE_RETRY_MS later, without sleeping. The
 * consumer is a real one on a real stream, fed pull requests and acks over a real router; its state
 * is stored in the memory backend, whose consumer store is wrapped to record each write and to
 * refuse writes while told to (a full disk).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Consumer, type ConsumerHooks } from "../../../src/jetstream/consumer.js";
import { normalizeConsumerConfig } from "../../../src/jetstream/consumer-config.js";
import { CONSUMER_STATE_FLUSH_MS, CONSUMER_STATE_RETRY_MS, ConsumerStateWriter } from "../../../src/jetstream/consumer-state-writer.js";
import { Stream, storeLimitsOf } from "../../../src/jetstream/stream.js";
import { normalizeStreamConfig, type StreamConfig } from "../../../src/jetstream/stream-config.js";
import { InternalClient } from "../../../src/server/internal-client.js";
import { Router } from "../../../src/server/router.js";
import type { ConsumerState, StoreBackend } from "../../../src/stores/catalog-types.js";
import { MemoryBackend } from "../../../src/stores/memory/memory-backend.js";
import { ackedBy, withStateWrites } from "../../helpers/consumer-state.js";
import { ManualClock } from "../../helpers/manual-clock.js";

/** Let promises and setImmediate callbacks queued so far run (the delivery loop, a chained write): a turn, not a sleep. */
const turns = async (n = 3): Promise<void> => {
  for (let i = 0; i < n; i++) await new Promise<void>((r) => setImmediate(r));
};

interface StateWrite {
  atMs: number;
  state: ConsumerState;
}

/** The memory backend, with each consumer state write recorded, and refused while `failing.on`. */
function recording(inner: StoreBackend, clock: ManualClock, writes: StateWrite[], failing: { on: boolean }): StoreBackend {
  return withStateWrites(inner, (state, next) => {
    if (failing.on) return Promise.reject(new Error("ENOSPC: no space left on device"));
    writes.push({ atMs: clock.now(), state: structuredClone(state) });
    return next(state);
  });
}

interface Rig {
  clock: ManualClock;
  writer: ConsumerStateWriter;
  backend: MemoryBackend;
  writes: StateWrite[];
  failing: { on: boolean };
  reports: Array<string | null>;
  /** Stream sequence -> ack subject of its last delivery. */
  ackSubjects: Map<number, string>;
  /** Ask for `n` messages (a pull request) and let them be delivered. */
  pull(n: number): Promise<void>;
  /** Acknowledge stream sequence `seq`, remembering when. */
  ack(seq: number): void;
  /** Stream sequences acknowledged so far, with the time of each ack. */
  acked: Map<number, number>;
  /** The state the backend holds for the consumer now. */
  stored(): Promise<ConsumerState>;
  consumer: Consumer;
}

async function setUp(msgs = 5): Promise<Rig> {
  const clock = new ManualClock();
  const writes: StateWrite[] = [];
  const failing = { on: false };
  const reports: Array<string | null> = [];
  const backend = new MemoryBackend();
  const backends = { memory: recording(backend, clock, writes, failing), file: recording(backend, clock, writes, failing) };
  const sc = normalizeStreamConfig({ name: "S", subjects: ["s.>"], storage: "memory" }) as StreamConfig;
  await backends.memory.createStream("S", sc, new Date());
  const store = await backends.memory.openStream("S", storeLimitsOf(sc));
  for (let i = 1; i <= msgs; i++) await store.append(`s.${i}`, null, Buffer.from(`m${i}`));
  const stream = new Stream(sc, store, new Date());
  const bus = new InternalClient(1, new Router(() => {}));
  let consumer: Consumer | null = null;
  const writer = new ConsumerStateWriter(backends, (c) => c === consumer, (_c, err) => reports.push(err === null ? null : err.message), clock);
  const hooks: ConsumerHooks = {
    changed: (c) => writer.changed(c),
    inactive: () => {},
    deadLetter: () => {},
    acked: () => {},
    advisory: () => {},
  };
  const cc = normalizeConsumerConfig({ durable_name: "C", ack_policy: "explicit", ack_wait: 3600 * 1e9 }, sc);
  if ("err_code" in cc) throw new Error(cc.description);
  const c = new Consumer(stream, cc, "C", new Date(), bus, hooks, null, clock);
  consumer = c;
  await c.selectStart();
  await writer.create(c);
  c.start();
  const ackSubjects = new Map<number, string>();
  bus.subscribe("inbox", "", (_s, reply) => {
    ackSubjects.set(Number(reply.split(".")[5]), reply);
  });
  const acked = new Map<number, number>();
  return {
    clock,
    writer,
    backend,
    writes,
    failing,
    reports,
    ackSubjects,
    acked,
    consumer: c,
    async pull(n) {
      bus.publish("$JS.API.CONSUMER.MSG.NEXT.S.C", "inbox", null, Buffer.from(String(n)));
      await turns();
    },
    ack(seq) {
      const subject = ackSubjects.get(seq);
      assert.ok(subject !== undefined, `sequence ${seq} was delivered`);
      bus.publish(subject, "", null, Buffer.from("+ACK"));
      acked.set(seq, clock.now());
    },
    async stored() {
      const list = await backend.consumers("S");
      const entry = list.entries.find((e) => e.name === "C");
      assert.ok(entry?.state !== null && entry?.state !== undefined, "the consumer is stored with a state");
      return entry.state;
    },
  };
}

/** Every recorded write counts as acknowledged only what was acknowledged before it was made. */
function assertNeverAhead(r: Rig): void {
  for (const w of r.writes) {
    for (const seq of ackedBy(w.state)) {
      const at = r.acked.get(seq);
      assert.ok(at !== undefined && at <= w.atMs, `the state written at ${w.atMs} counts ${seq} as acknowledged, acknowledged ${at === undefined ? "never" : `at ${at}`}`);
    }
  }
}

test("consumer state: an ack reaches the store CONSUMER_STATE_FLUSH_MS after it, not a millisecond sooner or later, and one write carries every change meanwhile", async () => {
  const r = await setUp();
  await r.pull(3);
  assert.equal(r.ackSubjects.size, 3, "three messages delivered");
  // The deliveries themselves are written FLUSH_MS after them.
  r.clock.advance(CONSUMER_STATE_FLUSH_MS);
  await turns();
  let s = await r.stored();
  assert.deepEqual(s.delivered, { consumer_seq: 3, stream_seq: 3 });
  assert.deepEqual(ackedBy(s), []);
  const before = r.writes.length;

  r.ack(1);
  r.clock.advance(CONSUMER_STATE_FLUSH_MS / 2);
  r.ack(2);
  r.clock.advance(CONSUMER_STATE_FLUSH_MS / 2 - 1);
  await turns();
  s = await r.stored();
  assert.deepEqual(ackedBy(s), [], "1 ms before the bound the store may still lag both acks");
  assert.equal(r.writes.length, before);
  r.clock.advance(1);
  await turns();
  s = await r.stored();
  assert.deepEqual(ackedBy(s), [1, 2], "at the bound after the first ack, both are stored");
  assert.deepEqual(s.ack_floor, { consumer_seq: 2, stream_seq: 2 });
  assert.equal(r.writes.length, before + 1, "one write for both acks");
  r.clock.advance(10 * CONSUMER_STATE_RETRY_MS);
  await turns();
  assert.equal(r.writes.length, before + 1, "nothing changed since: nothing more is written");
  assertNeverAhead(r);
  await r.writer.close();
  r.consumer.stop(false);
});

test("consumer state: never ahead of the acks: each write holds exactly the acks given before it, whatever order they come in", async () => {
  const r = await setUp(6);
  await r.pull(6);
  assert.equal(r.ackSubjects.size, 6);
  for (const seq of [4, 1, 6, 2, 5, 3]) {
    r.ack(seq);
    r.clock.advance(CONSUMER_STATE_FLUSH_MS);
    await turns();
    const s = await r.stored();
    assert.deepEqual(ackedBy(s), [...r.acked.keys()].sort((a, b) => a - b), `after acking ${seq}`);
  }
  assertNeverAhead(r);
  const s = await r.stored();
  assert.deepEqual(s.ack_floor, { consumer_seq: 6, stream_seq: 6 });
  assert.deepEqual(s.pending, []);
  await r.writer.close();
  r.consumer.stop(false);
});

test("consumer state: a write that failed is reported once, the previous state stays, and it is tried again CONSUMER_STATE_RETRY_MS later", async () => {
  const r = await setUp();
  await r.pull(2);
  r.clock.advance(CONSUMER_STATE_FLUSH_MS);
  await turns();
  const good = await r.stored();
  assert.deepEqual(good.delivered, { consumer_seq: 2, stream_seq: 2 });

  r.failing.on = true;
  r.ack(1);
  r.clock.advance(CONSUMER_STATE_FLUSH_MS);
  await turns();
  assert.equal(r.writer.stateWriteErrors, 1);
  assert.deepEqual(r.reports, ["ENOSPC: no space left on device"]);
  assert.deepEqual(await r.stored(), good, "the previous state stays");

  // Still failing at the retry: counted again, not reported again.
  r.clock.advance(CONSUMER_STATE_RETRY_MS);
  await turns();
  assert.equal(r.writer.stateWriteErrors, 2);
  assert.equal(r.reports.length, 1);

  // The disk has room again: nothing is written before the next retry is due, then the ack is.
  r.failing.on = false;
  r.clock.advance(CONSUMER_STATE_RETRY_MS - 1);
  await turns();
  assert.deepEqual(await r.stored(), good, "not before the retry is due");
  r.clock.advance(1);
  await turns();
  const s = await r.stored();
  assert.deepEqual(ackedBy(s), [1]);
  assert.deepEqual(r.reports, ["ENOSPC: no space left on device", null], "told once that writes succeed again");
  const written = r.writes.length;
  r.clock.advance(10 * CONSUMER_STATE_RETRY_MS);
  await turns();
  assert.equal(r.writes.length, written, "no retry left armed once a write succeeded");
  assertNeverAhead(r);
  await r.writer.close();
  r.consumer.stop(false);
});

test("consumer state: close writes what is pending at once and leaves no timer", async () => {
  const r = await setUp();
  await r.pull(1);
  r.ack(1);
  await r.writer.close();
  const s = await r.stored();
  assert.deepEqual(ackedBy(s), [1], "written without the clock moving");
  r.consumer.stop(false);
  assert.equal(r.clock.pendingTimers, 0, "neither the writer nor the consumer left a timer");
});
