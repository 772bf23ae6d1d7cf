import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { connect } from "@nats-io/transport-node";
import { connect as tcpConnect } from "node:net";
import { waitFor } from "../helpers/wait.js";
import { NATS_SERVER_BIN } from "../helpers/nats-server.js";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");

interface Ports {
  nats: string[];
  monitoring?: string[];
  websocket?: string[];
}

/** Launch like a test launcher does: config file with random ports and a ports_file_dir. */
async function launch(cmd: string, args: string[], dir: string, env: NodeJS.ProcessEnv = process.env): Promise<{ proc: ChildProcess; ports: Ports; portsFile: string; log: () => string }> {
  const conf = join(dir, "server.conf");
  await writeFile(conf, `port: -1\nhttp: "127.0.0.1:-1"\nports_file_dir: "${dir}"\nunknown_thing: 1\nwebsocket { port: -1, no_tls: true }\n`);
  const proc = spawn(cmd, [...args, "-c", conf], { env, stdio: ["ignore", "ignore", "pipe"] });
  let log = "";
  proc.stderr?.on("data", (d: Buffer) => (log += d.toString()));
  let portsFile = "";
  await waitFor(async () => {
    const f = (await readdir(dir)).find((n) => n.endsWith(".ports"));
    if (f === undefined) return false;
    portsFile = join(dir, f);
    return true;
  }, 10_000, "ports file");
  let ports: Ports;
  try {
    ports = JSON.parse(await readFile(portsFile, "utf8")) as Ports;
  } catch (err) {
    proc.kill("SIGKILL"); // never leave the server running behind a failed test
    throw err;
  }
  return { proc, ports, portsFile, log: () => log };
}

async function roundTrip(url: string): Promise<void> {
  const nc = await connect({ servers: url });
  const sub = nc.subscribe("launch.test", { max: 1 });
  nc.publish("launch.test", "hello");
  for await (const m of sub) assert.equal(m.string(), "hello");
  await nc.close();
}

async function stop(proc: ChildProcess): Promise<number | null> {
  const exited = new Promise<number | null>((r) => proc.once("exit", (code) => r(code)));
  proc.kill("SIGTERM");
  return exited;
}

test("cuebus server -c <conf>: ports file, readiness lines, client round trip, /varz, clean SIGTERM", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "cuebus-launch-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const { proc, ports, portsFile, log } = await launch(process.execPath, [join(root, "dist/src/cli/main.js"), "server"], dir);
  t.after(() => proc.kill("SIGKILL"));
  assert.equal(portsFile, join(dir, `cuebus_${proc.pid}.ports`));
  assert.match(ports.nats[0] ?? "", /^nats:\/\/127\.0\.0\.1:\d+$/);
  assert.match(ports.monitoring?.[0] ?? "", /^http:\/\/127\.0\.0\.1:\d+$/);
  assert.match(ports.websocket?.[0] ?? "", /^ws:\/\/127\.0\.0\.1:\d+$/);
  await roundTrip(ports.nats[0] as string);
  const varz = (await (await fetch(`${ports.monitoring?.[0]}/varz`)).json()) as { port: number };
  assert.equal(`nats://127.0.0.1:${varz.port}`, ports.nats[0]);
  // No address and no credentials: this host only (tests/e2e/http-remote-access.test.ts tries it from another).
  assert.match(log(), /\[INF\] Listening for client connections on 127\.0\.0\.1:\d+/);
  assert.match(log(), /\[INF\] No credentials configured: clients can connect from this host only/);
  assert.match(log(), /\[INF\] Server is ready/);
  assert.match(log(), /\[WRN\] config: unknown field "unknown_thing"/);
  assert.equal(await stop(proc), 0);
  assert.deepEqual((await readdir(dir)).filter((n) => n.endsWith(".ports")), [], "ports file removed on exit");
});

test("started as nats-server (bin/nats-server from PATH): nats-server_<pid>.ports and the same flags", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "cuebus-launch-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const env = { ...process.env, PATH: `${join(root, "bin")}:${process.env["PATH"] ?? ""}` };
  const { proc, ports, portsFile } = await launch("nats-server", [], dir, env);
  t.after(() => proc.kill("SIGKILL"));
  // exec -a keeps the pid: the ports file names the server process itself.
  assert.equal(portsFile, join(dir, `nats-server_${proc.pid}.ports`));
  await roundTrip(ports.nats[0] as string);
  // It is cuebus answering, not the real nats-server further down PATH.
  const varz = (await (await fetch(`${ports.monitoring?.[0]}/varz`)).json()) as { cuebus?: string };
  assert.equal(typeof varz.cuebus, "string");
  assert.equal(await stop(proc), 0);
});

