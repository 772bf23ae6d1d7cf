import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FileStore } from "../../../src/stores/file/file-store.js";
import { LONE_READ_PAUSE_MS, LONE_READ_SLOW_MAX, LONE_READ_SLOW_MS, LONE_READ_SLOW_WINDOW_MS, LoneReadPacer, threadCpuWaitMs } from "../../../src/stores/file/lone-reads.js";
import { RANDOM_READ_BYTES } from "../../../src/stores/file/read-ahead.js";

/** A pacer on a clock the test moves, and a CPU-wait counter it sets. */
function pacer(): { p: LoneReadPacer; read: (ms: number, cpuWaitMs?: number) => boolean; clock: { ms: number; cpuWaitMs: number } } {
  const clock = { ms: 1000, cpuWaitMs: 0 };
  const p = new LoneReadPacer(
    () => clock.ms,
    () => clock.cpuWaitMs,
  );
  /** One lone read taking `ms`, `cpuWaitMs` of it waiting for a CPU; false when it was not made on the spot. */
  const read = (ms: number, cpuWaitMs = 0): boolean => {
    const t0 = p.started();
    if (t0 < 0) return false;
    clock.ms += ms;
    clock.cpuWaitMs += cpuWaitMs;
    p.ended(t0);
    return true;
  };
  return { p, read, clock };
}

test("lone reads: fast reads stay on the spot; more than LONE_READ_SLOW_MAX slow ones in a window pause them for LONE_READ_PAUSE_MS", () => {
  const { read, clock } = pacer();
  for (let i = 0; i < 10_000; i++) assert.ok(read(0.002));
  const slow = LONE_READ_SLOW_MS * 4;
  for (let i = 0; i <= LONE_READ_SLOW_MAX; i++) assert.ok(read(slow), `slow read ${i} made on the spot`);
  assert.equal(read(0.002), false, "paused after the slow ones");
  clock.ms += LONE_READ_PAUSE_MS - 1;
  assert.equal(read(0.002), false, "still paused");
  clock.ms += 2;
  assert.ok(read(0.002), "on the spot again after the pause");
});

test("lone reads: slow reads spread over more than a window, or explained by waiting for a CPU, do not pause them", () => {
  const { read, clock } = pacer();
  const slow = LONE_READ_SLOW_MS * 4;
  // One slow read a window: never more than LONE_READ_SLOW_MAX in one.
  for (let i = 0; i < 50; i++) {
    assert.ok(read(slow), `slow read ${i}`);
    clock.ms += LONE_READ_SLOW_WINDOW_MS / LONE_READ_SLOW_MAX;
  }
  // Many slow reads at once, but the thread was pre-empted: it waited for a CPU most of that time.
  for (let i = 0; i < 50; i++) assert.ok(read(slow, slow * 0.9), `pre-empted read ${i}`);
  // The same reads with the thread asleep (the disk): paused.
  for (let i = 0; i <= LONE_READ_SLOW_MAX; i++) read(slow);
  assert.equal(read(0.002), false);
});

test("lone reads: where the CPU wait cannot be read, slow reads are taken for the disk", () => {
  const clock = { ms: 0 };
  const p = new LoneReadPacer(
    () => clock.ms,
    () => -1,
  );
  for (let i = 0; i <= LONE_READ_SLOW_MAX; i++) {
    const t0 = p.started();
    assert.ok(t0 >= 0);
    clock.ms += 10;
    p.ended(t0);
  }
  assert.equal(p.started(), -1);
  // This machine (Linux) tells the wait: a number of milliseconds, not -1.
  assert.ok(threadCpuWaitMs() >= 0);
});

/** A store of `n` messages of 100 B (payload `m<seq>` padded) on disk, reopened so that nothing is cached. */
async function storeOf(t: TestContext, n: number): Promise<{ dir: string; store: FileStore }> {
  const dir = await mkdtemp(join(tmpdir(), "cuebus-lone-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const w = await FileStore.open({ dir });
  for (let seq = 1; seq <= n; seq++) w.appendNoWait(`lone.${seq % 7}`, null, Buffer.from(`m${seq}`.padEnd(100, ".")), BigInt(seq) * 1_000_000_000n);
  await w.settle();
  // The records leave the tail cache: only a few stay in memory after the reopen.
  await w.close();
  const store = await FileStore.open({ dir });
  t.after(() => store.close());
  return { dir, store };
}

test("lone reads: a store read at random serves every message on the spot (no promise), bytes intact", async (t) => {
  const n = 2000;
  const { store } = await storeOf(t, n);
  // The first read of the segment opens its handle (through the thread pool).
  assert.ok((await store.load(1)) !== null);
  let onTheSpot = 0;
  for (let i = 0; i < 500; i++) {
    const seq = 1 + ((i * 7919) % n);
    const m = store.loadNow(seq);
    if (m === undefined) continue;
    onTheSpot++;
    assert.ok(m !== null, `seq ${seq}`);
    assert.equal(m.seq, seq);
    assert.equal(m.subject, `lone.${seq % 7}`);
    assert.equal(m.data.toString(), `m${seq}`.padEnd(100, "."));
    assert.equal(m.timeNs, BigInt(seq) * 1_000_000_000n);
  }
  assert.ok(onTheSpot >= 490, `${onTheSpot} of 500 random reads made on the spot`);
  // The same through load (its promise resolves to a message of its own bytes).
  const a = await store.load(1500);
  const b = await store.load(700);
  assert.equal(a?.data.toString(), "m1500".padEnd(100, "."));
  assert.equal(b?.data.toString(), "m700".padEnd(100, "."));
});

test("lone reads: a record changed on disk after the store opened is found when read on the spot: never served, reported as lost", async (t) => {
  const n = 2000;
  const { dir, store } = await storeOf(t, n);
  assert.ok((await store.load(1)) !== null);
  const target = 1234;
  const before = store.loadNow(target);
  assert.ok(before !== undefined && before !== null, "read on the spot while intact");
  // Flip a byte of its payload behind the store's back (the page cache serves the new bytes).
  const name = (await readdir(dir)).find((f) => f.endsWith(".seg")) as string;
  const seg = join(dir, name);
  const bytes = await readFile(seg);
  const at = bytes.indexOf(`m${target}.`);
  assert.ok(at > RANDOM_READ_BYTES, "the record lies outside the first stretch read");
  bytes[at + 1] = (bytes[at + 1] as number) ^ 0x01;
  await writeFile(seg, bytes);
  assert.equal(store.loadNow(target), null, "not served on the spot");
  assert.equal(await store.load(target), null, "nor through load");
  assert.deepEqual(store.state().lost?.msgs, [target]);
  assert.ok(store.damage.some((d) => d.kind === "corrupt" && d.segment === name));
  // Its neighbours are untouched (the next one continues the read: through the thread pool).
  assert.equal(store.loadNow(target + 1), undefined);
  assert.equal((await store.load(target + 1))?.data.toString(), `m${target + 1}`.padEnd(100, "."));
  assert.equal(store.loadNow(target - 500)?.data.toString(), `m${target - 500}`.padEnd(100, "."));
});
