import { test } from "node:test";
import assert from "node:assert/strict";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { jetStreamPair } from "../helpers/js-pair.js";

/**
 * The same `$JS.API` requests sent to the real `nats-server -js` (Debian 2.9.10) and to cuebus,
 * in the same order; the JSON replies must be equal field by field once what legitimately differs
 * is masked: times, the API request counters (nats-server leaves some requests uncounted) and the
 * account's storage total (nats-server updates it lazily after deletes; the stream's own `bytes`,
 * which is compared, agrees).
 */
const MASK_KEYS = new Set(["created", "first_ts", "last_ts", "last_active", "time", "ts", "api"]);

function mask(v: unknown, path = ""): unknown {
  if (Array.isArray(v)) return v.map((x) => mask(x, path));
  if (v !== null && typeof v === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      if (MASK_KEYS.has(k) || (k === "storage" && typeof x === "number")) out[k] = "<masked>";
      else out[k] = mask(x, `${path}.${k}`);
    }
    return out;
  }
  return v;
}

type Step = [subject: string, body: unknown];

const steps: Step[] = [
  ["$JS.API.INFO", ""],
  ["$JS.API.STREAM.CREATE.ORDERS", { name: "ORDERS", subjects: ["orders.>"], storage: "file" }],
  ["$JS.API.STREAM.CREATE.ORDERS", { name: "ORDERS", subjects: ["orders.>"], storage: "file" }],
  ["$JS.API.STREAM.CREATE.ORDERS", { name: "ORDERS", subjects: ["other.>"] }],
  ["$JS.API.STREAM.CREATE.BAD", { name: "OTHER" }],
  ["$JS.API.STREAM.CREATE.OVERLAP", { name: "OVERLAP", subjects: ["orders.new"] }],
  ["$JS.API.STREAM.CREATE.J", "{not json"],
  ["$JS.API.STREAM.INFO.NOPE", ""],
  ["$JS.API.STREAM.NAMES", ""],
  ["$JS.API.STREAM.LIST", ""],
  ["$JS.API.STREAM.MSG.GET.ORDERS", { seq: 1 }],
  ["$JS.API.STREAM.MSG.GET.ORDERS", { last_by_subj: "orders.none" }],
  ["$JS.API.STREAM.MSG.DELETE.ORDERS", { seq: 5 }],
  ["$JS.API.STREAM.MSG.DELETE.ORDERS", { seq: 2 }],
  ["$JS.API.STREAM.MSG.DELETE.ORDERS", { seq: 2 }],
  ["$JS.API.STREAM.MSG.GET.ORDERS", { seq: 2 }],
  ["$JS.API.CONSUMER.DURABLE.CREATE.ORDERS.d1", { stream_name: "ORDERS", config: { durable_name: "d1", ack_policy: "explicit" } }],
  ["$JS.API.CONSUMER.DURABLE.CREATE.ORDERS.d1", { stream_name: "ORDERS", config: { durable_name: "d1", ack_policy: "explicit" } }],
  ["$JS.API.CONSUMER.DURABLE.CREATE.ORDERS.d1", { stream_name: "ORDERS", config: { durable_name: "d1", ack_policy: "none" } }],
  ["$JS.API.CONSUMER.DURABLE.CREATE.ORDERS.d2", { stream_name: "ORDERS", config: { durable_name: "other", ack_policy: "explicit" } }],
  ["$JS.API.CONSUMER.DURABLE.CREATE.ORDERS.d3", { stream_name: "ORDERS", config: { ack_policy: "explicit" } }],
  ["$JS.API.CONSUMER.CREATE.ORDERS", { stream_name: "ORDERS", config: { durable_name: "x" } }],
  ["$JS.API.CONSUMER.CREATE.ORDERS.named.orders.new", { stream_name: "ORDERS", config: { name: "named", filter_subject: "orders.new", ack_policy: "explicit" } }],
  ["$JS.API.CONSUMER.CREATE.ORDERS.bad.orders.new", { stream_name: "ORDERS", config: { name: "bad", filter_subject: "orders.paid" } }],
  ["$JS.API.CONSUMER.CREATE.ORDERS.pushy", { stream_name: "ORDERS", config: { name: "pushy", deliver_subject: "orders.loop" } }],
  ["$JS.API.CONSUMER.CREATE.ORDERS.pushw", { stream_name: "ORDERS", config: { name: "pushw", deliver_subject: "dl.*" } }],
  ["$JS.API.CONSUMER.CREATE.ORDERS.fc", { stream_name: "ORDERS", config: { name: "fc", deliver_subject: "dl.fc", flow_control: true } }],
  ["$JS.API.CONSUMER.CREATE.ORDERS.hb", { stream_name: "ORDERS", config: { name: "hb", idle_heartbeat: 1000000000 } }],
  ["$JS.API.CONSUMER.CREATE.ORDERS.pol", { stream_name: "ORDERS", config: { name: "pol", deliver_policy: "by_start_sequence" } }],
  ["$JS.API.CONSUMER.CREATE.ORDERS.pol2", { stream_name: "ORDERS", config: { name: "pol2", deliver_policy: "last_per_subject" } }],
  ["$JS.API.CONSUMER.CREATE.ORDERS.bo", { stream_name: "ORDERS", config: { name: "bo", ack_policy: "explicit", backoff: [1000000000, 2000000000], max_deliver: 2 } }],
  ["$JS.API.CONSUMER.CREATE.ORDERS.filt", { stream_name: "ORDERS", config: { name: "filt", filter_subject: "nope.>" } }],
  ["$JS.API.CONSUMER.CREATE.NOPE.x", { stream_name: "NOPE", config: { name: "x" } }],
  ["$JS.API.CONSUMER.CREATE.ORDERS.x", { stream_name: "OTHER", config: { name: "x" } }],
  ["$JS.API.CONSUMER.INFO.ORDERS.d1", ""],
  ["$JS.API.CONSUMER.INFO.ORDERS.nope", ""],
  ["$JS.API.CONSUMER.NAMES.ORDERS", ""],
  ["$JS.API.CONSUMER.LIST.ORDERS", ""],
  ["$JS.API.CONSUMER.DELETE.ORDERS.named", ""],
  ["$JS.API.CONSUMER.DELETE.ORDERS.named", ""],
  ["$JS.API.STREAM.PURGE.ORDERS", { filter: "orders.new", keep: 1 }],
  ["$JS.API.STREAM.UPDATE.ORDERS", { name: "ORDERS", subjects: ["orders.>"], storage: "memory" }],
  ["$JS.API.STREAM.INFO.ORDERS", ""],
  ["$JS.API.INFO", ""],
  ["$JS.API.STREAM.DELETE.ORDERS", ""],
  ["$JS.API.STREAM.DELETE.ORDERS", ""],
];

