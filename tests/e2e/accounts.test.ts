import { test } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { SERVER_PROGRAMS, runToExit, spawnServer, type SpawnedServer } from "../helpers/spawn-server.js";
import { waitFor } from "../helpers/wait.js";

// nats.c's JetStreamContext test starts nats-server with `accounts { NOJS { users } }` and `-js`,
// and expects 10039 "JetStream not enabled for account"; cuebus refused `accounts` at start. Each
// account is a subject space of its own; JetStream serves the one with `jetstream: enabled`.
const CONF = `
accounts {
  A: { users: [ { user: a, password: a } ], jetstream: enabled }
  B: { users: [ { user: b, password: b } ] }
  NOJS: { users: [ { user: ivan, pass: pwd } ] }
}
no_auth_user: ivan
`;

async function start(cmd: string, conf: string): Promise<SpawnedServer> {
  return spawnServer(cmd, (dir) => {
    const file = join(dir, "accounts.conf");
    writeFileSync(file, conf);
    return ["-c", file, "-js", "-sd", join(dir, "js"), "-a", "127.0.0.1", "-p", "-1", "-m", "-1"];
  });
}

/** A request's answer as text, or what went wrong ("no responders", "timeout"). */
async function ask(nc: NatsConnection, subject: string, body = "{}"): Promise<string> {
  try {
    return (await nc.request(subject, body, { timeout: 1000 })).string();
  } catch (err) {
    return /no responders/i.test(String(err)) ? "no responders" : /timeout/i.test(String(err)) ? "timeout" : String(err);
  }
}

/** What each connection saw of "news" when each of them published on it once. */
async function crossTalk(port: number): Promise<Record<string, string[]>> {
  const who: Array<[string, { user?: string; pass?: string }]> = [
    ["a", { user: "a", pass: "a" }],
    ["b", { user: "b", pass: "b" }],
    ["ivan", { user: "ivan", pass: "pwd" }],
    ["anonymous", {}],
  ];
  const conns: NatsConnection[] = [];
  const seen: Record<string, string[]> = {};
  for (const [name, creds] of who) {
    const nc = await connect({ servers: `127.0.0.1:${port}`, ...creds });
    conns.push(nc);
    const got: string[] = [];
    seen[name] = got;
    nc.subscribe("news", { callback: (_e, m) => void got.push(m.string()) });
    await nc.flush();
  }
  for (let i = 0; i < conns.length; i++) {
    (conns[i] as NatsConnection).publish("news", (who[i] as [string, unknown])[0]);
    await (conns[i] as NatsConnection).flush();
  }
  await waitFor(() => Object.values(seen).every((g) => g.length > 0), 5000, "each connection hears its own account");
  await new Promise((r) => setTimeout(r, 100));
  for (const g of Object.values(seen)) g.sort();
  for (const nc of conns) await nc.close();
  return seen;
}

