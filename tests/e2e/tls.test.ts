import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { connect as tcpConnect } from "node:net";
import { connect } from "@nats-io/transport-node";
import { startServer } from "../../src/index.js";
import { waitFor } from "../helpers/wait.js";

const run = promisify(execFile);

test("TLS: INFO in plain text with tls_required, then the official client upgrades", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "cuebus-tls-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const key = join(dir, "key.pem");
  const cert = join(dir, "cert.pem");
  await run("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"]);
  const pem = { cert: await readFile(cert, "utf8"), key: await readFile(key, "utf8") };
  const server = await startServer({ port: 0, tls: pem });
  t.after(() => server.close());

  // A raw socket sees INFO with tls_required in clear text.
  const raw = tcpConnect(server.port, "127.0.0.1");
  let text = "";
  raw.on("data", (d) => (text += d.toString("latin1")));
  raw.on("error", () => {});
  await waitFor(() => text.includes("\r\n"), 2000, "INFO");
  raw.destroy();
  assert.match(text, /^INFO \{.*"tls_required":true.*\} \r\n$/);

  const nc = await connect({ servers: server.url, tls: { ca: pem.cert } });
  t.after(() => nc.close());
  const sub = nc.subscribe("secure", { max: 1 });
  nc.publish("secure", "over tls");
  for await (const m of sub) assert.equal(m.string(), "over tls");
  const client = [...server.core.clients.values()][0];
  assert.equal(client?.transport.tls, true);

  // A client that does not trust the certificate is refused.
  await assert.rejects(connect({ servers: server.url, tls: {}, maxReconnectAttempts: 0, timeout: 2000 }));
});
