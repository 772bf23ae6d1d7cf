/**
 * Record what the real nats-streaming-server answers on its monitoring endpoints for the scenario
 * of tests/helpers/stan-monitor-scenario.ts, as tests/fixtures/nss-monitor.json (run-specific
 * values normalised). CI cannot build nats-streaming-server, so the fixture is what the tests
 * compare cuebus against; run this again where it is built (../shared/tools/build-nats-streaming-server.sh):
 *
 *   npm run build && node dist/scripts/record-stan-monitor.js /path/to/nats-streaming-server
 *
 * The server runs with a file store in a temporary directory (`-st FILE --dir`), cluster id
 * `test-cluster`, on free ports of 127.0.0.1; it is killed when done.
 */
import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort } from "../tests/helpers/stan.js";
import { normalise, runMonitorScenario } from "../tests/helpers/stan-monitor-scenario.js";
import { waitFor } from "../tests/helpers/wait.js";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const FIXTURE = join(root, "tests/fixtures/nss-monitor.json");

async function main(): Promise<void> {
  const bin = process.argv[2];
  if (bin === undefined) throw new Error("usage: record-stan-monitor <path to nats-streaming-server>");
  const dir = await mkdtemp(join(tmpdir(), "cuebus-nss-"));
  const port = await freePort();
  const httpPort = await freePort();
  const proc = spawn(bin, ["-a", "127.0.0.1", "-p", String(port), "-m", String(httpPort), "-cid", "test-cluster", "-st", "FILE", "--dir", join(dir, "store")], { stdio: ["ignore", "ignore", "pipe"] });
  let log = "";
  proc.stderr?.on("data", (d: Buffer) => (log += d.toString()));
  const exited = new Promise<void>((r) => proc.once("exit", () => r()));
  try {
    const httpUrl = `http://127.0.0.1:${httpPort}`;
    await waitFor(async () => {
      if (proc.exitCode !== null) throw new Error(`nats-streaming-server exited: ${log}`);
      return fetch(`${httpUrl}/streaming/serverz`).then(
        (r) => r.ok,
        () => false,
      );
    }, 20_000, "nats-streaming-server to answer");
    const version = ((await (await fetch(`${httpUrl}/streaming/serverz`)).json()) as { version: string }).version;
    const record = await runMonitorScenario(`nats://127.0.0.1:${port}`, httpUrl);
    const fixture = { recorded_with: `nats-streaming-server ${version}, file store (-st FILE), node-nats-streaming 0.3.2`, ...(normalise(record) as object) };
    await writeFile(FIXTURE, `${JSON.stringify(fixture, null, 2)}\n`);
    console.log(`wrote ${FIXTURE}`);
  } finally {
    proc.kill("SIGKILL");
    await exited;
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
