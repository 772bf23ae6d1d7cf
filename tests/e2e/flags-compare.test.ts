import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { connect } from "@nats-io/transport-node";
import { SERVER_PROGRAMS, runToExit, spawnServer } from "../helpers/spawn-server.js";

/** Connect and round-trip one message; resolves with "ok" or the error's message. */
async function tryConnect(port: number, opts: { user?: string; pass?: string; token?: string }): Promise<string> {
  try {
    const nc = await connect({ servers: `127.0.0.1:${port}`, maxReconnectAttempts: 0, reconnect: false, ...opts });
    const sub = nc.subscribe("flags.test", { max: 1 });
    nc.publish("flags.test", "x");
    for await (const m of sub) assert.equal(m.string(), "x");
    await nc.close();
    return "ok";
  } catch (err) {
    return /authorization violation/i.test(String(err)) ? "Authorization Violation" : String(err);
  }
}

// nats.c's test suite starts nats-server with single-dash flags (`-user ivan -pass foo`, `-auth
// testSecret`) and always adds `-a 127.0.0.1` and `-l server.log`; cuebus refused them all.
test("flags: nats.c's single-dash command lines: same answers from nats-server and cuebus, the log in the -l file", async (t) => {
  const results: Record<string, unknown> = {};
  for (const { name, cmd } of SERVER_PROGRAMS) {
    const users = await spawnServer(cmd, (dir) => ["-a", "127.0.0.1", "-p", "-1", "-user", "ivan", "-pass", "foo", "-l", join(dir, "server.log"), "-P", join(dir, "server.pid")]);
    t.after(() => users.stop());
    const token = await spawnServer(cmd, (dir) => ["-auth", "testSecret", "-p", "-1", "-a", "127.0.0.1", "-l", join(dir, "server.log")]);
    t.after(() => token.stop());
    const log = await readFile(join(users.dir, "server.log"), "utf8");
    results[name] = {
      noCredentials: await tryConnect(users.port, {}),
      wrongPassword: await tryConnect(users.port, { user: "ivan", pass: "bar" }),
      user: await tryConnect(users.port, { user: "ivan", pass: "foo" }),
      noToken: await tryConnect(token.port, {}),
      token: await tryConnect(token.port, { token: "testSecret" }),
      // The log goes to the file, not to stderr.
      logFileReady: /\[INF\] Server is ready/.test(log),
      stderrHasLog: /\[INF\]/.test(users.stderr()),
      pidFile: (await readFile(join(users.dir, "server.pid"), "utf8")) === String(users.proc.pid),
    };
  }
  assert.deepEqual(results["nats-server"], { noCredentials: "Authorization Violation", wrongPassword: "Authorization Violation", user: "ok", noToken: "Authorization Violation", token: "ok", logFileReady: true, stderrHasLog: false, pidFile: true });
  assert.deepEqual(results["cuebus"], results["nats-server"]);
});

test("flags: an unknown flag and a stray argument get Go's flag texts from both servers", async () => {
  for (const { name, cmd } of SERVER_PROGRAMS) {
    const bogus = await runToExit(cmd, ["-p", "-1", "-bogus"]);
    assert.match(bogus.out, /flag provided but not defined: -bogus/, name);
    const stray = await runToExit(cmd, ["-p", "-1", "stray"]);
    assert.match(stray.out, /unrecognized command: "stray"/, name);
    assert.equal(stray.code, 1, name);
  }
});

test("flags: -v prints a nats-server version line (tools read it), --cluster is refused with the reason", async () => {
  const cuebus = SERVER_PROGRAMS.find((p) => p.name === "cuebus")?.cmd as string;
  const v = await runToExit(cuebus, ["-v"]);
  assert.equal(v.code, 0);
  assert.match(v.out, /^nats-server: v\d+\.\d+\.\d+ \(cuebus /);
  const c = await runToExit(cuebus, ["-p", "-1", "-cluster", "nats://127.0.0.1:6222", "-cluster_name", "abc"]);
  assert.equal(c.code, 1);
  assert.match(c.out, /-cluster: routes between servers \(clustering\) are not supported by cuebus/);
});
