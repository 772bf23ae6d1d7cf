/**
 * Dead letters are deduplicated per (stream, consumer, sequence) in their dead-letter stream, and
 * after a restart too: a consumer whose state lagged its last deliveries (see CONSUMER_STATE_FLUSH_MS)
 * gives the same message up again, and the dead-letter stream keeps one copy.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { copyToDeadLetters, storedDeadLetterId } from "../../../src/jetstream/dead-letter.js";
import { Stream } from "../../../src/jetstream/stream.js";
import { normalizeStreamConfig, type StreamConfig } from "../../../src/jetstream/stream-config.js";
import { MemoryStore } from "../../../src/stores/memory/memory-store.js";
import type { StoredMsg } from "../../../src/stores/types.js";

const cfg = normalizeStreamConfig({ name: "DLQ", subjects: ["dlq"] }) as StreamConfig;
const original = (seq: number): StoredMsg => ({ seq, subject: "jobs.a", timeNs: 1n, headers: Buffer.from("NATS/1.0\r\nNats-Msg-Id: same-id\r\n\r\n"), data: Buffer.from(`m${seq}`) });

test("dead letters: one per message and consumer, whatever Nats-Msg-Id the originals carry; still one after a restart", async () => {
  const store = new MemoryStore();
  const streams = new Map([["DLQ", { stream: new Stream(cfg, store, new Date()), consumers: new Map() }]]);
  const put = (consumer: string, seq: number): Promise<unknown> => copyToDeadLetters(streams, "DLQ", "JOBS", consumer, original(seq), 3, "max_deliveries");
  assert.deepEqual(await put("C1", 1), { seq: 1, duplicate: false });
  assert.deepEqual(await put("C2", 1), { seq: 2, duplicate: false }, "another consumer's dead letter of the same message");
  assert.deepEqual(await put("C1", 2), { seq: 3, duplicate: false }, "another message with the same Nats-Msg-Id");
  assert.deepEqual(await put("C1", 1), { seq: 1, duplicate: true });

  // A restart: a new Stream on the same store rebuilds its window from what is stored.
  const restarted = new Map([["DLQ", { stream: new Stream(cfg, store, new Date()), consumers: new Map() }]]);
  restarted.get("DLQ")?.stream.loadDedupLater(storedDeadLetterId);
  const again = await copyToDeadLetters(restarted, "DLQ", "JOBS", "C2", original(1), 3, "max_deliveries");
  assert.deepEqual(again, { seq: 2, duplicate: true });
  assert.equal(store.state().messages, 3);
});
