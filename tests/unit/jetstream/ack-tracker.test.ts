/**
 * The acknowledgement state of a consumer (AckTracker) on a manual clock: ack waits, -NAK with and
 * without a delay, +WPI, backoff steps, max_deliver and +TERM, ack floors, and a restored state,
 * each checked at the millisecond it must change, without sleeping. The stream is a real one over
 * a MemoryStore; the host records what the tracker asks of its consumer.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { AckTracker, type AckHost } from "../../../src/jetstream/ack-tracker.js";
import { normalizeConsumerConfig, type ConsumerConfig } from "../../../src/jetstream/consumer-config.js";
import type { DeadLetterReason } from "../../../src/jetstream/dead-letter.js";
import { Stream } from "../../../src/jetstream/stream.js";
import { normalizeStreamConfig, type StreamConfig } from "../../../src/jetstream/stream-config.js";
import { MemoryStore } from "../../../src/stores/memory/memory-store.js";
import type { StoredMsg } from "../../../src/stores/types.js";
import { ManualClock } from "../../helpers/manual-clock.js";

const SEC_NS = 1_000_000_000;

interface Recorded {
  kicks: number;
  changed: number;
  acked: number[];
  deadLetters: Array<{ seq: number; deliveries: number; reason: DeadLetterReason }>;
  advisories: Array<{ type: string; fields: Record<string, unknown> }>;
}

/** A tracker for a consumer with `consumer` config on a stream (`stream` config) holding `msgs` messages. */
async function setUp(consumer: Record<string, unknown>, stream: Record<string, unknown> = {}, msgs = 5): Promise<{ acks: AckTracker; clock: ManualClock; rec: Recorded; sc: StreamConfig; config: { current: ConsumerConfig } }> {
  const sc = normalizeStreamConfig({ name: "S", subjects: ["s.>"], ...stream }) as StreamConfig;
  const store = new MemoryStore();
  for (let i = 1; i <= msgs; i++) await store.append(`s.${i}`, null, Buffer.from(`m${i}`));
  const s = new Stream(sc, store, new Date());
  const cc = normalizeConsumerConfig({ durable_name: "C", ack_policy: "explicit", ...consumer }, sc);
  if ("err_code" in cc) throw new Error(cc.description);
  const config = { current: cc };
  const clock = new ManualClock();
  const rec: Recorded = { kicks: 0, changed: 0, acked: [], deadLetters: [], advisories: [] };
  const host: AckHost = {
    config: () => config.current,
    isClosed: () => false,
    kick: () => rec.kicks++,
    changed: () => rec.changed++,
    acked: (seq) => rec.acked.push(seq),
    deadLetter: (msg: StoredMsg, deliveries, reason) => rec.deadLetters.push({ seq: msg.seq, deliveries, reason }),
    advise: (_prefix, type, fields) => rec.advisories.push({ type, fields }),
    clock,
  };
  return { acks: new AckTracker(s, host), clock, rec, sc, config };
}

/** Take every queued redelivery (as the delivery loop does) and deliver it again at `nowMs`. */
async function redeliverAll(acks: AckTracker, nextDseq: { v: number }, nowMs: number): Promise<Array<[number, number]>> {
  const out: Array<[number, number]> = [];
  for (;;) {
    const n = await acks.nextRedelivery(() => Promise.resolve(null));
    if (n === null) return out;
    out.push([n.msg.seq, n.dc]);
    acks.delivered(n.msg.seq, nextDseq.v++, nowMs);
  }
}

test("ack wait: a delivery not acknowledged is queued for redelivery ack_wait after it went out, not a millisecond before", async () => {
  const { acks, clock, rec } = await setUp({ ack_wait: 2 * SEC_NS });
  acks.delivered(1, 1, clock.now());
  clock.advance(2000);
  assert.equal(acks.queued, 0, "due at ack_wait, queued by the check right after");
  clock.advance(1);
  assert.equal(acks.queued, 1);
  assert.equal(rec.kicks, 1, "the delivery loop is woken");
  const dseq = { v: 2 };
  assert.deepEqual(await redeliverAll(acks, dseq, clock.now()), [[1, 2]], "redelivered once, as delivery 2");
  assert.equal(acks.redeliveredCount, 1);
  // Acknowledged now: nothing more comes back, however long we wait.
  acks.ack(1, 2, 3, 2);
  clock.advance(60_000);
  assert.equal(acks.queued, 0);
  assert.equal(acks.pendingCount, 0);
  assert.equal(acks.redeliveredCount, 0);
});

