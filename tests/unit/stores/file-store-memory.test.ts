/**
 * What the file stores hold in memory stays what their tail caches account for. Found by the
 * fuzzer (tests/e2e/fuzz.test.ts): every store cut its records from one shared 512 KiB slab, and a
 * record kept by a quiet stream's tail cache held the whole slab it was cut from, which the busy
 * streams' records had long left. Next to busy streams each cached record of a quiet one pinned a
 * slab: memory grew with the traffic, not the caches (481 MiB of buffers after 1.8 M messages for
 * 56 MiB of cached records).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { FileStore } from "../../../src/stores/file/file-store.js";
import { NoLimits } from "../../../src/stores/types.js";

/** Busy streams (each keeps its newest 1,000 messages) and one quiet stream beside them. */
const BUSY = 7;
const MESSAGES = 600_000;
/** The quiet stream gets one message in this many. */
const QUIET_EVERY = 1000;
/** Buffers beyond the accounted cached records that a few partly used slabs may explain. */
const SLACK_BYTES = 16 * 1024 * 1024;

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

test("buffers held by file stores stay near the bytes their tail caches account for, a quiet stream beside busy ones included", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "cuebus-slab-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const stores: FileStore[] = [];
  for (let i = 0; i <= BUSY; i++) {
    // A quiet stream keeps everything; busy ones their newest 1,000 (their tail caches hold more:
    // records of removed messages leave the cache oldest first, by bytes).
    const limits = i === 0 ? NoLimits : { ...NoLimits, maxMsgs: 1000 };
    stores.push(await FileStore.open({ dir: join(dir, `s${i}`), limits, sync: "interval", syncIntervalMs: 60_000 }));
  }
  t.after(async () => {
    for (const s of stores) await s.close();
  });
  gc();
  const before = process.memoryUsage().arrayBuffers;
  const payload = Buffer.alloc(200, 0x61);
  const CHUNK = 20_000;
  for (let sent = 0; sent < MESSAGES; sent += CHUNK) {
    const acks: Array<Promise<number>> = [];
    for (let n = sent; n < sent + CHUNK; n++) {
      const k = n % QUIET_EVERY === 0 ? 0 : 1 + (n % BUSY);
      acks.push((stores[k] as FileStore).append(`s.${k}`, null, payload));
    }
    await Promise.all(acks);
  }
  gc();
  const held = process.memoryUsage().arrayBuffers - before;
  const cached = stores.reduce((a, s) => a + s.cachedRecordBytes, 0);
  const MiB = (b: number): string => `${(b / 2 ** 20).toFixed(1)} MiB`;
  t.diagnostic(`buffers held ${MiB(held)}, cached records ${MiB(cached)}, quiet stream ${(stores[0] as FileStore).state().messages} messages`);
  assert.ok(held < cached + SLACK_BYTES, `buffers held ${MiB(held)} for ${MiB(cached)} of cached records`);
});
