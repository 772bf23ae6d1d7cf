import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { startServer, type Server } from "../../src/index.js";
import type { StanStoreLimits } from "../../src/stan/limits.js";
import { closeStan, collect, connectStan, freePort, publishAll, subscriptionGone, subscriptionReady, type Stan } from "../helpers/stan.js";
import { waitFor } from "../helpers/wait.js";
import { NSS_LIMITS } from "../fixtures/nss-limits.js";

/*
 * nats-streaming-server's store limits with node-nats-streaming@0.3.2 against cuebus, and the
 * nats-streaming-server launcher. The refusals' texts are the ones nats-streaming-server 0.25.3
 * answered to the same exchanges (`-mc 2 -msu 2 -mm 3 -ma 3s`): a publish or subscribe that would
 * make a channel beyond max_channels gets `too many channels`; a subscription beyond max_subs
 * `too many subscriptions per channel` (a closed durable still counts; an unsubscribed one does not).
 */

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");

/** An embedded server with these limits (file store in `dir`, made when not given); clients close before it. */
async function serve(t: TestContext, limits: StanStoreLimits, dir?: string): Promise<{ server: Server; client: (id: string) => Promise<Stan>; close: () => Promise<void> }> {
  const storeDir = dir ?? (await mkdtemp(join(tmpdir(), "cuebus-stan-limits-")));
  const server = await startServer({ port: 0, jetstream: { storeDir }, streaming: { limits } });
  const clients: Stan[] = [];
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    await Promise.all(clients.map(closeStan));
    await server.close();
  };
  t.after(async () => {
    await close();
    if (dir === undefined) await rm(storeDir, { recursive: true, force: true });
  });
  const client = async (id: string): Promise<Stan> => {
    const sc = await connectStan("test-cluster", id, server.url);
    clients.push(sc);
    return sc;
  };
  return { server, client, close };
}

/** A publish's error text, or "" when acknowledged. */
function publishError(sc: Stan, channel: string, data: string): Promise<string> {
  return new Promise((resolve) => sc.publish(channel, data, (err) => resolve(err === undefined || err === null ? "" : err instanceof Error ? err.message : String(err))));
}