test("ack floors: explicit acks out of order move the floor only past the lowest pending; ack all moves it at once", async () => {
  const { acks, clock, rec } = await setUp({});
  for (let s = 1; s <= 4; s++) acks.delivered(s, s, clock.now());
  acks.ack(2, 2, 5, 5);
  assert.deepEqual([acks.floorConsumerSeq, acks.floorStreamSeq, acks.pendingCount], [0, 0, 3], "2 acked, 1 still pending");
  acks.ack(1, 1, 5, 5);
  assert.deepEqual([acks.floorConsumerSeq, acks.floorStreamSeq, acks.pendingCount], [2, 2, 2], "floor just below the first pending (3)");
  acks.ack(1, 1, 5, 5);
  assert.equal(rec.changed, 2, "a repeated ack changes nothing");
  acks.ack(4, 4, 5, 5);
  acks.ack(3, 3, 5, 5);
  assert.deepEqual([acks.floorConsumerSeq, acks.floorStreamSeq, acks.pendingCount], [4, 4, 0], "nothing pending: the floor is the last delivery");
  assert.deepEqual(rec.acked, [], "limits retention is not told of acks");

  const all = await setUp({ ack_policy: "all" }, { retention: "interest" });
  for (let s = 1; s <= 4; s++) all.acks.delivered(s, s, all.clock.now());
  all.acks.ack(3, 3, 5, 5);
  assert.deepEqual([all.acks.floorConsumerSeq, all.acks.floorStreamSeq, all.acks.pendingCount], [3, 3, 1]);
  assert.deepEqual(all.rec.acked.sort(), [1, 1, 2, 2, 3, 3], "interest retention hears every sequence covered (pending and by range)");
  all.acks.ack(2, 2, 5, 5);
  assert.equal(all.acks.floorStreamSeq, 3, "an ack below the floor changes nothing");
});

test("-NAK: at once queues a redelivery; with a delay it is due that long after the nak, not after ack_wait", async () => {
  const { acks, clock, rec } = await setUp({ ack_wait: 30 * SEC_NS });
  acks.delivered(1, 1, clock.now());
  acks.delivered(2, 2, clock.now());
  acks.nak(1, 1, 1, "", 3);
  assert.equal(acks.queued, 1);
  assert.equal(rec.kicks, 1);
  assert.deepEqual(
    rec.advisories.map((a) => a.type),
    ["nak"],
  );
  clock.advance(10_000);
  acks.nak(2, 2, 1, JSON.stringify({ delay: 5 * SEC_NS }), 3);
  assert.equal(acks.queued, 1, "a delayed nak queues nothing yet");
  clock.advance(4990);
  assert.equal(acks.queued, 1);
  clock.advance(20);
  assert.equal(acks.queued, 2, "due 5 s after the nak, 15 s before its ack_wait would end");
  assert.deepEqual(await redeliverAll(acks, { v: 3 }, clock.now()), [
    [1, 2],
    [2, 2],
  ]);
  // A nak of a delivery below the ack floor or not yet made is ignored.
  acks.nak(1, 99, 1, "", 5);
  assert.equal(acks.queued, 0);
});

test("+WPI: the ack wait starts again from the progress report", async () => {
  const { acks, clock } = await setUp({ ack_wait: 2 * SEC_NS });
  acks.delivered(1, 1, clock.now());
  clock.advance(1500);
  acks.progress(1);
  clock.advance(1500);
  assert.equal(acks.queued, 0, "3 s after delivery, 1.5 s after +WPI");
  clock.advance(600);
  assert.equal(acks.queued, 1, "2 s after +WPI");
});

