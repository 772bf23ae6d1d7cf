/**
 * JetStream part of `npm run bench`: durable publish (256 in flight, 16 B and 1 KiB), pull consume
 * with explicit acks and fetch without acks, against nats-server's JetStream and cuebus in the same
 * run, plus this disk's own limit: appends of one small record each followed by fdatasync.
 * nats-server 2.9.10 acknowledges before it fsyncs; cuebus's file store fsyncs every batch first.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { closeSync, fdatasyncSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { connect } from "@nats-io/transport-node";
import { StorageType, jetstreamManager } from "@nats-io/jetstream";
import { freePort, startTarget, type Target } from "./procs.js";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "../..");
const SECONDS = Number(process.env["BENCH_SECONDS"] ?? 3);
/**
 * Each publish run first publishes this long, unmeasured, on the same stream and connection
 * settings, for both servers: the figure is the steady state, not the first second of a JIT.
 */
const WARMUP_SECONDS = Number(process.env["BENCH_WARMUP_SECONDS"] ?? 1);
/**
 * Once per server, before any measured row: durable publishes of 16 B and of 1 KiB for this long
 * each, unmeasured, on a scratch stream. A fresh cuebus process needs a few seconds of load before
 * its JIT reaches steady state (a traced 16 B run took about 4 s); nats-server gets the same.
 */
const PRIME_SECONDS = Number(process.env["BENCH_JS_PRIME_SECONDS"] ?? 4);
/** Publish runs per server and scenario, alternating servers; the table gives the medians. */
const REPEAT = Math.max(1, Number(process.env["BENCH_JS_REPEAT"] ?? 5));
/**
 * max_msgs of the stream in the at-the-limit publish row, filled to it before the run (0 skips the
 * row). Before 2026-12-01 cuebus dropped the oldest message of a subject in time proportional to
 * the messages held (4.4k publishes/s at 500,000).
 */
const LIMIT_MSGS = Number(process.env["BENCH_JS_LIMIT"] ?? 200_000);
/** Messages pre-filled for the consume runs (0 skips them). */
const CONSUME_COUNT = Number(process.env["BENCH_JS_CONSUME"] ?? 100_000);
/**
 * 1 KiB messages pre-filled for the replay run (0 skips it): 50,000 are about 52 MB, far more than
 * cuebus keeps in its tail cache (8 MiB), so the fetch reads them back from the segment files.
 */
const REPLAY_COUNT = Number(process.env["BENCH_JS_REPLAY"] ?? 50_000);

function start(name: string, cmd: string, args: (port: number) => string[]): Promise<Target> {
  return startTarget(name, cmd, args, /Server is ready/);
}

function child(script: string, job: object): Promise<Record<string, number>> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [join(here, script), JSON.stringify(job)], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    p.stdout?.on("data", (d: Buffer) => (out += d.toString()));
    p.once("exit", () => {
      try {
        const r = JSON.parse(out.trim().split("\n").pop() as string) as Record<string, number>;
        if ("error" in r) reject(new Error(String(r["error"])));
        else resolve(r);
      } catch (err) {
        reject(err instanceof Error ? err : new Error(String(err)));
      }
    });
  });
}

/** One small record appended and fdatasync'ed, repeatedly: the per-message-sync ceiling of this disk. */
/**
 * Write back every dirty page on the machine (`sync`) before a measured run or a disk probe.
 * nats-server acknowledges before its data reaches the disk, so the kernel writes its last run's
 * data back later, during whatever runs next: without this, the next run (cuebus's fsyncs, or the
 * probe) would wait behind the previous run's deferred writes. cuebus leaves nothing behind, so
 * for its runs this changes nothing; each server's own deferred writes still land in its own run.
 */
function settle(): void {
  execFileSync("sync");
}

function fsyncRate(dir: string, seconds: number): number {
  settle();
  const fd = openSync(join(dir, "fsync-probe"), "a");
  const rec = Buffer.alloc(64, 1);
  const until = Date.now() + seconds * 1000;
  let n = 0;
  const t0 = process.hrtime.bigint();
  while (Date.now() < until) {
    writeSync(fd, rec);
    fdatasyncSync(fd);
    n++;
  }
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  closeSync(fd);
  return n / s;
}

