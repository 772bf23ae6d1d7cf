/**
 * NATS Streaming bench (issue 17): the same load through cuebus's STAN protocol, through cuebus's
 * own JetStream, and through the real nats-streaming-server where one is given, in one run.
 *
 * - publish: async publishes of 16 B and 1 KiB with 16,384 in flight (node-nats-streaming's
 *   default maxPubAcksInflight), each acknowledged once stored; JetStream: the same publishes
 *   through the official JetStream client with the same window. Each side's client library is
 *   part of what is measured, as a service would see it.
 * - consume: a durable subscription from the first message with manual acks, every message acked
 *   (the client's default maxInFlight); JetStream: a pull consumer with explicit acks.
 *
 * Targets (issue 17): STAN >= 0.8x cuebus's JetStream figure; cuebus >= 1.0x nats-streaming-server
 * with its file store, fsync on each flush (`-st file --file_sync=true`, its default).
 *
 * `BENCH_NSS_BIN`: a nats-streaming-server binary (../shared/tools/build-nats-streaming-server.sh
 * builds one here); without it, its column is empty. `BENCH_STAN_MSGS` (default 100,000 per size).
 * Prints a table and writes bench/results/<time>-stan.json.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { connect } from "@nats-io/transport-node";
import { jetstreamManager, StorageType } from "@nats-io/jetstream";
import { runChild } from "./child.js";
import { startTarget, type Target } from "./procs.js";
import { count, parseCount } from "./scale-report.js";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const MAIN_JS = join(root, "dist/src/cli/main.js");
const MSGS = parseCount("BENCH_STAN_MSGS", process.env["BENCH_STAN_MSGS"], 100_000);
const NSS_BIN = process.env["BENCH_NSS_BIN"] ?? "";
const CLUSTER = "bench";
const SIZES = [16, 1024] as const;
/** node-nats-streaming's default maxPubAcksInflight. */
const IN_FLIGHT = 16_384;

interface Row {
  measure: string;
  nss: number;
  stan: number;
  js: number;
}

function log(line: string): void {
  process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${line}\n`);
}

async function stop(t: Target): Promise<void> {
  const gone = new Promise<void>((r) => t.proc.once("exit", () => r()));
  t.proc.kill("SIGTERM");
  await gone;
}

async function stanPublish(url: string, channel: string, size: number): Promise<number> {
  const r = await runChild("stan-load.js", { role: "publish", url, cluster: CLUSTER, channel, count: MSGS, size, inFlight: IN_FLIGHT });
  if (r["acked"] !== MSGS) throw new Error(`${url}: ${r["acked"]} of ${MSGS} STAN publishes acknowledged (${r["firstError"]})`);
  return MSGS / (r["seconds"] as number);
}

/** The same publishes as core messages with replies (no client library): the server's side alone. */
async function corePublish(url: string, role: "stan-core" | "js-core", channel: string, size: number): Promise<number> {
  const r = await runChild("stan-load.js", { role, url, cluster: CLUSTER, channel, count: MSGS, size, inFlight: IN_FLIGHT });
  if (r["acked"] !== MSGS) throw new Error(`${url}: ${r["acked"]} of ${MSGS} ${role} publishes acknowledged (${r["firstError"]})`);
  return MSGS / (r["seconds"] as number);
}

async function stanConsume(url: string, channel: string): Promise<number> {
  const r = await runChild("stan-load.js", { role: "consume", url, cluster: CLUSTER, channel, count: MSGS, size: 0, inFlight: IN_FLIGHT });
  return (r["got"] as number) / (r["seconds"] as number);
}

async function jsPublish(port: number, stream: string, size: number): Promise<number> {
  const nc = await connect({ port });
  await (await jetstreamManager(nc)).streams.add({ name: stream, subjects: [`${stream}.>`], storage: StorageType.File });
  await nc.close();
  const r = await runChild("stan-load.js", { role: "js-publish", url: `nats://127.0.0.1:${port}`, cluster: CLUSTER, channel: `${stream}.x`, count: MSGS, size, inFlight: IN_FLIGHT });
  if (r["acked"] !== MSGS) throw new Error(`${r["acked"]} of ${MSGS} JetStream publishes acknowledged (${r["firstError"]})`);
  return MSGS / (r["seconds"] as number);
}

async function jsConsume(port: number, stream: string): Promise<number> {
  const r = await runChild("js-consume.js", { port, stream, mode: "consume-ack", count: MSGS });
  return (r["got"] as number) / (r["seconds"] as number);
}

function figure(v: number): string {
  return Number.isFinite(v) ? `${Math.round(v).toLocaleString("en-US")} msgs/s` : "-";
}