test("accounts: each is a subject space of its own; no_auth_user; JetStream only where enabled, 10039 elsewhere, as nats-server", async (t) => {
  const seen: Record<string, Record<string, unknown>> = {};
  for (const { name, cmd } of SERVER_PROGRAMS) {
    const s = await start(cmd, CONF);
    t.after(() => s.stop());
    const out: Record<string, unknown> = {};
    out["crossTalk"] = await crossTalk(s.port);

    // A service in account A is not reachable from account B: no responders there.
    const a = await connect({ servers: `127.0.0.1:${s.port}`, user: "a", pass: "a" });
    const b = await connect({ servers: `127.0.0.1:${s.port}`, user: "b", pass: "b" });
    const ivan = await connect({ servers: `127.0.0.1:${s.port}` }); // no credentials: no_auth_user
    t.after(async () => {
      await a.close();
      await b.close();
      await ivan.close();
    });
    a.subscribe("svc.time", { callback: (_e, m) => void m.respond("from A") });
    await a.flush();
    out["requestFromA"] = await ask(a, "svc.time");
    out["requestFromB"] = await ask(b, "svc.time");

    // JetStream serves A; its streams capture only A's publishes.
    const jsm = await jetstreamManager(a);
    await jsm.streams.add({ name: "ORDERS", subjects: ["orders.>"] });
    await jetstream(a).publish("orders.1", "from A");
    b.publish("orders.2", "from B");
    await b.flush();
    out["bPublishAck"] = await ask(b, "orders.3", "x");
    out["ordersMessages"] = (await jsm.streams.info("ORDERS")).state.messages;

    // The accounts without JetStream: the API answers 10039 (or 10010, or nothing) as nats-server's.
    // ACCOUNT.PURGE is left out: nats-server answers it from its system account, which cuebus lacks.
    const api: Record<string, string> = {};
    for (const sub of [
      "INFO", "STREAM.CREATE.S", "STREAM.UPDATE.S", "STREAM.DELETE.S", "STREAM.INFO.S", "STREAM.NAMES", "STREAM.LIST",
      "STREAM.PURGE.S", "STREAM.MSG.GET.S", "STREAM.MSG.DELETE.S", "STREAM.SNAPSHOT.S", "STREAM.RESTORE.S",
      "STREAM.PEER.REMOVE.S", "STREAM.LEADER.STEPDOWN.S", "STREAM.TEMPLATE.NAMES", "CONSUMER.CREATE.S", "CONSUMER.CREATE.S.C",
      "CONSUMER.CREATE.S.C.f.>", "CONSUMER.DURABLE.CREATE.S.C", "CONSUMER.INFO.S.C", "CONSUMER.NAMES.S", "CONSUMER.LIST.S",
      "CONSUMER.DELETE.S.C", "CONSUMER.LEADER.STEPDOWN.S.C", "CONSUMER.MSG.NEXT.S.C", "DIRECT.GET.S", "FOO",
    ]) {
      api[sub] = await ask(ivan, `$JS.API.${sub.replace(".>", ".x")}`);
    }
    out["nojsApi"] = api;
    out["bInfo"] = await ask(b, "$JS.API.INFO");
    // The official client sees the error code nats.c checks for.
    out["bClientError"] = await jetstreamManager(b).then(
      () => "no error",
      (err: unknown) => String((err as { api_error?: { err_code?: number } }).api_error?.err_code ?? err),
    );
    // /connz names each connection's account (the global one left out).
    const connz = (await (await fetch(`http://127.0.0.1:${s.httpPort}/connz?auth=true`)).json()) as { connections: Array<{ authorized_user?: string; account?: string }> };
    out["connzAccounts"] = connz.connections.map((c) => `${c.authorized_user ?? ""}@${c.account ?? ""}`).sort();
    seen[name] = out;
  }
  const ns = seen["nats-server"] as Record<string, unknown>;
  const cb = seen["cuebus"] as Record<string, unknown>;
  // The oracle itself, so a change of nats-server's answers is seen here first.
  assert.deepEqual(ns["crossTalk"], { a: ["a"], b: ["b"], ivan: ["anonymous", "ivan"], anonymous: ["anonymous", "ivan"] });
  assert.equal(ns["requestFromA"], "from A");
  assert.equal(ns["requestFromB"], "no responders");
  assert.equal(ns["ordersMessages"], 1);
  assert.match(String((ns["nojsApi"] as Record<string, string>)["INFO"]), /"err_code":10039/);
  for (const key of Object.keys(ns)) assert.deepEqual(cb[key], ns[key], key);
});

test("accounts: what cuebus refuses at start (imports, several JetStream accounts, a duplicate user, no_auth_user not a user)", async () => {
  const cmd = (SERVER_PROGRAMS.find((p) => p.name === "cuebus") as { cmd: string }).cmd;
  const cases: Array<[string, RegExp]> = [
    ["accounts { A { users: [{user: a, pass: a}], imports: [ {stream: {account: B, subject: x}} ] } B {} }", /importing from other accounts is not supported/],
    ["accounts { A { jetstream: enabled } B { jetstream: enabled } }", /JetStream is enabled for A, B; cuebus serves JetStream for one account at most/],
    ["accounts { A { users: [{user: a, pass: a}] } B { users: [{user: a, pass: b}] } }", /Duplicate user "a" detected/],
    ["accounts { A { users: [{user: a, pass: a}] } }\nno_auth_user: z", /no_auth_user: "z" not present as user in authorization block or account configuration/],
  ];
  for (const [conf, want] of cases) {
    const file = join(process.env["TMPDIR"] ?? "/tmp", `cuebus-accounts-${process.pid}.conf`);
    writeFileSync(file, conf);
    const r = await runToExit(cmd, ["-c", file, "-js", "-p", "-1"]);
    assert.notEqual(r.code, 0, conf);
    assert.match(r.out, want, conf);
  }
});

test("accounts: the HTTP edge acts in JetStream's account; another account's user is refused with 403 and nothing is written", async (t) => {
  const cmd = (SERVER_PROGRAMS.find((p) => p.name === "cuebus") as { cmd: string }).cmd;
  const s = await start(cmd, CONF);
  t.after(() => s.stop());
  const a = await connect({ servers: `127.0.0.1:${s.port}`, user: "a", pass: "a" });
  t.after(() => a.close());
  const jsm = await jetstreamManager(a);
  await jsm.streams.add({ name: "ORDERS", subjects: ["orders.>"] });
  const post = (user: string, pass: string): Promise<Response> =>
    fetch(`http://127.0.0.1:${s.httpPort}/v1/publish/orders.http`, { method: "POST", body: user, headers: { authorization: `Basic ${Buffer.from(`${user}:${pass}`).toString("base64")}` } });
  const asB = await post("b", "b");
  assert.equal(asB.status, 403);
  assert.match(((await asB.json()) as { error: { description: string } }).error.description, /user "b" belongs to account "B"; the HTTP edge serves account "A"/);
  // Empty credentials do not pass as no_auth_user (that is for NATS clients only).
  assert.equal((await post("", "")).status, 401);
  const asA = await post("a", "a");
  assert.equal(asA.status, 200, await asA.clone().text());
  const info = await jsm.streams.info("ORDERS");
  assert.equal(info.state.messages, 1, "only user a's publish was stored");
});
