/**
 * startServer announces its ports (onListening, where the CLI writes the ports file) before
 * JetStream and the HTTP edge have loaded and started; connections made from that moment wait
 * and are served once the server is whole, so a launcher that connects at once never meets a
 * server without its JetStream (issue 15).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { connect as tcpConnect } from "node:net";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startServer, type ListeningPorts, type Server } from "../../src/index.js";
import { waitFor } from "../helpers/wait.js";

test("connections made as soon as the ports are announced wait for the whole server: INFO with JetStream, /varz and /jsz answered after start", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "cuebus-hold-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  let started = false;
  let announced: ListeningPorts | null = null;
  let info = "";
  let infoBeforeStart: boolean | null = null;
  let varz: Promise<{ status: number; beforeStart: boolean; body: Record<string, unknown> }> | null = null;
  let jsz: Promise<Record<string, unknown>> | null = null;
  const closers: Array<() => void> = [];
  t.after(() => closers.forEach((c) => c()));

  const server: Server = await startServer({
    port: 0,
    httpPort: 0,
    jetstream: { storeDir: join(dir, "store") },
    onListening: (p) => {
      announced = p;
      const raw = tcpConnect(p.port, "127.0.0.1");
      closers.push(() => raw.destroy());
      raw.on("error", () => {});
      raw.on("data", (d: Buffer) => {
        if (infoBeforeStart === null) infoBeforeStart = !started;
        info += d.toString("latin1");
      });
      const base = `http://127.0.0.1:${p.httpPort as number}`;
      varz = fetch(`${base}/varz`).then(async (r) => ({ status: r.status, beforeStart: !started, body: (await r.json()) as Record<string, unknown> }));
      jsz = fetch(`${base}/jsz`).then(async (r) => (await r.json()) as Record<string, unknown>);
    },
  });
  started = true;
  t.after(() => server.close());

  const a = announced as ListeningPorts | null;
  assert.equal(a?.port, server.port);
  assert.equal(a?.httpPort, server.httpPort);
  assert.equal(a?.wsUrl, undefined);
  assert.match(a?.httpAccess?.text ?? "", /^HTTP edge on 127\.0\.0\.1:\d+: /);
  await waitFor(() => info.includes("\r\n"), 5000, "INFO");
  assert.equal(infoBeforeStart, false, "INFO came only once the server was whole");
  assert.match(info, /^INFO \{.*"jetstream":true.*\} \r\n$/);
  const v = await (varz as unknown as Promise<{ status: number; beforeStart: boolean; body: Record<string, unknown> }>);
  assert.equal(v.status, 200);
  assert.equal(v.beforeStart, false, "/varz answered only once the server was whole");
  assert.equal(v.body["port"], server.port);
  const j = await (jsz as unknown as Promise<Record<string, unknown>>);
  assert.equal(j["disabled"] ?? false, false);
});

test("a start that fails after the ports were announced leaves nothing listening", async (t) => {
  let announced: ListeningPorts | null = null;
  await assert.rejects(
    startServer({
      port: 0,
      httpPort: 0,
      // A config-file webhook the gateway refuses when it starts, after the ports are bound.
      jetstream: false,
      http: { webhooks: [{ name: "bad name with spaces", subject: "x", url: "http://127.0.0.1:1/" }] as never },
      onListening: (p) => (announced = p),
    }),
    /webhook/i,
  );
  t.diagnostic(`announced ${JSON.stringify(announced)}`);
  const p = announced as ListeningPorts | null;
  if (p === null) return; // refused before binding: nothing to check
  for (const port of [p.port, p.httpPort as number]) {
    const refused = await new Promise<boolean>((resolve) => {
      const s = tcpConnect(port, "127.0.0.1");
      s.on("connect", () => (s.destroy(), resolve(false)));
      s.on("error", () => resolve(true));
    });
    assert.ok(refused, `port ${port} closed`);
  }
});

test("what the core refuses is refused before the ports are announced: a TLS key of another certificate, a user nkey that is not one", async (t) => {
  // startServer loads the core only after onListening (where the CLI writes its ports file): a
  // launcher must not find the ports of a server that is about to fail on its own configuration.
  const dir = await mkdtemp(join(tmpdir(), "cuebus-early-refusal-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const run = promisify(execFile);
  for (const n of ["a", "b"]) await run("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", join(dir, `${n}.key`), "-out", join(dir, `${n}.pem`), "-days", "1", "-subj", `/CN=${n}`]);
  const tls = { cert: await readFile(join(dir, "a.pem"), "utf8"), key: await readFile(join(dir, "b.key"), "utf8") };
  let announced = 0;
  await assert.rejects(startServer({ port: 0, tls, onListening: () => announced++ }), /key values mismatch/);
  await assert.rejects(startServer({ port: 0, auth: { nkeys: [{ nkey: "UNOTAKEY" }] }, onListening: () => announced++ }), /Not a valid public nkey/);
  assert.equal(announced, 0, "no ports announced");
});
