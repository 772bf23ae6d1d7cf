import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import type { ConsumerState, ConsumerStore, StoreBackend } from "../../../src/stores/catalog-types.js";
import { NoLimits } from "../../../src/stores/types.js";

/** A backend under test, and how to see it as a crash right now would leave it. */
export interface CatalogHarness {
  /** A fresh, empty backend. */
  backend: StoreBackend;
  /**
   * The backend as the next start would find it if the process stopped dead now, between two
   * writes (the file backend: opened anew on a copy of its directory as it is; the memory backend:
   * itself, as nothing of it outlives the process and, within it, the contract is the same).
   */
  afterCrash(): Promise<StoreBackend>;
}

const T1 = new Date("2026-01-02T03:04:05.000Z");
const T2 = new Date("2026-02-03T04:05:06.000Z");

function state(delivered: number, floor: number, pending: Array<[number, number, number]> = [], redelivered: Array<[number, number]> = []): ConsumerState {
  return { delivered: { consumer_seq: delivered, stream_seq: delivered }, ack_floor: { consumer_seq: floor, stream_seq: floor }, pending, redelivered };
}

interface Snapshot {
  streams: Array<[string, unknown, string]>;
  consumers: Record<string, Array<[string, unknown, string, ConsumerState | null]>>;
  damage: unknown[];
}

/** Everything a backend lists, in a form deepEqual compares (names sorted, times as ISO text). */
async function snapshot(b: StoreBackend): Promise<Snapshot> {
  const listing = await b.streams();
  const out: Snapshot = { streams: [], consumers: {}, damage: [...listing.damage] };
  for (const s of [...listing.entries].sort((x, y) => x.name.localeCompare(y.name))) {
    out.streams.push([s.name, s.config, s.created.toISOString()]);
    const cs = await b.consumers(s.name);
    out.damage.push(...cs.damage);
    out.consumers[s.name] = [...cs.entries].sort((x, y) => x.name.localeCompare(y.name)).map((c) => [c.name, c.config, c.created.toISOString(), c.state]);
  }
  return out;
}

/**
 * The catalog half of the store interface (StoreBackend, ConsumerStore in
 * src/stores/catalog-types.ts): every backend's test file calls this with a harness factory, as
 * conformance.ts does for StreamStore. A backend is done when these pass.
 */