test("SIGHUP reloads authorization for new connections", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "cuebus-launch-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const conf = join(dir, "auth.conf");
  await writeFile(conf, `port: -1\nports_file_dir: "${dir}"\nauthorization { token: first }\n`);
  const proc = spawn(process.execPath, [join(root, "dist/src/cli/main.js"), "server", "-c", conf], { stdio: "ignore" });
  t.after(() => proc.kill("SIGKILL"));
  let file = "";
  await waitFor(async () => (file = (await readdir(dir)).find((n) => n.endsWith(".ports")) ?? "") !== "", 10_000, "ports file");
  const url = (JSON.parse(await readFile(join(dir, file), "utf8")) as Ports).nats[0] as string;
  await (await connect({ servers: url, token: "first" })).close();
  await writeFile(conf, `port: -1\nports_file_dir: "${dir}"\nauthorization { token: second }\n`);
  proc.kill("SIGHUP");
  await waitFor(async () => {
    try {
      await (await connect({ servers: url, token: "second", maxReconnectAttempts: 0 })).close();
      return true;
    } catch {
      return false;
    }
  }, 5000, "new token accepted");
  await assert.rejects(connect({ servers: url, token: "first", maxReconnectAttempts: 0 }), /Authorization Violation|AUTHORIZATION_VIOLATION/i);
  assert.equal(await stop(proc), 0);
});

/** Start `cmd` on config file `conf` (with a ports_file_dir of `dir`); resolves with its NATS port. */
async function launchOn(cmd: string, args: string[], conf: string, dir: string): Promise<{ proc: ChildProcess; port: number }> {
  const proc = spawn(cmd, [...args, "-c", conf], { stdio: "ignore" });
  let file = "";
  await waitFor(async () => (file = (await readdir(dir)).find((n) => n.endsWith(".ports")) ?? "") !== "", 10_000, "ports file");
  await waitFor(async () => {
    try {
      JSON.parse(await readFile(join(dir, file), "utf8"));
      return true;
    } catch {
      return false;
    }
  }, 5000, "whole ports file");
  const url = (JSON.parse(await readFile(join(dir, file), "utf8")) as Ports).nats[0] as string;
  return { proc, port: Number(new URL(url).port) };
}

/** A raw client: writes lines, keeps every byte the server sends (server PINGs dropped), and whether it closed. */
function rawClient(port: number, first: string): { send: (s: string) => void; text: () => string; closed: () => boolean; end: () => void } {
  const sock = tcpConnect(port, "127.0.0.1");
  let text = "";
  let closed = false;
  sock.on("data", (d: Buffer) => (text += d.toString("latin1")));
  sock.on("close", () => (closed = true));
  sock.on("error", () => {});
  sock.write(first);
  return {
    send: (s) => void sock.write(s),
    text: () => text.replace(/^INFO .*\r\n/, "").replace(/^PING\r\n/gm, ""),
    closed: () => closed,
    end: () => void sock.destroy(),
  };
}

test("SIGHUP applies new users and permissions to open connections, byte for byte as nats-server", async (t) => {
  const before = `authorization { users = [
    { user: a, password: pw, permissions: { subscribe: ["x.>", "y.>"], publish: [">"] } }
    { user: b, password: pw }
  ] }`;
  const after = `authorization { users = [ { user: a, password: pw, permissions: { subscribe: ["x.>"], publish: ["x.>"] } } ] }`;
  const run = async (cmd: string, args: string[]): Promise<{ a: string; bClosed: boolean }> => {
    const dir = await mkdtemp(join(tmpdir(), "cuebus-reload-"));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const conf = join(dir, "server.conf");
    await writeFile(conf, `port: -1\nhost: 127.0.0.1\nports_file_dir: "${dir}"\n${before}\n`);
    const { proc, port } = await launchOn(cmd, args, conf, dir);
    t.after(() => proc.kill("SIGKILL"));
    const c = 'CONNECT {"verbose":false,"pedantic":false,"user":"%","pass":"pw"}\r\nSUB x.1 1\r\nSUB y.1 2\r\nSUB y.* q 3\r\nPING\r\n';
    const a = rawClient(port, c.replace("%", "a"));
    const b = rawClient(port, c.replace("%", "b"));
    await waitFor(() => a.text().includes("PONG") && b.text().includes("PONG"), 5000, "both connected");
    await writeFile(conf, `port: -1\nhost: 127.0.0.1\nports_file_dir: "${dir}"\n${after}\n`);
    proc.kill("SIGHUP");
    await waitFor(() => b.closed(), 5000, "b closed by the reload");
    a.send("PUB y.1 2\r\nhi\r\nPUB x.1 2\r\nok\r\nPING\r\n");
    await waitFor(() => (a.text().match(/PONG/g) ?? []).length >= 2, 5000, "a's second PONG");
    const out = { a: a.text(), bClosed: b.closed() };
    a.end();
    b.end();
    return out;
  };
  const real = await run(NATS_SERVER_BIN, []);
  const ours = await run(process.execPath, [join(root, "dist/src/cli/main.js"), "server"]);
  // The subscriptions the new permissions refuse are gone with an -ERR each, publish rights changed,
  // and the removed user's connection is closed.
  assert.match(real.a, /Subscription to "y\.1" \(sid "2"\)/);
  assert.equal(real.bClosed, true);
  // nats-server walks the subscriptions in Go map order, so the -ERR lines come in either order.
  const lines = (text: string): string[] => text.split("\r\n").sort();
  assert.deepEqual(lines(ours.a), lines(real.a));
  assert.equal(ours.bClosed, real.bClosed);
});
