/**
 * Safe by default (issue 15, part 4): `npm start` listens on 0.0.0.0:8222, and with no users or
 * token configured a caller on another host must not be able to publish, change streams, read
 * stream contents or register a webhook (which would make cuebus send requests into its own
 * network) through the HTTP edge, while a developer on the same machine keeps using it without
 * credentials, and the monitoring endpoints stay readable from anywhere as nats-server's `-m` are.
 *
 * "Another host" is a network namespace joined by a veth pair (tests/helpers/netns.ts): its
 * requests arrive from a non-loopback address, as a remote caller's would, and reach no other
 * address. It needs root; elsewhere those tests skip with the reason, and the loopback checks
 * (proxies, browsers, `http_api_open_to`) still run.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { request as httpRequest } from "node:http";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseConf } from "../../src/config/conf-parser.js";
import { applyFlags } from "../../src/config/apply-flags.js";
import { applyConfig, defaultOptions, scanFlags } from "../../src/config/options.js";
import { waitFor } from "../helpers/wait.js";
import { netnsUnavailable, otherHost, type NsRequest, type NsResponse, type OtherHost } from "../helpers/netns.js";
import { call, jsServer, refused } from "../helpers/http.js";

const mainJs = join(resolve(dirname(fileURLToPath(import.meta.url)), "../../.."), "dist/src/cli/main.js");
const unavailable = netnsUnavailable();

interface Cuebus {
  /** `http://127.0.0.1:<port>`: the loopback side. */
  local: string;
  port: number;
  /** The client (NATS) port. */
  natsPort: number;
  stderr: () => string;
}

/**
 * Start the CLI as `npm start` does (no address given: it listens on 0.0.0.0), with random ports
 * and a store and ports file under `dir`. Killed by `t.after`, then `dir` removed.
 */
async function startCli(t: { after: (fn: () => unknown) => void }, extra: string[]): Promise<Cuebus> {
  const dir = await mkdtemp(join(tmpdir(), "cuebus-remote-"));
  let proc: ChildProcess | null = null;
  t.after(async () => {
    if (proc !== null && proc.exitCode === null) {
      const exited = new Promise<void>((r) => proc?.once("exit", () => r()));
      proc.kill("SIGKILL");
      await exited;
    }
    await rm(dir, { recursive: true, force: true });
  });
  const p = spawn(process.execPath, [mainJs, "server", "-p", "-1", "-m", "-1", "-js", "-sd", join(dir, "store"), "--ports_file_dir", dir, ...extra], { stdio: ["ignore", "ignore", "pipe"] });
  proc = p;
  let stderr = "";
  p.stderr?.on("data", (d: Buffer) => {
    if (stderr.length < 256 * 1024) stderr += d.toString();
  });
  let monitoring = "";
  let nats = "";
  await waitFor(
    async () => {
      if (p.exitCode !== null) throw new Error(`cuebus exited ${p.exitCode}: ${stderr}`);
      const f = (await readdir(dir)).find((n) => n.endsWith(".ports"));
      if (f === undefined) return false;
      const ports = JSON.parse(await readFile(join(dir, f), "utf8")) as { monitoring: string[]; nats: string[] };
      monitoring = ports.monitoring[0] as string;
      nats = ports.nats[0] as string;
      return true;
    },
    20_000,
    "cuebus to write its ports file",
  );
  const port = Number(new URL(monitoring).port);
  return { local: `http://127.0.0.1:${port}`, port, natsPort: Number(new URL(nats).port), stderr: () => stderr };
}

/**
 * From the other host, open a TCP connection to the client port and read its first line: the
 * INFO, or the error that stopped the connection (ECONNREFUSED when nothing listens there).
 */
async function natsFirstLine(other: OtherHost, addr: string, port: number): Promise<string> {
  const script = `
const s = require("node:net").connect(${port}, "${addr}");
let buf = "";
s.setTimeout(5000, () => { console.log("timeout"); s.destroy(); });
s.on("data", (d) => { buf += d; const i = buf.indexOf("\\r\\n"); if (i >= 0) { console.log(buf.slice(0, i)); s.destroy(); } });
s.on("error", (e) => console.log(e.code));`;
  return (await other.run(process.execPath, ["-e", script])).trim();
}