export function catalogConformance(kind: string, make: (t: TestContext) => Promise<CatalogHarness>): void {
  test(`${kind} catalog: streams created, updated and deleted list back as written; a refused write changes nothing`, async (t) => {
    const { backend: b } = await make(t);
    assert.deepEqual(await snapshot(b), { streams: [], consumers: {}, damage: [] });
    await b.createStream("A", { name: "A", max_msgs: 1 }, T1);
    await b.createStream("B", { name: "B" }, T2);
    await assert.rejects(b.createStream("A", { name: "A", max_msgs: 2 }, T2), "an existing stream is not replaced by a create");
    await assert.rejects(b.updateStream("NONE", { name: "NONE" }, T1), "an update does not create");
    await b.updateStream("A", { name: "A", max_msgs: 3 }, T1);
    assert.equal(await b.hasStream("A"), true);
    assert.equal(await b.hasStream("NONE"), false);
    await b.deleteStream("B");
    assert.equal(await b.hasStream("B"), false);
    assert.deepEqual(await snapshot(b), { streams: [["A", { name: "A", max_msgs: 3 }, T1.toISOString()]], consumers: { A: [] }, damage: [] });
    // What is handed in is copied: changing it afterwards changes nothing stored.
    const cfg = { name: "C", subjects: ["c"] };
    await b.createStream("C", cfg, T1);
    cfg.subjects.push("changed");
    const c = (await b.streams()).entries.find((e) => e.name === "C");
    assert.deepEqual(c?.config, { name: "C", subjects: ["c"] });
  });

  test(`${kind} catalog: a stream's store opens with its limits and holds messages`, async (t) => {
    const { backend: b } = await make(t);
    await b.createStream("S", { name: "S" }, T1);
    const store = await b.openStream("S", { ...NoLimits, maxMsgs: 2 });
    for (const s of ["a", "b", "c"]) await store.append(s, null, Buffer.from(s));
    assert.deepEqual([store.state().messages, store.state().firstSeq, store.state().lastSeq], [2, 2, 3]);
    assert.equal((await store.load(3))?.subject, "c");
    await store.close();
  });

  test(`${kind} catalog: consumers keep config and state, each replaced whole; delete and a stream's delete remove them`, async (t) => {
    const { backend: b } = await make(t);
    await b.createStream("S", { name: "S" }, T1);
    const c1 = await b.createConsumer("S", "c1", { durable_name: "c1" }, T1, state(0, 0));
    const c2 = await b.createConsumer("S", "c2", { durable_name: "c2", ack_policy: "explicit" }, T2, state(0, 0));
    await assert.rejects(b.createConsumer("S", "c1", { durable_name: "c1", x: 1 }, T1, state(9, 9)), "an existing consumer is not replaced by a create");
    await assert.rejects(b.createConsumer("NONE", "c", { durable_name: "c" }, T1, state(0, 0)), "no consumer of a stream not in the catalog");
    assert.equal(await b.hasStream("NONE"), false);
    const s1 = state(5, 3, [[4, 4, 1000], [5, 5, 2000]], [[4, 2]]);
    await c1.writeState(s1);
    await c1.updateConfig({ durable_name: "c1", description: "new" }, T1);
    await c2.writeState(state(1, 1));
    await c2.writeState(state(2, 2));
    assert.deepEqual((await snapshot(b)).consumers["S"], [
      ["c1", { durable_name: "c1", description: "new" }, T1.toISOString(), s1],
      ["c2", { durable_name: "c2", ack_policy: "explicit" }, T2.toISOString(), state(2, 2)],
    ]);
    assert.equal(await c2.exists(), true);
    await c2.delete();
    assert.equal(await c2.exists(), false);
    assert.deepEqual(
      (await b.consumers("S")).entries.map((e) => e.name),
      ["c1"],
    );
    // openConsumer reaches a listed consumer's store.
    await b.openConsumer("S", "c1").writeState(state(6, 6));
    assert.deepEqual((await b.consumers("S")).entries[0]?.state, state(6, 6));
    await b.deleteStream("S");
    assert.deepEqual(await b.consumers("S"), { entries: [], damage: [] });
    assert.equal(await c1.exists(), false);
    await b.createStream("S", { name: "S" }, T2);
    assert.deepEqual(await b.consumers("S"), { entries: [], damage: [] }, "a stream made again under the name has none of the old one's consumers");
  });

  test(`${kind} catalog: a crash between any two writes finds every acknowledged write and nothing else`, async (t) => {
    const h = await make(t);
    const b = h.backend;
    // The model: what must be listed once each write has resolved.
    const model: Snapshot = { streams: [], consumers: {}, damage: [] };
    const streamAt = (name: string, config: unknown, created: Date): void => {
      model.streams = [...model.streams.filter(([n]) => n !== name), [name, config, created.toISOString()] as [string, unknown, string]].sort((x, y) => x[0].localeCompare(y[0]));
      model.consumers[name] ??= [];
    };
    const consumerAt = (stream: string, name: string, config: unknown, created: Date, st: ConsumerState | null): void => {
      const list = (model.consumers[stream] ?? []).filter(([n]) => n !== name);
      list.push([name, config, created.toISOString(), st]);
      model.consumers[stream] = list.sort((x, y) => x[0].localeCompare(y[0]));
    };
    const consumerConfig = (stream: string, name: string): unknown => model.consumers[stream]?.find(([n]) => n === name)?.[1];
    const consumerState = (stream: string, name: string): ConsumerState | null => model.consumers[stream]?.find(([n]) => n === name)?.[3] ?? null;
    let c1: ConsumerStore | undefined;
    let c2: ConsumerStore | undefined;
    const steps: Array<[string, () => Promise<void>]> = [
      ["create stream A", async () => (await b.createStream("A", { name: "A" }, T1), streamAt("A", { name: "A" }, T1))],
      ["create consumer A > c1", async () => ((c1 = await b.createConsumer("A", "c1", { durable_name: "c1" }, T1, state(0, 0))), consumerAt("A", "c1", { durable_name: "c1" }, T1, state(0, 0)))],
      ["write c1's state", async () => (await c1?.writeState(state(3, 1, [[2, 2, 5], [3, 3, 6]])), consumerAt("A", "c1", consumerConfig("A", "c1"), T1, state(3, 1, [[2, 2, 5], [3, 3, 6]])))],
      ["update c1's config", async () => (await c1?.updateConfig({ durable_name: "c1", max_deliver: 3 }, T1), consumerAt("A", "c1", { durable_name: "c1", max_deliver: 3 }, T1, consumerState("A", "c1")))],
      ["create stream B", async () => (await b.createStream("B", { name: "B" }, T2), streamAt("B", { name: "B" }, T2))],
      ["create consumer B > c2", async () => ((c2 = await b.createConsumer("B", "c2", { durable_name: "c2" }, T2, state(0, 0))), consumerAt("B", "c2", { durable_name: "c2" }, T2, state(0, 0)))],
      ["write c1's state again", async () => (await c1?.writeState(state(4, 4)), consumerAt("A", "c1", consumerConfig("A", "c1"), T1, state(4, 4)))],
      ["update stream A", async () => (await b.updateStream("A", { name: "A", max_msgs: 10 }, T1), streamAt("A", { name: "A", max_msgs: 10 }, T1))],
      ["write c2's state", async () => (await c2?.writeState(state(1, 0, [[1, 1, 7]])), consumerAt("B", "c2", consumerConfig("B", "c2"), T2, state(1, 0, [[1, 1, 7]])))],
      [
        "delete consumer B > c2",
        async () => {
          await c2?.delete();
          model.consumers["B"] = [];
        },
      ],
      [
        "delete stream B",
        async () => {
          await b.deleteStream("B");
          model.streams = model.streams.filter(([n]) => n !== "B");
          delete model.consumers["B"];
        },
      ],
      ["write c1's state a third time", async () => (await c1?.writeState(state(9, 9)), consumerAt("A", "c1", consumerConfig("A", "c1"), T1, state(9, 9)))],
    ];
    let after: StoreBackend = b;
    for (const [what, step] of steps) {
      await step();
      after = await h.afterCrash();
      assert.deepEqual(await snapshot(after), model, `a crash after: ${what}`);
    }
    // The backend found after the last crash goes on as the one before it would have.
    await after.openConsumer("A", "c1").writeState(state(10, 10));
    await after.createStream("B", { name: "B" }, T2);
    assert.deepEqual((await snapshot(after)).consumers, { A: [["c1", { durable_name: "c1", max_deliver: 3 }, T1.toISOString(), state(10, 10)]], B: [] });
  });
}
