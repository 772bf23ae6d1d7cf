import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { AckPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { startServer, type Server } from "../../src/index.js";
import { waitFor } from "../helpers/wait.js";

interface Answer {
  error?: { code: number; err_code: number; description: string };
  config?: { max_msgs: number };
  streams?: string[];
  consumers?: string[];
}

async function api(nc: NatsConnection, subject: string, body?: unknown): Promise<Answer> {
  const m = await nc.request(subject, body === undefined ? "" : JSON.stringify(body), { timeout: 10_000 });
  return m.json<Answer>();
}

/** A server on `storeDir` with /jsz and /metrics, whose warnings land in `warnings`. */
function start(storeDir: string, warnings: string[]): Promise<Server> {
  return startServer({ port: 0, httpPort: 0, jetstream: { storeDir }, logger: { warn: (l) => warnings.push(l) } });
}

async function metric(s: Server, name: string): Promise<number | undefined> {
  const text = await (await fetch(`${s.httpUrl as string}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.split(" ")[1]);
}

interface Unloaded {
  stream: string;
  consumer?: string;
  file: string;
  reason: string;
}

test("a damaged stream or consumer metadata file: the server starts, serves the rest, reports it (log, /jsz, metric) and leaves the file as it is", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "cuebus-damage-"));
  const warnings: string[] = [];
  let server = await start(dir, warnings);
  const conns: NatsConnection[] = [];
  t.after(async () => {
    for (const c of conns) await c.close();
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });
  let nc = await connect({ servers: server.url });
  conns.push(nc);
  const jsm = await jetstreamManager(nc);
  const js = jetstream(nc);
  for (const name of ["GOOD", "TRUNC", "GARBAGE", "SHAPE", "INVALID", "CONS"]) await jsm.streams.add({ name, subjects: [`${name.toLowerCase()}.>`] });
  for (let i = 0; i < 4; i++) await js.publish("good.x", `m${i}`);
  for (let i = 0; i < 4; i++) await js.publish("cons.x", `c${i}`);
  await jsm.consumers.add("GOOD", { durable_name: "keep", ack_policy: AckPolicy.Explicit });
  const m = await (await js.consumers.get("GOOD", "keep")).next({ expires: 2000 });
  m?.ack();
  await m?.ackAck();
  for (const c of ["ok", "badmeta", "badstate", "shapestate", "otherconfig"]) await jsm.consumers.add("CONS", { durable_name: c, ack_policy: AckPolicy.Explicit });
  await nc.close();
  await server.close();

  const root = join(dir, "jetstream");
  const damaged: Record<string, string> = {
    [join(root, "TRUNC", "meta.json")]: (await readFile(join(root, "TRUNC", "meta.json"), "utf8")).slice(0, 40),
    [join(root, "GARBAGE", "meta.json")]: "\u0000garbage\u00ff",
    [join(root, "SHAPE", "meta.json")]: '{"config":"not an object","created":5}',
    // Valid JSON of the right shape whose config no longer validates (a subject nats-server refuses).
    [join(root, "INVALID", "meta.json")]: JSON.stringify({ config: { name: "INVALID", subjects: ["invalid..x"] }, created: new Date().toISOString() }),
    [join(root, "CONS", "obs", "badmeta", "meta.json")]: '{"config":{"durable_na',
    [join(root, "CONS", "obs", "badstate", "state.json")]: "}{",
    [join(root, "CONS", "obs", "shapestate", "state.json")]: '{"delivered":"many","ack_floor":{},"pending":[],"redelivered":[]}',
    [join(root, "CONS", "obs", "otherconfig", "meta.json")]: JSON.stringify({ config: { durable_name: "someone-else", ack_policy: "explicit" }, created: new Date().toISOString() }),
  };
  for (const [file, text] of Object.entries(damaged)) await writeFile(file, text);

  warnings.length = 0;
  server = await start(dir, warnings);
  nc = await connect({ servers: server.url });
  conns.push(nc);
  // The undamaged stream and consumers are served as before.
  assert.deepEqual((await api(nc, "$JS.API.STREAM.NAMES")).streams?.sort(), ["CONS", "GOOD"]);
  const jsm2 = await jetstreamManager(nc);
  assert.equal((await jsm2.streams.info("GOOD")).state.messages, 4);
  const keep = await jsm2.consumers.info("GOOD", "keep");
  assert.equal(keep.ack_floor.stream_seq, 1);
  assert.equal(keep.num_pending, 3);
  assert.deepEqual((await api(nc, "$JS.API.CONSUMER.NAMES.CONS")).consumers, ["ok"]);
  assert.equal((await jetstream(nc).publish("good.y", "after")).seq, 5);

  // Reported: /jsz lists each, with its file and why.
  const jsz = (await (await fetch(`${server.httpUrl as string}/jsz`)).json()) as { unloaded?: Unloaded[]; streams: number };
  assert.equal(jsz.streams, 2);
  const unloaded = jsz.unloaded ?? [];
  const by = (stream: string, consumer?: string): Unloaded | undefined => unloaded.find((u) => u.stream === stream && u.consumer === consumer);
  assert.equal(unloaded.length, 8, JSON.stringify(unloaded));
  assert.match(by("TRUNC")?.reason ?? "", /^not JSON/);
  assert.match(by("GARBAGE")?.reason ?? "", /^not JSON/);
  assert.match(by("SHAPE")?.reason ?? "", /^wrong shape/);
  // The reason is the error the API would answer for that config (nats-server's text: "invalid subject").
  assert.match(by("INVALID")?.reason ?? "", /^config no longer valid: invalid subject/);
  assert.match(by("CONS", "badmeta")?.reason ?? "", /^not JSON/);
  assert.match(by("CONS", "badstate")?.reason ?? "", /^not JSON/);
  assert.match(by("CONS", "shapestate")?.reason ?? "", /^wrong shape: "delivered"/);
  assert.match(by("CONS", "otherconfig")?.reason ?? "", /not that of durable consumer "otherconfig"/);
  for (const u of unloaded) assert.ok(u.file in damaged, `${u.file} is the damaged file`);
  // ... in the log, one line each naming the file and the reason ...
  assert.equal(warnings.length, 8, warnings.join("\n"));
  for (const u of unloaded) assert.ok(warnings.some((w) => w.includes(u.file) && w.includes(u.reason)), `a log line for ${u.file}`);
  // ... and as a metric.
  assert.equal(await metric(server, "cuebus_jetstream_unloaded"), 8);

  // Its files are kept, byte for byte; a create under its name does not overwrite them.
  const create = await api(nc, "$JS.API.STREAM.CREATE.TRUNC", { name: "TRUNC", subjects: ["trunc.>"] });
  assert.equal(create.error?.err_code, 10049);
  assert.match(create.error?.description ?? "", /could not be loaded/);
  assert.equal((await api(nc, "$JS.API.STREAM.DELETE.GARBAGE")).error?.err_code, 10059);
  const consumer = await api(nc, "$JS.API.CONSUMER.CREATE.CONS.badmeta", { stream_name: "CONS", config: { durable_name: "badmeta", ack_policy: "explicit" } });
  assert.equal(consumer.error?.err_code, 10012);
  for (const [file, text] of Object.entries(damaged)) assert.equal(await readFile(file, "utf8"), text, file);
  assert.ok((await stat(join(root, "TRUNC", "msgs"))).isDirectory());
});

test("a consumer state write that fails is reported and retried until it succeeds; the old state stays meanwhile", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "cuebus-statefail-"));
  const warnings: string[] = [];
  let server = await start(dir, warnings);
  const conns: NatsConnection[] = [];
  t.after(async () => {
    for (const c of conns) await c.close();
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });
  const nc = await connect({ servers: server.url });
  conns.push(nc);
  const jsm = await jetstreamManager(nc);
  const js = jetstream(nc);
  await jsm.streams.add({ name: "S", subjects: ["s.>"] });
  for (let i = 0; i < 5; i++) await js.publish("s.x", `m${i}`);
  await jsm.consumers.add("S", { durable_name: "w", ack_policy: AckPolicy.Explicit });
  const stateFile = join(dir, "jetstream", "S", "obs", "w", "state.json");
  // The state file's name is taken by a directory with something in it: every rename onto it fails.
  await rm(stateFile);
  await mkdir(join(stateFile, "blocker"), { recursive: true });
  const c = await js.consumers.get("S", "w");
  for (let i = 0; i < 3; i++) {
    const m = await c.next({ expires: 2000 });
    m?.ack();
    await m?.ackAck();
  }
  await waitFor(() => warnings.some((w) => w.includes('consumer "S > w": state could not be written')), 5000, "the failure reported");
  assert.ok(((await metric(server, "cuebus_jetstream_metadata_write_errors_total")) ?? 0) >= 1);
  assert.deepEqual(await readdir(stateFile), ["blocker"], "what was there is left as it was");
  // Space made again (here: the name freed): the state is written without any further change.
  await rm(stateFile, { recursive: true });
  await waitFor(async () => (await stat(stateFile).catch(() => null))?.isFile() === true, 5000, "the state written by a retry");
  const state = JSON.parse(await readFile(stateFile, "utf8")) as { ack_floor: { stream_seq: number } };
  assert.equal(state.ack_floor.stream_seq, 3);
  await waitFor(() => warnings.some((w) => w.includes('consumer "S > w": state written again')), 5000, "the recovery reported");
  await nc.close();
  await server.close();
  server = await start(dir, warnings);
  const nc2 = await connect({ servers: server.url });
  conns.push(nc2);
  const info = await (await jetstreamManager(nc2)).consumers.info("S", "w");
  assert.equal(info.ack_floor.stream_seq, 3);
  assert.equal(info.num_pending, 2);
});

test("a metadata write that fails (file system full) answers an error and changes nothing; the store starts after it", async (t) => {
  if (process.getuid?.() !== 0) {
    t.skip("needs root to mount a small tmpfs");
    return;
  }
  const dir = await mkdtemp(join(tmpdir(), "cuebus-full-"));
  const storeDir = join(dir, "small");
  await mkdir(storeDir);
  let mounted = false;
  let server: Server | null = null;
  const conns: NatsConnection[] = [];
  t.after(async () => {
    for (const c of conns) await c.close();
    await server?.close();
    if (mounted) execFileSync("umount", [storeDir]);
    await rm(dir, { recursive: true, force: true });
  });
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=4m", "tmpfs", storeDir]);
    mounted = true;
  } catch {
    t.skip("mount not permitted here");
    return;
  }
  const warnings: string[] = [];
  server = await start(storeDir, warnings);
  const nc = await connect({ servers: server.url });
  conns.push(nc);
  assert.equal((await api(nc, "$JS.API.STREAM.CREATE.A", { name: "A", subjects: ["a.>"], max_msgs: 10 })).error, undefined);
  assert.equal((await api(nc, "$JS.API.CONSUMER.CREATE.A.d", { stream_name: "A", config: { durable_name: "d", ack_policy: "explicit", max_deliver: 3 } })).error, undefined);
  const metaBefore = await readFile(join(storeDir, "jetstream", "A", "meta.json"), "utf8");
  // Fill the file system.
  await writeFile(join(storeDir, "filler"), Buffer.alloc(8 * 1024 * 1024)).catch((err: NodeJS.ErrnoException) => assert.equal(err.code, "ENOSPC"));

  const update = await api(nc, "$JS.API.STREAM.UPDATE.A", { name: "A", subjects: ["a.>"], max_msgs: 20 });
  assert.equal(update.error?.err_code, 10069, JSON.stringify(update));
  assert.match(update.error?.description ?? "", /ENOSPC/);
  assert.equal((await api(nc, "$JS.API.STREAM.INFO.A")).config?.max_msgs, 10, "the config is unchanged");
  assert.equal(await readFile(join(storeDir, "jetstream", "A", "meta.json"), "utf8"), metaBefore);
  const create = await api(nc, "$JS.API.STREAM.CREATE.B", { name: "B", subjects: ["b.>"] });
  assert.equal(create.error?.err_code, 10049, JSON.stringify(create));
  assert.equal((await api(nc, "$JS.API.STREAM.INFO.B")).error?.err_code, 10059);
  const cupdate = await api(nc, "$JS.API.CONSUMER.CREATE.A.d", { stream_name: "A", config: { durable_name: "d", ack_policy: "explicit", max_deliver: 7 } });
  assert.equal(cupdate.error?.err_code, 10012, JSON.stringify(cupdate));
  assert.deepEqual((await readdir(join(storeDir, "jetstream"))).sort(), ["A"], "nothing half made");
  assert.deepEqual((await readdir(join(storeDir, "jetstream", "A"))).sort(), ["meta.json", "msgs", "obs"]);

  await rm(join(storeDir, "filler"));
  await nc.close();
  await server.close();
  server = await start(storeDir, warnings);
  const nc2 = await connect({ servers: server.url });
  conns.push(nc2);
  assert.equal((await api(nc2, "$JS.API.STREAM.INFO.A")).config?.max_msgs, 10);
  assert.equal(((await api(nc2, "$JS.API.CONSUMER.INFO.A.d")) as { config?: { max_deliver: number } }).config?.max_deliver, 3);
  assert.equal((await api(nc2, "$JS.API.STREAM.UPDATE.A", { name: "A", subjects: ["a.>"], max_msgs: 20 })).config?.max_msgs, 20);
  assert.ok(!warnings.some((w) => w.includes("not loaded")), warnings.join("\n"));
});
