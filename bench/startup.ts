/**
 * Start-up, the way test launchers meet it: from spawn() to a whole ports file (the file a
 * launcher polls for; nats.js's gives a server 1 s), for nats-server and cuebus side by side, with
 * `node -e 0` (spawn to exit) as the floor every Node program pays. Then 12 servers spawned at once,
 * as nats.js's TLS tests do on a 2-core machine: the time until all 12 ports files are there.
 */
import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, watch, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "../..");
/** Another cuebus checkout (built) to measure instead of this one: a before/after comparison. */
const CUEBUS_ROOT = process.env["BENCH_STARTUP_CUEBUS"] ?? root;
const MAIN_JS = join(CUEBUS_ROOT, "dist/src/cli/main.js");
const WRAPPER = join(CUEBUS_ROOT, "bin/nats-server");
const NATS_SERVER = existsSync("/usr/sbin/nats-server") ? "/usr/sbin/nats-server" : "nats-server";
/** Runs per single-server row (the median is reported). */
const RUNS = Number(process.env["BENCH_STARTUP_RUNS"] ?? 15);
/** Rounds of the 12-at-once row, per server. */
const GROUP_RUNS = Number(process.env["BENCH_STARTUP_GROUP_RUNS"] ?? 5);
/** Servers spawned at once: nats.js's tls_test.js starts 12 with `concurrency: true`. */
const GROUP = 12;
/** A server that has not written its ports file by then is reported as failed, not waited for. */
const GIVE_UP_MS = 10_000;
/** nats.js's launcher gives a server this long to write its ports file (helpers/launcher.js, v3.3.1). */
const LAUNCHER_LIMIT_MS = 1000;

/** One start: wall ms from spawn to the ports file, and the process's CPU ms by then. */
interface Sample {
  ms: number;
  cpu: number;
}

interface Spawned {
  proc: ChildProcess;
  /** The ports file this process will write. */
  file: string;
}

/** How to start one server: `dir` is its own scratch space (config, store), `portsDir` its ports_file_dir. */
type Launch = (dir: string, portsDir: string) => { cmd: string; args: string[]; portsName: (pid: number) => string };

/**
 * CPU time of process `pid` so far, all its threads, in ms (`/proc/<pid>/task/<tid>/schedstat`,
 * first field: ns on a CPU). Wall time on a shared 2-core machine moves with everyone else's load;
 * this moves much less, so the table gives both.
 */
function cpuMs(pid: number): number {
  let ns = 0;
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").split(" ")[0]);
      } catch {
        // the thread ended meanwhile
      }
    }
  } catch {
    return Number.NaN;
  }
  return ns / 1e6;
}

/** A ports file counts once it parses: nats-server writes it in place, cuebus renames a whole one in. */
function whole(file: string): boolean {
  try {
    JSON.parse(readFileSync(file, "utf8"));
    return true;
  } catch {
    return false;
  }
}

/**
 * Spawn each launch at the same moment (one synchronous loop) and resolve with the ms from just
 * before the first spawn until each one's ports file is whole (in spawn order), watching the
 * directory (inotify) with a slow poll as a safety net.
 */
async function spawnUntilPortsFiles(dir: string, launches: ReturnType<Launch>[]): Promise<{ ms: number[]; cpu: number[]; spawned: Spawned[] }> {
  const ms: number[] = new Array<number>(launches.length).fill(Number.NaN);
  const cpu: number[] = new Array<number>(launches.length).fill(Number.NaN);
  let left = launches.length;
  let done: () => void = () => {};
  const finished = new Promise<void>((resolve) => (done = resolve));
  const check = (): void => {
    const now = performance.now() - t0;
    spawned.forEach((s, i) => {
      if (Number.isNaN(ms[i]) && whole(s.file)) {
        ms[i] = now;
        cpu[i] = cpuMs(s.proc.pid ?? 0);
        if (--left === 0) done();
      }
    });
  };
  const watcher = watch(dir, check);
  const poll = setInterval(check, 20);
  const t0 = performance.now();
  const spawned: Spawned[] = launches.map((l) => {
    const proc = spawn(l.cmd, l.args, { stdio: "ignore" });
    return { proc, file: join(dir, l.portsName(proc.pid ?? 0)) };
  });
  const timer = setTimeout(done, GIVE_UP_MS);
  check();
  await finished;
  clearTimeout(timer);
  clearInterval(poll);
  watcher.close();
  return { ms, cpu, spawned };
}

