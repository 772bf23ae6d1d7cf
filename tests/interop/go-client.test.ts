import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { startServer } from "../../src/index.js";

const run = promisify(execFile);
// dist/tests/interop -> repo root
const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
const goSource = join(repoRoot, "tests/interop/go/roundtrip.go");
const goJsSource = join(repoRoot, "tests/interop/go/jsround.go");

/** Debian's golang-github-nats-io-go-nats-dev layout (GOPATH mode, go 1.19). */
const goEnv = { ...process.env, GO111MODULE: "off", GOPATH: "/usr/share/gocode" };

test("official Go client (nats.go): pub/sub with headers, request/reply, no-responders", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "cuebus-go-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const bin = join(dir, "roundtrip");
  await run("go", ["build", "-o", bin, goSource], {
    env: { ...goEnv, GOCACHE: join(dir, "cache") },
    timeout: 240_000,
  });
  const server = await startServer({ port: 0 });
  t.after(() => server.close());
  const { stdout } = await run(bin, [server.url], { timeout: 20_000 });
  assert.equal(stdout.trim(), "ok");
});

test("official Go client (nats.go JetStreamContext): stream, dedup, pull fetch + acks, durable push, KV", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "cuebus-gojs-"));
  const server = await startServer({ port: 0, jetstream: { storeDir: join(dir, "store") } });
  t.after(() => server.close());
  // Hooks run in the order registered: the dir goes once the server has stopped writing to it.
  t.after(() => rm(dir, { recursive: true, force: true }));
  const bin = join(dir, "jsround");
  await run("go", ["build", "-o", bin, goJsSource], {
    env: { ...goEnv, GOCACHE: join(dir, "cache") },
    timeout: 240_000,
  });
  const { stdout } = await run(bin, [server.url], { timeout: 30_000 });
  assert.equal(stdout.trim(), "ok");
});
