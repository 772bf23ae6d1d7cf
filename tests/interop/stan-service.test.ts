import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Listener, Publisher, closeStan, connectStan, dropConnection, startStanCli, type Message, type Stan } from "../helpers/stan.js";
import { waitFor } from "../helpers/wait.js";

/*
 * The ticketing-style services of issue 17, unchanged, with node-nats-streaming@0.3.2 against
 * `cuebus server -js -sd <dir> -cid ticketing`: a Publisher wrapping stan.publish in a promise,
 * and Listeners (durable queue subscriptions, deliver all available, manual acks, 5 s ack wait).
 */

interface TicketCreated {
  id: string;
  title: string;
  price: number;
}

/** A Listener of `ticket:created` that records what it handled and acks it (unless told not to). */
class TicketCreatedListener extends Listener<TicketCreated> {
  readonly subject = "ticket:created";
  readonly handled: TicketCreated[] = [];
  readonly sequences: number[] = [];
  ackThem = true;

  constructor(
    client: Stan,
    readonly queueGroupName = "orders-service",
  ) {
    super(client);
  }

  onMessage(data: TicketCreated, msg: Message): void {
    this.handled.push(data);
    this.sequences.push(msg.getSequence());
    if (this.ackThem) msg.ack();
  }
}

const ticket = (n: number): TicketCreated => ({ id: `t${n}`, title: `concert ${n}`, price: 10 + n });

