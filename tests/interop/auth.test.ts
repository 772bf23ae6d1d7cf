import { test } from "node:test";
import assert from "node:assert/strict";
import { connect } from "@nats-io/transport-node";
import { startServer } from "../../src/index.js";
import { waitFor } from "../helpers/wait.js";
import { errorsOf } from "../helpers/client-errors.js";

test("token auth: the right token connects, a wrong or missing one is refused", async (t) => {
  const server = await startServer({ port: 0, auth: { token: "t0ken" } });
  t.after(() => server.close());
  const nc = await connect({ servers: server.url, token: "t0ken" });
  await nc.close();
  await assert.rejects(connect({ servers: server.url, token: "nope", maxReconnectAttempts: 0 }), /Authorization Violation|AUTHORIZATION_VIOLATION/i);
  await assert.rejects(connect({ servers: server.url, maxReconnectAttempts: 0 }), /Authorization Violation|AUTHORIZATION_VIOLATION/i);
});

test("subscribe permissions: denied subjects and queues are refused with nats-server's text", async (t) => {
  const server = await startServer({
    port: 0,
    auth: { users: [{ user: "u", password: "p", permissions: { subscribe: { allow: ["events.>"], deny: ["events.secret"] } } }] },
  });
  t.after(() => server.close());
  const nc = await connect({ servers: server.url, user: "u", pass: "p" });
  t.after(() => nc.close());
  const errs = errorsOf(nc);
  const allowed = nc.subscribe("events.public");
  nc.subscribe("billing.invoices");
  nc.subscribe("events.secret");
  await nc.flush().catch(() => {});
  await waitFor(() => errs.length >= 2, 2000, "two permission errors");
  assert.ok(errs.some((e) => e.includes('Permissions Violation for Subscription to "billing.invoices"')), errs.join("|"));
  assert.ok(errs.some((e) => e.includes('Permissions Violation for Subscription to "events.secret"')), errs.join("|"));
  const other = await connect({ servers: server.url, user: "u", pass: "p" });
  t.after(() => other.close());
  other.publish("events.public", "x");
  const it = allowed[Symbol.asyncIterator]();
  const m = await it.next();
  assert.equal(m.value?.string(), "x");
});

test("allow_responses: a responder without publish rights may answer the requests it receives", async (t) => {
  const server = await startServer({
    port: 0,
    auth: {
      users: [
        { user: "svc", password: "p", permissions: { publish: { allow: ["nothing.allowed"] }, subscribe: { allow: ["rpc.>"] }, allowResponses: { max: 1, expiresMs: 60_000 } } },
        { user: "caller", password: "p" },
      ],
    },
  });
  t.after(() => server.close());
  const svc = await connect({ servers: server.url, user: "svc", pass: "p" });
  t.after(() => svc.close());
  const errs = errorsOf(svc);
  svc.subscribe("rpc.time", { callback: (_e, m) => { m.respond("now"); m.respond("twice"); } });
  await svc.flush();
  const caller = await connect({ servers: server.url, user: "caller", pass: "p" });
  t.after(() => caller.close());
  const r = await caller.request("rpc.time", "", { timeout: 2000 });
  assert.equal(r.string(), "now");
  // The second reply exceeds max 1 and is refused.
  await waitFor(() => errs.length > 0, 2000, "second reply refused");
  assert.match(errs[0] ?? "", /Permissions Violation for Publish to "_INBOX\./);
});

test("allow_responses alone: the responder answers requests and may publish nothing else (as nats-server)", async (t) => {
  const server = await startServer({
    port: 0,
    auth: {
      users: [
        { user: "svc", password: "p", permissions: { subscribe: { allow: ["rpc.>"] }, allowResponses: { max: 1, expiresMs: 60_000 } } },
        { user: "caller", password: "p" },
      ],
    },
  });
  t.after(() => server.close());
  const svc = await connect({ servers: server.url, user: "svc", pass: "p" });
  t.after(() => svc.close());
  const errs = errorsOf(svc);
  svc.subscribe("rpc.time", { callback: (_e, m) => void m.respond("now") });
  await svc.flush();
  const caller = await connect({ servers: server.url, user: "caller", pass: "p" });
  t.after(() => caller.close());
  const seen = caller.subscribe("events.>");
  await caller.flush();
  const r = await caller.request("rpc.time", "", { timeout: 2000 });
  assert.equal(r.string(), "now");
  svc.publish("events.leak", "x");
  await waitFor(() => errs.length > 0, 2000, "publish refused");
  assert.match(errs[0] ?? "", /Permissions Violation for Publish to "events\.leak"/);
  await caller.flush();
  assert.equal(seen.getProcessed(), 0);
});
