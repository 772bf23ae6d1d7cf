/**
 * The official C client's NATS Streaming API (nats.c, Debian's libnats-dev) against cuebus started
 * as a streaming server (`cuebus server -js -sd <dir> -cid ticketing`): synchronous publishes
 * acknowledged once stored, a durable subscription with manual acks that gets everything on its
 * first run and resumes where it left off on the next, across a restart of the server. The
 * program, tests/interop/c/stan-client.c, was run against nats-streaming-server 0.25.3 (file
 * store) with the same arguments and printed the same lines.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { spawnServer, type SpawnedServer } from "../helpers/spawn-server.js";

const run = promisify(execFile);
const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
const MAIN_JS = join(repoRoot, "dist/src/cli/main.js");
const SOURCE = join(repoRoot, "tests/interop/c/stan-client.c");

/** The client's output lines: "<seq> <data> <redelivered>" per message, then "done <n>". */
async function client(bin: string, url: string, clientId: string, count: number, prefix: string): Promise<string[]> {
  const { stdout } = await run(bin, [url, "ticketing", clientId, "orders", String(count), prefix], { timeout: 30_000 });
  return stdout.trim().split("\n");
}

function cuebus(store: string): Promise<SpawnedServer> {
  return spawnServer(process.execPath, () => [MAIN_JS, "server", "-js", "-sd", store, "-cid", "ticketing", "-a", "127.0.0.1", "-p", "-1"]);
}

test("C client (nats.c STAN API): acknowledged publishes, a durable with manual acks resuming across client and server restarts", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "cuebus-stan-c-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const bin = join(dir, "stan-client");
  await run("cc", ["-Wall", "-Werror", "-DNATS_HAS_STREAMING", "-o", bin, SOURCE, "-lnats", "-lpthread"], { timeout: 120_000 });
  const store = join(dir, "store");

  let server = await cuebus(store);
  try {
    const url = `nats://127.0.0.1:${server.port}`;
    assert.deepEqual(await client(bin, url, "svc-1", 3, "a"), ["1 a-1 0", "2 a-2 0", "3 a-3 0", "done 3"]);
    // The durable resumes after what it acknowledged: only the new messages come.
    assert.deepEqual(await client(bin, url, "svc-1", 2, "b"), ["4 b-1 0", "5 b-2 0", "done 2"]);
    // Acks reach the store within CONSUMER_STATE_FLUSH_MS (50 ms); the crash comes after that.
    await new Promise((r) => setTimeout(r, 300));
  } finally {
    await server.stop();
  }
  // kill -9 (stop() sends SIGKILL): the channel and the durable's position are on disk.
  server = await cuebus(store);
  try {
    assert.deepEqual(await client(bin, `nats://127.0.0.1:${server.port}`, "svc-1", 1, "c"), ["6 c-1 0", "done 1"]);
    // A wrong cluster id: no streaming server answers, and the client says so.
    await assert.rejects(run(bin, [`nats://127.0.0.1:${server.port}`, "other-cluster", "svc-2", "orders", "1", "x"], { timeout: 30_000 }), (err: Error & { stderr?: string }) => /connect: /.test(err.stderr ?? "") && /no streaming server/.test(err.stderr ?? ""));
  } finally {
    await server.stop();
  }
});
