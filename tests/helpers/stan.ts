import stan from "node-nats-streaming";
import type { Message, Stan, Subscription, SubscriptionOptions } from "node-nats-streaming";
import { waitFor } from "./wait.js";

export type { Message, Stan, Subscription };

/**
 * node-nats-streaming@0.3.2 as services use it: connect and wait for `connect` (or the error the
 * server answered with), close and wait for `close`.
 */
export function connectStan(clusterId: string, clientId: string, url: string, opts: { stanPingInterval?: number; stanMaxPingOut?: number; connectTimeout?: number } = {}): Promise<Stan> {
  const sc = stan.connect(clusterId, clientId, { url, maxReconnectAttempts: 120, reconnectTimeWait: 250, ...opts });
  return new Promise<Stan>((resolve, reject) => {
    sc.once("connect", () => resolve(sc));
    sc.once("error", (err: unknown) => reject(err instanceof Error ? err : new Error(String(err))));
  });
}

/** Close a STAN connection (its CloseRequest answered) and its NATS connection. */
export function closeStan(sc: Stan): Promise<void> {
  return new Promise<void>((resolve) => {
    const guard = setTimeout(resolve, 3000);
    sc.once("close", () => {
      clearTimeout(guard);
      resolve();
    });
    sc.close();
  });
}

/** The typical service's Publisher: `stan.publish` wrapped in a promise of the guid. */
export class Publisher<T> {
  constructor(
    private readonly client: Stan,
    readonly subject: string,
  ) {}

  publish(data: T): Promise<string> {
    return new Promise<string>((resolve, reject) => {
      this.client.publish(this.subject, JSON.stringify(data), (err, guid) => (err !== undefined && err !== null ? reject(err instanceof Error ? err : new Error(String(err))) : resolve(guid)));
    });
  }
}

/**
 * The typical service's abstract Listener: a durable queue subscription (durable name = queue group
 * name) that gets everything available, with manual acks and a 5 s ack wait.
 */
export abstract class Listener<T> {
  abstract readonly subject: string;
  abstract readonly queueGroupName: string;
  abstract onMessage(data: T, msg: Message): void;
  protected ackWait = 5 * 1000;
  subscription: Subscription | null = null;

  constructor(protected readonly client: Stan) {}

  subscriptionOptions(): SubscriptionOptions {
    return this.client.subscriptionOptions().setDeliverAllAvailable().setManualAckMode(true).setAckWait(this.ackWait).setDurableName(this.queueGroupName);
  }

  /** Subscribe; resolves once the server answered (`ready`), rejects with its error. */
  listen(): Promise<Subscription> {
    const sub = this.client.subscribe(this.subject, this.queueGroupName, this.subscriptionOptions());
    this.subscription = sub;
    sub.on("message", (msg: Message) => this.onMessage(this.parseMessage(msg), msg));
    return subscriptionReady(sub);
  }

  parseMessage(msg: Message): T {
    const data = msg.getData();
    return JSON.parse(typeof data === "string" ? data : data.toString("utf8")) as T;
  }
}

/** Resolves when the server accepted the subscription, rejects with the error it answered. */
export function subscriptionReady(sub: Subscription): Promise<Subscription> {
  return new Promise<Subscription>((resolve, reject) => {
    sub.once("ready", () => resolve(sub));
    sub.once("error", (err: Error) => reject(err));
    sub.once("timeout", (err: Error) => reject(err));
  });
}

/** Resolves with the server's answer to an unsubscribe or close of `sub`. */
export function subscriptionGone(sub: Subscription, close: boolean): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    sub.once(close ? "closed" : "unsubscribed", () => resolve());
    sub.once("error", (err: Error) => reject(err));
    if (close) sub.close();
    else sub.unsubscribe();
  });
}

/** Collects what a subscription receives: the data strings and the messages. */
export class Collector {
  readonly messages: Message[] = [];
  constructor(
    sub: Subscription,
    private readonly autoAck = false,
  ) {
    sub.on("message", (m: Message) => {
      this.messages.push(m);
      if (this.autoAck) m.ack();
    });
  }

  get data(): string[] {
    return this.messages.map((m) => String(m.getData()));
  }

  get sequences(): number[] {
    return this.messages.map((m) => m.getSequence());
  }

  until(n: number, timeoutMs = 5000): Promise<void> {
    return waitFor(() => this.messages.length >= n, timeoutMs, `${n} STAN messages (have ${this.messages.length})`);
  }
}

/** Publish each string and wait for every PubAck. */
export async function publishAll(sc: Stan, subject: string, data: string[]): Promise<string[]> {
  return Promise.all(
    data.map(
      (d) =>
        new Promise<string>((resolve, reject) => {
          sc.publish(subject, d, (err, guid) => (err !== undefined && err !== null ? reject(err instanceof Error ? err : new Error(String(err))) : resolve(guid)));
        }),
    ),
  );
}

