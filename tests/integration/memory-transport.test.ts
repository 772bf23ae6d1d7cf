import { test } from "node:test";
import assert from "node:assert/strict";
import { startServer } from "../../src/index.js";
import { waitFor } from "../helpers/wait.js";

test("in-memory transport: raw protocol with no sockets", async (t) => {
  const server = await startServer({ port: 0 });
  t.after(() => server.close());
  const a = server.connectInMemory();
  const b = server.connectInMemory();
  let fromA = "";
  let fromB = "";
  a.on("data", (d: Buffer) => (fromA += d.toString("latin1")));
  b.on("data", (d: Buffer) => (fromB += d.toString("latin1")));
  a.write('CONNECT {"verbose":false}\r\nSUB orders.* 7\r\nPING\r\n');
  await waitFor(() => fromA.endsWith("PONG\r\n"), 2000, "PONG on a");
  assert.match(fromA, /^INFO \{.*"client_id":\d+.*\} \r\nPONG\r\n$/);
  b.write('CONNECT {"verbose":false}\r\nPUB orders.new reply.x 5\r\nhello\r\nPING\r\n');
  await waitFor(() => fromA.includes("hello"), 2000, "MSG on a");
  assert.ok(fromA.endsWith("MSG orders.new 7 reply.x 5\r\nhello\r\n"), JSON.stringify(fromA));
  await waitFor(() => fromB.endsWith("PONG\r\n"), 2000, "PONG on b");
  a.end();
  await waitFor(() => server.core.clients.size === 1, 2000, "a's connection removed");
  assert.equal(server.core.router.subscriptionCount(), 0);
});
