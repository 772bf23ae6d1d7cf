import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { connect } from "@nats-io/transport-node";
import { nkeyAuthenticator, wsconnect } from "@nats-io/nats-core";
import { WebSocket as WsClient } from "ws";
import { createUser } from "@nats-io/nkeys";
import { startServer } from "../../src/index.js";
import { NATS_SERVER_BIN, startNatsServer } from "../helpers/nats-server.js";
import { CUEBUS_CLI, launchWithPortsFile } from "../helpers/launch.js";
import { waitFor } from "../helpers/wait.js";
import { errorsOf } from "../helpers/client-errors.js";

const run = promisify(execFile);
// dist/tests/interop -> repo root
const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
/** Debian's golang-github-nats-io-go-nats-dev layout (GOPATH mode, go 1.19); it ships nats-io/nkeys too. */
const goEnv = { ...process.env, GO111MODULE: "off", GOPATH: "/usr/share/gocode" };

const orders = { publish: { allow: ["orders.>"] }, subscribe: { allow: ["orders.>"] } };

test("nkeys: the official nkeyAuthenticator signs the nonce; permissions apply; another key is refused", async (t) => {
  const alice = createUser();
  const server = await startServer({ port: 0, auth: { nkeys: [{ nkey: alice.getPublicKey(), permissions: orders }] } });
  t.after(() => server.close());
  const nc = await connect({ servers: server.url, authenticator: nkeyAuthenticator(alice.getSeed()) });
  t.after(() => nc.close());
  const errs = errorsOf(nc);
  const sub = nc.subscribe("orders.>", { max: 1 });
  nc.publish("orders.new", "signed");
  for await (const m of sub) assert.equal(m.string(), "signed");
  nc.publish("billing.x", "no");
  await nc.flush().catch(() => {});
  await waitFor(() => errs.length > 0, 2000, "a permissions error");
  assert.ok(errs.some((e) => e.includes('Permissions Violation for Publish to "billing.x"')), errs.join("|"));
  const conn = [...server.core.clients.values()].find((c) => c.connected);
  assert.equal(conn?.user, alice.getPublicKey());

  await assert.rejects(connect({ servers: server.url, authenticator: nkeyAuthenticator(createUser().getSeed()), maxReconnectAttempts: 0 }), /Authorization Violation|AUTHORIZATION_VIOLATION/i);
  await assert.rejects(connect({ servers: server.url, maxReconnectAttempts: 0 }), /Authorization Violation|AUTHORIZATION_VIOLATION/i);
});

test("nkeys: nats.go's NkeyOptionFromSeed behaves the same against cuebus and nats-server", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "cuebus-go-nkey-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const bin = join(dir, "nkeyauth");
  await run("go", ["build", "-o", bin, join(repoRoot, "tests/interop/go/nkeyauth.go")], { env: { ...goEnv, GOCACHE: join(dir, "cache") }, timeout: 240_000 });
  const alice = createUser();
  const seed = join(dir, "alice.nk");
  const other = join(dir, "other.nk");
  await writeFile(seed, alice.getSeed());
  await writeFile(other, createUser().getSeed());

  const server = await startServer({ port: 0, auth: { nkeys: [{ nkey: alice.getPublicKey(), permissions: orders }] } });
  t.after(() => server.close());
  const real = await startNatsServer(`authorization { users: [ { nkey: ${alice.getPublicKey()}, permissions: { publish: { allow: ["orders.>"] }, subscribe: { allow: ["orders.>"] } } } ] }`);
  t.after(() => real.stop());
  for (const url of [`nats://127.0.0.1:${real.port}`, server.url]) {
    const { stdout } = await run(bin, [url, seed, other], { timeout: 20_000 });
    assert.equal(stdout.trim(), "ok", url);
  }
});

test("nkeys: over WebSocket the nonce is signed the same way; a reload that drops the key closes its connection", async (t) => {
  const alice = createUser();
  const bob = createUser();
  const server = await startServer({ port: 0, websocket: { port: 0 }, auth: { nkeys: [{ nkey: alice.getPublicKey() }, { nkey: bob.getPublicKey() }] } });
  t.after(() => server.close());
  const g = globalThis as { WebSocket?: unknown };
  g.WebSocket ??= WsClient;
  const ws = await wsconnect({ servers: server.wsUrl as string, authenticator: nkeyAuthenticator(alice.getSeed()), maxReconnectAttempts: 0 });
  t.after(() => ws.close());
  const tcp = await connect({ servers: server.url, authenticator: nkeyAuthenticator(bob.getSeed()), maxReconnectAttempts: 0 });
  t.after(() => tcp.close());
  await ws.flush();
  await tcp.flush();
  // nats-server's /connz names an nkey user by its public key.
  const users = [...server.core.clients.values()].map((c) => c.user).sort();
  assert.deepEqual(users, [alice.getPublicKey(), bob.getPublicKey()].sort());

  server.core.reloadAuth({ nkeys: [{ nkey: alice.getPublicKey() }] });
  await tcp.closed();
  await ws.flush();
  assert.equal(ws.isClosed(), false);
});

test("nkeys from the config file: the same file on nats-server and on cuebus's CLI admits the key and its permissions", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "cuebus-nkey-conf-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const alice = createUser();
  const [node, ...cli] = CUEBUS_CLI;
  const servers: Array<[string, string, readonly string[]]> = [
    ["nats-server", NATS_SERVER_BIN, []],
    ["cuebus", node, cli],
  ];
  for (const [name, cmd, args] of servers) {
    const sub = join(dir, name);
    await mkdir(sub);
    const conf = join(sub, "server.conf");
    await writeFile(conf, `port: -1\nhost: 127.0.0.1\nports_file_dir: "${sub}"\nauthorization { users: [ { nkey: ${alice.getPublicKey()}, permissions: { publish: "orders.>", subscribe: "orders.>" } } ] }\n`);
    const { port } = await launchWithPortsFile(cmd, [...args, "-c", conf], sub, t);
    const nc = await connect({ servers: `nats://127.0.0.1:${port}`, authenticator: nkeyAuthenticator(alice.getSeed()), maxReconnectAttempts: 0 });
    const errs = errorsOf(nc);
    const s = nc.subscribe("orders.>", { max: 1 });
    nc.publish("orders.new", name);
    for await (const m of s) assert.equal(m.string(), name);
    nc.publish("billing.x", "no");
    await nc.flush().catch(() => {});
    await waitFor(() => errs.length > 0, 2000, `${name}: a permissions error`);
    assert.ok(errs.some((e) => e.includes('Permissions Violation for Publish to "billing.x"')), `${name}: ${errs.join("|")}`);
    await nc.close();
    await assert.rejects(connect({ servers: `nats://127.0.0.1:${port}`, maxReconnectAttempts: 0 }), /Authorization Violation|AUTHORIZATION_VIOLATION/i, name);
  }
});