/** A cuebus CLI server (`cuebus server -js -sd <dir> -cid <id> -p <port>`) that a test stops and starts again. */
export interface StanCliServer {
  readonly url: string;
  readonly port: number;
  /** Its log so far. */
  log(): string;
  /** Stop it with `signal` and wait until it has exited. */
  stop(signal: NodeJS.Signals): Promise<void>;
  /** Start it again on the same port and store directory. */
  restart(): Promise<void>;
  /** Connect a STAN client with this id; it is closed when the test ends (before the server stops). */
  connect(clientId: string): Promise<Stan>;
}

/** A free TCP port on 127.0.0.1 (bound and released), so a restarted server keeps its clients' URL. */
export async function freePort(): Promise<number> {
  const { createServer } = await import("node:net");
  return new Promise<number>((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const a = s.address();
      const port = typeof a === "object" && a !== null ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

/**
 * Start cuebus's CLI as the users do (`server -js -sd <storeDir> -cid <clusterId>`), on a
 * port of its own; resolves once it answers. When the test ends, the clients connected through
 * `connect` are closed, then the server is killed if still running.
 */
export async function startStanCli(t: { after(fn: () => Promise<void>): void }, storeDir: string, clusterId: string, extraArgs: string[] = []): Promise<StanCliServer> {
  const { spawn } = await import("node:child_process");
  const { CUEBUS_CLI } = await import("./launch.js");
  const { connect } = await import("node:net");
  const port = await freePort();
  let log = "";
  let proc: import("node:child_process").ChildProcess | null = null;
  const start = async (): Promise<void> => {
    const [node, main, cmd] = CUEBUS_CLI;
    const p = spawn(node, [main, cmd, "-a", "127.0.0.1", "-p", String(port), "-js", "-sd", storeDir, "-cid", clusterId, ...extraArgs], { stdio: ["ignore", "pipe", "pipe"] });
    proc = p;
    p.stdout?.on("data", (d: Buffer) => (log += d.toString()));
    p.stderr?.on("data", (d: Buffer) => (log += d.toString()));
    await waitFor(
      () =>
        new Promise<boolean>((resolve) => {
          if (p.exitCode !== null) throw new Error(`cuebus exited: ${log}`);
          const s = connect(port, "127.0.0.1");
          s.once("data", (d: Buffer) => {
            s.destroy();
            resolve(d.toString().startsWith("INFO"));
          });
          s.once("error", () => resolve(false));
        }),
      20_000,
      "cuebus to answer",
    );
  };
  const stop = async (signal: NodeJS.Signals): Promise<void> => {
    const p = proc;
    if (p === null || p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise<void>((r) => p.once("exit", () => r()));
    p.kill(signal);
    await exited;
  };
  const clients: Stan[] = [];
  t.after(async () => {
    await Promise.all(clients.map(closeStan));
    await stop("SIGKILL");
  });
  await start();
  const url = `nats://127.0.0.1:${port}`;
  const connectClient = async (clientId: string): Promise<Stan> => {
    const sc = await connectStan(clusterId, clientId, url);
    clients.push(sc);
    return sc;
  };
  return { url, port, log: () => log, stop, restart: start, connect: connectClient };
}

/**
 * A client that crashes: its NATS connection drops without a STAN close. node-nats-streaming
 * clears its ping timer only on the connection's `close` event, which an explicit close does not
 * emit in nats 1.x, so it is cleared here (it would publish on the closed connection and throw).
 */
export function dropConnection(sc: Stan): void {
  const inner = sc as unknown as { nc?: { close(): void }; pingTimer?: NodeJS.Timeout };
  if (inner.pingTimer !== undefined) clearTimeout(inner.pingTimer);
  delete inner.pingTimer;
  inner.nc?.close();
}

/**
 * Subscribe with a Collector listening from the start (messages can arrive in the same read as
 * the server's answer, before a listener added after `ready` would hear them); resolves once ready.
 */
export async function collect(sc: Stan, subject: string, opts: SubscriptionOptions, autoAck: boolean, qGroup?: string): Promise<{ sub: Subscription; got: Collector }> {
  const sub = qGroup === undefined ? sc.subscribe(subject, opts) : sc.subscribe(subject, qGroup, opts);
  const got = new Collector(sub, autoAck);
  await subscriptionReady(sub);
  return { sub, got };
}

/** A message's redelivery count (MsgProto field 7; node-nats-streaming's typings leave it out). */
export function redeliveryCount(m: Message): number {
  return (m as unknown as { getRedeliveryCount(): number }).getRedeliveryCount();
}
