import type { test } from "node:test";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startServer } from "../../src/index.js";
import { startNatsServer } from "./nats-server.js";

/** The real nats-server and cuebus, both with JetStream on temp stores, stopped after the test. */
export async function jetStreamPair(t: test.TestContext): Promise<{ realPort: number; ourPort: number }> {
  const dir = await mkdtemp(join(tmpdir(), "cuebus-jspair-"));
  const real = await startNatsServer(`jetstream { store_dir: "${join(dir, "real")}" }`);
  t.after(() => real.stop());
  const ours = await startServer({ port: 0, host: "127.0.0.1", jetstream: { storeDir: join(dir, "ours") } });
  t.after(() => ours.close());
  // Hooks run in the order registered: the store goes once both servers have stopped writing to it.
  t.after(() => rm(dir, { recursive: true, force: true }));
  return { realPort: real.port, ourPort: ours.port };
}
