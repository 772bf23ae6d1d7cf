/**
 * JetStream requests that race each other must not leave anything behind: found by the fuzzer
 * (tests/e2e/fuzz.test.ts), where a consumer create that finished after its stream was deleted
 * left the consumer subscribed for good (holding its stream and store in memory), and creates of
 * one durable at once collided on its files (all but one refused with "error creating store")
 * or, once the files are written apart, would all start a consumer. Counted by the server's own subscriptions (`/subsz`
 * num_subscriptions): after the races and the deletes, back where it started.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { startServer, type Server } from "../../src/index.js";
import { waitFor } from "../helpers/wait.js";

/** Rounds of each race; each round is a burst of requests sent without waiting. */
const ROUNDS = 10;
const BURST = 20;

async function setup(t: test.TestContext): Promise<{ server: Server; nc: NatsConnection }> {
  const dir = await mkdtemp(join(tmpdir(), "cuebus-races-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const server = await startServer({ port: 0, jetstream: { storeDir: dir } });
  t.after(() => server.close());
  const nc = await connect({ servers: server.url });
  t.after(() => nc.close());
  return { server, nc };
}

const req = async (nc: NatsConnection, subject: string, body = ""): Promise<Record<string, unknown>> =>
  (await nc.request(`$JS.API.${subject}`, body, { timeout: 10_000 })).json<Record<string, unknown>>();

test("a consumer create racing its stream's delete leaves no consumer subscribed", async (t) => {
  const { server, nc } = await setup(t);
  const subs = (): number => server.core.router.subscriptionCount();
  await req(nc, "INFO"); // the client's own reply subscription, made on its first request
  const before = subs();
  for (let round = 0; round < ROUNDS; round++) {
    await req(nc, "STREAM.CREATE.R", JSON.stringify({ name: "R", subjects: ["r.>"] }));
    const burst: Array<Promise<unknown>> = [];
    for (let i = 0; i < BURST; i++) {
      burst.push(req(nc, `CONSUMER.DURABLE.CREATE.R.D${i}`, JSON.stringify({ stream_name: "R", config: { durable_name: `D${i}`, ack_policy: "explicit" } })));
      burst.push(req(nc, "CONSUMER.CREATE.R", JSON.stringify({ stream_name: "R", config: { ack_policy: "explicit" } })));
      if (i === BURST / 2) burst.push(req(nc, "STREAM.DELETE.R"));
    }
    await Promise.all(burst);
    await req(nc, "STREAM.DELETE.R");
  }
  await waitFor(() => subs() === before, 5000, `subscriptions back to ${before} (now ${subs()})`);
  assert.equal(server.jetstream?.streams.size, 0);
});

test("two creates of one durable at once: one consumer, one set of subscriptions", async (t) => {
  const { server, nc } = await setup(t);
  const subs = (): number => server.core.router.subscriptionCount();
  await req(nc, "STREAM.CREATE.R", JSON.stringify({ name: "R", subjects: ["r.>"] }));
  const withStream = subs();
  await req(nc, "CONSUMER.DURABLE.CREATE.R.ONE", JSON.stringify({ stream_name: "R", config: { durable_name: "ONE", ack_policy: "explicit" } }));
  const perConsumer = subs() - withStream;
  await req(nc, "CONSUMER.DELETE.R.ONE");
  for (let round = 0; round < ROUNDS; round++) {
    const answers = await Promise.all(
      Array.from({ length: BURST }, (_, i) =>
        req(nc, "CONSUMER.DURABLE.CREATE.R.D", JSON.stringify({ stream_name: "R", config: { durable_name: "D", ack_policy: "explicit", max_deliver: i % 2 === 0 ? 5 : 7 } })),
      ),
    );
    // The first creates it; each later one, with the same config or an allowed change
    // (max_deliver), is answered with the consumer, as nats-server answers one at a time.
    assert.deepEqual(
      answers.map((a) => (a["error"] as { description?: string } | undefined)?.description ?? "ok"),
      answers.map(() => "ok"),
    );
    assert.equal(subs(), withStream + perConsumer, `round ${round}: subscriptions of one consumer`);
    assert.equal((await req(nc, "CONSUMER.DELETE.R.D"))["success"], true);
    assert.equal(subs(), withStream);
  }
});