async function addStream(port: number, name: string, subject: string, storage: "file" | "memory" = "file", maxMsgs = 0): Promise<void> {
  const nc = await connect({ port });
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name, subjects: [subject], storage: storage === "file" ? StorageType.File : StorageType.Memory, ...(maxMsgs > 0 ? { max_msgs: maxMsgs } : {}) });
  await nc.close();
}

/** CPU seconds used so far by a process's main thread, or by all its threads (Linux /proc; 0 elsewhere). */
function cpuSeconds(pid: number | undefined, threads: "main" | "all"): number {
  try {
    const f = readFileSync(threads === "all" ? `/proc/${pid}/stat` : `/proc/${pid}/task/${pid}/stat`, "latin1");
    const after = f.slice(f.lastIndexOf(")") + 2).split(" ");
    return (Number(after[11]) + Number(after[12])) / 100;
  } catch {
    return 0;
  }
}

/** cuebus's group-commit counters from its /metrics: batches written and seconds spent in their durable writes. */
async function syncCounters(monitor: number | undefined): Promise<{ batches: number; seconds: number } | null> {
  if (monitor === undefined) return null;
  const text = await (await fetch(`http://127.0.0.1:${monitor}/metrics`)).text();
  const num = (name: string): number => Number(new RegExp(`^${name} (\\S+)$`, "m").exec(text)?.[1] ?? 0);
  return { batches: num("cuebus_fsync_duration_seconds_count"), seconds: num("cuebus_fsync_duration_seconds_sum") };
}

/**
 * One measured publish run; `note` gets what bounds it (cuebus: batches, their write time,
 * main-thread CPU). With `maxMsgs`, the stream is first filled to that limit, so every publish of
 * the run also drops the oldest message.
 */
async function publishRate(t: Target, size: number, storage: "file" | "memory" = "file", notes?: string[], other?: Target, maxMsgs = 0): Promise<number> {
  const name = `PUB${size}_${Date.now()}`;
  await addStream(t.port, name, `bench.js.${name}`, storage, maxMsgs);
  if (maxMsgs > 0) await child("gen.js", { role: "jspub", port: t.port, subject: `bench.js.${name}`, size, seconds: 120, window: 256, count: maxMsgs });
  settle();
  if (WARMUP_SECONDS > 0) await child("gen.js", { role: "jspub", port: t.port, subject: `bench.js.${name}`, size, seconds: WARMUP_SECONDS, window: 256 });
  const before = await syncCounters(t.monitor);
  const cpu0 = cpuSeconds(t.proc.pid, "main");
  const otherCpu0 = cpuSeconds(other?.proc.pid, "all");
  const r = await child("gen.js", { role: "jspub", port: t.port, subject: `bench.js.${name}`, size, seconds: SECONDS, window: 256 });
  const cpu = cpuSeconds(t.proc.pid, "main") - cpu0;
  const otherCpu = cpuSeconds(other?.proc.pid, "all") - otherCpu0;
  const after = await syncCounters(t.monitor);
  const acked = r["acked"] as number;
  if (notes !== undefined && acked > 0) {
    let note = `${Math.round(acked / (r["seconds"] as number))}/s, main thread ${((cpu * 1e6) / acked).toFixed(1)} us/msg`;
    if (before !== null && after !== null && after.batches > before.batches) {
      const n = after.batches - before.batches;
      note += `, ${n} batches of ${Math.round(acked / n)} msgs, ${(((after.seconds - before.seconds) * 1000) / n).toFixed(2)} ms each`;
    }
    if (other !== undefined) note += `, ${other.name} meanwhile ${otherCpu.toFixed(2)} s CPU`;
    notes.push(note);
  }
  return acked / (r["seconds"] as number);
}

