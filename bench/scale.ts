/**
 * Scale row (issue 16, `npm run bench:scale`): what holding many messages costs, for the real
 * nats-server and cuebus (each its own process, `-js -sd <temp store>`) in one run, same load.
 * 1. One file stream filled with `BENCH_SCALE_MSGS` (default 10,000,000) messages of 16 B: the
 *    server's RSS growth (VmRSS before the fill, and after it and a settle).
 * 2. SIGTERM, wait for the exit, spawn again: ms until STREAM.INFO answers with every message
 *    (`node -e 0` beside it), and the RSS after.
 * 3. Direct gets of random sequences from the whole stream, and a replay of the first 2,000,000
 *    (pull fetch, ack none): msgs/s, the servers taking turns.
 * 4. kill -9 while publishing into that stream, spawn again: ms until STREAM.INFO answers with at
 *    least the messages held before.
 * 5. A KV bucket filled with `BENCH_SCALE_KEYS` (default 1,000,000) keys on fresh servers: RSS growth.
 * Prints a table with both servers' figures and the ratio, and writes bench/results/<time>-scale.json.
 */
import type { ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { connect } from "@nats-io/transport-node";
import { StorageType, jetstreamManager } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import { runChild } from "./child.js";
import { startTarget } from "./procs.js";
import { count, markdownTable, median, parseCount, type ScaleRow } from "./scale-report.js";
import { exited, nodeFloorMs, procStatusBytes, sleep, spawnUntilServing } from "./serving.js";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "../..");
const MAIN_JS = join(root, "dist/src/cli/main.js");
const NATS_SERVER = existsSync("/usr/sbin/nats-server") ? "/usr/sbin/nats-server" : "nats-server";
const env = process.env;

/** Messages of 16 B held in the stream. */
const MSGS = parseCount("BENCH_SCALE_MSGS", env["BENCH_SCALE_MSGS"], 10_000_000);
/** Keys put into the KV bucket. */
const KEYS = parseCount("BENCH_SCALE_KEYS", env["BENCH_SCALE_KEYS"], 1_000_000);
/** Messages replayed from sequence 1 (at most MSGS). */
const REPLAY = Math.min(parseCount("BENCH_SCALE_REPLAY", env["BENCH_SCALE_REPLAY"], 2_000_000), MSGS);
/** Seconds of direct gets per run (a time, not a count: one server may answer 50 times as many). */
const GET_SECONDS = parseCount("BENCH_SCALE_GET_SECONDS", env["BENCH_SCALE_GET_SECONDS"], 5);
/** Runs per server of the direct-get and replay rows (the table gives medians). */
const REPEAT = Math.max(1, parseCount("BENCH_SCALE_REPEAT", env["BENCH_SCALE_REPEAT"], 3));
/** Publishes awaiting their ack at once while filling. */
const FILL_WINDOW = Math.max(1, parseCount("BENCH_SCALE_WINDOW", env["BENCH_SCALE_WINDOW"], 1024));
/** Direct gets awaiting their answer at once. */
const GET_WINDOW = Math.max(1, parseCount("BENCH_SCALE_GET_WINDOW", env["BENCH_SCALE_GET_WINDOW"], 64));
/** Wait before reading an RSS, so a fill's last batches and buffers are behind us. */
const SETTLE_MS = parseCount("BENCH_SCALE_SETTLE_MS", env["BENCH_SCALE_SETTLE_MS"], 3000);
/**
 * Quiet time after which RSS is taken again ("settled"): V8 gives back the heap a burst of
 * publishing grew only after some 10 s without allocation (its memory reducer), Go's runtime
 * likewise returns memory over time; both servers get the same wait.
 */
const IDLE_MS = parseCount("BENCH_SCALE_IDLE_MS", env["BENCH_SCALE_IDLE_MS"], 20_000);
/** The share of the fill after which RSS is taken once more, for the cost of each message added after it. */
const FIRST_PART = 0.2;
/** Publishing runs this long before the kill -9. */
const KILL_AFTER_MS = 1500;
/** `node -e 0` runs; the median goes beside the restart rows. */
const NODE_FLOOR_RUNS = 5;
/** A restart that has not served its stream by then is reported as a failure (today's cuebus takes ~25 s at 10 M). */
const SERVE_GIVE_UP_MS = 600_000;
const SIZE_BYTES = 16;
const STREAM = "SCALE";
const SUBJECT = "scale.x";
const BUCKET = "SCALE";
/** The direct-get sequences' seed: the same sequences for both servers. */
const SEED = 16;
/**
 * `BENCH_SCALE_ONLY=reads`: only the fill, the clean restart and the direct-get and replay rows
 * (to iterate on the read path; the node floor, kill -9 and KV rows need the full run).
 */
