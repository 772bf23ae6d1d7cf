/**
 * `npm run bench` (last part): the HTTP edge. HTTP publish (core and durable) driven by autocannon,
 * and server-sent events fanned out to 100 readers, against cuebus in its own process; the publish
 * rows beside a bare `node:http` server answering 204 (bench/http-ceiling.ts, its own process too),
 * the ceiling of Node's HTTP stack on this machine.
 */
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { request, type IncomingMessage } from "node:http";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import autocannon from "autocannon";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { jetstreamManager } from "@nats-io/jetstream";
import { freePort, startTarget, type Target } from "./procs.js";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "../..");
/** Measured seconds of the SSE row. */
const SECONDS = Number(process.env["BENCH_HTTP_SECONDS"] ?? process.env["BENCH_SECONDS"] ?? 3);
/** Unmeasured seconds of the same load before each publish row (JIT, socket pools). */
const WARMUP_SECONDS = Number(process.env["BENCH_WARMUP_SECONDS"] ?? 1);
/**
 * Pairs of runs per publish row, each a run of the ceiling and one of cuebus back to back. Many
 * short pairs rather than a few long ones: this VM's speed drifts by tens of percent within a
 * minute, and a pair's two runs should see the same machine.
 */
const PAIRS = Number(process.env["BENCH_HTTP_PAIRS"] ?? process.env["BENCH_HTTP_REPEAT"] ?? 9);
/** Seconds of each run of a pair. */
const PAIR_SECONDS = Number(process.env["BENCH_HTTP_PAIR_SECONDS"] ?? 1.5);
/** autocannon connections (each keeps one request in flight). */
const CONNECTIONS = Number(process.env["BENCH_HTTP_CONNECTIONS"] ?? 64);
/** SSE readers of the fan-out row. */
const SSE_READERS = Number(process.env["BENCH_SSE_READERS"] ?? 100);
/**
 * Events the SSE publisher lets the slowest reader lag behind: a closed loop, so the row measures
 * what cuebus delivers rather than how fast it closes readers that fall past their buffer limit.
 */
const SSE_WINDOW = 1000;
/** Messages the SSE publisher sends between checks of the readers' progress. */
const SSE_BATCH = 100;
const PAYLOAD = Buffer.from("x".repeat(16));

type Row = Record<string, string | number>;

/** POST `url` under autocannon for `seconds`: 2xx answers per second and what else came back. */
async function cannon(url: string, seconds: number): Promise<{ rps: number; ok: number; non2xx: number; errors: number }> {
  const r = await autocannon({ url, method: "POST", body: PAYLOAD, headers: { "content-type": "application/octet-stream" }, connections: CONNECTIONS, pipelining: 1, duration: seconds });
  return { rps: r["2xx"] / (r.duration || seconds), ok: r["2xx"], non2xx: r.non2xx, errors: r.errors };
}