/** A request from this host; the JSON body (or null). */
async function local(base: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; json: Record<string, unknown> | null }> {
  const res = await fetch(`${base}${path}`, { method, headers, ...(body === undefined ? {} : { body: typeof body === "string" ? body : JSON.stringify(body) }) });
  const text = await res.text();
  return { status: res.status, json: text === "" || !(res.headers.get("content-type") ?? "").includes("json") ? null : (JSON.parse(text) as Record<string, unknown>) };
}

/** What a remote caller must not be able to change: streams, their state, consumers, webhooks. */
async function state(base: string): Promise<string> {
  const streams = await local(base, "GET", "/v1/streams");
  assert.equal(streams.status, 200);
  const list = ((streams.json?.["streams"] as Array<{ config: { name: string; subjects: string[] }; state: { messages: number; last_seq: number; consumer_count: number } }> | null) ?? []).map((s) => ({
    name: s.config.name,
    subjects: s.config.subjects,
    messages: s.state.messages,
    last_seq: s.state.last_seq,
    consumers: s.state.consumer_count,
  }));
  const hooks = await local(base, "GET", "/v1/webhooks");
  assert.equal(hooks.status, 200);
  const webhooks = (hooks.json?.["webhooks"] as Array<{ name: string; url: string }>).map((h) => `${h.name}=${h.url}`);
  return JSON.stringify({ streams: list.sort((a, b) => a.name.localeCompare(b.name)), webhooks: webhooks.sort() });
}

/** Every route of the running edge, from its own /openapi.json, and whether it takes credentials. */
async function routesOf(base: string): Promise<Array<{ method: string; path: string; api: boolean }>> {
  const doc = (await local(base, "GET", "/openapi.json")).json as { paths: Record<string, Record<string, { security: unknown[] }>> };
  const out: Array<{ method: string; path: string; api: boolean }> = [];
  for (const [path, ops] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(ops)) out.push({ method: method.toUpperCase(), path, api: op.security.length > 0 });
  }
  return out;
}

/** A concrete path for a route's `{param}` segments (the access check answers before the handler reads them). */
const SAMPLE: Record<string, string> = { stream: "ORDERS", consumer: "C", subject: "orders.x", seq: "1", name: "hook", token: Buffer.from("$JS.ACK.ORDERS.C.1.1.1.0.0").toString("base64url") };
const concrete = (path: string): string => path.replace(/\{(\w+)\}/g, (_, k: string) => encodeURIComponent(SAMPLE[k] ?? "x"));

/** A refusal of the API to a caller without credentials that is not on this host. */
function refusedRemote(r: NsResponse, what: string): void {
  assert.equal(r.error, undefined, `${what}: ${r.error}`);
  assert.equal(r.status, 403, `${what}: ${r.status} ${r.body.slice(0, 300)}`);
  assert.match(r.contentType, /application\/json/, what);
  const e = (JSON.parse(r.body) as { error?: { code: number; description: string } }).error;
  assert.ok(e !== undefined, `${what}: a JSON error body`);
  assert.equal(e.code, 403, what);
  assert.match(e.description, /without credentials only from this host/, what);
}

