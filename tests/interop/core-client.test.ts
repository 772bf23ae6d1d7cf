import { test } from "node:test";
import assert from "node:assert/strict";
import { connect } from "@nats-io/transport-node";
import { headers as natsHeaders, errors } from "@nats-io/nats-core";
import { startServer } from "../../src/index.js";

test("official client: pub/sub, wildcards, queue groups, request/reply, headers, no-responders", async (t) => {
  const server = await startServer({ port: 0 });
  t.after(() => server.close());
  const nc = await connect({ servers: server.url });
  t.after(() => nc.close());

  // Wildcards: * matches one token, > the rest.
  const got: string[] = [];
  const star = nc.subscribe("orders.*", { callback: (_e, m) => { got.push(`star:${m.subject}`); } });
  const gt = nc.subscribe("orders.>", { callback: (_e, m) => { got.push(`gt:${m.subject}`); } });
  nc.publish("orders.created", "a");
  nc.publish("orders.eu.created", "b");
  nc.publish("other", "c");
  await nc.flush();
  await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual(got.sort(), ["gt:orders.created", "gt:orders.eu.created", "star:orders.created"]);
  star.unsubscribe();
  gt.unsubscribe();

  // Queue group: each message to exactly one member.
  const counts = [0, 0, 0];
  const qsubs = counts.map((_, i) => nc.subscribe("work", { queue: "q", callback: () => { counts[i]!++; } }));
  for (let i = 0; i < 300; i++) nc.publish("work", String(i));
  await nc.flush();
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(counts.reduce((a, b) => a + b, 0), 300);
  for (const c of counts) assert.ok(c > 0, `every member got some: ${counts.join(",")}`);
  for (const s of qsubs) s.unsubscribe();

  // Request/reply with headers both ways.
  nc.subscribe("svc.echo", {
    callback: (_e, m) => {
      const h = natsHeaders();
      h.set("X-Seen", m.headers?.get("X-In") ?? "none");
      m.respond(`echo:${m.string()}`, { headers: h });
    },
  });
  const h = natsHeaders();
  h.set("X-In", "yes");
  const reply = await nc.request("svc.echo", "hi", { timeout: 2000, headers: h });
  assert.equal(reply.string(), "echo:hi");
  assert.equal(reply.headers?.get("X-Seen"), "yes");

  // No responders: the request fails fast with the 503 status.
  await assert.rejects(nc.request("nobody.home", "x", { timeout: 2000 }), (err: unknown) => {
    return err instanceof errors.NoRespondersError || (err instanceof Error && /no responders/i.test(err.message));
  });
});

test("official client: drain delivers what was published before it completes", async (t) => {
  const server = await startServer({ port: 0 });
  t.after(() => server.close());
  const pub = await connect({ servers: server.url });
  const sub = await connect({ servers: server.url });
  t.after(() => pub.close());
  let n = 0;
  sub.subscribe("d", { callback: () => { n++; } });
  await sub.flush();
  for (let i = 0; i < 1000; i++) pub.publish("d", "x");
  await pub.flush();
  await sub.drain();
  assert.equal(n, 1000);
});

test("official client: user/password auth and permissions", async (t) => {
  const server = await startServer({
    port: 0,
    auth: {
      users: [
        { user: "admin", password: "s3cret" },
        { user: "limited", password: "pw", permissions: { publish: { allow: ["public.>"] }, subscribe: { deny: ["secret.>"] } } },
      ],
    },
  });
  t.after(() => server.close());
  await assert.rejects(connect({ servers: server.url, user: "admin", pass: "wrong" }), /Authorization Violation|AUTHORIZATION_VIOLATION/i);
  const nc = await connect({ servers: server.url, user: "limited", pass: "pw" });
  t.after(() => nc.close());
  const errs: string[] = [];
  (async () => {
    for await (const s of nc.status()) if (s.type === "error") errs.push(String(s.error));
  })().catch(() => {});
  nc.publish("private.x", "no");
  await nc.flush().catch(() => {});
  await new Promise((r) => setTimeout(r, 100));
  assert.ok(errs.some((e) => /Permissions Violation for Publish to "private.x"/.test(e)), errs.join("|"));
});

test("official client: noEcho keeps a connection's own messages from it; others still get them", async (t) => {
  const server = await startServer({ port: 0 });
  t.after(() => server.close());
  const a = await connect({ servers: server.url, noEcho: true });
  const b = await connect({ servers: server.url });
  t.after(() => a.close());
  t.after(() => b.close());
  let own = 0;
  let other = 0;
  a.subscribe("echo.test", { callback: () => { own++; } });
  b.subscribe("echo.test", { callback: () => { other++; } });
  await a.flush();
  await b.flush();
  a.publish("echo.test", "1");
  await a.flush();
  b.publish("echo.test", "2");
  await b.flush();
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(own, 1, "a sees only b's message");
  assert.equal(other, 2, "b sees both");
});

test("official client: max messages on a subscription (UNSUB with max) stops delivery", async (t) => {
  const server = await startServer({ port: 0 });
  t.after(() => server.close());
  const nc = await connect({ servers: server.url });
  t.after(() => nc.close());
  let n = 0;
  const sub = nc.subscribe("limited", { max: 3, callback: () => { n++; } });
  await nc.flush();
  for (let i = 0; i < 10; i++) nc.publish("limited", String(i));
  await nc.flush();
  await sub.closed;
  assert.equal(n, 3);
  assert.equal(server.core.router.subscriptionCount(), 0, "the server dropped the subscription");
});
