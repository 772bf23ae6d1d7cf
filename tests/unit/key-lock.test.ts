import { test } from "node:test";
import assert from "node:assert/strict";
import { KeyLock } from "../../src/util/key-lock.js";

/** A promise and the function that settles it, to hold a job open. */
function gate(): { p: Promise<void>; open: () => void } {
  let open = (): void => {};
  const p = new Promise<void>((r) => (open = r));
  return { p, open };
}

test("KeyLock: jobs of one key never overlap and run in the order given; other keys run meanwhile", async () => {
  const lock = new KeyLock();
  const log: string[] = [];
  const g = gate();
  const a1 = lock.run("a", async () => {
    log.push("a1 start");
    await g.p;
    log.push("a1 end");
    return 1;
  });
  const a2 = lock.run("a", async () => {
    log.push("a2 start");
    return 2;
  });
  const b1 = lock.run("b", async () => {
    log.push("b1");
    return 3;
  });
  assert.equal(await b1, 3);
  // b ran while a1 was held; a2 waits for a1.
  assert.deepEqual(log, ["a1 start", "b1"]);
  g.open();
  assert.deepEqual(await Promise.all([a1, a2]), [1, 2]);
  assert.deepEqual(log, ["a1 start", "b1", "a1 end", "a2 start"]);
  await lock.idle();
  assert.equal(lock.size, 0, "idle keys are dropped");
});

test("KeyLock: a job that throws rejects its caller and does not stop the next", async () => {
  const lock = new KeyLock();
  const bad = lock.run("k", async () => {
    throw new Error("boom");
  });
  const good = lock.run("k", async () => "ok");
  await assert.rejects(bad, /boom/);
  assert.equal(await good, "ok");
});

test("KeyLock: idle waits for jobs queued while it waits", async () => {
  const lock = new KeyLock();
  const done: number[] = [];
  const g = gate();
  void lock.run("k", async () => {
    await g.p;
    done.push(1);
    void lock.run("j", async () => {
      done.push(2);
    });
  });
  const idle = lock.idle().then(() => done.push(3));
  g.open();
  await idle;
  assert.deepEqual(done, [1, 2, 3]);
});
