/**
 * The fuzz run shared by tests/e2e/fuzz.test.ts (CI-sized) and scripts/fuzz.ts (`npm run fuzz`):
 * a cuebus child process with JetStream on a temp store takes generated frames (fuzz-frames.ts)
 * over many TCP connections, which reconnect whenever the server closes them. Each batch of frames
 * ends with a PING, and a connection keeps a few batches in flight, so the frames counted as done
 * are the ones the server has read. Over the run it samples the frame rate and the child's RSS,
 * and counts process warnings on its stderr. Then it stops the server cleanly (SIGTERM), starts it
 * again on the same store, and checks that every file stream comes back and can be read.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdir, readdir, readFile, rm } from "node:fs/promises";
import { connect as tcpConnect, type Socket } from "node:net";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { jetstream, jetstreamManager, type JetStreamManager } from "@nats-io/jetstream";
import { FrameFuzzer } from "./fuzz-frames.js";
import { Rng } from "./fuzz-rng.js";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
const mainJs = join(repoRoot, "dist/src/cli/main.js");

/** Frames per batch at most; each batch ends with a PING. */
const MAX_BATCH_FRAMES = 32;
/** Batches a connection may have in flight (PINGs not yet answered). */
const BATCHES_IN_FLIGHT = 4;
/** How long the end of the run waits for the last PONGs, and a stop or start may take. */
const SETTLE_MS = 30_000;
/** How long the API's counters must stand still before the store is compared. */
const API_QUIET_MS = 1000;
/**
 * How long the server may take to handle the API requests it had read when the run ended: up to
 * MAX_API_REQUESTS_IN_FLIGHT (10,000) of them, each stream's one after another, with fsyncs.
 */
const API_DRAIN_MS = 120_000;
/** Messages read back from each stream after the restart, at most. */
const READ_BACK_MAX = 500;
/** Warning lines kept for the report (all are counted). */
const KEEP_WARNINGS = 20;

export interface FuzzOptions {
  /** A temp directory: the store and the ports file go under it. */
  dir: string;
  frames: number;
  seed: number;
  connections?: number;
  /** Stop sending after this long even if `frames` is not reached. */
  maxMs?: number;
  /** Sample rate and RSS this often. */
  sampleMs?: number;
  /** Extra node flags for the server child (e.g. --heapsnapshot-signal=SIGUSR2). */
  nodeArgs?: string[];
  log?: (line: string) => void;
  /** Called at each sample with the server's pid (heap snapshots, inspection). */
  onSample?: (pid: number, s: FuzzSample) => void | Promise<void>;
}

export interface FuzzSample {
  atMs: number;
  /** Frames the server has read (answered PINGs) so far. */
  frames: number;
  framesPerSec: number;
  rssBytes: number;
}

export interface StreamSnapshot {
  name: string;
  storage: string;
  messages: number;
  firstSeq: number;
  lastSeq: number;
  /** max_age in ns (0: none): messages may expire between the stop and the restart. */
  maxAgeNs: number;
  /** Its first subject filter. */
  subject: string;
  consumers: string[];
}

export interface RestartCheck {
  ok: boolean;
  error: string;
  /** From SIGTERM to exit. */
  stopMs: number;
  stopExit: string;
  /** From spawn to listening (the store loaded). */
  startMs: number;
  before: StreamSnapshot[];
  after: StreamSnapshot[];
  /** File streams missing after the restart, or whose messages could not be read. */
  missing: string[];
  unreadable: string[];
  /** File streams whose last sequence or message count differ after the restart. */
  changed: string[];
  /** Durable consumers of file streams that did not come back. */
  consumersLost: string[];
}

export interface FuzzResult {
  frames: number;
  framesWritten: number;
  elapsedMs: number;
  connectionsOpened: number;
  errs: Map<string, number>;
  closes: Map<string, number>;
  framesLost: number;
  samples: FuzzSample[];
  rssStartBytes: number;
  rssPeakBytes: number;
  rssEndBytes: number;
  warningCount: number;
  warnings: string[];
  /** The server's [WRN]/[ERR] log lines (counted; the first few kept). */
  logWarningCount: number;
  logWarnings: string[];
  /** Why the server went away during the run (exit code or signal), or "". */
  crashed: string;
  restart: RestartCheck;
}

