/** When the server hands memory back: once per burst, only while idle, never while messages flow. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { IDLE_TRIM_AFTER_MSGS, IdleTrim, fullCollection } from "../../src/util/idle-trim.js";

test("idle trim: one collection per burst, after a check that saw no message routed", () => {
  let routed = 0;
  let collections = 0;
  const trim = new IdleTrim(() => routed, () => collections++);
  // A small amount of traffic, then idle: not worth a collection.
  routed += IDLE_TRIM_AFTER_MSGS - 1;
  assert.equal(trim.check(), false, "busy since the last check");
  assert.equal(trim.check(), false, "idle, but fewer messages than a burst");
  // Traffic goes on across checks: no collection while it flows.
  routed += 1;
  assert.equal(trim.check(), false, "a message was routed since the last check");
  routed += 5 * IDLE_TRIM_AFTER_MSGS;
  assert.equal(trim.check(), false, "still busy");
  assert.equal(collections, 0);
  // The first idle check after the burst collects, once.
  assert.equal(trim.check(), true);
  assert.equal(collections, 1);
  assert.equal(trim.check(), false, "idle, nothing new since the collection");
  // A trickle below a burst while idle in between does not collect again.
  routed += 10;
  trim.check();
  assert.equal(trim.check(), false);
  // The next burst does.
  routed += IDLE_TRIM_AFTER_MSGS;
  trim.check();
  assert.equal(trim.check(), true);
  assert.equal(collections, 2);
});

test("idle trim: fullCollection runs a real collection that frees what is unreachable", async () => {
  const collect = fullCollection();
  assert.equal(fullCollection(), collect, "the function is made once");
  let target: object | null = { big: new Array(1000).fill(0) };
  let onFreed = (): void => {};
  const freed = new Promise<void>((resolve) => (onFreed = resolve));
  // The registry must stay reachable itself, or its callbacks never run.
  const registry = new FinalizationRegistry<string>(() => onFreed());
  registry.register(target, "x");
  target = null;
  // Finalization callbacks run after a collection, on a later task.
  for (let i = 0; i < 5; i++) {
    collect();
    const done = await Promise.race([freed.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 20))]);
    if (done) return;
  }
  assert.fail("the object was not collected after five full collections");
});
