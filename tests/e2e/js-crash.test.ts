import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { crashLoop } from "../helpers/crash.js";

test("kill -9 under load: every acknowledged message survives, once, in each publisher's order", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "cuebus-crash-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const r = await crashLoop({ dir, cycles: 3, log: (l) => t.diagnostic(l) });
  t.diagnostic(`acked ${r.acked}, stream holds ${r.streamMessages}`);
  assert.ok(r.cycles.every((c) => c.acked > 0), "every cycle acknowledged something before the kill");
  assert.deepEqual(r.lost, [], "acknowledged but lost");
  assert.deepEqual(r.duplicated, [], "stored twice");
  assert.deepEqual(r.outOfOrder, [], "out of order within a publisher");
  assert.ok(r.streamMessages >= r.acked);
});
