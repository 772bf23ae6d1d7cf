/**
 * The ticketing services on cuebus (see README.md): a tickets service publishes ticket:created
 * events, two replicas of an orders service share them through one durable queue group, and an
 * analytics service that starts later gets every earlier event. Prints what each got, as JSON on
 * one line, and exits 0 when every event was handled once by the orders service and seen by the
 * late listener.
 *
 *   node dist/examples/stan-ticketing/main.js [nats://127.0.0.1:4222] [cluster id, default ticketing]
 */
import type { Message } from "node-nats-streaming";
import { Listener, Publisher, closeStan, connectStan } from "./base.js";
import { Subjects, type TicketCreatedEvent } from "./events.js";

const url = process.argv[2] ?? "nats://127.0.0.1:4222";
const clusterId = process.argv[3] ?? "ticketing";
const TICKETS = 20;

class TicketCreatedPublisher extends Publisher<TicketCreatedEvent> {
  subject = Subjects.TicketCreated;
}

/** Each replica of the orders service records the tickets it handled. */
class TicketCreatedListener extends Listener<TicketCreatedEvent> {
  subject = Subjects.TicketCreated;
  queueGroupName = "orders-service";
  readonly handled: string[] = [];

  onMessage(data: TicketCreatedEvent["data"], msg: Message): void {
    this.handled.push(data.id);
    msg.ack();
  }
}

/** A service deployed later: a queue group of its own, so it gets the whole history. */
class AnalyticsListener extends TicketCreatedListener {
  override queueGroupName = "analytics-service";
}

async function until(what: string, done: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function main(): Promise<void> {
  const orders = [await connectStan(clusterId, "orders-1", url), await connectStan(clusterId, "orders-2", url)];
  const replicas = orders.map((sc) => new TicketCreatedListener(sc));
  for (const r of replicas) await r.listen();

  const tickets = await connectStan(clusterId, "tickets-1", url);
  const publisher = new TicketCreatedPublisher(tickets);
  for (let i = 1; i <= TICKETS; i++) await publisher.publish({ id: `t${i}`, title: `concert ${i}`, price: 10 * i, userId: "u1" });

  const handledByOrders = (): number => replicas.reduce((n, r) => n + r.handled.length, 0);
  await until("the orders service to handle every ticket", () => handledByOrders() >= TICKETS);

  const analyticsClient = await connectStan(clusterId, "analytics-1", url);
  const analytics = new AnalyticsListener(analyticsClient);
  await analytics.listen();
  await until("the late listener to get every earlier ticket", () => analytics.handled.length >= TICKETS);

  for (const sc of [...orders, tickets, analyticsClient]) await closeStan(sc);
  const all = replicas.flatMap((r) => r.handled).sort();
  const summary = {
    published: TICKETS,
    ordersReplicas: replicas.map((r) => r.handled.length),
    ordersHandledOnce: all.length === TICKETS && new Set(all).size === TICKETS,
    lateListener: analytics.handled.length,
  };
  process.stdout.write(`${JSON.stringify(summary)}\n`);
  process.exit(summary.ordersHandledOnce && summary.lateListener === TICKETS ? 0 : 1);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
