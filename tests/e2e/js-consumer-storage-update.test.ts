/**
 * A durable consumer's `mem_storage` cannot be changed by an update, as nats-server 2.10 refuses
 * it (`server/consumer.go`: 500 / 10012 "storage type can not be updated"; 2.9.10 still took it).
 * Found by the 4,000,000-frame fuzz run: a durable on a file stream made with `mem_storage: true`
 * has no files, and once updated to `false` every state write failed (ENOENT, retried and logged
 * every second) and the consumer was gone after a restart although it was answered as durable.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { jetstream } from "@nats-io/jetstream";
import { CONSUMER_STATE_FLUSH_MS } from "../../src/jetstream/consumer-state-writer.js";
import { startJsServer } from "../helpers/js-server.js";

test("a durable's mem_storage is not changed by an update; its state writes never fail for want of files", async (t) => {
  const { server, nc, warnings, api } = await startJsServer(t);

  await api("STREAM.CREATE.S", { name: "S", subjects: ["s"] });
  for (const [from, to] of [
    [true, false],
    [false, true],
  ] as const) {
    const name = from ? "MEM" : "FILE";
    const made = await api(`CONSUMER.CREATE.S.${name}`, { stream_name: "S", config: { durable_name: name, ack_policy: "explicit", mem_storage: from } });
    assert.equal(made["error"], undefined, JSON.stringify(made));
    const res = await api(`CONSUMER.CREATE.S.${name}`, { stream_name: "S", config: { durable_name: name, ack_policy: "explicit", mem_storage: to } });
    assert.deepEqual(res["error"], { code: 500, err_code: 10012, description: "storage type can not be updated" }, `${from} -> ${to}`);
    const info = await api(`CONSUMER.INFO.S.${name}`, {});
    assert.equal((info["config"] as { mem_storage?: boolean }).mem_storage === true, from, "the config is unchanged");
  }

  // The consumer made in memory takes a delivery and an ack; its state stays in memory, no write fails.
  const js = jetstream(nc);
  await js.publish("s", "x");
  const m = await (await js.consumers.get("S", "MEM")).next({ expires: 5000 });
  assert.equal(m?.seq, 1);
  assert.equal(await m?.ackAck(), true);
  // Absence is what is asserted: wait well past the state flush that would fail.
  await new Promise((r) => setTimeout(r, CONSUMER_STATE_FLUSH_MS * 6));
  assert.deepEqual(warnings, []);
  assert.equal(server.jetstream?.metadataWriteErrors, 0);
});