function median(xs: number[]): number {
  const s = [...xs].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

/** The value below which a fraction `q` of the sorted `s` lies (linear between neighbours). */
function quantile(s: number[], q: number): number {
  const at = (s.length - 1) * q;
  const lo = Math.floor(at);
  const hi = Math.ceil(at);
  return (s[lo] as number) + ((s[hi] as number) - (s[lo] as number)) * (at - lo);
}

/**
 * One publish row: `PAIRS` pairs of runs, the ceiling and cuebus back to back, the one that goes
 * first alternating from pair to pair (so a machine speeding up or slowing down within a pair
 * favours neither); medians of each, and the median and middle half of the pairs' ratios.
 */
async function publishRow(name: string, url: string, ceilingUrl: string, target: number | null, delivered?: () => Promise<number>): Promise<Row> {
  await cannon(ceilingUrl, WARMUP_SECONDS);
  await cannon(url, WARMUP_SECONDS);
  const ceilings: number[] = [];
  const ours: number[] = [];
  const ratios: number[] = [];
  let non2xx = 0;
  let errors = 0;
  let sent = 0;
  // Let the warm-up's last messages reach the subscriber before counting.
  await new Promise((r) => setTimeout(r, 300));
  const before = delivered === undefined ? 0 : await delivered();
  for (let i = 0; i < PAIRS; i++) {
    let c, o;
    if (i % 2 === 0) {
      c = await cannon(ceilingUrl, PAIR_SECONDS);
      o = await cannon(url, PAIR_SECONDS);
    } else {
      o = await cannon(url, PAIR_SECONDS);
      c = await cannon(ceilingUrl, PAIR_SECONDS);
    }
    ceilings.push(c.rps);
    ours.push(o.rps);
    ratios.push(o.rps / c.rps);
    non2xx += o.non2xx;
    errors += o.errors;
    sent += o.ok;
  }
  const ratio = median(ratios);
  const notes: string[] = [];
  if (non2xx > 0) notes.push(`${non2xx} non-2xx`);
  if (errors > 0) notes.push(`${errors} errors`);
  if (delivered !== undefined) {
    await new Promise((r) => setTimeout(r, 300));
    // A run stops with up to CONNECTIONS requests in flight: published, not counted as answered.
    notes.push(`${(await delivered()) - before} reached the NATS subscriber, ${sent} answered 2xx`);
  }
  const sorted = [...ratios].sort((x, y) => x - y);
  notes.push(`middle half of the ratios ${quantile(sorted, 0.25).toFixed(2)}-${quantile(sorted, 0.75).toFixed(2)}`);
  notes.push(`ratios ${ratios.map((r) => r.toFixed(2)).join(" ")}`);
  return {
    scenario: name,
    "cuebus req/s": Math.round(median(ours)),
    "node:http 204 req/s": Math.round(median(ceilings)),
    ratio: +ratio.toFixed(2),
    target: target === null ? "-" : `${ratio >= target ? "met" : "MISSED"} (>= ${target}x)`,
    notes: notes.join(", "),
  };
}

/** A NATS subscriber in a child process (bench/gen.ts), so counting does not share our event loop. */
function natsSubscriber(port: number, subject: string): { count: () => Promise<number>; kill: () => void } {
  const proc = spawn(process.execPath, [join(here, "gen.js"), JSON.stringify({ role: "sub", port, subject, size: PAYLOAD.length, seconds: SECONDS })], { stdio: ["pipe", "pipe", "inherit"] });
  const waiters: Array<(n: number) => void> = [];
  let buf = "";
  proc.stdout?.on("data", (d: Buffer) => {
    buf += d.toString();
    let i: number;
    while ((i = buf.indexOf("\n")) !== -1) {
      const m = JSON.parse(buf.slice(0, i)) as { received?: number };
      buf = buf.slice(i + 1);
      if (m.received !== undefined) waiters.shift()?.(m.received);
    }
  });
  return {
    count: () =>
      new Promise((resolve) => {
        waiters.push(resolve);
        proc.stdin?.write("count\n");
      }),
    kill: () => proc.kill(),
  };
}

/** One SSE reader: counts `event: message` frames (across chunk edges) and notes an `event: error`. */
interface Reader {
  count: number;
  failed: string;
  res: IncomingMessage | null;
}

function openReader(port: number, subject: string, onEvent: () => void): Promise<Reader> {
  const r: Reader = { count: 0, failed: "", res: null };
  const MARK = "event: message\n";
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path: `/v1/subscribe/${subject}`, headers: { accept: "text/event-stream" } }, (res) => {
      r.res = res;
      if (res.statusCode !== 200) {
        r.failed = `HTTP ${res.statusCode}`;
        res.resume();
        resolve(r);
        return;
      }
      let tail = "";
      res.setEncoding("latin1");
      res.on("data", (chunk: string) => {
        const text = tail + chunk;
        let i = -1;
        let n = 0;
        while ((i = text.indexOf(MARK, i + 1)) !== -1) n++;
        if (text.includes("event: error\n")) r.failed = "closed by the server (event: error)";
        tail = text.slice(-(MARK.length - 1));
        if (n > 0) {
          r.count += n;
          onEvent();
        }
      });
      res.on("error", () => {});
      resolve(r);
    });
    req.on("error", reject);
    req.end();
  });
}

