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

test("slow consumer: a reader that does not drain is dropped at once with its backlog, as nats-server does (no -ERR, no flush); others go on", async (t) => {
  const maxPendingBytes = 256 * 1024;
  const server = await startServer({ port: 0, limits: { maxPendingBytes } });
  t.after(() => server.close());
  const slow = await raw(server.port);
  t.after(() => slow.sock.destroy());
  slow.sock.write('CONNECT {"verbose":false}\r\nSUB big 1\r\nPING\r\n');
  await waitFor(() => slow.text().includes("PONG"), 2000, "PONG");
  slow.sock.pause(); // stop reading: the kernel buffers fill, then our pending bytes grow
  const conn = [...server.core.clients.values()].find((c) => c.subs.size === 1);
  assert.ok(conn !== undefined);
  const healthy = await raw(server.port);
  t.after(() => healthy.sock.destroy());
  healthy.sock.write('CONNECT {"verbose":false}\r\n');
  const payload = "x".repeat(60 * 1024);
  for (let i = 0; i < 2000 && server.core.stats.slowConsumers === 0; i++) {
    healthy.sock.write(`PUB big ${payload.length}\r\n${payload}\r\n`);
    await new Promise((r) => setImmediate(r));
  }
  await waitFor(() => server.core.stats.slowConsumers === 1, 5000, "slow consumer detected");
  // The publisher is unaffected.
  healthy.sock.write("PING\r\n");
  await waitFor(() => healthy.text().includes("PONG"), 2000, "publisher still served");
  assert.equal(healthy.closed(), false);
  // Dropped on the spot, with what was queued for it: the reader, reading again, gets what the
  // kernel already held and then the close. Closing with end() instead kept the socket and every
  // queued byte until the reader drained them all, then an -ERR behind them.
  assert.equal(server.core.clients.has(conn.cid), false, "the slow consumer is gone from the server's connections");
  assert.equal(conn.transport.pendingBytes, 0, "its socket is dropped with the backlog while the reader still does not read");
  slow.sock.resume();
  await waitFor(() => slow.closed(), 5000, "slow consumer closed");
  assert.doesNotMatch(slow.text(), /-ERR/);
});

test("a closing connection whose peer does not read is dropped after the write deadline, not kept with its backlog", async (t) => {
  const writeDeadlineMs = 300;
  const server = await startServer({ port: 0, limits: { writeDeadlineMs } });
  t.after(() => server.close());
  const slow = await raw(server.port);
  t.after(() => slow.sock.destroy());
  slow.sock.write('CONNECT {"verbose":false}\r\nSUB big 1\r\nPING\r\n');
  await waitFor(() => slow.text().includes("PONG"), 2000, "PONG");
  slow.sock.pause();
  const pub = await raw(server.port);
  t.after(() => pub.sock.destroy());
  pub.sock.write('CONNECT {"verbose":false}\r\n');
  const payload = "x".repeat(60 * 1024);
  // Well past what the kernel buffers hold on loopback, well under max_pending.
  for (let i = 0; i < 300; i++) pub.sock.write(`PUB big ${payload.length}\r\n${payload}\r\n`);
  pub.sock.write("PING\r\n");
  await waitFor(() => pub.text().includes("PONG"), 5000, "publishes processed");
  const client = [...server.core.clients.values()].find((c) => c.subs.size === 1);
  assert.ok(client !== undefined);
  assert.ok(client.transport.pendingBytes > 0, "the reader's socket holds a backlog");
  client.close("Server Shutdown");
  assert.ok(client.transport.pendingBytes > 0, "a close first tries to flush");
  // Before the deadline existed, end() kept the socket and its backlog until the peer read it all.
  await waitFor(() => client.transport.pendingBytes === 0, 5000, "socket and backlog dropped after the write deadline");
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
