import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { NATS_SERVER_BIN } from "../helpers/nats-server.js";
import { exchange } from "../helpers/raw.js";
import { waitFor } from "../helpers/wait.js";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");

/** Start `cmd args` with -V on a random port; resolve its client port and a reader of its log. */
async function launch(cmd: string, args: string[], t: test.TestContext): Promise<{ port: number; log: () => string }> {
  const dir = await mkdtemp(join(tmpdir(), "cuebus-trace-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const proc: ChildProcess = spawn(cmd, [...args, "-a", "127.0.0.1", "-p", "-1", "--ports_file_dir", dir, "-V"], { stdio: ["ignore", "pipe", "pipe"] });
  let log = "";
  proc.stdout?.on("data", (d: Buffer) => (log += d.toString()));
  proc.stderr?.on("data", (d: Buffer) => (log += d.toString()));
  t.after(async () => {
    const exited = new Promise<void>((r) => proc.once("exit", () => r()));
    proc.kill("SIGKILL");
    await exited;
  });
  let port = 0;
  await waitFor(async () => {
    const f = (await readdir(dir)).find((n) => n.endsWith(".ports"));
    if (f === undefined) return false;
    try {
      port = Number(new URL((JSON.parse(await readFile(join(dir, f), "utf8")) as { nats: string[] }).nats[0] as string).port);
      return true;
    } catch {
      return false;
    }
  }, 10_000, `${cmd} ports file`);
  return { port, log: () => log };
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
  const ours = await launch(process.execPath, [join(root, "dist/src/cli/main.js"), "server"], t);
  for (const s of [real, ours]) {
    await exchange(s.port, steps);
    // The last line: the subscription left when the connection closed.
    await waitFor(() => s.log().includes("<-> [DELSUB 3]"), 5000, "the trace of the close");
  }
  const want = traceLines(real.log());
  assert.ok(want.length > 20, want.join("\n"));
  assert.deepEqual(traceLines(ours.log()), want);
});