/** Publish the same messages to both servers between creating the stream and reading it. */
async function publishSome(nc: NatsConnection): Promise<void> {
  for (const s of ["orders.new", "orders.paid", "orders.new"]) await nc.request(s, "x");
}

async function run(port: number): Promise<unknown[]> {
  const nc = await connect({ port, noEcho: false });
  const out: unknown[] = [];
  try {
    for (const [i, [subject, body]] of steps.entries()) {
      if (i === 7) await publishSome(nc);
      const payload = typeof body === "string" ? body : JSON.stringify(body);
      const r = await nc.request(subject, payload, { timeout: 2000 });
      out.push(mask(r.json()));
    }
  } finally {
    await nc.close();
  }
  return out;
}

/**
 * nats-server 2.9.10 says only `invalid JSON` (err_code 10025); cuebus adds, as 2.10 does, why:
 * `invalid JSON: config.max_deliver must be an integer ...`. Such an answer is compared by code,
 * err_code and that prefix: our description is taken as nats-server's when it starts with it.
 */
function sameInvalidJson(ours: unknown, theirs: unknown): unknown {
  const e = (ours as { error?: { err_code?: number; description?: string } } | null)?.error;
  const r = (theirs as { error?: { err_code?: number; description?: string } } | null)?.error;
  if (e?.err_code !== 10025 || r?.err_code !== 10025 || r.description !== "invalid JSON" || e.description?.startsWith("invalid JSON: ") !== true) return ours;
  return { ...(ours as object), error: { ...e, description: r.description } };
}

test("$JS.API replies match nats-server -js field by field (times masked)", async (t) => {
  const { realPort, ourPort } = await jetStreamPair(t);
  const [a, b] = await Promise.all([run(realPort), run(ourPort)]);
  const diffs: string[] = [];
  for (let i = 0; i < steps.length; i++) {
    try {
      assert.deepEqual(sameInvalidJson(b[i], a[i]), a[i]);
    } catch {
      diffs.push(`step ${i}: ${(steps[i] as Step)[0]} ${JSON.stringify((steps[i] as Step)[1])}\n  nats-server: ${JSON.stringify(a[i])}\n  cuebus:      ${JSON.stringify(b[i])}`);
    }
  }
  assert.deepEqual(diffs, []);
});
