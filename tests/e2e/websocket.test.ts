import { test } from "node:test";
import assert from "node:assert/strict";
import { WebSocket as WsClient } from "ws";
import { wsconnect, headers as natsHeaders } from "@nats-io/nats-core";
import { connect } from "@nats-io/transport-node";
import { startServer } from "../../src/index.js";

// Node 20 has no global WebSocket without a flag; browsers and Node 22 do. The official client uses the global.
const g = globalThis as { WebSocket?: unknown };
g.WebSocket ??= WsClient;

test("WebSocket: the official wsconnect client and a TCP client talk through one router", async (t) => {
  const server = await startServer({ port: 0, websocket: { port: 0 } });
  t.after(() => server.close());
  assert.match(server.wsUrl ?? "", /^ws:\/\/127\.0\.0\.1:\d+$/);
  const ws = await wsconnect({ servers: server.wsUrl as string });
  const tcp = await connect({ servers: server.url });
  t.after(() => ws.close());
  t.after(() => tcp.close());

  // TCP -> WS with headers.
  const sub = ws.subscribe("browser.>", { max: 1 });
  await ws.flush();
  const h = natsHeaders();
  h.set("X-From", "tcp");
  tcp.publish("browser.update", "hello ws", { headers: h });
  for await (const m of sub) {
    assert.equal(m.subject, "browser.update");
    assert.equal(m.string(), "hello ws");
    assert.equal(m.headers?.get("X-From"), "tcp");
  }

  // WS responder, TCP requester; and the reverse.
  ws.subscribe("ws.svc", { callback: (_e, m) => { m.respond(`ws:${m.string()}`); } });
  tcp.subscribe("tcp.svc", { callback: (_e, m) => { m.respond(`tcp:${m.string()}`); } });
  await ws.flush();
  await tcp.flush();
  assert.equal((await tcp.request("ws.svc", "a", { timeout: 2000 })).string(), "ws:a");
  assert.equal((await ws.request("tcp.svc", "b", { timeout: 2000 })).string(), "tcp:b");

  const conns = [...server.core.clients.values()].map((c) => c.transport.kind).sort();
  assert.deepEqual(conns, ["tcp", "websocket"]);
});

test("WebSocket: auth and permissions apply as on TCP", async (t) => {
  const server = await startServer({
    port: 0,
    websocket: { port: 0 },
    auth: { users: [{ user: "web", password: "pw", permissions: { publish: { allow: ["public.>"] } } }] },
  });
  t.after(() => server.close());
  await assert.rejects(wsconnect({ servers: server.wsUrl as string, user: "web", pass: "bad", maxReconnectAttempts: 0 }), /Authorization Violation|AUTHORIZATION_VIOLATION/i);
  const nc = await wsconnect({ servers: server.wsUrl as string, user: "web", pass: "pw" });
  t.after(() => nc.close());
  const errs: string[] = [];
  void (async () => {
    for await (const s of nc.status()) if (s.type === "error") errs.push(String(s.error));
  })().catch(() => {});
  nc.publish("private.x", "no");
  await nc.flush().catch(() => {});
  for (let i = 0; i < 50 && errs.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
  assert.ok(errs.some((e) => e.includes('Permissions Violation for Publish to "private.x"')), errs.join("|"));
});
