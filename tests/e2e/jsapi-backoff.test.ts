import { test } from "node:test";
import assert from "node:assert/strict";
import { connect } from "@nats-io/transport-node";
import { AckPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { jetStreamPair } from "../helpers/js-pair.js";

/** Backoff steps of the consumer under test, ms: short first steps, then one far longer. */
const [STEP0_MS, STEP1_MS, STEP2_MS] = [1000, 2000, 10_000];
const STEPS_MS = [STEP0_MS, STEP1_MS, STEP2_MS];
/** How long to wait for the third delivery: past backoff[0] + backoff[1] with room, well short of the last step. */
const THIRD_DELIVERY_WAIT_MS = 9000;

/**
 * Publish one message to a push consumer with `backoff` and never ack it: the times its first
 * three deliveries arrive, ms after the first (fewer when the third did not come in time).
 */
async function deliveryTimes(port: number): Promise<{ ackWaitMs: number; gaps: number[] }> {
  const nc = await connect({ port });
  try {
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: "BO", subjects: ["bo"] });
    const ci = await jsm.consumers.add("BO", {
      durable_name: "c",
      ack_policy: AckPolicy.Explicit,
      deliver_subject: "bo.deliver",
      backoff: STEPS_MS.map((ms) => ms * 1_000_000),
      max_deliver: STEPS_MS.length + 2,
    });
    const times: number[] = [];
    const sub = nc.subscribe("bo.deliver", { max: 3 });
    const stop = setTimeout(() => sub.unsubscribe(), THIRD_DELIVERY_WAIT_MS);
    await jetstream(nc).publish("bo", "x");
    for await (const _m of sub) times.push(Date.now());
    clearTimeout(stop);
    return { ackWaitMs: (ci.config.ack_wait ?? 0) / 1e6, gaps: times.slice(1).map((t, i) => t - (times[i] as number)) };
  } finally {
    await nc.close();
  }
}

/*
 * nats-server's checkPending (consumer.go): ack_wait becomes backoff[0]; a message delivered n
 * times is due again backoff[n-1] (the last step once past the end) after its last delivery; and
 * the timer that finds it is set no later than the step that follows, so the third delivery
 * comes backoff[1] after the second. cuebus armed that timer for the longest step instead: the
 * third delivery came 10 s after the second, not 2 s. The bounds are wide (this is about which
 * step is used, not speed) and both servers must meet them.
 */
test("consumer backoff: each redelivery waits its own step, on nats-server and cuebus alike", async (t) => {
  const { realPort, ourPort } = await jetStreamPair(t);
  const [real, ours] = await Promise.all([deliveryTimes(realPort), deliveryTimes(ourPort)]);
  t.diagnostic(`gaps between deliveries, ms: nats-server ${real.gaps.join(", ")}; cuebus ${ours.gaps.join(", ")}`);
  for (const [who, r] of [["nats-server", real], ["cuebus", ours]] as const) {
    assert.equal(r.ackWaitMs, STEP0_MS, `${who}: ack_wait is backoff[0]`);
    assert.equal(r.gaps.length, 2, `${who}: three deliveries within ${THIRD_DELIVERY_WAIT_MS} ms (gaps ${r.gaps.join(", ")})`);
    const [first, second] = r.gaps as [number, number];
    assert.ok(first >= STEP0_MS - 50 && first < STEP1_MS, `${who}: second delivery after backoff[0] (${first} ms)`);
    assert.ok(second >= STEP1_MS - 50 && second < STEP2_MS / 2, `${who}: third delivery after backoff[1] (${second} ms)`);
  }
});