test(
  "no credentials configured, as npm start runs: the client port listens on 127.0.0.1 (refused from another host); the HTTP port on 0.0.0.0, where from another host every API route is refused 403 (JSON) and nothing is written and monitoring answers; from this host the API works without credentials",
  { skip: unavailable ?? false, timeout: 120_000 },
  async (t) => {
    const other = otherHost(t);
    if (other === null) return;
    const srv = await startCli(t, []);
    const remote = `http://${other.hostAddr}:${srv.port}`;
    assert.match(srv.stderr(), /\[INF\] HTTP edge on 0\.0\.0\.0:\d+: monitoring open to every host; API \(\/v1, \/events\) without credentials only from this host/);
    // The client port too: without credentials it listens on this host only (nats-server's 0.0.0.0
    // would let any host publish and drive JetStream), and says so.
    assert.match(srv.stderr(), /\[INF\] Listening for client connections on 127\.0\.0\.1:\d+/);
    assert.match(srv.stderr(), /\[INF\] No credentials configured: clients can connect from this host only \(127\.0\.0\.1\)/);
    assert.equal(await natsFirstLine(other, other.hostAddr, srv.natsPort), "ECONNREFUSED");

    // Things a stranger would like to change, made from this host without credentials.
    assert.equal((await local(srv.local, "POST", "/v1/streams", { name: "ORDERS", subjects: ["orders.>"] })).status, 201);
    assert.equal((await local(srv.local, "POST", "/v1/streams", { name: "HOOKED", subjects: ["hooked.>"] })).status, 201);
    assert.equal((await local(srv.local, "POST", "/v1/publish/orders.created", '{"id":1}')).status, 200);
    assert.equal((await local(srv.local, "POST", "/v1/streams/ORDERS/consumers", { durable_name: "C", ack_policy: "explicit" })).status, 201);
    const hook = await local(srv.local, "POST", "/v1/webhooks", { name: "hook", url: "http://127.0.0.1:9/in", stream: "HOOKED" });
    assert.equal(hook.status, 201, JSON.stringify(hook.json));
    const before = await state(srv.local);

    // Every API route, from the other host: refused before it acts.
    const routes = await routesOf(srv.local);
    const api = routes.filter((r) => r.api);
    assert.ok(api.length >= 20, `the API routes (${api.length})`);
    const body = JSON.stringify({ name: "EVIL", subjects: ["evil.>"], url: `http://${other.peerAddr}:9/steal`, stream: "ORDERS", type: "x", data: 1 });
    const requests: NsRequest[] = api.map((r) => ({ method: r.method, url: `${remote}${concrete(r.path)}`, ...(r.method === "GET" || r.method === "DELETE" ? {} : { body, headers: { "content-type": "application/json" } }) }));
    // The writes that matter most, spelled out (the loop above has them too), one with made-up credentials.
    const named: NsRequest[] = [
      { method: "POST", url: `${remote}/v1/publish/orders.created`, body: '{"id":666}' },
      { method: "POST", url: `${remote}/v1/streams`, body: JSON.stringify({ name: "EVIL", subjects: ["evil.>"] }) },
      { method: "DELETE", url: `${remote}/v1/streams/ORDERS` },
      { method: "POST", url: `${remote}/v1/webhooks`, body: JSON.stringify({ name: "ssrf", url: `http://${other.peerAddr}:9/steal`, stream: "ORDERS", deliver_policy: "all" }) },
      { method: "POST", url: `${remote}/v1/publish/orders.created`, body: '{"id":667}', headers: { authorization: `Basic ${Buffer.from("a:b").toString("base64")}` } },
    ];
    const answers = await other.fetchAll([...requests, ...named]);
    [...requests, ...named].forEach((r, i) => refusedRemote(answers[i] as NsResponse, `${r.method} ${r.url} from ${other.peerAddr}`));

    // Nothing changed: the same streams, messages, consumers and webhooks, seen from this host.
    assert.equal(await state(srv.local), before);

    // Monitoring is readable from the other host, as nats-server's -m port is.
    const monitoring = routes.filter((r) => !r.api);
    for (const p of ["/varz", "/connz", "/subsz", "/jsz", "/healthz", "/metrics", "/openapi.json", "/", "/streaming/serverz", "/streaming/channelsz"]) {
      assert.ok(monitoring.some((r) => r.path === p && r.method === "GET"), `${p} is a monitoring route`);
    }
    const seen = await other.fetchAll(monitoring.map((r) => ({ method: r.method, url: `${remote}${r.path}` })));
    // isFTActive answers 204 as a nats-streaming-server outside a fault-tolerance group does.
    monitoring.forEach((r, i) => assert.equal(seen[i]?.status, r.path === "/streaming/isFTActive" ? 204 : 200, `GET ${r.path} from ${other.peerAddr}: ${seen[i]?.status} ${seen[i]?.error ?? seen[i]?.body.slice(0, 200)}`));
    const varz = JSON.parse((seen[monitoring.findIndex((r) => r.path === "/varz")] as NsResponse).body) as { http_port: number };
    assert.equal(varz.http_port, srv.port);

    // From this host the API keeps working without credentials over loopback; over this machine's
    // own address on the pair it does not (only loopback is trusted: NAT can make a caller appear
    // from a machine's own address, never from 127.0.0.1 unless told to).
    const pub = await local(srv.local, "POST", "/v1/publish/orders.created", '{"id":2}');
    assert.deepEqual(pub.json, { stream: "ORDERS", seq: 2, duplicate: false });
    assert.equal((await local(remote, "POST", "/v1/publish/orders.created", '{"id":3}')).status, 403);
    assert.equal((await local(srv.local, "DELETE", "/v1/webhooks/hook")).status, 200);
    assert.equal((await local(srv.local, "DELETE", "/v1/streams/ORDERS")).status, 200);
  },
);

