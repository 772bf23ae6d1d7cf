/**
 * A dead letter goes into its dead-letter stream the way a publish would: a sealed stream, a full
 * one with discard new, or a message past max_msg_size refuses it (and the server says so in its
 * log), and the headers it carries from its first publish (Nats-Expected-*, Nats-Rollup,
 * Nats-Msg-Id) are not taken as directives to the dead-letter stream. Before, dead letters were
 * appended to the store directly: a sealed stream took them, and one at max_msgs with discard new
 * refused them only by accident of the store's limit, without a word.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { headers as natsHeaders } from "@nats-io/transport-node";
import { jetstream } from "@nats-io/jetstream";
import { startJsServer } from "../helpers/js-server.js";
import { waitFor } from "../helpers/wait.js";

const DLQ_KEY = "cuebus.dead_letter_stream";

test("dead letters pass the dead-letter stream's admission: sealed and max_msgs with discard new refuse them, reported; publisher headers are no directives", async (t) => {
  const { nc, warnings, api } = await startJsServer(t);
  const js = jetstream(nc);
  assert.equal((await api("STREAM.CREATE.JOBS", { name: "JOBS", subjects: ["jobs.>"] }))["error"], undefined);
  const dlqCount = async (name: string): Promise<number> => ((await api(`STREAM.INFO.${name}`))["state"] as { messages: number }).messages;

  /** Terminate every message delivered to a new durable of JOBS whose dead letters go to `dlq`, from stream sequence `from`. */
  const terminate = async (consumer: string, dlq: string, from: number, count: number): Promise<void> => {
    const made = await api(`CONSUMER.CREATE.JOBS.${consumer}`, {
      stream_name: "JOBS",
      config: { durable_name: consumer, ack_policy: "explicit", deliver_policy: "by_start_sequence", opt_start_seq: from, metadata: { [DLQ_KEY]: dlq } },
    });
    assert.equal(made["error"], undefined, JSON.stringify(made));
    const c = await js.consumers.get("JOBS", consumer);
    for (let i = 0; i < count; i++) {
      const m = await c.next({ expires: 5000 });
      assert.ok(m !== null);
      m.term();
    }
    await nc.flush();
  };

  // 1. A full dead-letter stream with discard new: the first dead letter is stored, the second refused.
  assert.equal((await api("STREAM.CREATE.FULL", { name: "FULL", subjects: ["full.dlq"], max_msgs: 1, discard: "new" }))["error"], undefined);
  // The first message carries headers meant for JOBS: they must not make FULL refuse or purge.
  const h = natsHeaders();
  h.set("Nats-Msg-Id", "one");
  h.set("Nats-Expected-Stream", "JOBS");
  h.set("Nats-Expected-Last-Sequence", "0");
  await js.publish("jobs.a", "a", { headers: h });
  await js.publish("jobs.b", "b");
  await terminate("C1", "FULL", 1, 2);
  await waitFor(() => warnings.some((w) => w.includes('refused by stream "FULL"')), 5000);
  assert.equal(await dlqCount("FULL"), 1);
  const first = (await api("STREAM.MSG.GET.FULL", { seq: 1 }))["message"] as { subject: string };
  assert.equal(first.subject, "jobs.a", "the first dead letter, with its publisher's headers, was stored");
  assert.match(warnings.find((w) => w.includes('refused by stream "FULL"')) ?? "", /"JOBS > C1": dead letter of sequence 2 \(terminated\)/);

  // 2. A sealed dead-letter stream takes nothing.
  assert.equal((await api("STREAM.CREATE.SEALED", { name: "SEALED", subjects: ["sealed.dlq"] }))["error"], undefined);
  const sealed = await api("STREAM.UPDATE.SEALED", { name: "SEALED", subjects: ["sealed.dlq"], sealed: true });
  assert.equal(sealed["error"], undefined, JSON.stringify(sealed));
  await terminate("C2", "SEALED", 1, 1);
  await waitFor(() => warnings.some((w) => w.includes('refused by stream "SEALED"')), 5000);
  assert.equal(await dlqCount("SEALED"), 0);

  // 3. An open one takes one dead letter per message and consumer: the same message from two
  //    consumers twice, the first message's own Nats-Msg-Id notwithstanding.
  assert.equal((await api("STREAM.CREATE.OPEN", { name: "OPEN", subjects: ["open.dlq"] }))["error"], undefined);
  await terminate("C3", "OPEN", 1, 1);
  await terminate("C4", "OPEN", 1, 1);
  await waitFor(async () => (await dlqCount("OPEN")) === 2, 5000);
});
