import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { startServer as startInProcess, type Server } from "../../src/index.js";
import { kill, startServer as startChild, type Running } from "../helpers/crash.js";
import { startNatsServer } from "../helpers/nats-server.js";

/** A `$JS.API` answer, as far as these tests read it. */
interface Answer {
  error?: { code: number; err_code: number; description: string };
  config?: { name: string; max_msgs: number; subjects: string[] };
  state?: { messages: number };
  consumers?: string[];
  success?: boolean;
}

async function api(nc: NatsConnection, subject: string, body?: unknown): Promise<Answer> {
  const m = await nc.request(subject, body === undefined ? "" : JSON.stringify(body), { timeout: 20_000 });
  return m.json<Answer>();
}

/** How many answers succeeded and how many failed with each err_code. */
function tally(answers: Answer[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const a of answers) {
    const k = a.error === undefined ? "ok" : `${a.error.code}/${a.error.err_code}`;
    out[k] = (out[k] ?? 0) + 1;
  }
  return out;
}

/** 20 STREAM.CREATE of one name in flight at once, alternating two configs (the first sent is `first`). */
function createBurst(nc: NatsConnection, name: string, first: number, second: number): Promise<Answer[]> {
  const cfg = (maxMsgs: number): unknown => ({ name, subjects: [`${name.toLowerCase()}.>`], max_msgs: maxMsgs });
  return Promise.all(Array.from({ length: 20 }, (_, i) => api(nc, `$JS.API.STREAM.CREATE.${name}`, cfg(i % 2 === 0 ? first : second))));
}

test("concurrent STREAM.CREATE of one name with two configs: the same answers as nats-server (first config wins, the same config again succeeds, the other 10058); a restart keeps the winner", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "cuebus-race-"));
  const real = await startNatsServer(`jetstream { store_dir: "${join(dir, "real")}" }`);
  const conns: NatsConnection[] = [];
  let ours: Server = await startInProcess({ port: 0, jetstream: { storeDir: join(dir, "ours") } });
  t.after(async () => {
    for (const c of conns) await c.close();
    await ours.close();
    await real.stop();
    await rm(dir, { recursive: true, force: true });
  });
  const mine = await connect({ servers: ours.url });
  const theirs = await connect({ port: real.port });
  conns.push(mine, theirs);
  const winners = new Map<string, number>();
  for (let round = 0; round < 5; round++) {
    const name = `RACE${round}`;
    const [a, b] = await Promise.all([createBurst(mine, name, 100, 200), createBurst(theirs, name, 100, 200)]);
    // nats-server 2.9.10 answers 10 successes and 10 times 400/10058 (checked against it here, every run).
    assert.deepEqual(tally(a), tally(b), `${name}: answers of cuebus vs nats-server`);
    assert.deepEqual(tally(a), { ok: 10, "400/10058": 10 });
    const won = new Set(a.filter((x) => x.error === undefined).map((x) => x.config?.max_msgs));
    assert.deepEqual([...won], [100], "every success names the first config");
    winners.set(name, 100);
  }
  // Streams of different names with the same subjects, created at once: one wins, the rest 10065.
  const overlapping = (nc: NatsConnection): Promise<Answer[]> => Promise.all(Array.from({ length: 10 }, (_, i) => api(nc, `$JS.API.STREAM.CREATE.OV${i}`, { name: `OV${i}`, subjects: ["ov.>"] })));
  const [ov, ovReal] = await Promise.all([overlapping(mine), overlapping(theirs)]);
  assert.deepEqual(tally(ov), tally(ovReal), "overlapping creates: cuebus vs nats-server");
  assert.deepEqual(tally(ov), { ok: 1, "400/10065": 9 });
  const ovWinner = ov.find((x) => x.error === undefined)?.config?.name as string;
  await mine.close();
  await ours.close();
  ours = await startInProcess({ port: 0, jetstream: { storeDir: join(dir, "ours") } });
  const again = await connect({ servers: ours.url });
  conns.push(again);
  const names = await api(again, "$JS.API.STREAM.NAMES");
  assert.deepEqual(((names as { streams: string[] }).streams ?? []).sort(), [...winners.keys(), ovWinner].sort());
  for (const [name, maxMsgs] of winners) assert.equal((await api(again, `$JS.API.STREAM.INFO.${name}`)).config?.max_msgs, maxMsgs, name);
});

/** A small deterministic random source, so a failing run can be repeated. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const STREAM = "MIX";

/** What the server says the stream is: absent, or its config, message count and consumers. */
interface Live {
  exists: boolean;
  maxMsgs: number;
  messages: number;
  consumers: string[];
}

async function live(nc: NatsConnection): Promise<Live> {
  const info = await api(nc, `$JS.API.STREAM.INFO.${STREAM}`);
  if (info.error !== undefined) {
    assert.equal(info.error.err_code, 10059, "stream not found, or there");
    return { exists: false, maxMsgs: 0, messages: 0, consumers: [] };
  }
  const names = await api(nc, `$JS.API.CONSUMER.NAMES.${STREAM}`);
  return { exists: true, maxMsgs: info.config?.max_msgs ?? 0, messages: info.state?.messages ?? 0, consumers: (names.consumers ?? []).sort() };
}

/**
 * Fire `n` creates, updates and deletes of the stream and creates and deletes of its durable
 * consumer at once, each create and update with a config of its own (told apart by max_msgs, from
 * `base` up); resolves with the max_msgs each successful create or update answered with.
 */