test(
  "credentials configured (--user/--pass): from another host the API takes them (Basic and Bearer user:password) and refuses a caller without them with 401",
  { skip: unavailable ?? false, timeout: 120_000 },
  async (t) => {
    const other = otherHost(t);
    if (other === null) return;
    const srv = await startCli(t, ["--user", "app", "--pass", "s3cret"]);
    assert.match(srv.stderr(), /\[INF\] HTTP edge on 0\.0\.0\.0:\d+: monitoring open to every host; API \(\/v1, \/events\) needs credentials/);
    // With credentials required the client port listens on 0.0.0.0, as nats-server's, and asks for them.
    assert.match(srv.stderr(), /\[INF\] Listening for client connections on 0\.0\.0\.0:\d+/);
    assert.match(await natsFirstLine(other, other.hostAddr, srv.natsPort), /^INFO \{.*"auth_required":true/);
    const remote = `http://${other.hostAddr}:${srv.port}`;
    const basic = { authorization: `Basic ${Buffer.from("app:s3cret").toString("base64")}` };
    const r = await other.fetchAll([
      { method: "POST", url: `${remote}/v1/streams`, body: JSON.stringify({ name: "ORDERS", subjects: ["orders.>"] }), headers: basic },
      { method: "POST", url: `${remote}/v1/publish/orders.a`, body: "1", headers: { authorization: "Bearer app:s3cret" } },
      { method: "POST", url: `${remote}/v1/publish/orders.a`, body: "2" },
      { method: "GET", url: `${remote}/varz` },
    ]);
    assert.equal(r[0]?.status, 201, r[0]?.body);
    assert.equal(r[1]?.status, 200, r[1]?.body);
    assert.equal(r[2]?.status, 401, r[2]?.body);
    assert.equal((JSON.parse(r[2]?.body ?? "{}") as { error: { code: number } }).error.code, 401);
    assert.equal(r[3]?.status, 200);
  },
);

test(
  "--http_api_open_to all with -a 0.0.0.0: the API and the client port are open to another host without credentials, and start-up warns that they are",
  { skip: unavailable ?? false, timeout: 120_000 },
  async (t) => {
    const other = otherHost(t);
    if (other === null) return;
    const srv = await startCli(t, ["--http_api_open_to", "all", "-a", "0.0.0.0"]);
    assert.match(srv.stderr(), /\[WRN\] HTTP edge on 0\.0\.0\.0:\d+: monitoring and API \(\/v1, \/events\) open to every host without credentials/);
    // An address given opens the client port to other hosts without credentials, with a warning.
    assert.match(srv.stderr(), /\[WRN\] No credentials configured and the client port is on 0\.0\.0\.0: clients from other hosts can publish/);
    assert.match(await natsFirstLine(other, other.hostAddr, srv.natsPort), /^INFO \{/);
    const remote = `http://${other.hostAddr}:${srv.port}`;
    const r = await other.fetchAll([
      { method: "POST", url: `${remote}/v1/streams`, body: JSON.stringify({ name: "ORDERS", subjects: ["orders.>"] }) },
      { method: "POST", url: `${remote}/v1/publish/orders.a`, body: "1" },
    ]);
    assert.equal(r[0]?.status, 201, r[0]?.body);
    assert.deepEqual(JSON.parse(r[1]?.body ?? "{}"), { stream: "ORDERS", seq: 1, duplicate: false });
  },
);

/** A request from loopback with headers fetch would not let us set (Host). */
function raw(port: number, method: string, path: string, headers: Record<string, string>, body = ""): Promise<{ status: number; json: { error?: { code: number; description: string } } & Record<string, unknown> }> {
  return new Promise((resolvePromise, reject) => {
    const req = httpRequest({ host: "127.0.0.1", port, method, path, headers: { "content-length": String(Buffer.byteLength(body)), ...headers } }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (d: string) => (text += d));
      res.on("end", () => resolvePromise({ status: res.statusCode ?? 0, json: text === "" ? {} : (JSON.parse(text) as { error?: { code: number; description: string } }) }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

test("from loopback, requests that are not the developer's own are treated as remote: through a proxy, from another site's web page, by a DNS-rebound name", async (t) => {
  const server = await jsServer(t);
  const port = server.httpPort as number;
  const pub = (headers: Record<string, string>): ReturnType<typeof raw> => raw(port, "POST", "/v1/publish/core.x", headers, "1");
  // A reverse proxy on this host connects from loopback; the headers it adds say who really asked.
  for (const h of ["x-forwarded-for", "forwarded", "x-real-ip"]) {
    const r = await pub({ [h]: h === "forwarded" ? "for=192.0.2.7" : "192.0.2.7" });
    refused(r, 403, /without credentials only from this host.*forwarded by a proxy/, h);
  }
  // A page of another site in the developer's browser can POST to localhost (no preflight for a
  // simple request); the browser names the page in Origin.
  refused(await pub({ origin: "https://evil.example" }), 403, /another site.s web page \(Origin "https:\/\/evil\.example"\)/, "cross-site Origin");
  refused(await pub({ origin: "null" }), 403, /another site's web page/, "opaque Origin");
  // DNS rebinding: the page's own name now points at 127.0.0.1, so the request is same-origin
  // (a GET carries no Origin), but Host still names the attacker's domain.
  refused(await raw(port, "GET", "/v1/streams", { host: `rebind.example:${port}` }), 403, /Host "rebind\.example/, "rebound Host");
  refused(await raw(port, "GET", "/v1/webhooks/x/secret", { host: "rebind.example" }), 403, /Host "rebind\.example/, "rebound Host, secret");
  // Names that only start like this machine's.
  for (const host of ["127.0.0.1.rebind.example", "localhost.rebind.example", `localhost.rebind.example:${port}`, "rebind.example.", "[::1].example"]) {
    refused(await raw(port, "GET", "/v1/streams", { host }), 403, /names Host/, `Host ${host}`);
  }
  refused(await pub({ origin: "http://localhost.rebind.example" }), 403, /another site/, "Origin under another domain");
  // The developer's own tools and pages on this machine keep working.
  const ownHeaders: Array<Record<string, string>> = [{}, { host: `localhost:${port}` }, { host: "LOCALHOST" }, { host: `127.0.0.1:${port}` }, { host: `[::1]:${port}` }, { host: `0.0.0.0:${port}` }, { host: "app.localhost" }, { origin: "http://localhost:5173" }, { origin: `http://127.0.0.1:${port}` }];
  for (const headers of ownHeaders) {
    const r = await pub(headers);
    assert.equal(r.status, 204, `${JSON.stringify(headers)}: ${JSON.stringify(r.json)}`);
  }
  // Monitoring takes no notice of any of it.
  assert.equal((await raw(port, "GET", "/varz", { host: "rebind.example", origin: "https://evil.example", "x-forwarded-for": "192.0.2.7" })).status, 200);
});

test("http_api_open_to: none refuses the API without credentials even from loopback (a proxy on this host that adds no headers); credentials still work", async (t) => {
  const server = await jsServer(t, { http: { apiOpenTo: "none" } });
  refused(await call(server, "POST", "/v1/publish/core.x", "1"), 403, /without credentials.*http_api_open_to/, "publish");
  assert.equal((await call(server, "GET", "/healthz")).status, 200);
  const withAuth = await jsServer(t, { http: { apiOpenTo: "none" }, auth: { token: "tok" } });
  assert.equal((await call(withAuth, "POST", "/v1/publish/core.x", "1", { authorization: "Bearer tok" })).status, 204);
  refused(await call(withAuth, "POST", "/v1/publish/core.x", "1"), 401, /authorization required/, "no token");
});

test("http_api_open_to in the config file and as a flag; anything else is refused naming the key", () => {
  const fromFile = (text: string): string | undefined => {
    const o = defaultOptions();
    applyConfig(o, parseConf(text));
    return o.httpApiOpenTo;
  };
  assert.equal(fromFile("http_api_open_to: all"), "all");
  assert.equal(fromFile("http_api_open_to: loopback"), "loopback");
  assert.equal(fromFile("http_api_open_to: none"), "none");
  assert.equal(fromFile("port: 4222"), undefined);
  assert.throws(() => fromFile("http_api_open_to: everyone"), /http_api_open_to: expected loopback, all or none/);
  const o = defaultOptions();
  applyFlags(o, scanFlags(["--http_api_open_to", "none"]).flags);
  assert.equal(o.httpApiOpenTo, "none");
  assert.throws(() => applyFlags(defaultOptions(), scanFlags(["--http_api_open_to=yes"]).flags), /http_api_open_to: expected loopback, all or none/);
});