function ratio(a: number, b: number): string {
  return Number.isFinite(a) && Number.isFinite(b) && b > 0 ? `${(a / b).toFixed(2)}x` : "-";
}

function table(rows: Row[]): string {
  const lines = [
    "| measure | nats-streaming-server (file, fsync) | cuebus STAN | cuebus JetStream | STAN / JetStream (target >= 0.8) | cuebus STAN / nats-streaming-server (target >= 1.0) |",
    "|---|---|---|---|---|---|",
  ];
  for (const r of rows) {
    const vsJs = r.stan / r.js;
    const vsNss = r.stan / r.nss;
    lines.push(
      `| ${r.measure} | ${figure(r.nss)} | ${figure(r.stan)} | ${figure(r.js)} | ${ratio(r.stan, r.js)}${Number.isFinite(vsJs) ? (vsJs >= 0.8 ? " met" : " MISSED") : ""} | ${ratio(r.stan, r.nss)}${Number.isFinite(vsNss) ? (vsNss >= 1 ? " met" : " MISSED") : ""} |`,
    );
  }
  return lines.join("\n");
}

async function main(): Promise<void> {
  if (!existsSync(MAIN_JS)) throw new Error("build first (npm run build)");
  const t0 = performance.now();
  const dir = mkdtempSync(join(tmpdir(), "cuebus-stan-bench-"));
  const rows: Row[] = SIZES.flatMap((size) => [
    { measure: `publish ${size} B, ${count(IN_FLIGHT)} in flight, ${count(MSGS)} messages (node-nats-streaming; @nats-io/jetstream)`, nss: Number.NaN, stan: Number.NaN, js: Number.NaN },
    { measure: `the same ${size} B publishes without a client library (PubMsg or payload with a reply over one core connection)`, nss: Number.NaN, stan: Number.NaN, js: Number.NaN },
    { measure: `durable subscription from the first, manual acks, ${size} B (node-nats-streaming; @nats-io/jetstream consume)`, nss: Number.NaN, stan: Number.NaN, js: Number.NaN },
  ]);
  const row = (i: number, k: number): Row => rows[i * 3 + k] as Row;
  try {
    const cuebus = await startTarget("cuebus", process.execPath, (p) => [MAIN_JS, "server", "-a", "127.0.0.1", "-p", String(p), "-js", "-sd", join(dir, "cuebus"), "-cid", CLUSTER], /Server is ready/);
    try {
      const url = `nats://127.0.0.1:${cuebus.port}`;
      for (const [i, size] of SIZES.entries()) {
        log(`cuebus: STAN and JetStream, ${size} B`);
        row(i, 0).stan = await stanPublish(url, `stan${size}`, size);
        row(i, 2).stan = await stanConsume(url, `stan${size}`);
        row(i, 1).stan = await corePublish(url, "stan-core", `core${size}`, size);
        row(i, 0).js = await jsPublish(cuebus.port, `JS${size}`, size);
        row(i, 2).js = await jsConsume(cuebus.port, `JS${size}`);
        row(i, 1).js = await corePublish(url, "js-core", `JS${size}.core`, size);
      }
    } finally {
      await stop(cuebus);
    }
    if (NSS_BIN !== "") {
      const nss = await startTarget("nats-streaming-server", NSS_BIN, (p) => ["-a", "127.0.0.1", "-p", String(p), "-cid", CLUSTER, "-st", "file", "-dir", join(dir, "nss"), "--file_sync=true"], /Streaming Server is ready/);
      try {
        const url = `nats://127.0.0.1:${nss.port}`;
        for (const [i, size] of SIZES.entries()) {
          log(`nats-streaming-server: ${size} B`);
          row(i, 0).nss = await stanPublish(url, `stan${size}`, size);
          row(i, 2).nss = await stanConsume(url, `stan${size}`);
          row(i, 1).nss = await corePublish(url, "stan-core", `core${size}`, size);
        }
      } finally {
        await stop(nss);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const minutes = (performance.now() - t0) / 60_000;
  console.log(`\nNATS Streaming (issue 17): ${count(MSGS)} messages per row, node-nats-streaming@0.3.2 for STAN; ${minutes.toFixed(1)} minutes\n`);
  console.log(table(rows));
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  const outDir = join(root, "bench/results");
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, `${stamp}-stan.json`), JSON.stringify({ config: { msgs: MSGS, inFlight: IN_FLIGHT, nss: NSS_BIN !== "", minutes }, rows }, null, 2));
  console.log(`\nwritten bench/results/${stamp}-stan.json`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
