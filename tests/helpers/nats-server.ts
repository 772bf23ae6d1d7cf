import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { waitFor } from "./wait.js";

/** Path of the real nats-server (Debian's package); the comparison oracle. */
export const NATS_SERVER_BIN = existsSync("/usr/sbin/nats-server") ? "/usr/sbin/nats-server" : "nats-server";

/** A running real nats-server. */
export interface RealNatsServer {
  port: number;
  stop(): Promise<void>;
}

/** Start the real nats-server on a random port with extra config lines. */
export async function startNatsServer(extraConf = ""): Promise<RealNatsServer> {
  const dir = await mkdtemp(join(tmpdir(), "real-nats-"));
  const conf = join(dir, "server.conf");
  await writeFile(conf, `port: -1\nhost: 127.0.0.1\nports_file_dir: "${dir}"\n${extraConf}\n`);
  const proc: ChildProcess = spawn(NATS_SERVER_BIN, ["-c", conf], { stdio: "ignore" });
  const found: { ports?: { nats: string[] } } = {};
  // nats-server writes the file in place: wait until it is there and whole.
  await waitFor(async () => {
    const file = (await readdir(dir)).find((n) => n.endsWith(".ports"));
    if (file === undefined) return false;
    try {
      found.ports = JSON.parse(await readFile(join(dir, file), "utf8")) as { nats: string[] };
      return true;
    } catch {
      return false;
    }
  }, 10_000, "nats-server ports file");
  const port = Number(new URL(found.ports?.nats[0] as string).port);
  return {
    port,
    async stop(): Promise<void> {
      const exited = new Promise<void>((r) => proc.once("exit", () => r()));
      proc.kill("SIGKILL");
      await exited;
      await rm(dir, { recursive: true, force: true });
    },
  };
}
