import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile, mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { WebSocket as WsClient } from "ws";
import { wsconnect } from "@nats-io/nats-core";
import { connect } from "@nats-io/transport-node";
import { startServer } from "../../src/index.js";
import { NATS_SERVER_BIN } from "../helpers/nats-server.js";
import { CUEBUS_CLI, launchWithPortsFile } from "../helpers/launch.js";

const run = promisify(execFile);
const g = globalThis as { WebSocket?: unknown };

/**
 * Node 20 has no global WebSocket; the official wsconnect uses the global, as in a browser. A
 * browser trusts the certificate through its store; here the `ws` client is handed the test CA
 * (`trusted`), or nothing (then the self-signed certificate is refused, as a browser refuses it).
 */
function useWebSocket(ca: string | null): void {
  if (ca === null) {
    g.WebSocket = WsClient;
    return;
  }
  const trusted = ca;
  g.WebSocket = class extends WsClient {
    constructor(url: string | URL, protocols?: string | string[]) {
      super(url, protocols, { ca: trusted });
    }
  };
}

async function makeCert(dir: string): Promise<{ certFile: string; keyFile: string; cert: string; key: string }> {
  const keyFile = join(dir, "key.pem");
  const certFile = join(dir, "cert.pem");
  await run("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", keyFile, "-out", certFile, "-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"]);
  return { certFile, keyFile, cert: await readFile(certFile, "utf8"), key: await readFile(keyFile, "utf8") };
}

async function wssRoundTrip(url: string): Promise<void> {
  const nc = await wsconnect({ servers: url, maxReconnectAttempts: 0 });
  const sub = nc.subscribe("wss.test", { max: 1 });
  nc.publish("wss.test", "over wss");
  for await (const m of sub) assert.equal(m.string(), "over wss");
  await nc.close();
}

test("WebSocket over TLS: the official wsconnect over wss:// talks to a TCP client; an untrusted certificate and plain ws:// are refused", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "cuebus-wss-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const pem = await makeCert(dir);
  const server = await startServer({ port: 0, websocket: { port: 0, tls: { cert: pem.cert, key: pem.key } } });
  t.after(() => server.close());
  t.after(() => useWebSocket(null));
  assert.match(server.wsUrl ?? "", /^wss:\/\/127\.0\.0\.1:\d+$/);

  useWebSocket(pem.cert);
  const ws = await wsconnect({ servers: server.wsUrl as string });
  t.after(() => ws.close());
  const tcp = await connect({ servers: server.url });
  t.after(() => tcp.close());
  const sub = ws.subscribe("browser.>", { max: 1 });
  await ws.flush();
  tcp.publish("browser.update", "to wss");
  for await (const m of sub) assert.equal(m.string(), "to wss");
  const wsConn = [...server.core.clients.values()].find((c) => c.transport.kind === "websocket");
  assert.equal(wsConn?.transport.tls, true);

  useWebSocket(null);
  await assert.rejects(wsconnect({ servers: server.wsUrl as string, maxReconnectAttempts: 0, timeout: 2000 }));
  useWebSocket(pem.cert);
  await assert.rejects(wsconnect({ servers: (server.wsUrl as string).replace("wss:", "ws:"), maxReconnectAttempts: 0, timeout: 2000 }));
});

test("WebSocket over TLS from the config file: websocket { tls { cert_file, key_file } } serves wss:// as nats-server does", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "cuebus-wss-conf-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  t.after(() => useWebSocket(null));
  const pem = await makeCert(dir);
  const [node, ...cli] = CUEBUS_CLI;
  const servers: Array<[string, string, readonly string[]]> = [
    ["nats-server", NATS_SERVER_BIN, []],
    ["cuebus", node, cli],
  ];
  useWebSocket(pem.cert);
  for (const [name, cmd, args] of servers) {
    const sub = join(dir, name);
    await mkdir(sub);
    const conf = join(sub, "server.conf");
    await writeFile(conf, `port: -1\nhost: 127.0.0.1\nports_file_dir: "${sub}"\nwebsocket { port: -1, tls { cert_file: "${pem.certFile}", key_file: "${pem.keyFile}" } }\n`);
    const { ports } = await launchWithPortsFile(cmd, [...args, "-c", conf], sub, t);
    const url = ports.websocket?.[0] ?? "";
    assert.match(url, /^wss:\/\/127\.0\.0\.1:\d+$/, `${name} ports file`);
    await wssRoundTrip(url);
  }
});
