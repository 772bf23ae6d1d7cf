import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { NATS_SERVER_BIN } from "../helpers/nats-server.js";
import { CUEBUS_VERSION, NATS_COMPAT_VERSION } from "../../src/index.js";

const run = promisify(execFile);
const root = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");

test("-v and --version print the version line and exit 0, as nats-server does (launchers parse it)", async () => {
  for (const flag of ["-v", "--version", "-version"]) {
    // The real server's answer, so the shape is checked, not assumed.
    const real = await run(NATS_SERVER_BIN, [flag]);
    assert.match(real.stdout, /^nats-server: v\d+\.\d+\.\d+\n$/);
    const ours = await run(join(root, "bin/nats-server"), [flag], { timeout: 10_000 });
    assert.equal(ours.stdout, `nats-server: v${NATS_COMPAT_VERSION}\n`);
    assert.equal(ours.stderr, "");
  }
  const cuebus = await run(process.execPath, [join(root, "dist/src/cli/main.js"), "server", "--version"], { timeout: 10_000 });
  assert.equal(cuebus.stdout, `cuebus: v${CUEBUS_VERSION} (nats-server v${NATS_COMPAT_VERSION})\n`);
});
