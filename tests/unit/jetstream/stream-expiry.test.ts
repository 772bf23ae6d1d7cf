/**
 * A served stream's max_age check (StreamRegistry) on a manual clock: it runs every quarter of
 * max_age, within [50 ms, 1 s], keeps that pace, stops when the stream is unwired and follows a
 * config change, without sleeping. The stream is a real one over a MemoryStore, whose messages
 * are stored with times already past max_age, so each check shows in what the store still holds.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { StreamRegistry } from "../../../src/jetstream/stream-registry.js";
import { storeLimitsOf } from "../../../src/jetstream/stream.js";
import { normalizeStreamConfig, type StreamConfig } from "../../../src/jetstream/stream-config.js";
import { InternalClient } from "../../../src/server/internal-client.js";
import { Router } from "../../../src/server/router.js";
import { MemoryBackend } from "../../../src/stores/memory/memory-backend.js";
import { MemoryStore } from "../../../src/stores/memory/memory-store.js";
import { nowNs } from "../../../src/stores/types.js";
import { ManualClock } from "../../helpers/manual-clock.js";

const SEC_NS = 1_000_000_000;

/** Let the store's expire() settle: turns of the event loop, not a sleep. */
const turns = async (n = 3): Promise<void> => {
  for (let i = 0; i < n; i++) await new Promise<void>((r) => setImmediate(r));
};

function setUp(maxAgeNs: number): { registry: StreamRegistry; clock: ManualClock; store: MemoryStore; cfg: StreamConfig } {
  const clock = new ManualClock();
  const bus = new InternalClient(1, new Router(() => {}));
  const registry = new StreamRegistry(bus, { memory: new MemoryBackend(), file: new MemoryBackend() }, { warn: () => {} }, clock);
  const cfg = normalizeStreamConfig({ name: "S", subjects: ["s.>"], storage: "memory", max_age: maxAgeNs }) as StreamConfig;
  const store = new MemoryStore(storeLimitsOf(cfg));
  registry.register(cfg, store, new Date());
  return { registry, clock, store, cfg };
}

/** Store a message that is already older than any max_age used here. */
async function appendOld(store: MemoryStore): Promise<void> {
  await store.append("s.old", null, Buffer.from("x"), nowNs() - BigInt(3600 * SEC_NS));
}

/** Move the clock by `ms` and let an expiry it started finish; how many messages the store holds then. */
async function after(clock: ManualClock, store: MemoryStore, ms: number): Promise<number> {
  clock.advance(ms);
  await turns();
  return store.state().messages;
}

test("max_age: checked every quarter of max_age, at that pace, not a millisecond sooner", async () => {
  const { clock, store } = setUp(2 * SEC_NS);
  await appendOld(store);
  assert.equal(await after(clock, store, 499), 1, "the first check is due 500 ms in");
  assert.equal(await after(clock, store, 1), 0, "expired at 500 ms");
  await appendOld(store);
  assert.equal(await after(clock, store, 499), 1);
  assert.equal(await after(clock, store, 1), 0, "and again at 1000 ms");
});

test("max_age: the check's period is held within [50 ms, 1 s]", async () => {
  const short = setUp(100_000_000); // 100 ms (the least a config takes): a quarter is 25 ms, checked every 50 ms
  await appendOld(short.store);
  assert.equal(await after(short.clock, short.store, 49), 1);
  assert.equal(await after(short.clock, short.store, 1), 0);
  const long = setUp(3600 * SEC_NS); // an hour: checked every second
  await appendOld(long.store);
  assert.equal(await after(long.clock, long.store, 999), 1);
  assert.equal(await after(long.clock, long.store, 1), 0);
});

test("max_age: unwiring a stream stops its check; wiring it again with max_age 0 arms none", async () => {
  const { registry, clock, store, cfg } = setUp(2 * SEC_NS);
  const entry = registry.streams.get("S");
  assert.ok(entry !== undefined);
  registry.unwire(entry);
  assert.equal(clock.pendingTimers, 0);
  await appendOld(store);
  assert.equal(await after(clock, store, 10_000), 1, "no check once unwired");

  entry.stream.config = { ...cfg, max_age: 0 };
  registry.wire(entry);
  assert.equal(clock.pendingTimers, 0, "no max_age, no check");
  entry.stream.config = { ...cfg, max_age: 4 * SEC_NS };
  registry.wire(entry);
  assert.equal(clock.pendingTimers, 1, "one check, however often it is wired");
  assert.equal(await after(clock, store, 999), 1);
  assert.equal(await after(clock, store, 1), 0, "the new max_age's pace");
  await registry.closeAll();
  assert.equal(clock.pendingTimers, 0);
});
