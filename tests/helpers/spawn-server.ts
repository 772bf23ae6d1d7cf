import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { NATS_SERVER_BIN } from "./nats-server.js";
import { waitFor } from "./wait.js";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");

/** The two programs a comparison starts with the same command line: the real nats-server and cuebus as `nats-server`. */
export const SERVER_PROGRAMS: ReadonlyArray<{ name: "nats-server" | "cuebus"; cmd: string }> = [
  { name: "nats-server", cmd: NATS_SERVER_BIN },
  // bin/nats-server: cuebus under nats-server's name, as tools that start it from PATH get it.
  { name: "cuebus", cmd: join(root, "bin", "nats-server") },
];

/** A server process started with a command line, as a tool starts nats-server. */
export interface SpawnedServer {
  proc: ChildProcess;
  /** Its own temp directory (the ports file is written there); removed by stop(). */
  dir: string;
  port: number;
  httpPort: number | undefined;
  /** What it wrote to stderr so far. */
  stderr(): string;
  stop(): Promise<void>;
}

/**
 * Start `cmd` with `args` plus `-ports_file_dir <its temp dir>` (single dash, as nats-server takes
 * it) and wait for its ports file. `argsFor(dir)` builds the arguments once the directory exists.
 */
export async function spawnServer(cmd: string, argsFor: (dir: string) => string[]): Promise<SpawnedServer> {
  const dir = await mkdtemp(join(tmpdir(), "cuebus-spawn-"));
  const proc = spawn(cmd, [...argsFor(dir), "-ports_file_dir", dir], { stdio: ["ignore", "ignore", "pipe"] });
  let err = "";
  proc.stderr?.on("data", (d: Buffer) => (err += d.toString()));
  let exited = false;
  proc.once("exit", () => (exited = true));
  const stop = async (): Promise<void> => {
    if (!exited) {
      const gone = new Promise<void>((r) => proc.once("exit", () => r()));
      proc.kill("SIGKILL");
      await gone;
    }
    await rm(dir, { recursive: true, force: true });
  };
  let ports: { nats: string[]; monitoring?: string[] } | undefined;
  try {
    await waitFor(async () => {
      if (exited) throw new Error(`${cmd} exited: ${err}`);
      const f = (await readdir(dir)).find((n) => n.endsWith(".ports"));
      if (f === undefined) return false;
      try {
        ports = JSON.parse(await readFile(join(dir, f), "utf8")) as { nats: string[]; monitoring?: string[] };
        return true;
      } catch {
        return false; // nats-server writes it in place: not whole yet
      }
    }, 10_000, `${cmd} ports file`);
  } catch (e) {
    await stop();
    throw e;
  }
  const p = ports as { nats: string[]; monitoring?: string[] };
  const http = p.monitoring?.[0];
  return { proc, dir, port: Number(new URL(p.nats[0] as string).port), httpPort: http === undefined ? undefined : Number(new URL(http).port), stderr: () => err, stop };
}

/** Run `cmd args` to its exit (killed after 10 s); resolves with the exit code and everything it printed. */
export async function runToExit(cmd: string, args: string[]): Promise<{ code: number | null; out: string }> {
  const proc = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  proc.stdout?.on("data", (d: Buffer) => (out += d.toString()));
  proc.stderr?.on("data", (d: Buffer) => (out += d.toString()));
  // A server that starts instead of refusing the command line is stopped, so the test fails rather than hangs.
  const guard = setTimeout(() => proc.kill("SIGKILL"), 10_000);
  const code = await new Promise<number | null>((r) => proc.once("exit", (c) => r(c)));
  clearTimeout(guard);
  return { code, out };
}
