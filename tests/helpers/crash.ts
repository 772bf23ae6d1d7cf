/**
 * The crash loop shared by tests/e2e/js-crash.test.ts (a few cycles) and scripts/soak.ts (100):
 * publishers keep many JetStream publishes in flight against a cuebus child process, which is
 * killed with SIGKILL at a random moment and restarted on the same store; publishers re-send, with
 * the same Nats-Msg-Id, whatever they never got an ack for. At the end every acknowledged id must
 * be in the stream exactly once, each publisher's ids in the order it sent them.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdir, readdir, readFile, rm } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
const mainJs = join(repoRoot, "dist/src/cli/main.js");
const STREAM = "CRASH";

export interface CrashOptions {
  dir: string;
  cycles: number;
  publishers?: number;
  /** Publishes in flight per publisher. */
  window?: number;
  /** Kill between minKillMs and maxKillMs after the first ack of the cycle. */
  minKillMs?: number;
  maxKillMs?: number;
  log?: (line: string) => void;
}

export interface CrashResult {
  acked: number;
  lost: string[];
  duplicated: string[];
  outOfOrder: string[];
  streamMessages: number;
  cycles: Array<{ acked: number; killedAtMs: number }>;
}

/** A cuebus child process and its client port. */
export interface Running {
  proc: ChildProcess;
  port: number;
  /** What it wrote to stderr so far (its log), up to 64 KiB. */
  stderr(): string;
}

