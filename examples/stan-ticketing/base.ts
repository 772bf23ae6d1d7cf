/**
 * The two classes NATS Streaming services of the streaming-server era are built on, unchanged:
 * an abstract Listener (a durable queue subscription that gets everything available, with manual
 * acks and a 5 s ack wait) and a Publisher (`stan.publish` wrapped in a promise). They run against
 * cuebus as they ran against nats-streaming-server.
 */
import stan from "node-nats-streaming";
import type { Message, Stan } from "node-nats-streaming";

interface Event {
  subject: string;
  data: unknown;
}

/** Connect as `clientId` to the streaming cluster `clusterId` at `url`; resolves once connected. */
export function connectStan(clusterId: string, clientId: string, url: string): Promise<Stan> {
  const sc = stan.connect(clusterId, clientId, { url });
  return new Promise((resolve, reject) => {
    sc.once("connect", () => resolve(sc));
    sc.once("error", (err: unknown) => reject(err instanceof Error ? err : new Error(String(err))));
  });
}

/** Close the connection; resolves once the server answered. */
export function closeStan(sc: Stan): Promise<void> {
  return new Promise((resolve) => {
    sc.once("close", () => resolve());
    sc.close();
  });
}

export abstract class Listener<T extends Event> {
  abstract subject: T["subject"];
  abstract queueGroupName: string;
  abstract onMessage(data: T["data"], msg: Message): void;
  protected ackWait = 5 * 1000;

  constructor(protected client: Stan) {}

  subscriptionOptions(): stan.SubscriptionOptions {
    return this.client.subscriptionOptions().setDeliverAllAvailable().setManualAckMode(true).setAckWait(this.ackWait).setDurableName(this.queueGroupName);
  }

  /** Subscribe; resolves once the server accepted the subscription. */
  listen(): Promise<void> {
    const subscription = this.client.subscribe(this.subject, this.queueGroupName, this.subscriptionOptions());
    subscription.on("message", (msg: Message) => this.onMessage(this.parseMessage(msg), msg));
    return new Promise((resolve, reject) => {
      subscription.once("ready", () => resolve());
      subscription.once("error", reject);
    });
  }

  parseMessage(msg: Message): T["data"] {
    const data = msg.getData();
    return JSON.parse(typeof data === "string" ? data : data.toString("utf8")) as T["data"];
  }
}

export abstract class Publisher<T extends Event> {
  abstract subject: T["subject"];

  constructor(protected client: Stan) {}

  /** Resolves once the server acknowledged the event as stored. */
  publish(data: T["data"]): Promise<void> {
    return new Promise((resolve, reject) => {
      this.client.publish(this.subject, JSON.stringify(data), (err) => (err ? reject(err) : resolve()));
    });
  }
}
