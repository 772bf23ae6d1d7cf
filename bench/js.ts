/**
 * JetStream part of `npm run bench`: durable publish (256 in flight, 16 B and 1 KiB), pull consume
 * with explicit acks and fetch without acks, against nats-server's JetStream and cuebus in the same
 * run, plus this disk's own limit: appends of one small record each followed by fdatasync.
 * nats-server 2.9.10 acknowledges before it fsyncs; cuebus's file store fsyncs every batch first.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, fdatasyncSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { connect } from "@nats-io/transport-node";
import { StorageType, jetstreamManager } from "@nats-io/jetstream";
import { startTarget, type Target } from "./procs.js";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "../..");
const SECONDS = Number(process.env["BENCH_SECONDS"] ?? 3);
/** Messages pre-filled for the consume runs (0 skips them). */
const CONSUME_COUNT = Number(process.env["BENCH_JS_CONSUME"] ?? 100_000);

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
function fsyncRate(dir: string): number {
  const fd = openSync(join(dir, "fsync-probe"), "a");
  const rec = Buffer.alloc(64, 1);
  const until = Date.now() + Math.min(SECONDS, 2) * 1000;
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

async function addStream(port: number, name: string, subject: string, storage: "file" | "memory" = "file"): Promise<void> {
  const nc = await connect({ port });
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name, subjects: [subject], storage: storage === "file" ? StorageType.File : StorageType.Memory });
  await nc.close();
}

async function publishRate(t: Target, size: number, storage: "file" | "memory" = "file"): Promise<number> {
  const name = `PUB${size}_${Date.now()}`;
  await addStream(t.port, name, `bench.js.${name}`, storage);
  const r = await child("gen.js", { role: "jspub", port: t.port, subject: `bench.js.${name}`, size, seconds: SECONDS, window: 256 });
  return (r["acked"] as number) / (r["seconds"] as number);
}

async function consumeRates(t: Target): Promise<{ ack: number; fetch: number }> {
  const name = `CONS_${Date.now()}`;
  await addStream(t.port, name, `bench.jc.${name}`);
  await child("gen.js", { role: "jspub", port: t.port, subject: `bench.jc.${name}`, size: 16, seconds: 120, window: 256, count: CONSUME_COUNT });
  const a = await child("js-consume.js", { port: t.port, stream: name, mode: "consume-ack", count: CONSUME_COUNT });
  const f = await child("js-consume.js", { port: t.port, stream: name, mode: "fetch-noack", count: CONSUME_COUNT });
  return { ack: (a["got"] as number) / (a["seconds"] as number), fetch: (f["got"] as number) / (f["seconds"] as number) };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "cuebus-jsbench-"));
  const fsync = fsyncRate(dir);
  const nats = await start("nats-server", "nats-server", (p) => ["-a", "127.0.0.1", "-p", String(p), "-js", "-sd", join(dir, "nats")]);
  const cuebus = await start("cuebus", process.execPath, (p) => [join(root, "dist/src/cli/main.js"), "server", "-a", "127.0.0.1", "-p", String(p), "-js", "-sd", join(dir, "cuebus")]);
  const rows: Array<Record<string, string | number>> = [];
  const row = (scenario: string, a: number, b: number, target: string): void => {
    rows.push({ scenario, "nats-server msgs/s (acks before fsync)": Math.round(a), "cuebus msgs/s (fsync before ack)": Math.round(b), ratio: +(b / a).toFixed(2), "cuebus / fsync-per-msg": scenario.startsWith("durable publish") ? +(b / fsync).toFixed(1) : "-", target });
  };
  try {
    for (const size of [16, 1024]) {
      const a = await publishRate(nats, size);
      const b = await publishRate(cuebus, size);
      row(`durable publish ${size === 16 ? "16 B" : "1 KiB"}, 256 in flight`, a, b, ">= 0.7x and >= 20x fsync");
    }
    // The same load on memory streams (no disk on either side): what the rest of the path costs.
    const ma = await publishRate(nats, 16, "memory");
    const mb = await publishRate(cuebus, 16, "memory");
    row("memory-stream publish 16 B, 256 in flight (no disk)", ma, mb, "reference");
    if (CONSUME_COUNT > 0) {
      const ca = await consumeRates(nats);
      const cb = await consumeRates(cuebus);
      row(`pull consume + explicit ack (${CONSUME_COUNT})`, ca.ack, cb.ack, ">= 0.7x");
      row(`fetch, no ack (${CONSUME_COUNT})`, ca.fetch, cb.fetch, ">= 0.7x");
    }
  } finally {
    for (const t of [nats, cuebus]) t.proc.kill("SIGKILL");
  }
  console.log(`\nJetStream (${SECONDS} s per publish run); this disk: ${Math.round(fsync)} appends+fdatasync per second`);
  console.table(rows);
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  const outDir = join(root, "bench/results");
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, `${stamp}-jetstream.json`), JSON.stringify({ seconds: SECONDS, fsyncPerSecond: fsync, rows }, null, 2));
  console.log(`written bench/results/${stamp}-jetstream.json`);
  rmSync(dir, { recursive: true, force: true });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
