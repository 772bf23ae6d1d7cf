import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Listener, Publisher, closeStan, collect, dropConnection, startStanCli, type Message, type Stan, type StanCliServer } from "../helpers/stan.js";
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

/** `cuebus server -js -sd <temp dir> -cid ticketing`; the directory is removed once it has stopped. */
async function serve(t: { after(fn: () => Promise<void>): void }): Promise<StanCliServer> {
  const dir = await mkdtemp(join(tmpdir(), "cuebus-stan-"));
  const server = await startStanCli(t, dir, "ticketing");
  t.after(() => rm(dir, { recursive: true, force: true }));
  return server;
}

test("Publisher and Listener as written for nats-streaming-server; a late listener gets every earlier event", async (t) => {
  const server = await serve(t);
  const pubClient = await server.connect("tickets-service");
  const publisher = new Publisher<TicketCreated>(pubClient, "ticket:created");
  const guids = [];
  for (let i = 1; i <= 5; i++) guids.push(await publisher.publish(ticket(i)));
  assert.equal(new Set(guids).size, 5);

  // Started after the events were published: it gets all of them, in order.
  const orders = await server.connect("orders-1");
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
  const server = await serve(t);
  const a = await server.connect("orders-a");
  const b = await server.connect("orders-b");
  const p = await server.connect("tickets");
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
  const c = await server.connect("payments-1");
  const payments = new TicketCreatedListener(c, "payments-service");
  await payments.listen();
  await waitFor(() => payments.handled.length === n, 5000, "the payments service's copy");
});

test("durable queue group across a client restart and a crash: the service resumes where it acked", async (t) => {
  const server = await serve(t);
  const p = await server.connect("tickets");
  const publisher = new Publisher<TicketCreated>(p, "ticket:created");
  for (let i = 1; i <= 3; i++) await publisher.publish(ticket(i));

  let client = await server.connect("orders-1");
  let listener = new TicketCreatedListener(client);
  await listener.listen();
  await waitFor(() => listener.handled.length === 3, 5000, "first 3");
  await closeStan(client);

  // While the service is down.
  for (let i = 4; i <= 6; i++) await publisher.publish(ticket(i));
  client = await server.connect("orders-1");
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
  const again = await server.connect("orders-1");
  const resumed = new TicketCreatedListener(again);
  await resumed.listen();
  // Event 7 was never acked: it comes again, flagged redelivered (after the ack wait at the latest).
  await waitFor(() => resumed.handled.length >= 1, 12_000, "event 7 again");
  assert.deepEqual(resumed.handled[0], ticket(7));
});

for (const signal of ["SIGTERM", "SIGKILL"] as const) {
  test(`server restart (${signal}): nothing acknowledged is lost and the durable resumes`, async (t) => {
    const server = await serve(t);
    let p = await server.connect("tickets");
    let publisher = new Publisher<TicketCreated>(p, "ticket:created");
    let client = await server.connect("orders-1");
    let listener = new TicketCreatedListener(client);
    await listener.listen();
    for (let i = 1; i <= 5; i++) await publisher.publish(ticket(i));
    await waitFor(() => listener.handled.length === 5, 5000, "first 5 handled");
    // Give the acks' state a moment to be written (it is written behind the acks).
    await new Promise((r) => setTimeout(r, 300));
    await closeStan(client);
    // Published and acknowledged while the listener is away, then the server goes down at once.
    await Promise.all([6, 7, 8, 9, 10].map((i) => publisher.publish(ticket(i))));
    await closeStan(p);
    await server.stop(signal);
    await server.restart();

    p = await server.connect("tickets");
    publisher = new Publisher<TicketCreated>(p, "ticket:created");
    await publisher.publish(ticket(11));
    client = await server.connect("orders-1");
    listener = new TicketCreatedListener(client);
    await listener.listen();
    await waitFor(() => [6, 7, 8, 9, 10, 11].every((s) => listener.sequences.includes(s)), 10_000, "events 6-11 after the restart");
    // Resumed where it acked: nothing before 6 comes again.
    assert.deepEqual([...new Set(listener.sequences)].sort((a, b) => a - b), [6, 7, 8, 9, 10, 11]);

    // A new service reading everything finds all 11, in order.
    const fresh = await server.connect("audit-1");
    const audit = new TicketCreatedListener(fresh, "audit-service");
    await audit.listen();
    await waitFor(() => audit.handled.length === 11, 5000, "all 11");
    assert.deepEqual(audit.handled, Array.from({ length: 11 }, (_, i) => ticket(i + 1)));
  });
}

for (const signal of ["SIGTERM", "SIGKILL"] as const) {
  test(`server restart (${signal}): connected services go on without connecting again`, async (t) => {
    const server = await serve(t);
    const p = await server.connect("tickets");
    const publisher = new Publisher<TicketCreated>(p, "ticket:created");
    const client = await server.connect("orders-1");
    const listener = new TicketCreatedListener(client);
    await listener.listen();
    // A plain subscription too: it keeps its place while its client is registered.
    const { got: plain } = await collect(client, "ticket:created", client.subscriptionOptions().setDeliverAllAvailable(), true);
    await publisher.publish(ticket(1));
    await waitFor(() => listener.handled.length === 1 && plain.messages.length === 1, 5000, "event 1");
    await new Promise((r) => setTimeout(r, 300));
    // A message sent to a client while its NATS connection is still reconnecting reaches it only
    // when redelivered (after the plain subscription's 30 s ack wait): wait until both are back.
    const back = Promise.all([p, client].map((sc) => new Promise<void>((r) => sc.once("reconnect", () => r()))));
    await server.stop(signal);
    await server.restart();
    await back;
    // The same connections: their NATS connections reconnect, and the server knows them still.
    await publisher.publish(ticket(2));
    await waitFor(() => listener.sequences.includes(2) && plain.sequences.includes(2), 10_000, "event 2 after the restart");
    assert.deepEqual([...new Set(listener.sequences)].sort((a, b) => a - b), [1, 2]);
    assert.deepEqual([...new Set(plain.sequences)].sort((a, b) => a - b), [1, 2]);
  });
}