const READS_ONLY = env["BENCH_SCALE_ONLY"] === "reads";
if (env["BENCH_SCALE_ONLY"] !== undefined && !READS_ONLY) throw new Error(`BENCH_SCALE_ONLY: "reads" or unset, not "${env["BENCH_SCALE_ONLY"]}"`);
/**
 * Node flags for the cuebus server (`BENCH_SCALE_CUEBUS_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/p"`).
 * With any set, servers are stopped with SIGTERM instead of SIGKILL, so that a profile is written.
 */
const CUEBUS_NODE_ARGS = (env["BENCH_SCALE_CUEBUS_NODE_ARGS"] ?? "").split(" ").filter((a) => a !== "");
/** js-consume.ts's durable for fetch-noack, deleted after each replay so restarts find the same state. */
const REPLAY_CONSUMER = "bench_fetch_noack";

type Kind = "nats-server" | "cuebus";

interface Server {
  kind: Kind;
  port: number;
  store: string;
  proc: ChildProcess;
}

function command(kind: Kind, port: number, store: string): { cmd: string; args: string[] } {
  const common = ["-a", "127.0.0.1", "-p", String(port), "-js", "-sd", store];
  return kind === "nats-server" ? { cmd: NATS_SERVER, args: common } : { cmd: process.execPath, args: [...CUEBUS_NODE_ARGS, MAIN_JS, "server", ...common] };
}

async function start(kind: Kind, store: string): Promise<Server> {
  const t = await startTarget(kind, command(kind, 0, store).cmd, (p) => command(kind, p, store).args, /Server is ready/);
  return { kind, port: t.port, store, proc: t.proc };
}

async function stop(s: Server): Promise<void> {
  s.proc.kill(CUEBUS_NODE_ARGS.length > 0 ? "SIGTERM" : "SIGKILL");
  await exited(s.proc);
}

function rss(s: Server): number {
  return procStatusBytes(s.proc.pid, "VmRSS");
}

