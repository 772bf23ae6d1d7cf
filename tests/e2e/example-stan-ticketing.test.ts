/**
 * examples/stan-ticketing, run as its README says against `cuebus server -js -sd <dir> -cid
 * ticketing`: every ticket published is handled once by the orders service's two replicas, and the
 * analytics service started afterwards gets all of them. (The same program printed the same line
 * against nats-streaming-server 0.25.3.)
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { startStanCli } from "../helpers/stan.js";

const run = promisify(execFile);
const EXAMPLE = join(resolve(dirname(fileURLToPath(import.meta.url)), "../.."), "examples/stan-ticketing/main.js");

test("example stan-ticketing: a queue group of two replicas shares the events, a late listener gets them all", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "cuebus-example-stan-"));
  const server = await startStanCli(t, join(dir, "store"), "ticketing");
  // After-hooks run in the order registered: the server stops before its store is removed.
  t.after(() => rm(dir, { recursive: true, force: true }));
  const { stdout } = await run(process.execPath, [EXAMPLE, server.url, "ticketing"], { timeout: 30_000 });
  const summary = JSON.parse(stdout.trim()) as { published: number; ordersReplicas: number[]; ordersHandledOnce: boolean; lateListener: number };
  assert.equal(summary.published, 20);
  assert.equal(summary.ordersReplicas.length, 2);
  assert.equal(summary.ordersReplicas.reduce((a, b) => a + b, 0), 20);
  assert.ok(summary.ordersReplicas.every((n) => n > 0), `both replicas got work: ${summary.ordersReplicas.join(", ")}`);
  assert.equal(summary.ordersHandledOnce, true);
  assert.equal(summary.lateListener, 20);
});