async function kill(spawned: Spawned[]): Promise<void> {
  await Promise.all(
    spawned.map(
      (s) =>
        new Promise<void>((resolve) => {
          if (s.proc.exitCode !== null || s.proc.signalCode !== null) return resolve();
          s.proc.once("exit", () => resolve());
          s.proc.kill("SIGKILL");
        }),
    ),
  );
}

/** ms from spawn to exit of `node -e 0`: what starting any Node program costs here. */
async function nodeFloor(): Promise<number> {
  const t0 = performance.now();
  const proc = spawn(process.execPath, ["-e", "0"], { stdio: "ignore" });
  await new Promise<void>((resolve) => proc.once("exit", () => resolve()));
  return performance.now() - t0;
}

/** One start of `launch` in a fresh directory: ms to its ports file and its CPU ms by then (NaN if it never came). */
async function once(launch: Launch): Promise<Sample> {
  const dir = mkdtempSync(join(tmpdir(), "bench-startup-"));
  try {
    const { ms, cpu, spawned } = await spawnUntilPortsFiles(dir, [launch(dir, dir)]);
    await kill(spawned);
    return { ms: ms[0] ?? Number.NaN, cpu: cpu[0] ?? Number.NaN };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** GROUP copies of `launch` spawned at once: ms until the last ports file, and how many came within the launcher's 1 s. */
async function group(launch: Launch): Promise<{ allMs: number; withinLimit: number }> {
  const dir = mkdtempSync(join(tmpdir(), "bench-startup-group-"));
  try {
    // One ports_file_dir for all, as the launcher's TMPDIR: each names its file by pid.
    const launches = Array.from({ length: GROUP }, (_, i) => {
      const own = join(dir, `s${i}`);
      mkdirSync(own);
      return launch(own, dir);
    });
    const { ms, spawned } = await spawnUntilPortsFiles(dir, launches);
    await kill(spawned);
    return { allMs: Math.max(...ms.map((m) => (Number.isNaN(m) ? Number.POSITIVE_INFINITY : m))), withinLimit: ms.filter((m) => m <= LAUNCHER_LIMIT_MS).length };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  if (n === 0) return Number.NaN;
  return n % 2 === 1 ? (s[(n - 1) / 2] as number) : ((s[n / 2 - 1] as number) + (s[n / 2] as number)) / 2;
}

/** A self-signed certificate for the launcher-style TLS config (nats.js's tls tests use their own CA). */
function makeCert(dir: string): { cert: string; key: string } {
  const cert = join(dir, "cert.pem");
  const key = join(dir, "key.pem");
  execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"], { stdio: "ignore" });
  return { cert, key };
}

/** The config file nats.js's launcher writes for a TLS test: host, port -1, http 127.0.0.1:-1, ports_file_dir, tls { cert, key, ca }. */
function launcherConf(dir: string, portsDir: string, tls: { cert: string; key: string }): string {
  const conf = join(dir, "server.conf");
  writeFileSync(conf, `host: "0.0.0.0"\nport: -1\nhttp: "127.0.0.1:-1"\nports_file_dir: "${portsDir}"\ntls {\n  cert_file: "${tls.cert}"\n  key_file: "${tls.key}"\n  ca_file: "${tls.cert}"\n}\n`);
  return conf;
}

async function main(): Promise<void> {
  if (!existsSync(MAIN_JS)) throw new Error("build first (npm run build)");
  const certDir = mkdtempSync(join(tmpdir(), "bench-startup-tls-"));
  const tls = makeCert(certDir);

  // The floor for CPU: Node starting and writing a ports file, then idling like a server.
  const nodeWrites: Launch = (_dir, ports) => ({ cmd: process.execPath, args: ["-e", "require('fs').writeFileSync(process.argv[1] + '/node_' + process.pid + '.ports', '{}'); setInterval(() => {}, 1e6)", ports], portsName: (pid) => `node_${pid}.ports` });
  const natsPlain: Launch = (_dir, ports) => ({ cmd: NATS_SERVER, args: ["-p", "-1", "-ports_file_dir", ports], portsName: (pid) => `nats-server_${pid}.ports` });
  const natsJs: Launch = (dir, ports) => ({ cmd: NATS_SERVER, args: ["-p", "-1", "-js", "-sd", join(dir, "store"), "-m", "-1", "-ports_file_dir", ports], portsName: (pid) => `nats-server_${pid}.ports` });
  const cuebusPlain: Launch = (_dir, ports) => ({ cmd: process.execPath, args: [MAIN_JS, "server", "-p", "-1", "--ports_file_dir", ports], portsName: (pid) => `cuebus_${pid}.ports` });
  const cuebusJs: Launch = (dir, ports) => ({ cmd: process.execPath, args: [MAIN_JS, "server", "-p", "-1", "-js", "-sd", join(dir, "store"), "-m", "-1", "--ports_file_dir", ports], portsName: (pid) => `cuebus_${pid}.ports` });
  // As a launcher starts it: `nats-server -c <conf>` found on PATH, here bin/nats-server (cuebus).
  const natsLauncher: Launch = (dir, ports) => ({ cmd: NATS_SERVER, args: ["-c", launcherConf(dir, ports, tls)], portsName: (pid) => `nats-server_${pid}.ports` });
  const cuebusLauncher: Launch = (dir, ports) => ({ cmd: WRAPPER, args: ["-c", launcherConf(dir, ports, tls)], portsName: (pid) => `nats-server_${pid}.ports` });

  const rows: Array<{ name: string; nats: Launch; cuebus: Launch; target: number | null }> = [
    { name: "plain: -p -1", nats: natsPlain, cuebus: cuebusPlain, target: 1.5 },
    { name: "-js -m -1 (temp store)", nats: natsJs, cuebus: cuebusJs, target: 2 },
    { name: "launcher TLS config (-c, http, tls; cuebus via bin/nats-server)", nats: natsLauncher, cuebus: cuebusLauncher, target: null },
  ];

  // Rounds interleave everything, so a machine speeding up or slowing down favours no row.
  const floor: number[] = [];
  const floorWrites: Sample[] = [];
  const samples = rows.map(() => ({ nats: [] as Sample[], cuebus: [] as Sample[] }));
  for (let r = 0; r < RUNS; r++) {
    floor.push(await nodeFloor());
    floorWrites.push(await once(nodeWrites));
    for (const [i, row] of rows.entries()) {
      const t = samples[i] as { nats: Sample[]; cuebus: Sample[] };
      // Which server goes first alternates from round to round.
      if (r % 2 === 0) {
        t.nats.push(await once(row.nats));
        t.cuebus.push(await once(row.cuebus));
      } else {
        t.cuebus.push(await once(row.cuebus));
        t.nats.push(await once(row.nats));
      }
    }
    process.stderr.write(".");
  }
  const groups = { nats: [] as Array<{ allMs: number; withinLimit: number }>, cuebus: [] as Array<{ allMs: number; withinLimit: number }>, node: [] as Array<{ allMs: number; withinLimit: number }> };
  for (let r = 0; r < GROUP_RUNS; r++) {
    // The floor: 12 Node processes that only write a ports file, spawned at once.
    groups.node.push(await group(nodeWrites));
    if (r % 2 === 0) {
      groups.nats.push(await group(natsLauncher));
      groups.cuebus.push(await group(cuebusLauncher));
    } else {
      groups.cuebus.push(await group(cuebusLauncher));
      groups.nats.push(await group(natsLauncher));
    }
    process.stderr.write("+");
  }
  process.stderr.write("\n");
  rmSync(certDir, { recursive: true, force: true });

  const nodeMs = median(floor);
  const nodeCpu = median(floorWrites.map((x) => x.cpu));
  const fmt = (ms: number): string => (Number.isFinite(ms) ? ms.toFixed(1) : "never");
  const wall = (xs: Sample[]): number => median(xs.map((x) => x.ms));
  const cpu = (xs: Sample[]): number => median(xs.map((x) => x.cpu));
  const table: Array<Record<string, string | number>> = [
    { "median of runs": "node -e 0 (spawn -> exit)", "nats-server ms": "-", "cuebus ms": fmt(nodeMs), "cuebus / node -e 0": 1, target: "-", "nats-server CPU ms": "-", "cuebus CPU ms": "-", "CPU / node": "-" },
    { "median of runs": "node -e '<write a ports file>' (CPU floor)", "nats-server ms": "-", "cuebus ms": fmt(wall(floorWrites)), "cuebus / node -e 0": +(wall(floorWrites) / nodeMs).toFixed(2), target: "-", "nats-server CPU ms": "-", "cuebus CPU ms": fmt(nodeCpu), "CPU / node": 1 },
  ];
  for (const [i, row] of rows.entries()) {
    const t = samples[i] as { nats: Sample[]; cuebus: Sample[] };
    const ratio = wall(t.cuebus) / nodeMs;
    table.push({
      "median of runs": row.name,
      "nats-server ms": fmt(wall(t.nats)),
      "cuebus ms": fmt(wall(t.cuebus)),
      "cuebus / node -e 0": +ratio.toFixed(2),
      target: row.target === null ? "-" : `<= ${row.target}x ${ratio <= row.target ? "met" : "MISSED"}`,
      "nats-server CPU ms": fmt(cpu(t.nats)),
      "cuebus CPU ms": fmt(cpu(t.cuebus)),
      "CPU / node": +(cpu(t.cuebus) / nodeCpu).toFixed(2),
    });
  }
  const gN = median(groups.nats.map((g) => g.allMs));
  const gC = median(groups.cuebus.map((g) => g.allMs));
  const worstC = Math.max(...groups.cuebus.map((g) => g.allMs));
  table.push({
    "median of runs": `${GROUP} at once: node -e '<write a ports file>' x ${GROUP} (floor)`,
    "nats-server ms": "-",
    "cuebus ms": fmt(median(groups.node.map((g) => g.allMs))),
    "cuebus / node -e 0": "-",
    target: "-",
    "nats-server CPU ms": "-",
    "cuebus CPU ms": "-",
    "CPU / node": "-",
  });
  table.push({
    "median of runs": `${GROUP} at once (launcher TLS config): all ${GROUP} ports files`,
    "nats-server ms": fmt(gN),
    "cuebus ms": fmt(gC),
    "cuebus / node -e 0": +(gC / nodeMs).toFixed(2),
    target: `all within ${LAUNCHER_LIMIT_MS} ms: ${worstC <= LAUNCHER_LIMIT_MS ? "met" : "MISSED"} (worst round ${fmt(worstC)})`,
    "nats-server CPU ms": "-",
    "cuebus CPU ms": "-",
    "CPU / node": "-",
  });
  console.log(`\ncuebus: ${CUEBUS_ROOT}`);
  console.log(`Start-up: spawn -> whole ports file, median of ${RUNS} runs (${GROUP} at once: ${GROUP_RUNS} rounds); load average at the end ${loadavg().map((l) => l.toFixed(2)).join(" ")}`);
  console.table(table);
  const within = (gs: Array<{ withinLimit: number }>): string => gs.map((g) => `${g.withinLimit}/${GROUP}`).join(" ");
  console.log(`${GROUP} at once, ports files within ${LAUNCHER_LIMIT_MS} ms per round: nats-server ${within(groups.nats)}; cuebus ${within(groups.cuebus)}`);
  console.log(`every run, wall ms: node -e 0 ${floor.map(fmt).join(" ")}`);
  for (const [i, row] of rows.entries()) {
    const t = samples[i] as { nats: Sample[]; cuebus: Sample[] };
    console.log(`  ${row.name}: nats-server ${t.nats.map((x) => fmt(x.ms)).join(" ")} | cuebus ${t.cuebus.map((x) => fmt(x.ms)).join(" ")}`);
  }
  console.log(`  ${GROUP} at once: node floor ${groups.node.map((g) => fmt(g.allMs)).join(" ")} | nats-server ${groups.nats.map((g) => fmt(g.allMs)).join(" ")} | cuebus ${groups.cuebus.map((g) => fmt(g.allMs)).join(" ")}`);
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  const outDir = join(root, "bench/results");
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, `startup-${stamp}.json`), JSON.stringify({ runs: RUNS, groupRuns: GROUP_RUNS, loadavg: loadavg(), nodeMs: floor, nodeWrites: floorWrites, rows: rows.map((r, i) => ({ name: r.name, ...samples[i] })), groups, table }, null, 2));
  console.log(`written bench/results/startup-${stamp}.json`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
