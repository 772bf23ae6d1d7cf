/**
 * NATS Streaming load, run as a child process with node-nats-streaming@0.3.2 (the same client code
 * against cuebus and nats-streaming-server). Reads one JSON job from argv, prints one JSON result
 * line; progress goes to stderr.
 * - publish: `count` async publishes of `size` bytes to `channel`, at most `inFlight` without their
 *   PubAck (the client's own bound, maxPubAcksInflight: 16,384 by default); done when every PubAck
 *   came back without an error.
 * - consume: a durable subscription from the first message with manual acks (the client's default
 *   maxInFlight, 16,384 unacknowledged at most), acking each; done after `count`.
 * - js-publish: the same publishes through the official JetStream client (`js.publish`, its
 *   PubAck awaited), `inFlight` at a time, to `channel` (a subject of a stream made beforehand).
 * - stan-core / js-core: the server's side alone, without either client library: the same
 *   publishes as core NATS messages with a reply subject through one @nats-io connection, STAN's
 *   PubMsg (encoded per message, each with its own guid) after a ConnectRequest, or JetStream's
 *   plain payload; every answer counted (a PubAck without an error, or a JetStream `+ack`).
 */
import stan from "node-nats-streaming";
import { connect as natsConnect, type NatsConnection } from "@nats-io/transport-node";
import { decodeConnectResponse, decodePubAck, encodeConnectRequest, encodePubMsg } from "../src/stan/protocol-client.js";
import { jetstream } from "@nats-io/jetstream";

interface Job {
  role: "publish" | "consume" | "js-publish" | "stan-core" | "js-core";
  url: string;
  cluster: string;
  channel: string;
  count: number;
  size: number;
  inFlight: number;
}

const job = JSON.parse(process.argv[2] as string) as Job;

function connect(clientId: string): Promise<stan.Stan> {
  const sc = stan.connect(job.cluster, clientId, { url: job.url, maxPubAcksInflight: job.inFlight });
  return new Promise((resolve, reject) => {
    sc.once("connect", () => resolve(sc));
    sc.once("error", (err: unknown) => reject(err instanceof Error ? err : new Error(String(err))));
  });
}

function close(sc: stan.Stan): Promise<void> {
  return new Promise((resolve) => {
    const guard = setTimeout(resolve, 3000);
    sc.once("close", () => {
      clearTimeout(guard);
      resolve();
    });
    sc.close();
  });
}

/** What a windowed run counted: successes, failures and the first failure's text. */
interface Outcome {
  acked: number;
  errors: number;
  firstError: string;
}

/**
 * Keep `job.inFlight` of `job.count` operations unanswered at most: `send(i)` starts the i-th,
 * and whatever answers it calls `done` (`error` "" for a success). More are sent once half the
 * window has come back, in slices, so the event loop stays free for the answers. `start()` sends
 * the first window; `finished` resolves once every operation was answered.
 */
function windowed(send: (i: number) => void): { start(): void; done(error: string): void; finished: Promise<Outcome> } {
  const o: Outcome = { acked: 0, errors: 0, firstError: "" };
  let sent = 0;
  let resolve: (o: Outcome) => void = () => {};
  const finished = new Promise<Outcome>((r) => (resolve = r));
  const more = (): void => {
    while (sent < job.count && sent - (o.acked + o.errors) < job.inFlight) send(sent++);
  };
  const done = (error: string): void => {
    if (error === "") o.acked++;
    else {
      o.errors++;
      if (o.firstError === "") o.firstError = error;
    }
    if (o.acked + o.errors === job.count) resolve(o);
    else if (sent - (o.acked + o.errors) < job.inFlight / 2) more();
  };
  return { start: more, done, finished };
}

function publish(sc: stan.Stan): Promise<Outcome> {
  const data = Buffer.alloc(job.size, 0x61);
  // The client holds back publishes past maxPubAcksInflight itself (it buffers them).
  const onAck = (err: Error | undefined): void => w.done(err !== undefined && err !== null ? String(err) : "");
  const w = windowed(() => sc.publish(job.channel, data, onAck));
  w.start();
  return w.finished;
}

