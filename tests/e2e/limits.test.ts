import { test } from "node:test";
import assert from "node:assert/strict";
import { connect as tcpConnect, type Socket } from "node:net";
import { startServer } from "../../src/index.js";
import { waitFor } from "../helpers/wait.js";

/** A raw socket that records everything the server sends and whether it closed. */
async function raw(port: number): Promise<{ sock: Socket; text: () => string; closed: () => boolean }> {
  const sock = tcpConnect(port, "127.0.0.1");
  let data = "";
  let closed = false;
  sock.on("data", (d) => (data += d.toString("latin1")));
  sock.on("close", () => (closed = true));
  sock.on("error", () => {});
  await new Promise<void>((r) => sock.once("connect", () => r()));
  await waitFor(() => data.includes("INFO "), 2000, "INFO");
  return { sock, text: () => data, closed: () => closed };
}

test("slow consumer: a reader that does not drain is closed with -ERR 'Slow Consumer'; others go on", async (t) => {
  const server = await startServer({ port: 0, limits: { maxPendingBytes: 256 * 1024 } });
  t.after(() => server.close());
  const slow = await raw(server.port);
  t.after(() => slow.sock.destroy());
  slow.sock.write('CONNECT {"verbose":false}\r\nSUB big 1\r\nPING\r\n');
  await waitFor(() => slow.text().includes("PONG"), 2000, "PONG");
  slow.sock.pause(); // stop reading: the kernel buffers fill, then our pending bytes grow
  const healthy = await raw(server.port);
  t.after(() => healthy.sock.destroy());
  healthy.sock.write('CONNECT {"verbose":false}\r\n');
  const payload = "x".repeat(60 * 1024);
  for (let i = 0; i < 400 && server.core.stats.slowConsumers === 0; i++) {
    healthy.sock.write(`PUB big ${payload.length}\r\n${payload}\r\n`);
    await new Promise((r) => setImmediate(r));
  }
  await waitFor(() => server.core.stats.slowConsumers === 1, 5000, "slow consumer detected");
  // The publisher is unaffected.
  healthy.sock.write("PING\r\n");
  await waitFor(() => healthy.text().includes("PONG"), 2000, "publisher still served");
  assert.equal(healthy.closed(), false);
  slow.sock.resume();
  await waitFor(() => slow.closed(), 5000, "slow consumer closed");
  assert.match(slow.text(), /-ERR 'Slow Consumer'\r\n$/);
});

test("max connections: the connection over the limit gets -ERR and is closed", async (t) => {
  const server = await startServer({ port: 0, limits: { maxConnections: 2 } });
  t.after(() => server.close());
  const a = await raw(server.port);
  const b = await raw(server.port);
  t.after(() => {
    a.sock.destroy();
    b.sock.destroy();
  });
  const c = tcpConnect(server.port, "127.0.0.1");
  let text = "";
  c.on("data", (d) => (text += d.toString("latin1")));
  await new Promise<void>((r) => c.once("close", () => r()));
  // nats-server 2.9.10: INFO first, then the error, then close.
  assert.match(text, /^INFO \{.*\} \r\n-ERR 'maximum connections exceeded'\r\n$/);
});

test("stale connection: no PONG to the server's pings closes the client", async (t) => {
  const server = await startServer({ port: 0, limits: { pingIntervalMs: 50, maxPingsOutstanding: 2 } });
  t.after(() => server.close());
  const c = await raw(server.port);
  t.after(() => c.sock.destroy());
  c.sock.write('CONNECT {"verbose":false}\r\n');
  await waitFor(() => c.closed(), 3000, "stale close");
  assert.match(c.text(), /PING\r\nPING\r\n-ERR 'Stale Connection'\r\n$/);
});

test("a client that answers PONG stays connected", async (t) => {
  const server = await startServer({ port: 0, limits: { pingIntervalMs: 30, maxPingsOutstanding: 2 } });
  t.after(() => server.close());
  const c = await raw(server.port);
  t.after(() => c.sock.destroy());
  c.sock.on("data", (d) => {
    if (d.toString("latin1").includes("PING")) c.sock.write("PONG\r\n");
  });
  c.sock.write('CONNECT {"verbose":false}\r\n');
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(c.closed(), false);
});

test("max subscriptions: the subscription over the limit is refused", async (t) => {
  const server = await startServer({ port: 0, limits: { maxSubscriptions: 3 } });
  t.after(() => server.close());
  const c = await raw(server.port);
  t.after(() => c.sock.destroy());
  c.sock.write('CONNECT {"verbose":false}\r\nSUB a 1\r\nSUB b 2\r\nSUB c 3\r\nSUB d 4\r\n');
  await waitFor(() => c.text().includes("-ERR"), 2000, "error");
  assert.match(c.text(), /-ERR 'maximum subscriptions exceeded'\r\n/);
  // nats-server keeps the connection open after this error.
  c.sock.write("PING\r\n");
  await waitFor(() => c.text().endsWith("PONG\r\n"), 2000, "PONG after the error");
  assert.equal(c.closed(), false);
});
