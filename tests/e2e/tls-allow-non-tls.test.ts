import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { connect as tcpConnect } from "node:net";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { SERVER_PROGRAMS, runToExit, spawnServer, type SpawnedServer } from "../helpers/spawn-server.js";
import { waitFor } from "../helpers/wait.js";

/**
 * nats-server's top-level `allow_non_tls: true` beside `tls {}`: INFO says `tls_available` (not
 * `tls_required`) and each client chooses: it upgrades to TLS, or it speaks plain NATS. nats.js
 * v3.3.1's own tls_test.js ("available connects with or without") runs this exchange; every
 * observation here is made against the real nats-server 2.9.10 too and must be the same.
 */

const run = promisify(execFile);

/** A CA and a server certificate for 127.0.0.1/localhost it signed. */
async function makeCerts(dir: string): Promise<{ ca: string; cert: string; key: string }> {
  const f = (n: string): string => join(dir, n);
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  await run("openssl", ["req", "-x509", ...ec, "-keyout", f("ca-key.pem"), "-out", f("ca.pem"), "-days", "2", "-subj", "/CN=test ca"]);
  await run("openssl", ["req", ...ec, "-keyout", f("key.pem"), "-out", f("server.csr"), "-subj", "/CN=server"]);
  await writeFile(f("server.ext"), "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
  await run("openssl", ["x509", "-req", "-in", f("server.csr"), "-CA", f("ca.pem"), "-CAkey", f("ca-key.pem"), "-CAcreateserial", "-out", f("cert.pem"), "-days", "2", "-extfile", f("server.ext")]);
  return { ca: f("ca.pem"), cert: f("cert.pem"), key: f("key.pem") };
}

/** INFO, then CONNECT + PING in plain text: what comes back after INFO. */
async function plainExchange(port: number): Promise<{ info: Record<string, unknown>; after: string }> {
  const sock = tcpConnect(port, "127.0.0.1");
  let text = "";
  sock.on("data", (d: Buffer) => (text += d.toString("latin1")));
  sock.on("error", () => {});
  await waitFor(() => text.includes("\r\n"), 5000, "INFO");
  const infoEnd = text.indexOf("\r\n") + 2;
  sock.write(`CONNECT {"verbose":false,"pedantic":false,"tls_required":false}\r\nSUB plain 1\r\nPUB plain 2\r\nhi\r\nPING\r\n`);
  await waitFor(() => text.includes("PONG\r\n"), 5000, "PONG");
  sock.destroy();
  return { info: JSON.parse(text.slice(5, infoEnd - 2)) as Record<string, unknown>, after: text.slice(infoEnd) };
}

const encrypted = (nc: NatsConnection): boolean =>
  // The client's own view, as nats.js's test reads it (not in the public type).
  (nc as unknown as { protocol: { transport: { isEncrypted(): boolean } } }).protocol.transport.isEncrypted();

async function observe(s: SpawnedServer, ca: string): Promise<Record<string, unknown>> {
  const seen: Record<string, unknown> = {};
  const plain = await plainExchange(s.port);
  seen["info"] = { tls_required: plain.info["tls_required"], tls_available: plain.info["tls_available"], tls_verify: plain.info["tls_verify"] };
  seen["plain raw"] = plain.after;
  // The client upgrades when the server offers TLS: without the CA it fails on the certificate.
  seen["default client"] = await connect({ port: s.port, reconnect: false, timeout: 3000 }).then(
    async (nc) => {
      await nc.close();
      return "connected";
    },
    (e: unknown) => ((e as Error).message.includes("unable to verify the first certificate") ? "untrusted certificate" : (e as Error).message),
  );
  const a = await connect({ servers: `localhost:${s.port}`, tls: { caFile: ca }, reconnect: false });
  const b = await connect({ servers: `localhost:${s.port}`, tls: null, reconnect: false });
  try {
    // Messages cross between the TLS and the plain connection.
    const sub = b.subscribe("mixed", { max: 1 });
    await b.flush();
    a.publish("mixed", "from tls");
    for await (const m of sub) seen["tls to plain"] = m.string();
    seen["with ca encrypted"] = encrypted(a);
    seen["tls null encrypted"] = encrypted(b);
  } finally {
    await a.close();
    await b.close();
  }
  return seen;
}

test("allow_non_tls: tls_available in INFO; the official client connects with and without TLS, as on nats-server", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "cuebus-allow-non-tls-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const c = await makeCerts(dir);
  const conf = join(dir, "mixed.conf");
  // ca_file as nats.js's test gives it: without verify it must not join the certificate chain
  // the server sends (nats-server sends cert_file's certificates only).
  await writeFile(conf, `allow_non_tls: true\ntls { cert_file: "${c.cert}", key_file: "${c.key}", ca_file: "${c.ca}" }\n`);
  const results: Record<string, Record<string, unknown>> = {};
  for (const { name, cmd } of SERVER_PROGRAMS) {
    const s = await spawnServer(cmd, () => ["-c", conf, "-a", "127.0.0.1", "-p", "-1"]);
    t.after(() => s.stop());
    results[name] = await observe(s, c.ca);
  }
  const expected = {
    info: { tls_required: undefined, tls_available: true, tls_verify: undefined },
    "plain raw": "MSG plain 1 2\r\nhi\r\nPONG\r\n",
    "default client": "untrusted certificate",
    "tls to plain": "from tls",
    "with ca encrypted": true,
    "tls null encrypted": false,
  };
  assert.deepEqual(results["nats-server"], expected, "nats-server's own answer (the oracle)");
  assert.deepEqual(results["cuebus"], expected);
});

test("allow_non_tls inside tls {} is refused, as nats-server 2.9.10 refuses it", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "cuebus-allow-non-tls-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const conf = join(dir, "nested.conf");
  await writeFile(conf, `tls { cert_file: "${join(dir, "cert.pem")}", key_file: "${join(dir, "key.pem")}", allow_non_tls: true }\n`);
  for (const { name, cmd } of SERVER_PROGRAMS) {
    const r = await runToExit(cmd, ["-c", conf, "-a", "127.0.0.1", "-p", "-1"]);
    assert.notEqual(r.code, 0, `${name} refuses the file`);
    assert.match(r.out, /error parsing tls config, unknown field \["allow_non_tls"\]/, name);
  }
});