async function tempDir(t: { after(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "cuebus-stan-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

test("Publisher and Listener as written for nats-streaming-server; a late listener gets every earlier event", async (t) => {
  const server = await startStanCli(t, await tempDir(t), "ticketing");
  const pubClient = await connectStan("ticketing", "tickets-service", server.url);
  t.after(() => closeStan(pubClient));
  const publisher = new Publisher<TicketCreated>(pubClient, "ticket:created");
  const guids = [];
  for (let i = 1; i <= 5; i++) guids.push(await publisher.publish(ticket(i)));
  assert.equal(new Set(guids).size, 5);

  // Started after the events were published: it gets all of them, in order.
  const orders = await connectStan("ticketing", "orders-1", server.url);
  t.after(() => closeStan(orders));
  const listener = new TicketCreatedListener(orders);
  await listener.listen();
  await waitFor(() => listener.handled.length === 5, 5000, "the late listener's 5 events");
  assert.deepEqual(listener.handled, [1, 2, 3, 4, 5].map(ticket));
  assert.deepEqual(listener.sequences, [1, 2, 3, 4, 5]);

  // New events reach it as they are published.
  await publisher.publish(ticket(6));
  await waitFor(() => listener.handled.length === 6, 5000, "event 6");
  assert.deepEqual(listener.handled[5], ticket(6));
});

test("queue group: two listeners of one service split the work, each event handled once", async (t) => {
  const server = await startStanCli(t, await tempDir(t), "ticketing");
  const a = await connectStan("ticketing", "orders-a", server.url);
  const b = await connectStan("ticketing", "orders-b", server.url);
  const p = await connectStan("ticketing", "tickets", server.url);
  t.after(() => Promise.all([closeStan(a), closeStan(b), closeStan(p)]).then(() => undefined));
  const la = new TicketCreatedListener(a);
  const lb = new TicketCreatedListener(b);
  await la.listen();
  await lb.listen();
  const publisher = new Publisher<TicketCreated>(p, "ticket:created");
  const n = 40;
  await Promise.all(Array.from({ length: n }, (_, i) => publisher.publish(ticket(i + 1))));
  await waitFor(() => la.handled.length + lb.handled.length === n, 5000, "all events handled");
  assert.ok(la.handled.length > 0 && lb.handled.length > 0, `both members worked (${la.handled.length} + ${lb.handled.length})`);
  const all = [...la.sequences, ...lb.sequences].sort((x, y) => x - y);
  assert.deepEqual(all, Array.from({ length: n }, (_, i) => i + 1));
  // Another service (another queue group) gets every event too.
  const c = await connectStan("ticketing", "payments-1", server.url);
  t.after(() => closeStan(c));
  const payments = new TicketCreatedListener(c, "payments-service");
  await payments.listen();
  await waitFor(() => payments.handled.length === n, 5000, "the payments service's copy");
});

test("durable queue group across a client restart and a crash: the service resumes where it acked", async (t) => {
  const server = await startStanCli(t, await tempDir(t), "ticketing");
  const p = await connectStan("ticketing", "tickets", server.url);
  t.after(() => closeStan(p));
  const publisher = new Publisher<TicketCreated>(p, "ticket:created");
  for (let i = 1; i <= 3; i++) await publisher.publish(ticket(i));

  let client = await connectStan("ticketing", "orders-1", server.url);
  let listener = new TicketCreatedListener(client);
  await listener.listen();
  await waitFor(() => listener.handled.length === 3, 5000, "first 3");
  await closeStan(client);

  // While the service is down.
  for (let i = 4; i <= 6; i++) await publisher.publish(ticket(i));
  client = await connectStan("ticketing", "orders-1", server.url);
  listener = new TicketCreatedListener(client);
  await listener.listen();
  await waitFor(() => listener.handled.length === 3, 5000, "events 4-6 after the restart");
  assert.deepEqual(listener.sequences, [4, 5, 6]);

  // A crash: the NATS connection drops without a STAN close; the same client id connects again
  // (the old one no longer answers its heartbeat inbox, so it is replaced).
  listener.ackThem = false;
  await publisher.publish(ticket(7));
  await waitFor(() => listener.handled.length === 4, 5000, "event 7, not acked");
  dropConnection(client);
  const again = await connectStan("ticketing", "orders-1", server.url);
  t.after(() => closeStan(again));
  const resumed = new TicketCreatedListener(again);
  await resumed.listen();
  // Event 7 was never acked: it comes again, flagged redelivered (after the ack wait at the latest).
  await waitFor(() => resumed.handled.length >= 1, 12_000, "event 7 again");
  assert.deepEqual(resumed.handled[0], ticket(7));
});

for (const signal of ["SIGTERM", "SIGKILL"] as const) {
  test(`server restart (${signal}): nothing acknowledged is lost and the durable resumes`, async (t) => {
    const dir = await tempDir(t);
    const server = await startStanCli(t, dir, "ticketing");
    let p = await connectStan("ticketing", "tickets", server.url);
    let publisher = new Publisher<TicketCreated>(p, "ticket:created");
    let client = await connectStan("ticketing", "orders-1", server.url);
    let listener = new TicketCreatedListener(client);
    await listener.listen();
    for (let i = 1; i <= 5; i++) await publisher.publish(ticket(i));
    await waitFor(() => listener.handled.length === 5, 5000, "first 5 handled");
    // Give the acks' state a moment to be written (it is written behind the acks).
    await new Promise((r) => setTimeout(r, 300));
    await closeStan(client);
    // Published and acknowledged while the listener is away, then the server goes down at once.
    await Promise.all([6, 7, 8, 9, 10].map((i) => publisher.publish(ticket(i))));
    await server.stop(signal);
    await closeStan(p);
    await server.restart();

    p = await connectStan("ticketing", "tickets", server.url);
    t.after(() => closeStan(p));
    publisher = new Publisher<TicketCreated>(p, "ticket:created");
    await publisher.publish(ticket(11));
    client = await connectStan("ticketing", "orders-1", server.url);
    t.after(() => closeStan(client));
    listener = new TicketCreatedListener(client);
    await listener.listen();
    await waitFor(() => [6, 7, 8, 9, 10, 11].every((s) => listener.sequences.includes(s)), 10_000, "events 6-11 after the restart");
    // Resumed where it acked: nothing before 6 comes again.
    assert.deepEqual([...new Set(listener.sequences)].sort((a, b) => a - b), [6, 7, 8, 9, 10, 11]);

    // A new service reading everything finds all 11, in order.
    const fresh = await connectStan("ticketing", "audit-1", server.url);
    t.after(() => closeStan(fresh));
    const audit = new TicketCreatedListener(fresh, "audit-service");
    await audit.listen();
    await waitFor(() => audit.handled.length === 11, 5000, "all 11");
    assert.deepEqual(audit.handled, Array.from({ length: 11 }, (_, i) => ticket(i + 1)));
  });
}