function mixedOps(nc: NatsConnection, random: () => number, base: number, n: number): Array<Promise<number | null>> {
  const ops: Array<Promise<number | null>> = [];
  for (let i = 0; i < n; i++) {
    const maxMsgs = base + i;
    const cfg = { name: STREAM, subjects: ["mix.>"], max_msgs: maxMsgs };
    const r = random();
    let p: Promise<Answer>;
    if (r < 0.3) p = api(nc, `$JS.API.STREAM.CREATE.${STREAM}`, cfg);
    else if (r < 0.55) p = api(nc, `$JS.API.STREAM.UPDATE.${STREAM}`, cfg);
    else if (r < 0.7) p = api(nc, `$JS.API.STREAM.DELETE.${STREAM}`);
    else if (r < 0.9) p = api(nc, `$JS.API.CONSUMER.CREATE.${STREAM}.worker`, { stream_name: STREAM, config: { durable_name: "worker", ack_policy: "explicit", max_deliver: 1 + (i % 5) } });
    else p = api(nc, `$JS.API.CONSUMER.DELETE.${STREAM}.worker`);
    ops.push(p.then((a) => (a.error === undefined && a.config?.name === STREAM ? a.config.max_msgs : null)));
  }
  return ops;
}

/**
 * The store directory holds the stream's directory exactly when the stream exists, with only what
 * the catalog writes in it (no temp files, no half-made or half-removed directories).
 */
async function checkStoreDir(dir: string, l: Live): Promise<void> {
  const root = join(dir, "store", "jetstream");
  assert.deepEqual(await readdir(root), l.exists ? [STREAM] : [], "stream directories");
  if (!l.exists) return;
  const inside = (await readdir(join(root, STREAM))).sort();
  // `obs/` stays (empty) once its last consumer is deleted.
  assert.deepEqual(
    inside.filter((n) => n !== "obs"),
    ["meta.json", "msgs"],
  );
  const obs = inside.includes("obs") ? (await readdir(join(root, STREAM, "obs"))).sort() : [];
  assert.deepEqual(obs, l.consumers, "consumer directories");
  for (const c of obs) assert.deepEqual((await readdir(join(root, STREAM, "obs", c))).sort(), ["meta.json", "state.json"]);
}

async function stopClean(r: Running): Promise<void> {
  const exited = new Promise<void>((res) => r.proc.once("exit", () => res()));
  r.proc.kill("SIGTERM");
  await exited;
}

test("concurrent creates, updates and deletes of one stream and its consumer: after a clean restart and after kill -9 the server starts with the state the answers said, nothing half made", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "cuebus-mix-"));
  let server = await startChild(dir);
  let nc = await connect({ port: server.port, reconnect: false });
  t.after(async () => {
    await nc.close().catch(() => {});
    await kill(server);
    await rm(dir, { recursive: true, force: true });
  });
  const random = rng(14);
  let before: Live = { exists: false, maxMsgs: 0, messages: 0, consumers: [] };
  for (let round = 1; round <= 12; round++) {
    const answered = (await Promise.all(mixedOps(nc, random, round * 1000, 30))).filter((x): x is number => x !== null);
    const now = await live(nc);
    t.diagnostic(`round ${round}: ${answered.length} creates/updates succeeded; stream ${now.exists ? `max_msgs ${now.maxMsgs}, ${now.messages} messages, consumers [${now.consumers.join(",")}]` : "absent"}`);
    // The stream's config is one that an answer this round said was set, or the one before.
    if (now.exists) assert.ok(answered.includes(now.maxMsgs) || now.maxMsgs === before.maxMsgs, `round ${round}: max_msgs ${now.maxMsgs} was answered`);
    if (now.exists) {
      // Messages in it must survive too; an ack means it is stored.
      const ack = await nc.request("mix.x", `round ${round}`, { timeout: 10_000 });
      assert.equal((ack.json<{ stream: string }>()).stream, STREAM);
      now.messages++;
    }
    await checkStoreDir(dir, now);
    before = now;
    if (round % 3 === 0) {
      // A clean stop and a kill -9, in turn.
      await nc.close();
      if (round % 6 === 0) await kill(server);
      else await stopClean(server);
      server = await startChild(dir);
      nc = await connect({ port: server.port, reconnect: false });
      const after = await live(nc);
      assert.deepEqual(after, before, `round ${round}: the state after a ${round % 6 === 0 ? "kill -9" : "clean stop"} and restart`);
      await checkStoreDir(dir, after);
      assert.doesNotMatch(server.stderr(), /not loaded/);
    }
  }

  // Killed with operations in flight: it starts, with one of the configs asked for, and nothing half made.
  const asked = new Set([before.maxMsgs]);
  for (let i = 0; i < 30; i++) asked.add(99_000 + i);
  const inFlight = mixedOps(nc, random, 99_000, 30).map((p) => p.catch(() => null));
  await Promise.race(inFlight);
  await kill(server);
  await Promise.all(inFlight);
  await nc.close().catch(() => {});
  server = await startChild(dir);
  nc = await connect({ port: server.port, reconnect: false });
  const after = await live(nc);
  if (after.exists) assert.ok(asked.has(after.maxMsgs), `max_msgs ${after.maxMsgs} was asked for`);
  await checkStoreDir(dir, after);
  assert.doesNotMatch(server.stderr(), /not loaded/);
});