/** A subscription's error text, or "" with the subscription when accepted. */
async function subscribeError(sc: Stan, channel: string, opts: ReturnType<Stan["subscriptionOptions"]>, qGroup?: string): Promise<string> {
  const sub = qGroup === undefined ? sc.subscribe(channel, opts) : sc.subscribe(channel, qGroup, opts);
  try {
    await subscriptionReady(sub);
    return "";
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

/** Every message of `channel` from the first kept: their sequences and data. */
async function history(sc: Stan, channel: string, expect: number): Promise<{ sequences: number[]; data: string[] }> {
  const { sub, got } = await collect(sc, channel, sc.subscriptionOptions().setDeliverAllAvailable(), true);
  if (expect > 0) await got.until(expect);
  // Nothing more comes.
  await new Promise((r) => setTimeout(r, 150));
  await subscriptionGone(sub, false);
  return { sequences: got.sequences, data: got.data };
}

test("max_msgs: a channel keeps its newest messages; per-channel overrides by name and wildcard", async (t) => {
  const { client } = await serve(t, { maxMsgs: 3, channels: { "big.*": { maxMsgs: 0 }, audit: { maxMsgs: 1 } } });
  const sc = await client("limits-msgs");
  await publishAll(sc, "orders", ["1", "2", "3", "4", "5"]);
  assert.deepEqual(await history(sc, "orders", 3), { sequences: [3, 4, 5], data: ["3", "4", "5"] });
  await publishAll(sc, "big.one", ["1", "2", "3", "4", "5"]);
  assert.deepEqual((await history(sc, "big.one", 5)).sequences, [1, 2, 3, 4, 5], "0 in a channel's block is unlimited");
  await publishAll(sc, "audit", ["1", "2"]);
  assert.deepEqual((await history(sc, "audit", 1)).sequences, [2]);
});

test("max_bytes: the oldest messages go once a channel holds more", async (t) => {
  const { client } = await serve(t, { maxBytes: 1000 });
  const sc = await client("limits-bytes");
  const big = "x".repeat(300);
  await publishAll(sc, "blobs", [big, big, big, big, big]);
  const h = await history(sc, "blobs", 1);
  // Each message is stored with its subject and framing, so fewer than 1000 / 300 fit.
  assert.ok(h.sequences.length >= 1 && h.sequences.length <= 3, `kept ${h.sequences.join(",")}`);
  assert.equal(h.sequences.at(-1), 5, "the newest is kept");
});

test("max_age: messages older than the limit are dropped", async (t) => {
  const { client } = await serve(t, { maxAgeMs: 400 });
  const sc = await client("limits-age");
  await publishAll(sc, "events", ["old-1", "old-2"]);
  await waitFor(async () => (await history(sc, "events", 0)).sequences.length === 0, 5000, "the old messages to expire");
  await publishAll(sc, "events", ["new"]);
  assert.deepEqual(await history(sc, "events", 1), { sequences: [3], data: ["new"] });
});

test("max_channels: a publish or subscribe that would make one more channel is refused with nats-streaming-server's text", async (t) => {
  const { client } = await serve(t, { maxChannels: 2 });
  const sc = await client("limits-channels");
  assert.equal(await publishError(sc, "a", "1"), "");
  assert.equal(await publishError(sc, "b", "1"), "");
  assert.equal(await publishError(sc, "c", "1"), NSS_LIMITS.tooManyChannels);
  assert.equal(await subscribeError(sc, "c", sc.subscriptionOptions()), NSS_LIMITS.tooManyChannels);
  // The channels there are go on.
  assert.equal(await publishError(sc, "a", "2"), "");
  assert.equal(await subscribeError(sc, "b", sc.subscriptionOptions()), "");
});

test("max_subs: one more subscription of a channel is refused; a closed durable still counts, an unsubscribed one does not", async (t) => {
  const { client } = await serve(t, { maxSubs: 2, channels: { "wide.*": { maxSubs: 0 } } });
  const sc = await client("limits-subs");
  await publishAll(sc, "a", ["1"]);
  const seen: string[] = [];
  const ok = (e: string): string => (e === "" ? "ok" : e);
  const plain = sc.subscribe("a", sc.subscriptionOptions().setDeliverAllAvailable());
  seen.push(ok(await subscriptionReady(plain).then(() => "")));
  const durable = sc.subscribe("a", sc.subscriptionOptions().setDurableName("dur"));
  seen.push(ok(await subscriptionReady(durable).then(() => "")));
  seen.push(ok(await subscribeError(sc, "a", sc.subscriptionOptions())));
  seen.push(ok(await subscribeError(sc, "a", sc.subscriptionOptions(), "q")));
  await subscriptionGone(durable, true);
  seen.push(ok(await subscribeError(sc, "a", sc.subscriptionOptions())));
  await subscriptionGone(plain, false);
  seen.push(ok(await subscribeError(sc, "a", sc.subscriptionOptions())));
  // The same answers, in the same order, as nats-streaming-server's.
  assert.deepEqual(seen, NSS_LIMITS.subsSequence);
  assert.equal(ok(await subscribeError(sc, "a", sc.subscriptionOptions())), NSS_LIMITS.tooManySubs);
  // Taking the closed durable back adds no subscription: accepted at the limit.
  assert.equal(await subscribeError(sc, "a", sc.subscriptionOptions().setDurableName("dur")), "");
  // 0 in a channel's block: unlimited there.
  for (let i = 0; i < 4; i++) assert.equal(await subscribeError(sc, "wide.x", sc.subscriptionOptions()), "");
});

test("max_subs: a durable in use asked for again is a duplicate before it is one too many", async (t) => {
  const { client } = await serve(t, { maxSubs: 1 });
  const sc = await client("limits-dup");
  const ok = (e: string): string => (e === "" ? "ok" : e);
  const seen = [
    ok(await subscribeError(sc, "x", sc.subscriptionOptions().setDurableName("d"))),
    ok(await subscribeError(sc, "x", sc.subscriptionOptions().setDurableName("d"))),
    ok(await subscribeError(sc, "x", sc.subscriptionOptions())),
  ];
  assert.deepEqual(seen, NSS_LIMITS.dupAtLimit);
});

test("limits changed across a restart apply to the channels' streams", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "cuebus-stan-limits-"));
  const first = await serve(t, {}, dir);
  const sc1 = await first.client("limits-restart-1");
  await publishAll(sc1, "orders", ["1", "2", "3", "4", "5"]);
  await first.close();
  const second = await serve(t, { maxMsgs: 2 }, dir);
  const sc2 = await second.client("limits-restart-2");
  assert.deepEqual((await history(sc2, "orders", 2)).sequences, [4, 5]);
  await publishAll(sc2, "orders", ["6"]);
  assert.deepEqual((await history(sc2, "orders", 2)).sequences, [5, 6]);
  const cfg = second.server.jetstream?.streams.get("STAN_orders")?.stream.config;
  assert.equal(cfg?.max_msgs, 2);
  await second.close();
  await rm(dir, { recursive: true, force: true });
});

test("bin/nats-streaming-server: started by name with that server's flags, it serves a node-nats-streaming client", async (t) => {
  const port = await freePort();
  const dir = await mkdtemp(join(tmpdir(), "cuebus-nss-launcher-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const args = ["-a", "127.0.0.1", "-p", String(port), "-cid", "ticketing", "-st", "FILE", "--dir", dir, "-mc", "5", "-msu", "4", "-mm", "2", "-mb", "1MB", "-ma", "1h", "-hbi", "5s", "-hbt", "2s", "-hbf", "3", "--file_sync", "-mi", "1h"];
  const proc = spawn(join(root, "bin", "nats-streaming-server"), args, { stdio: ["ignore", "pipe", "pipe"] });
  let log = "";
  proc.stdout.on("data", (d: Buffer) => (log += d.toString()));
  proc.stderr.on("data", (d: Buffer) => (log += d.toString()));
  const clients: Stan[] = [];
  t.after(async () => {
    await Promise.all(clients.map(closeStan));
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise<void>((r) => proc.once("exit", () => r()));
    proc.kill("SIGTERM");
    await exited;
  });
  await waitFor(() => {
    if (proc.exitCode !== null) throw new Error(`the launcher exited: ${log}`);
    return log.includes("Server is ready");
  }, 20_000, "the launcher to be ready");
  assert.match(log, /Starting nats-streaming-server \(cuebus\)/);
  assert.match(log, /flag -max_inactivity is accepted and ignored/);
  const sc = await connectStan("ticketing", "launcher-client", `nats://127.0.0.1:${port}`);
  clients.push(sc);
  await publishAll(sc, "ticket:created", ["1", "2", "3"]);
  assert.deepEqual((await history(sc, "ticket:created", 2)).data, ["2", "3"]);
  for (const ch of ["b", "c", "d", "e"]) assert.equal(await publishError(sc, ch, "x"), "");
  assert.equal(await publishError(sc, "f", "x"), NSS_LIMITS.tooManyChannels);
});