test("backoff: each redelivery waits its own step (the last one repeating), then max_deliver makes a dead letter once", async () => {
  const { acks, clock, rec } = await setUp({ backoff: [1 * SEC_NS, 5 * SEC_NS, 10 * SEC_NS], max_deliver: 4 });
  const dseq = { v: 2 };
  acks.delivered(1, 1, clock.now());
  const dueAfter: number[] = [];
  for (let round = 0; round < 3; round++) {
    let waited = 0;
    while (acks.queued === 0) {
      clock.advance(100);
      waited += 100;
      assert.ok(waited <= 20_000, "a redelivery comes within the longest step");
    }
    dueAfter.push(waited);
    await redeliverAll(acks, dseq, clock.now());
  }
  // 1 s, 5 s and 10 s, each to within the 100 ms we step by and the timer's 1 ms delay.
  assert.deepEqual(
    dueAfter.map((ms) => Math.round(ms / 1000)),
    [1, 5, 10],
  );
  assert.equal(acks.redeliveredCount, 1);
  assert.deepEqual(rec.deadLetters, [], "4 deliveries made, none past max_deliver yet");
  // The fourth delivery's wait (the last step again) ends: a fifth would pass max_deliver.
  clock.advance(10_100);
  assert.equal(acks.queued, 1);
  assert.deepEqual(await redeliverAll(acks, dseq, clock.now()), [], "not delivered a fifth time");
  assert.deepEqual(rec.deadLetters, [{ seq: 1, deliveries: 4, reason: "max_deliveries" }]);
  assert.ok(rec.advisories.some((a) => a.type === "max_deliver" && a.fields["stream_seq"] === 1));
  assert.equal(acks.pendingCount, 0, "it leaves pending");
  clock.advance(60_000);
  assert.equal(acks.queued, 0);
  assert.equal(rec.deadLetters.length, 1);
});

test("+TERM: acknowledged, never redelivered, and a dead letter of the deliveries it had", async () => {
  const { acks, clock, rec } = await setUp({ ack_wait: 1 * SEC_NS }, { retention: "workqueue" });
  acks.delivered(3, 1, clock.now());
  acks.term(3, 1, 1, 2, 4);
  await new Promise<void>((r) => setImmediate(r)); // the message is loaded for the dead letter
  assert.deepEqual(rec.deadLetters, [{ seq: 3, deliveries: 1, reason: "terminated" }]);
  assert.deepEqual(rec.acked, [3], "work-queue retention may remove it");
  clock.advance(10_000);
  assert.equal(acks.queued, 0);
  assert.deepEqual(
    rec.advisories.map((a) => a.type),
    ["terminated"],
  );
});

test("a restored state: its pending deliveries are checked ack_wait after the start at the latest (a time from the future taken as now), counts kept", async () => {
  const { acks, clock } = await setUp({ ack_wait: 5 * SEC_NS });
  const now = clock.now();
  acks.restore({
    ack_floor: { consumer_seq: 1, stream_seq: 1 },
    pending: [
      [3, 3, now - 4000],
      [2, 2, now + 3_600_000],
    ],
    redelivered: [[3, 2]],
  });
  assert.deepEqual([acks.floorConsumerSeq, acks.floorStreamSeq, acks.pendingCount, acks.redeliveredCount], [1, 1, 2, 1]);
  acks.start();
  clock.advance(4990);
  assert.equal(acks.queued, 0);
  clock.advance(20);
  assert.equal(acks.queued, 2, "both due by the first check, in stream order");
  // A redelivery keeps its first delivery sequence in pending (as nats-server); counts go on from the restored ones.
  assert.deepEqual(await redeliverAll(acks, { v: 4 }, clock.now()), [
    [2, 2],
    [3, 4],
  ]);
  assert.deepEqual(
    acks.pendingList().map(([s, d, ts]) => [s, d, ts]),
    [
      [2, 2, clock.now()],
      [3, 3, clock.now()],
    ],
  );
});