async function prime(t: Target): Promise<void> {
  if (PRIME_SECONDS <= 0) return;
  const name = `PRIME_${Date.now()}`;
  await addStream(t.port, name, `bench.prime.${name}`);
  for (const size of [16, 1024]) await child("gen.js", { role: "jspub", port: t.port, subject: `bench.prime.${name}`, size, seconds: PRIME_SECONDS, window: 256 });
}

async function consumeRates(t: Target): Promise<{ ack: number; fetch: number }> {
  const name = `CONS_${Date.now()}`;
  await addStream(t.port, name, `bench.jc.${name}`);
  await child("gen.js", { role: "jspub", port: t.port, subject: `bench.jc.${name}`, size: 16, seconds: 120, window: 256, count: CONSUME_COUNT });
  settle();
  const a = await child("js-consume.js", { port: t.port, stream: name, mode: "consume-ack", count: CONSUME_COUNT });
  const f = await child("js-consume.js", { port: t.port, stream: name, mode: "fetch-noack", count: CONSUME_COUNT });
  return { ack: (a["got"] as number) / (a["seconds"] as number), fetch: (f["got"] as number) / (f["seconds"] as number) };
}

/** Fetch (no acks) of REPLAY_COUNT 1 KiB messages, most of them older than what a server keeps in memory. */
async function replayRate(t: Target): Promise<number> {
  const name = `REPLAY_${Date.now()}`;
  await addStream(t.port, name, `bench.jr.${name}`);
  await child("gen.js", { role: "jspub", port: t.port, subject: `bench.jr.${name}`, size: 1024, seconds: 120, window: 256, count: REPLAY_COUNT });
  settle();
  const f = await child("js-consume.js", { port: t.port, stream: name, mode: "fetch-noack", count: REPLAY_COUNT });
  return (f["got"] as number) / (f["seconds"] as number);
}

/**
 * Run pair `r` of a row: nats-server first in even pairs, cuebus first in odd ones, so drift
 * within a pair favours neither. Returns [nats-server's result, cuebus's].
 */
async function inTurn<T>(r: number, nats: () => Promise<T>, cuebus: () => Promise<T>): Promise<[T, T]> {
  if (r % 2 === 0) {
    const a = await nats();
    return [a, await cuebus()];
  }
  const b = await cuebus();
  return [await nats(), b];
}

