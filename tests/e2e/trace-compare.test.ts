import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { NATS_SERVER_BIN } from "../helpers/nats-server.js";
import { CUEBUS_CLI, launchWithPortsFile, type Launched } from "../helpers/launch.js";
import { exchange } from "../helpers/raw.js";
import { waitFor } from "../helpers/wait.js";

/** Start `cmd args` with -V on a random port, in a temp dir removed when the test ends. */
async function launch(cmd: string, args: readonly string[], t: test.TestContext): Promise<Launched> {
  const dir = await mkdtemp(join(tmpdir(), "cuebus-trace-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return launchWithPortsFile(cmd, [...args, "-a", "127.0.0.1", "-p", "-1", "--ports_file_dir", dir, "-V"], dir, t);
}

/**
 * The [TRC] lines, without what differs by run: pid, time, the client's address and id. The
 * DELSUB lines of a close are sorted: nats-server walks a Go map there, in no fixed order.
 */
function traceLines(log: string): string[] {
  const lines = log
    .split("\n")
    .filter((l) => l.includes("[TRC]"))
    .map((l) => l.replace(/^\[\d+\] \S+ \S+ \[TRC\] [\d.:]+ - cid:\d+ - /, "[TRC] ADDR - cid:N - "));
  let i = lines.length;
  while (i > 0 && (lines[i - 1] as string).includes("<-> [DELSUB")) i--;
  return [...lines.slice(0, i), ...lines.slice(i).sort()];
}

// The same exchange sent to nats-server 2.9.10 and to cuebus, both started with -V: the trace
// lines (issue 15) must be the same once the pid, time and client address are masked.
const steps = [
  'CONNECT {"verbose":true,"pedantic":false,"name":"me","lang":"node","version":"1.0","user":"a","pass":"secret","headers":true}\r\n',
  "SUB foo 1\r\n",
  "SUB foo q 2\r\n",
  "PUB foo 5\r\nhello\r\n",
  "PUB foo bar 2\r\nhi\r\n",
  "HPUB foo 12 14\r\nNATS/1.0\r\n\r\nhi\r\n",
  'PUB foo 10\r\nt\té"\\\x01\x7fé\r\n',
  "UNSUB 2 5\r\n",
  "UNSUB 1\r\n",
  "SUB bar 3\r\n",
  "PING\r\n",
  "PONG\r\n",
  "SUB foo..x 9\r\n",
  "FOO\r\n",
];

test("-V traces each operation as nats-server does: <<- [PUB foo 5], MSG_PAYLOAD, ->> [MSG foo 1 5], [OK], [PONG], -ERR, DELSUB", async (t) => {
  const real = await launch(NATS_SERVER_BIN, [], t);
  const [node, ...cli] = CUEBUS_CLI;
  const ours = await launch(node, cli, t);
  for (const s of [real, ours]) {
    await exchange(s.port, steps);
    // The last line: the subscription left when the connection closed.
    await waitFor(() => s.log().includes("<-> [DELSUB 3]"), 5000, "the trace of the close");
  }
  const want = traceLines(real.log());
  assert.ok(want.length > 20, want.join("\n"));
  assert.deepEqual(traceLines(ours.log()), want);
});
