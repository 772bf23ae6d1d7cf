import { spawn, type ChildProcess } from "node:child_process";
import { readdir, readFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { TestContext } from "node:test";
import { waitFor } from "./wait.js";

/** `node <this> server`: cuebus's CLI from the build, for tests that compare it with nats-server as a process. */
export const CUEBUS_CLI = [process.execPath, join(resolve(dirname(fileURLToPath(import.meta.url)), "../../.."), "dist/src/cli/main.js"), "server"] as const;

/** What a launched server wrote in its ports file, and its log (stdout and stderr) so far. */
export interface Launched {
  ports: { nats: string[]; monitoring?: string[]; websocket?: string[] };
  /** The client port. */
  port: number;
  log(): string;
}

/**
 * Spawn `cmd args` (whose flags or config file point `ports_file_dir` at `dir`), wait for the ports
 * file, and kill the process (SIGKILL, awaited) when the test ends.
 */
export async function launchWithPortsFile(cmd: string, args: readonly string[], dir: string, t: TestContext): Promise<Launched> {
  const proc: ChildProcess = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
  let log = "";
  proc.stdout?.on("data", (d: Buffer) => (log += d.toString()));
  proc.stderr?.on("data", (d: Buffer) => (log += d.toString()));
  t.after(async () => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise<void>((r) => proc.once("exit", () => r()));
    proc.kill("SIGKILL");
    await exited;
  });
  let ports: Launched["ports"] | null = null;
  await waitFor(async () => {
    const f = (await readdir(dir)).find((n) => n.endsWith(".ports"));
    if (f === undefined) return false;
    try {
      ports = JSON.parse(await readFile(join(dir, f), "utf8")) as Launched["ports"];
      return true;
    } catch {
      return false; // not whole yet (nats-server writes it in place)
    }
  }, 10_000, `${cmd} ports file`);
  const found = ports as unknown as Launched["ports"];
  return { ports: found, port: Number(new URL(found.nats[0] as string).port), log: () => log };
}
