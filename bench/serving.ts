/**
 * Restart timing for the scale bench: spawn a server on an existing store and measure the time
 * until it serves the stream, i.e. until `$JS.API.STREAM.INFO.<stream>` answers with at least the
 * messages it held. A raw socket, so the probe itself costs next to nothing: connect (again every
 * few ms while the port refuses), ask, and ask again a few ms after "no responders" or an answer
 * with fewer messages. Also process figures from /proc.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { performance } from "node:perf_hooks";
import { FrameReader, headerStatus } from "./frames.js";

/** Between connection attempts while the port refuses, and between questions. */
const RETRY_MS = 2;
/** nats-server's answer to a request nobody subscribes to yet (JetStream not up). */
const NO_RESPONDERS = 503;

/** A field of /proc/<pid>/status in bytes (VmRSS: resident now; VmHWM: the peak), NaN when unreadable. */
export function procStatusBytes(pid: number | undefined, field: "VmRSS" | "VmHWM"): number {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(readFileSync(`/proc/${pid}/status`, "latin1"));
    return m === null ? Number.NaN : Number(m[1]) * 1024;
  } catch {
    return Number.NaN;
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Like sleep, but does not keep the process alive. */
function deadline(ms: number): Promise<null> {
  return new Promise((resolve) => setTimeout(() => resolve(null), ms).unref());
}

/** Resolves when `proc` has exited (at once if it already has). */
export function exited(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => proc.once("exit", () => resolve()));
}

/** ms from spawn to exit of `node -e 0`: what starting any Node program costs here. */
export async function nodeFloorMs(): Promise<number> {
  const t0 = performance.now();
  await exited(spawn(process.execPath, ["-e", "0"], { stdio: "ignore" }));
  return performance.now() - t0;
}

function tryConnect(port: number): Promise<Socket | null> {
  return new Promise((resolve) => {
    const s = connect(port, "127.0.0.1", () => {
      s.removeAllListeners("error");
      s.on("error", () => {});
      resolve(s);
    });
    s.once("error", () => {
      s.destroy();
      resolve(null);
    });
  });
}

/**
 * Ask for the stream's info on `s` until it reports at least `minMsgs` messages: resolves with
 * the message count, or null if the connection closed first.
 */
function askUntilServing(s: Socket, stream: string, minMsgs: number): Promise<number | null> {
  const ask = `PUB $JS.API.STREAM.INFO.${stream} _INBOX.serving 0\r\n\r\n`;
  return new Promise((resolve) => {
    const reader = new FrameReader({
      msg(buf, start, hdrLen, end) {
        if (hdrLen > 0 && headerStatus(buf, start, hdrLen) === NO_RESPONDERS) {
          setTimeout(() => s.write(ask), RETRY_MS);
          return;
        }
        let messages = -1;
        try {
          const info = JSON.parse(buf.toString("utf8", start + hdrLen, end)) as { state?: { messages?: number } };
          messages = info.state?.messages ?? -1;
        } catch {
          // not an info answer: ask again
        }
        if (messages >= minMsgs) resolve(messages);
        else setTimeout(() => s.write(ask), RETRY_MS);
      },
      ping() {
        s.write("PONG\r\n");
      },
      error() {},
    });
    s.on("data", (d: Buffer) => reader.feed(d));
    s.once("close", () => resolve(null));
    s.write(`CONNECT {"verbose":false,"pedantic":false,"headers":true,"no_responders":true}\r\nSUB _INBOX.serving 1\r\n${ask}`);
  });
}

export interface Serving {
  proc: ChildProcess;
  /** From just before spawn() to the answer that showed every message. */
  ms: number;
  /** The messages that answer reported. */
  messages: number;
}

/**
 * Spawn `cmd args` (a server on `port` over an existing store) and time it to serving `stream`
 * with at least `minMsgs` messages. Rejects if the process exits or `giveUpMs` passes first.
 */
export async function spawnUntilServing(cmd: string, args: string[], port: number, stream: string, minMsgs: number, giveUpMs: number): Promise<Serving> {
  const t0 = performance.now();
  const proc = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
  let tail = "";
  const keep = (d: Buffer): void => {
    tail = (tail + d.toString()).slice(-2000);
  };
  proc.stdout?.on("data", keep);
  proc.stderr?.on("data", keep);
  let gone = false;
  void exited(proc).then(() => (gone = true));
  while (performance.now() - t0 < giveUpMs && !gone) {
    const s = await tryConnect(port);
    if (s === null) {
      await sleep(RETRY_MS);
      continue;
    }
    const messages = await Promise.race([askUntilServing(s, stream, minMsgs), exited(proc).then(() => null), deadline(giveUpMs - (performance.now() - t0))]);
    s.destroy();
    if (messages !== null) return { proc, ms: performance.now() - t0, messages };
  }
  proc.kill("SIGKILL");
  throw new Error(`${cmd} did not serve ${stream} with ${minMsgs} messages within ${giveUpMs} ms (exit ${proc.exitCode ?? proc.signalCode}): ${tail}`);
}
