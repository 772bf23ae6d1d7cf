import { test } from "node:test";
import assert from "node:assert/strict";
import { connect as tcpConnect } from "node:net";
import { startServer } from "../../src/index.js";
import { waitFor } from "../helpers/wait.js";

test("lame-duck mode: listener closes, clients get INFO with ldm, then are closed", async (t) => {
  const server = await startServer({ port: 0 });
  t.after(() => server.close());
  const sock = tcpConnect(server.port, "127.0.0.1");
  let text = "";
  let closed = false;
  sock.on("data", (d) => (text += d.toString("latin1")));
  sock.on("close", () => (closed = true));
  sock.on("error", () => {});
  await waitFor(() => text.includes("INFO"), 2000, "INFO");
  sock.write('CONNECT {"verbose":false}\r\nPING\r\n');
  await waitFor(() => text.includes("PONG"), 2000, "PONG");
  const done = server.core.enterLameDuck(200, 50);
  await waitFor(() => /"ldm":true/.test(text), 2000, "ldm INFO");
  // New connections are refused while in lame duck.
  await new Promise<void>((resolve) => {
    const s2 = tcpConnect(server.port, "127.0.0.1");
    s2.on("error", () => resolve());
    s2.on("close", () => resolve());
  });
  await done;
  await waitFor(() => closed, 2000, "client closed");
  assert.match(text, /INFO \{[^\r]*"ldm":true[^\r]*\} \r\n/);
});
