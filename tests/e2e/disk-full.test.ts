/**
 * A real full disk: the cuebus CLI (a child process) stores a stream on a 20 MiB tmpfs that the
 * test fills, through the official client. Needs root to mount the tmpfs (this machine and CI run
 * as root); elsewhere tests/e2e/js-store-failure.test.ts and the file store's unit tests simulate
 * ENOSPC over the same code.
 *
 * nats-server 2.9.10 is no oracle here: it caps JetStream storage at 75% of the filesystem it
 * starts on (15 MB of this tmpfs) and, at that cap, leaves publishes unanswered. The refusal
 * follows its processJetStreamMsg for a store error: JSStreamStoreFailedError, 503, err_code 10077,
 * the error's text; and its last sequence moves only for a message stored.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { mkdir, mkdtemp, readFile, readdir, rm, rmdir, unlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { JetStreamApiError, jetstream, jetstreamManager, type JetStreamManager } from "@nats-io/jetstream";
import parsePrometheusTextFormat from "parse-prometheus-text-format";
import { waitFor } from "../helpers/wait.js";

const mainJs = join(resolve(dirname(fileURLToPath(import.meta.url)), "../../.."), "dist/src/cli/main.js");
/** Size of the tmpfs, and of the file taken away to free space. */
const TMPFS = "20m";
const FILLER_BYTES = 6 * 1024 * 1024;
const PAYLOAD_BYTES = 16 * 1024;
/**
 * Bounds of the fill: a publish window; it ends with at least this many refusals and a window
 * refused whole (so the last write tried failed), or after MAX_PUBLISHES.
 */
const WINDOW = 16;
const REFUSALS = 48;
const MAX_PUBLISHES = 4000;

interface Running {
  proc: ChildProcess;
  nc: NatsConnection;
  base: string;
  stderr: () => string;
}

async function startCuebus(storeDir: string, portsDir: string): Promise<Running> {
  await rm(portsDir, { recursive: true, force: true });
  await mkdir(portsDir, { recursive: true });
  const proc = spawn(process.execPath, [mainJs, "server", "-a", "127.0.0.1", "-p", "-1", "-m", "-1", "-js", "-sd", storeDir, "--ports_file_dir", portsDir], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  proc.stderr?.on("data", (d: Buffer) => {
    if (stderr.length < 256 * 1024) stderr += d.toString();
  });
  let ports: { nats: string[]; monitoring: string[] } | null = null;
  await waitFor(
    async () => {
      const f = (await readdir(portsDir)).find((n) => n.endsWith(".ports"));
      if (f === undefined) return proc.exitCode !== null;
      ports = JSON.parse(await readFile(join(portsDir, f), "utf8")) as { nats: string[]; monitoring: string[] };
      return true;
    },
    20_000,
    "cuebus to start",
  );
  const p = ports as { nats: string[]; monitoring: string[] } | null;
  if (p === null) throw new Error(`cuebus did not start: ${stderr}`);
  const nc = await connect({ port: Number(new URL(p.nats[0] as string).port), reconnect: false });
  return { proc, nc, base: p.monitoring[0] as string, stderr: () => stderr };
}

async function stop(r: Running): Promise<void> {
  await r.nc.close().catch(() => {});
  if (r.proc.exitCode !== null) return;
  const exited = new Promise<void>((res) => r.proc.once("exit", () => res()));
  r.proc.kill("SIGKILL");
  await exited;
}

/** Every message of the stream in sequence order, `seq|id`; checks STREAM.INFO against it. */
async function readAll(jsm: JetStreamManager): Promise<string[]> {
  const info = await jsm.streams.info("FULL");
  const out: string[] = [];
  const subjects = new Set<string>();
  for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
    const m = await jsm.streams.getMessage("FULL", { seq }).catch(() => null);
    if (m === null) continue;
    out.push(`${m.seq}|${m.string().slice(0, m.string().indexOf("|"))}`);
    subjects.add(m.subject);
  }
  assert.equal(info.state.messages, out.length, "STREAM.INFO counts exactly the messages that can be read");
  assert.equal(info.state.num_subjects, subjects.size);
  return out;
}

async function metric(base: string, name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
  const families = parsePrometheusTextFormat(await (await fetch(`${base}/metrics`)).text());
  const m = families.find((f) => f.name === name)?.metrics.find((s) => Object.entries(labels).every(([k, v]) => s.labels?.[k] === v));
  return m?.value === undefined ? undefined : Number(m.value);
}

const root = process.getuid?.() === 0;