/** SSE fan-out: `SSE_READERS` readers of one core subject, a NATS publisher; events/s across readers. */
async function sseRow(natsUrl: string, httpPort: number): Promise<Row> {
  const subject = "bench.sse";
  let wake: (() => void) | null = null;
  let published = 0;
  const readers: Reader[] = [];
  const slowest = (): number => {
    let min = Number.MAX_SAFE_INTEGER;
    for (const r of readers) if (r.failed === "" && r.count < min) min = r.count;
    return min;
  };
  const onEvent = (): void => {
    if (wake !== null && slowest() >= published - SSE_WINDOW) {
      const w = wake;
      wake = null;
      w();
    }
  };
  for (let i = 0; i < SSE_READERS; i++) readers.push(await openReader(httpPort, subject, onEvent));
  const refused = readers.find((r) => r.failed !== "");
  if (refused !== undefined) {
    for (const r of readers) r.res?.destroy();
    return { scenario: `SSE fan-out to ${SSE_READERS} readers`, "cuebus req/s": "-", "node:http 204 req/s": "-", ratio: "-", target: "-", notes: `GET /v1/subscribe refused: ${refused.failed}` };
  }
  const nc: NatsConnection = await connect({ servers: natsUrl });
  // Every reader is subscribed once a probe message reaches all of them.
  const probeUntil = Date.now() + 5000;
  while (readers.some((r) => r.count === 0) && Date.now() < probeUntil) {
    nc.publish(subject, PAYLOAD);
    await nc.flush();
    await new Promise((r) => setTimeout(r, 20));
  }
  for (const r of readers) r.count = 0;
  published = 0;
  const start = Date.now();
  const until = start + SECONDS * 1000;
  while (Date.now() < until) {
    if (slowest() < published - SSE_WINDOW) {
      await new Promise<void>((resolve) => {
        wake = resolve;
        // A reader closed mid-run would stall the loop: check again now and then.
        setTimeout(() => {
          if (wake === resolve) {
            wake = null;
            resolve();
          }
        }, 200);
      });
      continue;
    }
    for (let i = 0; i < SSE_BATCH; i++) nc.publish(subject, PAYLOAD);
    published += SSE_BATCH;
    await nc.flush();
  }
  const seconds = (Date.now() - start) / 1000;
  let delivered = 0;
  for (const r of readers) delivered += r.count;
  const closed = readers.filter((r) => r.failed !== "").length;
  for (const r of readers) r.res?.destroy();
  await nc.close();
  return {
    scenario: `SSE fan-out to ${SSE_READERS} readers (events/s)`,
    "cuebus req/s": Math.round(delivered / seconds),
    "node:http 204 req/s": "-",
    ratio: "-",
    target: "-",
    notes: `${Math.round(published / seconds)} msgs/s published${closed > 0 ? `, ${closed} readers closed` : ""}`,
  };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "cuebus-httpbench-"));
  const httpPort = await freePort();
  const cuebus = await startTarget("cuebus", process.execPath, (p) => [join(root, "dist/src/cli/main.js"), "server", "-a", "127.0.0.1", "-p", String(p), "-m", String(httpPort), "-js", "-sd", dir], /Server is ready/);
  const ceiling = await startTarget("node:http", process.execPath, (p) => [join(here, "http-ceiling.js"), String(p)], /ready/);
  const targets: Target[] = [cuebus, ceiling];
  try {
    const base = `http://127.0.0.1:${httpPort}`;
    const ceilingUrl = `http://127.0.0.1:${ceiling.port}/v1/publish/bench.http`;
    const rows: Row[] = [];

    // The edge's own cost: routed to nobody, so no subscriber process shares the two cores.
    rows.push(await publishRow("HTTP publish, core (no subscriber)", `${base}/v1/publish/bench.nobody`, ceilingUrl, 0.7));
    const sub = natsSubscriber(cuebus.port, "bench.http");
    await new Promise((r) => setTimeout(r, 200));
    rows.push(await publishRow("HTTP publish, core (1 NATS subscriber)", `${base}/v1/publish/bench.http`, ceilingUrl, 0.7, sub.count));
    sub.kill();

    const nc = await connect({ servers: `nats://127.0.0.1:${cuebus.port}` });
    await (await jetstreamManager(nc)).streams.add({ name: "HTTPBENCH", subjects: ["bench.durable.>"] });
    await nc.close();
    rows.push(await publishRow("HTTP publish, durable (file stream, fsync before the answer)", `${base}/v1/publish/bench.durable.x`, ceilingUrl, null));

    rows.push(await sseRow(`nats://127.0.0.1:${cuebus.port}`, httpPort));

    console.log(`\nHTTP edge (publish rows: ${PAIRS} pairs of ${PAIR_SECONDS}-s runs; SSE: ${SECONDS} s; ${CONNECTIONS} autocannon connections, ${PAYLOAD.length} B bodies)`);
    console.table(rows);
    const stamp = new Date().toISOString().replace(/[:.]/g, "-");
    const outDir = join(root, "bench/results");
    mkdirSync(outDir, { recursive: true });
    writeFileSync(join(outDir, `http-${stamp}.json`), JSON.stringify({ pairs: PAIRS, pairSeconds: PAIR_SECONDS, seconds: SECONDS, connections: CONNECTIONS, sseReaders: SSE_READERS, rows }, null, 2));
    console.log(`written bench/results/http-${stamp}.json`);
  } finally {
    for (const t of targets) t.proc.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
