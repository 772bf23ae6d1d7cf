/**
 * `npm run bench`: the same load against nats-server and cuebus (and a discarding sink for the
 * generator's ceiling), each server in its own process, generators in child processes.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Histogram } from "./histogram.js";
import { startTarget, type Target } from "./procs.js";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "../..");
const SECONDS = Number(process.env["BENCH_SECONDS"] ?? 3);
const IDLE_CONNS = Number(process.env["BENCH_IDLE"] ?? 10_000);

type Msg = Record<string, unknown>;

/** Fork a generator; resolves its first message (ready or result) and lets us read later ones. */
function gen(job: Msg): { proc: ChildProcess; next: () => Promise<Msg> } {
  const proc = spawn(process.execPath, [join(here, "gen.js"), JSON.stringify(job)], { stdio: ["pipe", "pipe", "inherit"] });
  const queue: Msg[] = [];
  const waiters: Array<(m: Msg) => void> = [];
  let buf = "";
  proc.stdout?.on("data", (d: Buffer) => {
    buf += d.toString();
    let i: number;
    while ((i = buf.indexOf("\n")) !== -1) {
      const m = JSON.parse(buf.slice(0, i)) as Msg;
      buf = buf.slice(i + 1);
      const w = waiters.shift();
      if (w !== undefined) w(m);
      else queue.push(m);
    }
  });
  return {
    proc,
    next: () => new Promise((resolve) => {
      const m = queue.shift();
      if (m !== undefined) resolve(m);
      else waiters.push(resolve);
    }),
  };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** pubs publishers and subs subscribers (queue when given); msgs/s delivered (or published when subs = 0). */
async function throughput(port: number, size: number, subs: number, queue?: string): Promise<number> {
  const subject = `bench.${size}`;
  const subGens = Array.from({ length: subs }, () => gen({ role: "sub", port, subject, size, seconds: SECONDS, queue }));
  for (const g of subGens) await g.next();
  await sleep(200);
  const pub = gen({ role: "pub", port, subject, size, seconds: SECONDS });
  const r = await pub.next();
  await sleep(300); // let the last deliveries land
  let received = 0;
  for (const g of subGens) {
    g.proc.stdin?.write("count\n");
    received += Number((await g.next())["received"]);
    g.proc.kill();
  }
  const seconds = Number(r["seconds"]);
  return subs === 0 ? Number(r["sent"]) / seconds : received / seconds;
}

async function latency(port: number, requesters: number): Promise<{ p50: number; p99: number; p999: number; rps: number }> {
  const responder = gen({ role: "responder", port, subject: "bench.req", size: 16, seconds: SECONDS });
  await responder.next();
  await sleep(200);
  const procs = Math.min(2, requesters);
  const per = Math.ceil(requesters / procs);
  const gens = Array.from({ length: procs }, () => gen({ role: "requester", port, subject: "bench.req", size: 16, seconds: SECONDS, count: per }));
  const h = new Histogram();
  let done = 0;
  for (const g of gens) {
    const r = await g.next();
    h.merge(r["hist"] as number[]);
    done += Number(r["done"]);
  }
  responder.proc.kill();
  return { p50: h.percentile(50) / 1000, p99: h.percentile(99) / 1000, p999: h.percentile(99.9) / 1000, rps: done / SECONDS };
}

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m === null ? 0 : Number(m[1]) / 1024;
}

async function idleRss(t: Target): Promise<number> {
  const procs = 4;
  const gens = Array.from({ length: procs }, () => gen({ role: "idle", port: t.port, subject: "", size: 0, seconds: 4, count: IDLE_CONNS / procs }));
  for (const g of gens) await g.next();
  await sleep(1000);
  const rss = rssMb(t.proc.pid as number);
  for (const g of gens) await g.next();
  return rss;
}