test("disk full on a real tmpfs: nothing acknowledged lost, every refusal a 10077, state equals what can be read, reported while it lasts, stored again once space is freed (no restart), all there once after a kill -9", { skip: root ? false : "needs root to mount a tmpfs", timeout: 180_000 }, async (t) => {
  const work = await mkdtemp(join(tmpdir(), "cuebus-diskfull-"));
  const mnt = join(work, "mnt");
  await mkdir(mnt);
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", `size=${TMPFS}`, "tmpfs", mnt]);
  } catch (err) {
    await rm(work, { recursive: true, force: true });
    t.skip(`cannot mount a tmpfs: ${String(err)}`);
    return;
  }
  let server: Running | null = null;
  // One hook, in order: the server, then the mount, then the directories.
  t.after(async () => {
    if (server !== null) await stop(server);
    execFileSync("umount", [mnt]);
    await rmdir(mnt);
    await rm(work, { recursive: true, force: true });
  });
  const storeDir = join(mnt, "store");
  const portsDir = join(work, "ports");
  const filler = join(mnt, "filler");
  await writeFile(filler, Buffer.alloc(FILLER_BYTES, 1));
  server = await startCuebus(storeDir, portsDir);
  let jsm = await jetstreamManager(server.nc);
  let js = jetstream(server.nc, { timeout: 10_000 });
  await jsm.streams.add({ name: "FULL", subjects: ["full.>"] });
  const pad = Buffer.alloc(PAYLOAD_BYTES, 0x61);
  const body = (id: string): Buffer => Buffer.concat([Buffer.from(`${id}|`), pad]);

  // Fill until the disk refuses: windows of publishes, each with its own Nats-Msg-Id.
  const acked = new Map<string, number>();
  const refused: string[] = [];
  const other: string[] = [];
  let n = 0;
  let wholeWindowRefused = false;
  while ((refused.length < REFUSALS || !wholeWindowRefused) && n < MAX_PUBLISHES) {
    const ids = Array.from({ length: WINDOW }, () => `m-${n++}`);
    const refusedBefore = refused.length;
    const results = await Promise.allSettled(ids.map((id, i) => js.publish(`full.${i % 3}`, body(id), { msgID: id })));
    results.forEach((r, i) => {
      const id = ids[i] as string;
      if (r.status === "fulfilled") {
        assert.equal(r.value.duplicate, false);
        acked.set(id, r.value.seq);
      } else if (r.reason instanceof JetStreamApiError && r.reason.code === 10077 && r.reason.status === 503 && /ENOSPC|no space/.test(r.reason.message)) refused.push(id);
      else other.push(`${id}: ${String(r.reason)}`);
    });
    wholeWindowRefused = refused.length - refusedBefore === WINDOW;
  }
  t.diagnostic(`filled: ${acked.size} acknowledged, ${refused.length} refused, store lines: ${server.stderr().split("\n").filter((l) => l.includes("JetStream store")).length}`);
  assert.deepEqual(other, [], "every publish was acknowledged or refused with the store-failure error");
  assert.ok(refused.length >= REFUSALS, `the disk filled up (${acked.size} acknowledged, ${refused.length} refused)`);
  const ackedSeqs = [...acked.values()].sort((a, b) => a - b);
  assert.deepEqual(ackedSeqs, Array.from({ length: acked.size }, (_, i) => i + 1), "acknowledged sequences run 1..n: a refused publish took none");

  // While full: what is stored is exactly what was acknowledged, and it is reported.
  const byId = (seqs: Map<string, number>): string[] => [...seqs].sort((a, b) => a[1] - b[1]).map(([id, seq]) => `${seq}|${id}`);
  assert.deepEqual(await readAll(jsm), byId(acked));
  const h = await fetch(`${server.base}/healthz`);
  assert.equal(h.status, 503);
  const hb = (await h.json()) as { status: string; error: string };
  assert.equal(hb.status, "unavailable");
  assert.match(hb.error, /^JetStream stream '\$G > FULL' cannot write to its store: .*(ENOSPC|no space)/);
  assert.equal(await metric(server.base, "cuebus_jetstream_streams_store_failing"), 1);
  assert.ok(((await metric(server.base, "cuebus_stream_store_write_failures_total", { stream: "FULL" })) ?? 0) >= 1);
  assert.match(server.stderr(), /\[WRN\] JetStream store \S*FULL\S*: write failed.*(ENOSPC|no space)/);

  // Free space: the refused messages, re-sent with their ids, are stored (not called duplicates),
  // without a restart.
  await unlink(filler);
  const retry = refused[0] as string;
  await waitFor(
    async () => {
      const ack = await js.publish("full.0", body(retry), { msgID: retry }).catch(() => null);
      if (ack === null) return false;
      assert.equal(ack.duplicate, false);
      acked.set(retry, ack.seq);
      return true;
    },
    30_000,
    "a publish accepted once space is freed",
  );
  for (const id of refused.slice(1)) {
    const ack = await js.publish("full.1", body(id), { msgID: id });
    assert.equal(ack.duplicate, false, id);
    acked.set(id, ack.seq);
  }
  assert.deepEqual(
    [...acked.values()].sort((a, b) => a - b),
    Array.from({ length: acked.size }, (_, i) => i + 1),
    "no sequence gap across the outage",
  );
  const ok = await fetch(`${server.base}/healthz`);
  assert.deepEqual([ok.status, await ok.json()], [200, { status: "ok" }]);
  assert.equal(await metric(server.base, "cuebus_jetstream_streams_store_failing"), 0);
  const storeLines = server.stderr().split("\n").filter((l) => l.includes("JetStream store"));
  assert.match(storeLines[storeLines.length - 1] as string, /\[WRN\] JetStream store \S*FULL\S*: writes succeed again/);
  assert.deepEqual(await readAll(jsm), byId(acked));

  // kill -9 and restart: everything acknowledged is there, once, in order.
  await stop(server);
  server = await startCuebus(storeDir, portsDir);
  jsm = await jetstreamManager(server.nc);
  js = jetstream(server.nc, { timeout: 10_000 });
  assert.deepEqual(await readAll(jsm), byId(acked));
  const dup = await js.publish("full.0", body(retry), { msgID: retry });
  assert.deepEqual([dup.duplicate, dup.seq], [true, acked.get(retry)]);
});