function median(xs: number[]): number {
  const s = [...xs].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "cuebus-jsbench-"));
  // The disk's own rate drifts within a run: probed again beside every durable publish pair.
  const probes: number[] = [fsyncRate(dir, Math.min(SECONDS, 2))];
  const nats = await start("nats-server", "nats-server", (p) => ["-a", "127.0.0.1", "-p", String(p), "-js", "-sd", join(dir, "nats")]);
  const monitor = await freePort();
  const cuebus = await start("cuebus", process.execPath, (p) => [join(root, "dist/src/cli/main.js"), "server", "-a", "127.0.0.1", "-p", String(p), "-m", String(monitor), "-js", "-sd", join(dir, "cuebus")]);
  cuebus.monitor = monitor;
  await prime(nats);
  await prime(cuebus);
  const rows: Array<Record<string, string | number>> = [];
  const runNotes: string[] = [];
  const row = (scenario: string, a: number, b: number, target: string, ratios = "", fsync = 0): void => {
    rows.push({
      scenario,
      "nats-server msgs/s (acks before fsync)": Math.round(a),
      "cuebus msgs/s (fsync before ack)": Math.round(b),
      ratio: +(b / a).toFixed(2),
      "ratio per run": ratios,
      "cuebus / fsync-per-msg": fsync > 0 ? +(b / fsync).toFixed(1) : "-",
      target,
    });
  };
  /** REPEAT runs of each server in turn (this machine's disk and cores drift by tens of percent within a minute). */
  const publishRow = async (scenario: string, size: number, storage: "file" | "memory", target: string, maxMsgs = 0): Promise<void> => {
    const a: number[] = [];
    const b: number[] = [];
    const near: number[] = [];
    const notes: string[] = [];
    for (let r = 0; r < REPEAT; r++) {
      if (storage === "file") near.push(fsyncRate(dir, 1));
      const [x, y] = await inTurn(
        r,
        () => publishRate(nats, size, storage, undefined, undefined, maxMsgs),
        () => publishRate(cuebus, size, storage, notes, nats, maxMsgs),
      );
      a.push(x);
      b.push(y);
    }
    runNotes.push(`${scenario}, cuebus per run: ${notes.join("; ")}`);
    probes.push(...near);
    const ratios = a.map((x, i) => ((b[i] as number) / x).toFixed(2)).join(" ");
    row(scenario, median(a), median(b), target, ratios, near.length > 0 ? median(near) : 0);
  };
  try {
    for (const size of [16, 1024]) {
      await publishRow(`durable publish ${size === 16 ? "16 B" : "1 KiB"}, 256 in flight`, size, "file", ">= 0.7x and >= 20x fsync");
    }
    // The same load on memory streams (no disk on either side): what the rest of the path costs.
    await publishRow("memory-stream publish 16 B, 256 in flight (no disk)", 16, "memory", "reference");
    // A stream at its limit: every publish also drops the oldest message (retention's steady state).
    if (LIMIT_MSGS > 0) await publishRow(`durable publish 16 B into a stream at max_msgs ${LIMIT_MSGS}`, 16, "file", "reference", LIMIT_MSGS);
    if (CONSUME_COUNT > 0) {
      // Like the publish rows: REPEAT runs, the servers taking turns, each on a freshly filled stream.
      const na: Array<{ ack: number; fetch: number }> = [];
      const cu: Array<{ ack: number; fetch: number }> = [];
      for (let r = 0; r < REPEAT; r++) {
        const [x, y] = await inTurn(
          r,
          () => consumeRates(nats),
          () => consumeRates(cuebus),
        );
        na.push(x);
        cu.push(y);
      }
      for (const kind of ["ack", "fetch"] as const) {
        const ratios = na.map((x, i) => ((cu[i] as { ack: number; fetch: number })[kind] / x[kind]).toFixed(2)).join(" ");
        const scenario = kind === "ack" ? `pull consume + explicit ack (${CONSUME_COUNT})` : `fetch, no ack (${CONSUME_COUNT})`;
        row(scenario, median(na.map((x) => x[kind])), median(cu.map((x) => x[kind])), ">= 0.7x", ratios);
      }
    }
    if (REPLAY_COUNT > 0) {
      const na: number[] = [];
      const cu: number[] = [];
      for (let r = 0; r < REPEAT; r++) {
        const [x, y] = await inTurn(
          r,
          () => replayRate(nats),
          () => replayRate(cuebus),
        );
        na.push(x);
        cu.push(y);
      }
      const ratios = na.map((x, i) => ((cu[i] as number) / x).toFixed(2)).join(" ");
      row(`replay from disk: fetch, no ack, 1 KiB (${REPLAY_COUNT})`, median(na), median(cu), ">= 0.7x", ratios);
    }
  } finally {
    for (const t of [nats, cuebus]) t.proc.kill("SIGKILL");
  }
  const fsync = median(probes);
  console.log(
    `\nJetStream (publish: median of ${REPEAT} runs of ${SECONDS} s per server, each after ${WARMUP_SECONDS} s of warm-up); ` +
      `this disk: ${Math.round(fsync)} appends+fdatasync per second (median of ${probes.length} probes, ${Math.round(Math.min(...probes))}-${Math.round(Math.max(...probes))}; ` +
      `each durable row divides by the median of the probes taken beside its runs)`,
  );
  console.table(rows);
  for (const n of runNotes) console.log(`  ${n}`);
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  const outDir = join(root, "bench/results");
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, `${stamp}-jetstream.json`), JSON.stringify({ seconds: SECONDS, warmupSeconds: WARMUP_SECONDS, repeat: REPEAT, fsyncPerSecond: fsync, fsyncProbes: probes, rows, runNotes }, null, 2));
  console.log(`written bench/results/${stamp}-jetstream.json`);
  rmSync(dir, { recursive: true, force: true });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