async function main(): Promise<void> {
  const nats = await startTarget("nats-server", "nats-server", (p) => ["-a", "127.0.0.1", "-p", String(p)], /Server is ready/);
  const cuebus = await startTarget("cuebus", "bash", (p) => ["-c", `ulimit -n 65536 2>/dev/null; exec node ${join(root, "dist/src/cli/main.js")} server -a 127.0.0.1 -p ${p}`], /Server is ready/);
  const sink = await startTarget("sink", process.execPath, (p) => [join(here, "sink.js"), String(p)], /ready/);
  const rows: Array<Record<string, string | number>> = [];
  const scenarios: Array<[string, number, number, string | undefined]> = [
    ["pub only 16 B", 16, 0, undefined],
    ["1 -> 1, 16 B", 16, 1, undefined],
    ["1 -> 1, 1 KiB", 1024, 1, undefined],
    ["fan-out 1 -> 8, 16 B", 16, 8, undefined],
    ["queue group of 4, 16 B", 16, 4, "q"],
  ];
  const ceiling = await throughput(sink.port, 16, 0);
  const ceiling1k = await throughput(sink.port, 1024, 0);
  for (const [name, size, subs, q] of scenarios) {
    const a = await throughput(nats.port, size, subs, q);
    const b = await throughput(cuebus.port, size, subs, q);
    rows.push({ scenario: name, "nats-server msgs/s": Math.round(a), "cuebus msgs/s": Math.round(b), ratio: +(b / a).toFixed(2), "generator ceiling (pub into sink)": Math.round(size === 1024 ? ceiling1k : ceiling) });
  }
  const lat: Array<Record<string, string | number>> = [];
  for (const n of [1, 50]) {
    const a = await latency(nats.port, n);
    const b = await latency(cuebus.port, n);
    lat.push({ requesters: n, "nats p50 µs": a.p50, "nats p99 µs": a.p99, "nats p99.9 µs": a.p999, "cuebus p50 µs": b.p50, "cuebus p99 µs": b.p99, "cuebus p99.9 µs": b.p999, "p99 ratio": +(b.p99 / a.p99).toFixed(2), "nats req/s": Math.round(a.rps), "cuebus req/s": Math.round(b.rps) });
  }
  const idle = { "nats-server MB": +(await idleRss(nats)).toFixed(1), "cuebus MB": +(await idleRss(cuebus)).toFixed(1), connections: IDLE_CONNS };
  console.log(`\nThroughput (${SECONDS} s per run)`);
  console.table(rows);
  console.log("Request/reply latency");
  console.table(lat);
  console.log("RSS with idle connections");
  console.table([idle]);
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  const outDir = join(root, "bench/results");
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, `${stamp}.json`), JSON.stringify({ seconds: SECONDS, throughput: rows, latency: lat, idle }, null, 2));
  writeFileSync(join(outDir, `${stamp}.svg`), chart(rows));
  console.log(`written bench/results/${stamp}.json and .svg`);
  for (const t of [nats, cuebus, sink]) t.proc.kill("SIGKILL");
}

/** A bar chart of msgs/s per scenario, nats-server beside cuebus. */
function chart(rows: Array<Record<string, string | number>>): string {
  const w = 760;
  const rowH = 44;
  const max = Math.max(...rows.flatMap((r) => [Number(r["nats-server msgs/s"]), Number(r["cuebus msgs/s"])]));
  const bars = rows
    .map((r, i) => {
      const y = 30 + i * rowH;
      const a = (Number(r["nats-server msgs/s"]) / max) * 480;
      const b = (Number(r["cuebus msgs/s"]) / max) * 480;
      return `<text x="0" y="${y + 14}" font-size="12">${String(r["scenario"])}</text>` +
        `<rect x="200" y="${y}" width="${a.toFixed(0)}" height="16" fill="#4a7"/><text x="${(205 + a).toFixed(0)}" y="${y + 13}" font-size="11">${Number(r["nats-server msgs/s"]).toLocaleString("en")}</text>` +
        `<rect x="200" y="${y + 18}" width="${b.toFixed(0)}" height="16" fill="#37c"/><text x="${(205 + b).toFixed(0)}" y="${y + 31}" font-size="11">${Number(r["cuebus msgs/s"]).toLocaleString("en")} (${String(r["ratio"])}x)</text>`;
    })
    .join("");
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${40 + rows.length * rowH}" font-family="sans-serif"><text x="200" y="16" font-size="12"><tspan fill="#4a7">nats-server</tspan> vs <tspan fill="#37c">cuebus</tspan>, msgs/s</text>${bars}</svg>`;
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