function log(line: string): void {
  process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${line}\n`);
}

async function streamMessages(s: Server, stream: string): Promise<number> {
  const nc = await connect({ port: s.port });
  try {
    return (await (await jetstreamManager(nc)).streams.info(stream)).state.messages;
  } finally {
    await nc.close();
  }
}

/** Publish `n` messages (keyed: one subject each under `subject`) with FILL_WINDOW in flight; every one must be acknowledged. */
async function fill(s: Server, subject: string, keyed: boolean, n: number): Promise<number> {
  const r = await runChild("scale-load.js", { role: "fill", port: s.port, subject, keyed, size: SIZE_BYTES, count: n, window: FILL_WINDOW });
  if (r["acked"] !== n) throw new Error(`${s.kind}: ${r["acked"]} of ${n} publishes acknowledged, ${r["errors"]} errors (${r["firstError"]})`);
  return n / (r["seconds"] as number);
}

interface StreamFill {
  rssBefore: number;
  /** RSS after FIRST_PART of the messages (settled SETTLE_MS). */
  rssPart: number;
  rssAfter: number;
  /** RSS after IDLE_MS more without load. */
  rssSettled: number;
  peakRss: number;
  fillPerSecond: number;
}

async function fillStream(s: Server): Promise<StreamFill> {
  const nc = await connect({ port: s.port });
  await (await jetstreamManager(nc)).streams.add({ name: STREAM, subjects: ["scale.>"], storage: StorageType.File, allow_direct: true });
  await nc.close();
  await sleep(SETTLE_MS);
  const rssBefore = rss(s);
  log(`${s.kind}: filling ${count(MSGS)} messages`);
  const part = Math.round(MSGS * FIRST_PART);
  const firstSeconds = part / (await fill(s, SUBJECT, false, part));
  await sleep(SETTLE_MS);
  const rssPart = rss(s);
  const restSeconds = (MSGS - part) / (await fill(s, SUBJECT, false, MSGS - part));
  await sleep(SETTLE_MS);
  const held = await streamMessages(s, STREAM);
  if (held !== MSGS) throw new Error(`${s.kind}: the stream holds ${held} messages, not ${MSGS}`);
  const rssAfter = rss(s);
  const peakRss = procStatusBytes(s.proc.pid, "VmHWM");
  await sleep(IDLE_MS);
  return { rssBefore, rssPart, rssAfter, rssSettled: rss(s), peakRss, fillPerSecond: MSGS / (firstSeconds + restSeconds) };
}

/** SIGTERM, wait for the exit, spawn again on the same store and port: both times, and the RSS once it settled. */
async function cleanRestart(s: Server): Promise<{ stopMs: number; serveMs: number; rssAfter: number }> {
  const t0 = performance.now();
  s.proc.kill("SIGTERM");
  await exited(s.proc);
  const stopMs = performance.now() - t0;
  const c = command(s.kind, s.port, s.store);
  const r = await spawnUntilServing(c.cmd, c.args, s.port, STREAM, MSGS, SERVE_GIVE_UP_MS);
  s.proc = r.proc;
  log(`${s.kind}: stopped in ${stopMs.toFixed(0)} ms, serving ${count(r.messages)} messages ${r.ms.toFixed(0)} ms after spawn`);
  await sleep(SETTLE_MS);
  return { stopMs, serveMs: r.ms, rssAfter: rss(s) };
}

/** RSS right after each server's last run of direct gets (what serving them holds). */
const rssAfterGets = new Map<Server, number>();

async function directGets(s: Server): Promise<number> {
  const r = await runChild("scale-load.js", { role: "direct", port: s.port, stream: STREAM, seconds: GET_SECONDS, window: GET_WINDOW, maxSeq: MSGS, seed: SEED });
  if (r["errors"] !== 0) throw new Error(`${s.kind}: ${r["errors"]} direct gets failed (${r["firstError"]})`);
  rssAfterGets.set(s, rss(s));
  return (r["got"] as number) / (r["seconds"] as number);
}

async function replay(s: Server): Promise<number> {
  const r = await runChild("js-consume.js", { port: s.port, stream: STREAM, mode: "fetch-noack", count: REPLAY });
  const nc = await connect({ port: s.port });
  await (await jetstreamManager(nc)).consumers.delete(STREAM, REPLAY_CONSUMER);
  await nc.close();
  return (r["got"] as number) / (r["seconds"] as number);
}

/** Publish into the full stream, kill -9 the server mid-publish, spawn again: ms until it serves at least MSGS. */
async function killDuringPublish(s: Server): Promise<{ serveMs: number; messages: number; ackedBeforeKill: number }> {
  const publishing = runChild("scale-load.js", { role: "fill", port: s.port, subject: SUBJECT, keyed: false, size: SIZE_BYTES, count: Number.MAX_SAFE_INTEGER, window: FILL_WINDOW });
  await sleep(KILL_AFTER_MS);
  s.proc.kill("SIGKILL");
  await exited(s.proc);
  const acked = (await publishing)["acked"] as number;
  if (acked === 0) throw new Error(`${s.kind}: nothing was acknowledged in the ${KILL_AFTER_MS} ms before the kill`);
  const c = command(s.kind, s.port, s.store);
  const r = await spawnUntilServing(c.cmd, c.args, s.port, STREAM, MSGS, SERVE_GIVE_UP_MS);
  s.proc = r.proc;
  log(`${s.kind}: killed after ${count(acked)} acks, serving ${count(r.messages)} messages ${r.ms.toFixed(0)} ms after spawn`);
  return { serveMs: r.ms, messages: r.messages, ackedBeforeKill: acked };
}

async function kvFill(s: Server): Promise<{ rssBefore: number; rssAfter: number; rssSettled: number; fillPerSecond: number }> {
  const nc = await connect({ port: s.port });
  await new Kvm(nc).create(BUCKET, { history: 1 });
  await nc.close();
  await sleep(SETTLE_MS);
  const rssBefore = rss(s);
  log(`${s.kind}: putting ${count(KEYS)} keys`);
  const fillPerSecond = await fill(s, `$KV.${BUCKET}`, true, KEYS);
  await sleep(SETTLE_MS);
  const held = await streamMessages(s, `KV_${BUCKET}`);
  if (held !== KEYS) throw new Error(`${s.kind}: the bucket holds ${held} keys, not ${KEYS}`);
  const rssAfter = rss(s);
  await sleep(IDLE_MS);
  return { rssBefore, rssAfter, rssSettled: rss(s), fillPerSecond };
}

/** Run `f` for both servers, nats-server first in even rounds and cuebus first in odd ones. */
async function inTurn<T>(round: number, servers: [Server, Server], f: (s: Server) => Promise<T>): Promise<[T, T]> {
  const [nats, cuebus] = servers;
  if (round % 2 === 0) {
    const a = await f(nats);
    return [a, await f(cuebus)];
  }
  const b = await f(cuebus);
  return [await f(nats), b];
}

async function main(): Promise<void> {
  if (!existsSync(MAIN_JS)) throw new Error("build first (npm run build)");
  const t0 = performance.now();
  const dir = mkdtempSync(join(tmpdir(), "cuebus-scale-"));
  const rows: ScaleRow[] = [];
  const details: Record<string, unknown> = {};
  try {
    const servers: [Server, Server] = [await start("nats-server", join(dir, "nats")), await start("cuebus", join(dir, "cuebus"))];
    const [nats, cuebus] = servers;
    try {
      const fills = [await fillStream(nats), await fillStream(cuebus)] as const;
      const floors: number[] = [];
      for (let i = 0; i < (READS_ONLY ? 0 : NODE_FLOOR_RUNS); i++) floors.push(await nodeFloorMs());
      const floor = median(floors);
      const restarts = [await cleanRestart(nats), await cleanRestart(cuebus)] as const;
      const gets: number[][] = [[], []];
      const replays: number[][] = [[], []];
      for (let r = 0; r < REPEAT; r++) {
        log(`direct gets and replay, round ${r + 1} of ${REPEAT}`);
        const g = await inTurn(r, servers, directGets);
        const p = await inTurn(r, servers, replay);
        for (const i of [0, 1] as const) {
          gets[i]?.push(g[i]);
          replays[i]?.push(p[i]);
        }
      }
      const reads: ScaleRow[] = [
        {
          measure: `direct get of random sequences from the ${count(MSGS)} (${GET_WINDOW} in flight, ${GET_SECONDS} s, median of ${REPEAT})`,
          unit: "msgs/s",
          nats: median(gets[0] as number[]),
          cuebus: median(gets[1] as number[]),
          target: { text: ">= 1.0x nats-server", met: median(gets[1] as number[]) >= median(gets[0] as number[]) },
        },
        // nats-server reads a whole block into memory for a message in it and keeps it a while: random
        // gets over the stream bring most of it in. This row shows what each server holds for its rate.
        { measure: "RSS right after the direct gets", unit: "bytes", nats: rssAfterGets.get(nats) ?? Number.NaN, cuebus: rssAfterGets.get(cuebus) ?? Number.NaN },
        {
          measure: `replay of ${count(REPLAY)} from sequence 1 (fetch, ack none, median of ${REPEAT})`,
          unit: "msgs/s",
          nats: median(replays[0] as number[]),
          cuebus: median(replays[1] as number[]),
          target: { text: ">= 1.0x nats-server", met: median(replays[1] as number[]) >= median(replays[0] as number[]) },
        },
      ];
      const fillRow: ScaleRow = { measure: `fill: durable publish 16 B, ${FILL_WINDOW} in flight`, unit: "msgs/s", nats: fills[0].fillPerSecond, cuebus: fills[1].fillPerSecond };
      Object.assign(details, { fills, restarts, directGetsPerSecond: gets, replayPerSecond: replays });
      if (READS_ONLY) rows.push(fillRow, ...reads);
      else {
        const kills = [await killDuringPublish(nats), await killDuringPublish(cuebus)] as const;
        const growth = fills.map((f) => f.rssAfter - f.rssBefore);
        rows.push(
          {
            measure: `RSS growth holding ${count(MSGS)} messages of 16 B in one file stream`,
            unit: "bytes",
            nats: growth[0] as number,
            cuebus: growth[1] as number,
            perItem: MSGS,
            target: { text: "<= 2 B/msg (<= 20 MB at 10 M)", met: (growth[1] as number) / MSGS <= 2 },
          },
          {
            measure: `RSS growth holding them, ${IDLE_MS / 1000} s later without load`,
            unit: "bytes",
            nats: fills[0].rssSettled - fills[0].rssBefore,
            cuebus: fills[1].rssSettled - fills[1].rssBefore,
            perItem: MSGS,
            target: { text: "<= 2 B/msg (<= 20 MB at 10 M)", met: (fills[1].rssSettled - fills[1].rssBefore) / MSGS <= 2 },
          },
          {
            measure: `RSS growth from ${FIRST_PART * 100}% to 100% of the fill (what each message added costs)`,
            unit: "bytes",
            nats: fills[0].rssAfter - fills[0].rssPart,
            cuebus: fills[1].rssAfter - fills[1].rssPart,
            perItem: MSGS - Math.round(MSGS * FIRST_PART),
          },
          { measure: "RSS after the fill", unit: "bytes", nats: fills[0].rssAfter, cuebus: fills[1].rssAfter },
          { measure: "peak RSS (VmHWM) by the end of the fill", unit: "bytes", nats: fills[0].peakRss, cuebus: fills[1].peakRss },
          fillRow,
          { measure: "clean stop: SIGTERM to exit", unit: "ms", nats: restarts[0].stopMs, cuebus: restarts[1].stopMs },
          {
            measure: `restart to serving after a clean stop, ${count(MSGS)} messages (spawn to STREAM.INFO with all)`,
            unit: "ms",
            nats: restarts[0].serveMs,
            cuebus: restarts[1].serveMs,
            target: { text: "<= 300 ms, node start included", met: restarts[1].serveMs <= 300 },
          },
          { measure: "node -e 0 (spawn to exit), for context", unit: "ms", nats: Number.NaN, cuebus: floor },
          { measure: "RSS after the restart", unit: "bytes", nats: restarts[0].rssAfter, cuebus: restarts[1].rssAfter },
          {
            // At rest: the restarted server holding every message against the same server empty
            // before the fill (no publishing's working set on either side).
            measure: `RSS holding the ${count(MSGS)} after the restart, over the server before the fill`,
            unit: "bytes",
            nats: restarts[0].rssAfter - fills[0].rssBefore,
            cuebus: restarts[1].rssAfter - fills[1].rssBefore,
            perItem: MSGS,
            target: { text: "<= 2 B/msg (<= 20 MB at 10 M)", met: (restarts[1].rssAfter - fills[1].rssBefore) / MSGS <= 2 },
          },
          {
            measure: `restart to serving after kill -9 during publishing, ${count(MSGS)}+ messages`,
            unit: "ms",
            nats: kills[0].serveMs,
            cuebus: kills[1].serveMs,
            target: { text: "<= 1 s", met: kills[1].serveMs <= 1000 },
          },
          ...reads,
        );
        Object.assign(details, { nodeFloorMs: floor, kills });
      }
    } finally {
      for (const s of servers) await stop(s);
      rmSync(join(dir, "nats"), { recursive: true, force: true });
      rmSync(join(dir, "cuebus"), { recursive: true, force: true });
    }

    if (!READS_ONLY) {
      // The KV bucket on fresh servers, so the stream above is not part of either baseline.
      const kvServers: [Server, Server] = [await start("nats-server", join(dir, "kv-nats")), await start("cuebus", join(dir, "kv-cuebus"))];
      try {
        const kv = [await kvFill(kvServers[0]), await kvFill(kvServers[1])] as const;
        const g = kv.map((k) => k.rssAfter - k.rssBefore);
        rows.push(
          {
            measure: `RSS growth of a KV bucket with ${count(KEYS)} keys (16 B values)`,
            unit: "bytes",
            nats: g[0] as number,
            cuebus: g[1] as number,
            perItem: KEYS,
            target: { text: "<= 2x nats-server", met: (g[1] as number) <= 2 * (g[0] as number) },
          },
          {
            measure: `the same, ${IDLE_MS / 1000} s later without load`,
            unit: "bytes",
            nats: kv[0].rssSettled - kv[0].rssBefore,
            cuebus: kv[1].rssSettled - kv[1].rssBefore,
            perItem: KEYS,
            target: { text: "<= 2x nats-server", met: kv[1].rssSettled - kv[1].rssBefore <= 2 * (kv[0].rssSettled - kv[0].rssBefore) },
          },
          { measure: "KV puts, 1 key each", unit: "msgs/s", nats: kv[0].fillPerSecond, cuebus: kv[1].fillPerSecond },
        );
        details["kv"] = kv;
      } finally {
        for (const s of kvServers) await stop(s);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const minutes = (performance.now() - t0) / 60_000;
  console.log(`\nScale (issue 16): ${count(MSGS)} messages of 16 B, ${count(KEYS)} KV keys; ${minutes.toFixed(1)} minutes\n`);
  console.log(markdownTable(rows));
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  const outDir = join(root, "bench/results");
  mkdirSync(outDir, { recursive: true });
  const config = { msgs: MSGS, keys: KEYS, replay: REPLAY, getSeconds: GET_SECONDS, repeat: REPEAT, fillWindow: FILL_WINDOW, getWindow: GET_WINDOW, settleMs: SETTLE_MS, idleMs: IDLE_MS, minutes };
  writeFileSync(join(outDir, `${stamp}-scale.json`), JSON.stringify({ config, rows, details }, null, 2));
  console.log(`\nwritten bench/results/${stamp}-scale.json`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