function consume(sc: stan.Stan): Promise<number> {
  const opts = sc.subscriptionOptions().setDeliverAllAvailable().setManualAckMode(true).setAckWait(60_000).setDurableName("bench");
  const sub = sc.subscribe(job.channel, opts);
  let got = 0;
  return new Promise((resolve, reject) => {
    sub.on("error", reject);
    sub.on("message", (m: stan.Message) => {
      m.ack();
      if (++got === job.count) resolve(got);
    });
  });
}

/** `count` JetStream publishes, `inFlight` awaiting their PubAck at a time. */
async function jsPublish(): Promise<void> {
  const nc = await natsConnect({ servers: job.url });
  const js = jetstream(nc);
  const data = new Uint8Array(job.size).fill(0x61);
  const acked = (): void => w.done("");
  const failed = (err: unknown): void => w.done(String(err));
  const w = windowed(() => void js.publish(job.channel, data).then(acked, failed));
  const start = process.hrtime.bigint();
  w.start();
  const o = await w.finished;
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  await nc.close();
  process.stdout.write(`${JSON.stringify({ ...o, seconds })}\n`);
  process.exit(0);
}

/**
 * Publish `count` messages made by `payload(i)` to `subject` with replies to one inbox, `inFlight`
 * unanswered at most; `good` says whether an answer is a success.
 */
async function corePublish(nc: NatsConnection, subject: string, payload: (i: number) => Uint8Array, good: (answer: Uint8Array) => boolean): Promise<void> {
  const inbox = `_INBOX.bench.${process.pid}`;
  const w = windowed((i) => nc.publish(subject, payload(i), { reply: inbox }));
  nc.subscribe(inbox, { callback: (_err, m) => w.done(good(m.data) ? "" : Buffer.from(m.data).toString("latin1").slice(0, 200)) });
  const start = process.hrtime.bigint();
  w.start();
  const o = await w.finished;
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  process.stdout.write(`${JSON.stringify({ ...o, seconds })}\n`);
}

async function corePublishing(): Promise<void> {
  const nc = await natsConnect({ servers: job.url });
  const data = Buffer.alloc(job.size, 0x61);
  if (job.role === "js-core") {
    await corePublish(nc, job.channel, () => data, (a) => a[0] === 0x7b && a[2] !== 0x65);
  } else {
    // A STAN client's connect: the heartbeat inbox answered, as a client must.
    const clientID = `bench-core-${process.pid}`;
    const hbInbox = `_INBOX.bench-hb.${process.pid}`;
    nc.subscribe(hbInbox, {
      callback: (_err, m) => {
        m.respond();
      },
    });
    const res = decodeConnectResponse(Buffer.from((await nc.request(`_STAN.discover.${job.cluster}`, encodeConnectRequest({ clientID, heartbeatInbox: hbInbox }), { timeout: 5000 })).data));
    if (res.error !== "") throw new Error(res.error);
    const guid = `bench${process.pid}-`;
    await corePublish(nc, `${res.pubPrefix}.${job.channel}`, (i) => encodePubMsg({ clientID, guid: `${guid}${i}`, subject: job.channel, data }), (a) => decodePubAck(Buffer.from(a)).error === "");
  }
  await nc.close();
  process.exit(0);
}

async function main(): Promise<void> {
  if (job.role === "js-publish") return jsPublish();
  if (job.role === "stan-core" || job.role === "js-core") return corePublishing();
  const sc = await connect(`bench-${job.role}-${process.pid}`);
  const start = process.hrtime.bigint();
  let result: Record<string, number | string>;
  if (job.role === "publish") {
    const r = await publish(sc);
    result = { ...r, seconds: Number(process.hrtime.bigint() - start) / 1e9 };
  } else {
    const got = await consume(sc);
    result = { got, seconds: Number(process.hrtime.bigint() - start) / 1e9 };
  }
  await close(sc);
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.exit(0);
}

main().catch((err: unknown) => {
  process.stdout.write(`${JSON.stringify({ error: String(err) })}\n`);
  process.exit(1);
});