interface Child {
  proc: ChildProcess;
  port: number;
  exited: Promise<string>;
}

/** Counts process warnings (`(node:123) XWarning: ...`) on the child's stderr, line by line. */
class StderrWatch {
  count = 0;
  readonly kept: string[] = [];
  /** The server's own [WRN] and [ERR] log lines. */
  logCount = 0;
  readonly logKept: string[] = [];
  tail = "";
  private partial = "";

  feed(d: Buffer): void {
    const text = this.partial + d.toString("utf8");
    const lines = text.split("\n");
    this.partial = lines.pop() ?? "";
    for (const l of lines) {
      if (/^\(node:\d+\) \[?\w*Warning\b/.test(l) || /^\(node:\d+\) \w+Warning:/.test(l)) {
        this.count++;
        if (this.kept.length < KEEP_WARNINGS) this.kept.push(l);
      }
      if (/\[(WRN|ERR)\]/.test(l)) {
        this.logCount++;
        if (this.logKept.length < KEEP_WARNINGS) this.logKept.push(l);
      }
      this.tail = (this.tail + l + "\n").slice(-4096);
    }
  }
}

async function startChild(dir: string, nodeArgs: string[], watch: StderrWatch): Promise<Child> {
  const portsDir = join(dir, "ports");
  await rm(portsDir, { recursive: true, force: true });
  await mkdir(portsDir, { recursive: true });
  const proc = spawn(process.execPath, [...nodeArgs, mainJs, "server", "-a", "127.0.0.1", "-p", "-1", "-js", "-sd", join(dir, "store"), "--ports_file_dir", portsDir], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  proc.stderr?.on("data", (d: Buffer) => watch.feed(d));
  // A driver that stops early (an error, ^C) must not leave the server running.
  const orphan = (): void => {
    proc.kill("SIGKILL");
  };
  process.once("exit", orphan);
  const exited = new Promise<string>((res) =>
    proc.once("exit", (code, signal) => {
      process.off("exit", orphan);
      res(signal !== null ? `signal ${signal}` : `exit ${code}`);
    }),
  );
  const deadline = Date.now() + SETTLE_MS;
  for (;;) {
    const f = (await readdir(portsDir)).find((n) => n.endsWith(".ports"));
    if (f !== undefined) {
      try {
        const ports = JSON.parse(await readFile(join(portsDir, f), "utf8")) as { nats: string[] };
        return { proc, port: Number(new URL(ports.nats[0] as string).port), exited };
      } catch {
        // written but not complete yet
      }
    }
    if (proc.exitCode !== null || proc.signalCode !== null) throw new Error(`cuebus did not start (${await exited}): ${watch.tail}`);
    if (Date.now() > deadline) {
      proc.kill("SIGKILL");
      throw new Error(`cuebus did not start within ${SETTLE_MS} ms: ${watch.tail}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Resident set size of a process, from /proc (Linux). */
export async function rssOf(pid: number): Promise<number> {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(await readFile(`/proc/${pid}/status`, "utf8"));
    return m === null ? 0 : Number(m[1]) * 1024;
  } catch {
    return 0;
  }
}

const PING = Buffer.from("PING\r\n");
const PONG = Buffer.from("PONG\r\n");
const CRLF = Buffer.from("\r\n");

/** One fuzzing connection: writes batches, reads what the server sends (answers its PINGs). */
class FuzzConn {
  private sock: Socket | null = null;
  private inbuf: Buffer = Buffer.alloc(0);
  /** Frames in each batch whose PING is not answered yet, in order. */
  private readonly inFlight: number[] = [];
  private wake: (() => void) | null = null;
  /** Batch sizes: reproducible too, so the frames lost after a fatal one are the same each run. */
  private readonly batchRng: Rng;
  /** A fatal frame waiting for the batches before it to be answered. */
  private held: Buffer | null = null;
  /** The last write carried a fatal frame; the last -ERR the server sent. */
  private sentFatal = false;
  private lastErr = "";
  alive = false;
  opened = 0;

  constructor(
    private readonly port: number,
    private readonly seed: number,
    readonly conn: number,
    private readonly run: Runner,
  ) {
    this.batchRng = new Rng((seed ^ Math.imul(conn + 7, 0x27d4eb2f)) >>> 0);
  }

  async open(): Promise<FrameFuzzer> {
    this.inbuf = Buffer.alloc(0);
    this.inFlight.length = 0;
    this.held = null;
    this.sentFatal = false;
    this.lastErr = "";
    const sock = tcpConnect(this.port, "127.0.0.1");
    // Resets are expected (the server closes on bad frames); "close" follows every error.
    sock.on("error", () => {});
    sock.setNoDelay(true);
    this.sock = sock;
    await new Promise<void>((res, rej) => {
      const fail = (): void => rej(new Error("connection refused or reset"));
      sock.once("close", fail);
      sock.once("connect", () => {
        sock.off("close", fail);
        res();
      });
    });
    sock.on("data", (d: Buffer) => this.onData(d));
    sock.on("close", () => {
      if (this.alive) {
        const why = this.sentFatal ? "after a fatal frame" : `unexpected, last ${this.lastErr === "" ? "no -ERR" : this.lastErr}`;
        this.run.closes.set(why, (this.run.closes.get(why) ?? 0) + 1);
        for (const n of this.inFlight) this.run.framesLost += n;
      }
      this.alive = false;
      this.inFlight.length = 0;
      this.poke();
    });
    this.alive = true;
    this.opened++;
    // Each incarnation of a connection has its own reproducible frame stream.
    const fz = new FrameFuzzer(new Rng((this.seed ^ Math.imul(this.conn + 1, 0x9e3779b1) ^ Math.imul(this.opened, 0x85ebca6b)) >>> 0), this.conn);
    const c = fz.connect();
    // A CONNECT the server may refuse is waited on like any fatal frame (its PING answered or not).
    sock.write(Buffer.concat([c.bytes, fz.subscribeReplies(), PING]));
    this.inFlight.push(0);
    this.sentFatal = c.fatal;
    return fz;
  }

  private poke(): void {
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  /** Wait until a batch is answered or the connection closes. */
  private waitAnswer(): Promise<void> {
    return new Promise<void>((r) => {
      this.wake = r;
    });
  }

  private onData(d: Buffer): void {
    const buf = this.inbuf.length === 0 ? d : Buffer.concat([this.inbuf, d]);
    let at = 0;
    for (;;) {
      const eol = buf.indexOf(CRLF, at);
      if (eol < 0) break;
      const c0 = buf[at];
      let next = eol + 2;
      if (c0 === 0x4d /* M */ || c0 === 0x48 /* H */) {
        // MSG <subject> <sid> [reply] <size> / HMSG ... <hdr> <total>: skip the payload.
        const line = buf.toString("latin1", at, eol);
        const size = Number(line.slice(line.lastIndexOf(" ") + 1));
        if (eol + 2 + size + 2 > buf.length) break;
        next = eol + 2 + size + 2;
        this.run.msgs++;
      } else if (c0 === 0x50 /* P */) {
        if (buf[at + 1] === 0x49 /* PING */) this.sock?.write(PONG);
        else if (buf[at + 1] === 0x4f /* PONG */) {
          const n = this.inFlight.shift();
          if (n !== undefined) this.run.framesDone += n;
          this.poke();
        }
      } else if (c0 === 0x2d /* - */) {
        const e = buf.toString("latin1", at, Math.min(eol, at + 80));
        this.run.errs.set(e, (this.run.errs.get(e) ?? 0) + 1);
        this.lastErr = e;
      }
      at = next;
    }
    this.inbuf = at >= buf.length ? Buffer.alloc(0) : Buffer.from(buf.subarray(at));
  }

  /** Send frames until the run has sent enough; reconnect when the server closes. */
  async loop(): Promise<void> {
    let fz: FrameFuzzer | null = null;
    while (!this.run.done()) {
      if (!this.alive || fz === null) {
        try {
          fz = await this.open();
          this.run.connectionsOpened++;
        } catch {
          if (this.run.serverGone) return;
          await new Promise((r) => setTimeout(r, 50));
          continue;
        }
      }
      if (this.sentFatal) {
        // Nothing more until the server has answered (or closed on) the fatal frame.
        if (this.inFlight.length > 0) {
          await this.waitAnswer();
          continue;
        }
        this.sentFatal = false;
      }
      if (this.inFlight.length >= BATCHES_IN_FLIGHT) {
        await this.waitAnswer();
        continue;
      }
      const parts: Buffer[] = [];
      let n = 0;
      let sinceping = 0;
      if (this.held !== null) {
        // A frame that may close the connection goes alone, once what was sent before is answered,
        // so that only it (not the batches in flight) is lost when the server closes.
        if (this.inFlight.length > 0) {
          await this.waitAnswer();
          continue;
        }
        parts.push(this.held);
        this.held = null;
        this.sentFatal = true;
        n = sinceping = 1;
      } else {
        const want = 1 + this.batchRng.int(MAX_BATCH_FRAMES);
        while (n < want && this.run.claim()) {
          const f = fz.next();
          if (f.fatal) {
            this.held = f.bytes;
            break;
          }
          parts.push(f.bytes);
          n++;
          sinceping++;
          if (f.bytes.equals(PING)) {
            this.inFlight.push(sinceping);
            sinceping = 0;
          }
        }
      }
      if (n === 0) {
        if (this.held !== null) continue;
        break;
      }
      parts.push(PING);
      this.inFlight.push(sinceping);
      this.run.framesWritten += n;
      const sock = this.sock as Socket;
      if (!sock.write(Buffer.concat(parts))) {
        await new Promise<void>((r) => {
          const done = (): void => {
            sock.off("drain", done);
            sock.off("close", done);
            r();
          };
          sock.once("drain", done);
          sock.once("close", done);
        });
      }
    }
  }

  /** Wait (bounded) for the answers to what was sent, then close. */
  async finish(untilMs: number): Promise<void> {
    while (this.alive && this.inFlight.length > 0 && Date.now() < untilMs) {
      const t = setTimeout(() => this.poke(), 100);
      await this.waitAnswer();
      clearTimeout(t);
    }
    this.sock?.destroy();
  }
}

/** Shared counters of one run. */
class Runner {
  framesClaimed = 0;
  framesWritten = 0;
  framesDone = 0;
  msgs = 0;
  connectionsOpened = 0;
  serverGone = false;
  /** The run is over and the server is being stopped on purpose. */
  stopping = false;
  readonly errs = new Map<string, number>();
  /** Why connections closed, and the frames in flight on them then. */
  readonly closes = new Map<string, number>();
  framesLost = 0;

  constructor(
    private readonly frames: number,
    private readonly untilMs: number,
  ) {}

  done(): boolean {
    return this.serverGone || this.framesClaimed >= this.frames || Date.now() >= this.untilMs;
  }

  /** Take one frame of the budget. */
  claim(): boolean {
    if (this.done()) return false;
    this.framesClaimed++;
    return true;
  }
}

async function snapshotOnce(jsm: JetStreamManager): Promise<StreamSnapshot[]> {
  const out: StreamSnapshot[] = [];
  for await (const si of jsm.streams.list()) {
    const consumers: string[] = [];
    for await (const ci of jsm.consumers.list(si.config.name)) if (ci.config.durable_name !== undefined) consumers.push(ci.name);
    out.push({
      name: si.config.name,
      storage: String(si.config.storage),
      messages: si.state.messages,
      firstSeq: si.state.first_seq,
      lastSeq: si.state.last_seq,
      maxAgeNs: si.config.max_age,
      subject: si.config.subjects?.[0] ?? si.config.name,
      consumers: consumers.sort(),
    });
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : 1));
}

/**
 * The streams, once the requests the server had read when the run ended have been handled (API
 * requests finish after their frames are read): two equal snapshots in a row, within SETTLE_MS.
 */
async function snapshot(jsm: JetStreamManager): Promise<StreamSnapshot[]> {
  const until = Date.now() + API_DRAIN_MS;
  // Requests the server read are handled in turn (one stream's after another's); wait until the
  // API's counters stop moving but for this loop's own request, for a second.
  let handled = -1;
  let quietSince = Date.now();
  while (Date.now() < until && Date.now() - quietSince < API_QUIET_MS) {
    try {
      const a = (await jsm.getAccountInfo()).api;
      const now = a.total + a.errors;
      if (now !== handled + 1) quietSince = Date.now();
      handled = now;
    } catch {
      // Dropped: the API queue is still full (MAX_API_REQUESTS_IN_FLIGHT).
      quietSince = Date.now();
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  let prev = "";
  for (;;) {
    let cur: StreamSnapshot[] | null = null;
    try {
      cur = await snapshotOnce(jsm);
    } catch {
      // A stream went away between the list and its consumers: look again.
    }
    const text = JSON.stringify(cur);
    if (cur !== null && (text === prev || Date.now() > until)) return cur;
    prev = text;
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Messages published into each stream after the run, before the clean stop. */
const FINAL_MESSAGES = 100;

/** Publish FINAL_MESSAGES to each stream, on a subject its first subject filter takes; refusals (its limits) are fine. */
async function publishFinal(nc: NatsConnection, streams: StreamSnapshot[]): Promise<void> {
  const js = jetstream(nc, { timeout: 10_000 });
  for (const s of streams) {
    const subject = s.subject.replace(/(^|\.)>$/, "$1final").replace(/(^|\.)\*(?=\.|$)/g, "$1x");
    for (let i = 0; i < FINAL_MESSAGES; i++) await js.publish(subject, `final ${i}`).catch(() => {});
  }
}

/** Read a stream's messages from first to last (up to READ_BACK_MAX); the count read. */
async function readBack(nc: NatsConnection, s: StreamSnapshot): Promise<number> {
  let n = 0;
  let seq = s.firstSeq;
  while (s.messages > 0 && seq <= s.lastSeq && n < READ_BACK_MAX) {
    // The next message at or after seq (interior deletes are skipped), as nats-server answers it.
    const r = (await nc.request(`$JS.API.STREAM.MSG.GET.${s.name}`, JSON.stringify({ seq, next_by_subj: ">" }), { timeout: 10_000 })).json<{
      message?: { seq: number };
      error?: { description: string };
    }>();
    if (r.message === undefined) throw new Error(`seq ${seq}: ${r.error?.description ?? "no message"}`);
    n++;
    seq = r.message.seq + 1;
  }
  return n;
}

async function stopChild(c: Child): Promise<{ ms: number; exit: string }> {
  const t0 = Date.now();
  c.proc.kill("SIGTERM");
  const timer = setTimeout(() => c.proc.kill("SIGKILL"), SETTLE_MS);
  const exit = await c.exited;
  clearTimeout(timer);
  return { ms: Date.now() - t0, exit };
}

async function withClient<T>(port: number, fn: (nc: NatsConnection) => Promise<T>): Promise<T> {
  const nc = await connect({ port, reconnect: false, timeout: 10_000 });
  try {
    return await fn(nc);
  } finally {
    await nc.close();
  }
}

/** Stop cleanly, start again on the same store, and compare what loads with what was there. */
async function restartCheck(dir: string, c: Child, before: StreamSnapshot[], nodeArgs: string[], watch: StderrWatch): Promise<RestartCheck> {
  const r: RestartCheck = { ok: false, error: "", stopMs: 0, stopExit: "", startMs: 0, before, after: [], missing: [], unreadable: [], changed: [], consumersLost: [] };
  const stop = await stopChild(c);
  r.stopMs = stop.ms;
  r.stopExit = stop.exit;
  const t0 = Date.now();
  let again: Child;
  try {
    again = await startChild(dir, nodeArgs, watch);
  } catch (err) {
    r.error = err instanceof Error ? err.message : String(err);
    return r;
  }
  r.startMs = Date.now() - t0;
  try {
    await withClient(again.port, async (nc) => {
      const jsm = await jetstreamManager(nc, { timeout: 10_000, checkAPI: false });
      r.after = await snapshot(jsm);
      for (const b of before) {
        if (b.storage !== "file") continue;
        const a = r.after.find((x) => x.name === b.name);
        if (a === undefined) {
          r.missing.push(b.name);
          continue;
        }
        for (const d of b.consumers) if (!a.consumers.includes(d)) r.consumersLost.push(`${b.name}/${d}`);
        // Nothing is lost across a clean stop; only max_age may have removed messages meanwhile.
        const expired = b.maxAgeNs > 0 && a.messages < b.messages;
        if (a.lastSeq !== b.lastSeq || (a.messages !== b.messages && !expired)) {
          r.changed.push(`${b.name}: ${b.messages} msgs, last_seq ${b.lastSeq} -> ${a.messages} msgs, last_seq ${a.lastSeq}`);
        }
        try {
          const n = await readBack(nc, a);
          if (n < Math.min(a.messages, READ_BACK_MAX)) r.unreadable.push(`${a.name}: read ${n} of ${a.messages}`);
        } catch (err) {
          r.unreadable.push(`${a.name}: ${err instanceof Error ? err.message : String(err)}`);
        }
      }
    });
  } catch (err) {
    r.error = err instanceof Error ? err.message : String(err);
  }
  const end = await stopChild(again);
  if (end.exit !== "exit 0" && r.error === "") r.error = `second stop: ${end.exit}`;
  r.ok = r.error === "" && r.stopExit === "exit 0" && r.missing.length === 0 && r.unreadable.length === 0 && r.changed.length === 0;
  return r;
}

/** Run the fuzzer against a fresh cuebus child; see the file comment. */
export async function fuzzRun(o: FuzzOptions): Promise<FuzzResult> {
  const nodeArgs = o.nodeArgs ?? [];
  const watch = new StderrWatch();
  const child = await startChild(o.dir, nodeArgs, watch);
  const pid = child.proc.pid as number;
  const t0 = Date.now();
  const runner = new Runner(o.frames, t0 + (o.maxMs ?? Number.MAX_SAFE_INTEGER));
  let crashed = "";
  void child.exited.then((why) => {
    if (!runner.stopping) {
      crashed = why;
      runner.serverGone = true;
    }
  });
  const rssStartBytes = await rssOf(pid);
  let rssPeakBytes = rssStartBytes;
  const samples: FuzzSample[] = [];
  let last = { atMs: 0, frames: 0 };
  const sample = async (): Promise<void> => {
    const atMs = Date.now() - t0;
    const rssBytes = await rssOf(pid);
    rssPeakBytes = Math.max(rssPeakBytes, rssBytes);
    const s: FuzzSample = { atMs, frames: runner.framesDone, framesPerSec: Math.round(((runner.framesDone - last.frames) * 1000) / Math.max(1, atMs - last.atMs)), rssBytes };
    last = { atMs, frames: runner.framesDone };
    samples.push(s);
    o.log?.(`${(atMs / 1000).toFixed(1)} s: ${s.frames} frames, ${s.framesPerSec} frames/s, RSS ${(rssBytes / 2 ** 20).toFixed(1)} MiB, warnings ${watch.count}, connections opened ${runner.connectionsOpened}`);
    await o.onSample?.(pid, s);
  };
  let sampling = Promise.resolve();
  const timer = setInterval(() => {
    sampling = sampling.then(sample);
  }, o.sampleMs ?? 5000);
  const conns = Array.from({ length: o.connections ?? 16 }, (_, i) => new FuzzConn(child.port, o.seed, i, runner));
  await Promise.all(conns.map((c) => c.loop()));
  const until = Date.now() + SETTLE_MS;
  await Promise.all(conns.map((c) => c.finish(until)));
  clearInterval(timer);
  await sampling;
  await sample();
  const elapsedMs = Date.now() - t0;
  const rssEndBytes = samples[samples.length - 1]?.rssBytes ?? 0;
  let restart: RestartCheck;
  if (runner.serverGone) {
    restart = { ok: false, error: `server gone during the run: ${crashed} ${watch.tail}`, stopMs: 0, stopExit: "", startMs: 0, before: [], after: [], missing: [], unreadable: [], changed: [], consumersLost: [] };
  } else {
    const before = await withClient(child.port, async (nc) => {
      const jsm = await jetstreamManager(nc, { timeout: 10_000, checkAPI: false });
      // The backlog of API requests often ends with purges: store some messages last, so that the
      // restart has something to load and read back.
      await publishFinal(nc, await snapshot(jsm));
      return snapshot(jsm);
    });
    runner.stopping = true;
    restart = await restartCheck(o.dir, child, before, nodeArgs, watch);
  }
  return {
    frames: runner.framesDone,
    framesWritten: runner.framesWritten,
    elapsedMs,
    connectionsOpened: runner.connectionsOpened,
    errs: runner.errs,
    closes: runner.closes,
    framesLost: runner.framesLost,
    samples,
    rssStartBytes,
    rssPeakBytes,
    rssEndBytes,
    warningCount: watch.count,
    warnings: watch.kept,
    logWarningCount: watch.logCount,
    logWarnings: watch.logKept,
    crashed,
    restart,
  };
}