/** Start cuebus as a child process with JetStream on `<dir>/store` (also used by js-concurrent-admin.test.ts). */
export async function startServer(dir: string): Promise<Running> {
  const portsDir = join(dir, "ports");
  await rm(portsDir, { recursive: true, force: true });
  await mkdir(portsDir, { recursive: true });
  const proc = spawn(process.execPath, [mainJs, "server", "-a", "127.0.0.1", "-p", "-1", "-js", "-sd", join(dir, "store"), "--ports_file_dir", portsDir], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  proc.stderr?.on("data", (d: Buffer) => {
    if (stderr.length < 64 * 1024) stderr += d.toString();
  });
  const deadline = Date.now() + 20_000;
  for (;;) {
    const f = (await readdir(portsDir)).find((n) => n.endsWith(".ports"));
    if (f !== undefined) {
      try {
        const ports = JSON.parse(await readFile(join(portsDir, f), "utf8")) as { nats: string[] };
        return { proc, port: Number(new URL(ports.nats[0] as string).port), stderr: () => stderr };
      } catch {
        // written but not complete yet
      }
    }
    if (Date.now() > deadline || proc.exitCode !== null) throw new Error(`cuebus did not start (exit ${proc.exitCode}): ${stderr}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Kill the child with SIGKILL and wait until it is gone. */
export async function kill(r: Running): Promise<void> {
  if (r.proc.exitCode !== null) return;
  const exited = new Promise<void>((res) => r.proc.once("exit", () => res()));
  r.proc.kill("SIGKILL");
  await exited;
}

/** One publisher's ids: `p<k>-<n>`; acked ones remember their sequence. */
class Publisher {
  next = 0;
  /** Sent but not acknowledged (unknown fate), in send order. */
  unknown: number[] = [];
  readonly acked = new Map<number, number>();

  constructor(readonly k: number) {}

  id(n: number): string {
    return `p${this.k}-${n}`;
  }

  /** Publish until `stop` is set or the connection fails; retries unknown ids first. */
  async run(nc: NatsConnection, window: number, stop: { now: boolean }): Promise<void> {
    const js = jetstream(nc, { timeout: 5000 });
    const queue = [...this.unknown];
    this.unknown = [];
    const inFlight = new Set<Promise<void>>();
    let broken = false;
    const send = (n: number): void => {
      this.unknown.push(n);
      const p = js.publish(`crash.${this.k}`, this.id(n), { msgID: this.id(n) }).then(
        (ack) => {
          this.acked.set(n, ack.seq);
          const i = this.unknown.indexOf(n);
          if (i >= 0) this.unknown.splice(i, 1);
        },
        () => {
          broken = true;
        },
      );
      const tracked = p.finally(() => inFlight.delete(tracked));
      inFlight.add(tracked);
    };
    while (!stop.now && !broken) {
      if (inFlight.size >= window) {
        await Promise.race(inFlight);
        continue;
      }
      const n = queue.length > 0 ? (queue.shift() as number) : this.next++;
      send(n);
    }
    await Promise.allSettled([...inFlight]);
    // Whatever was queued for retry and not sent stays unknown, ahead of newer ids.
    this.unknown = [...this.unknown, ...queue].sort((a, b) => a - b);
  }
}

export async function crashLoop(o: CrashOptions): Promise<CrashResult> {
  const pubs = Array.from({ length: o.publishers ?? 4 }, (_, k) => new Publisher(k));
  const window = o.window ?? 64;
  const cycles: CrashResult["cycles"] = [];
  for (let c = 0; c <= o.cycles; c++) {
    const last = c === o.cycles;
    const server = await startServer(o.dir);
    const nc = await connect({ port: server.port, reconnect: false, timeout: 5000 });
    const jsm = await jetstreamManager(nc);
    try {
      await jsm.streams.info(STREAM);
    } catch {
      await jsm.streams.add({ name: STREAM, subjects: ["crash.>"], duplicate_window: 10 * 60 * 1_000_000_000 });
    }
    const before = pubs.reduce((a, p) => a + p.acked.size, 0);
    const stop = { now: false };
    const running = pubs.map((p) => p.run(nc, window, stop));
    // The random moment is counted from the cycle's first ack, so a slow restart on a loaded
    // machine cannot make a cycle that acknowledges nothing.
    const ackedNow = (): number => pubs.reduce((a, p) => a + p.acked.size, 0);
    const firstAckBy = Date.now() + 10_000;
    while (ackedNow() === before && Date.now() < firstAckBy) await new Promise((r) => setTimeout(r, 5));
    const min = o.minKillMs ?? 20;
    const killAt = min + Math.floor(Math.random() * ((o.maxKillMs ?? 400) - min));
    await new Promise((r) => setTimeout(r, killAt));
    if (last) {
      // Final round: stop publishing, let every retry settle, keep the server for the check.
      stop.now = true;
      await Promise.all(running);
      const result = await verify(nc, pubs);
      await nc.close();
      await kill(server);
      return { ...result, cycles };
    }
    await kill(server);
    stop.now = true;
    await Promise.all(running);
    await nc.close().catch(() => {});
    const acked = ackedNow() - before;
    cycles.push({ acked, killedAtMs: killAt });
    o.log?.(`cycle ${c + 1}: killed ${killAt} ms after the first ack, ${acked} acks this cycle`);
  }
  throw new Error("unreachable");
}

async function verify(nc: NatsConnection, pubs: Publisher[]): Promise<Omit<CrashResult, "cycles">> {
  const jsm = await jetstreamManager(nc);
  const info = await jsm.streams.info(STREAM);
  const seen = new Map<string, number[]>();
  for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
    const m = await jsm.streams.getMessage(STREAM, { seq }).catch(() => null);
    if (m === null) continue;
    const id = m.string();
    seen.set(id, [...(seen.get(id) ?? []), m.seq]);
  }
  const lost: string[] = [];
  const duplicated: string[] = [];
  const outOfOrder: string[] = [];
  let acked = 0;
  for (const p of pubs) {
    let prev = 0;
    for (const [n] of [...p.acked].sort((a, b) => a[0] - b[0])) {
      acked++;
      const seqs = seen.get(p.id(n));
      if (seqs === undefined) {
        lost.push(p.id(n));
        continue;
      }
      if (seqs.length > 1) duplicated.push(p.id(n));
      if ((seqs[0] as number) < prev) outOfOrder.push(p.id(n));
      prev = seqs[0] as number;
    }
  }
  for (const [id, seqs] of seen) if (seqs.length > 1 && !duplicated.includes(id)) duplicated.push(id);
  return { acked, lost, duplicated, outOfOrder, streamMessages: info.state.messages };
}
