import { test } from "node:test";
import assert from "node:assert/strict";
import { normalizeConsumerConfig, type ConsumerConfig } from "../../src/jetstream/consumer-config.js";
import { checkStreamUpdate, normalizeStreamConfig, type StreamConfig } from "../../src/jetstream/stream-config.js";

/**
 * Every config cuebus stores (meta.json of a stream, of a durable consumer) is read back at start
 * through the same strict normalizers that check requests. A normalized config, written as JSON and
 * read again, must pass unchanged: same fields, same values, same order.
 */

const roundTrip = (v: unknown): unknown => JSON.parse(JSON.stringify(v));

const streams: Array<Record<string, unknown>> = [
  { name: "A" },
  { name: "B", description: "orders", subjects: ["b.>", "c.*"], retention: "workqueue", max_msgs: 10, max_bytes: 1 << 20, max_msgs_per_subject: 2, max_msg_size: 2147483647, discard: "NEW", storage: "memory" },
  // Largest Go values: int64 max durations, limits at their extremes.
  { name: "C", max_age: 9223372036854775807, duplicate_window: 9223372036854775807, max_msgs: 9223372036854775807, max_consumers: -5, max_bytes: -9223372036854775808 },
  { name: "D", max_age: 1_000_000_000, allow_direct: true, deny_delete: true, deny_purge: true, metadata: { owner: "team-a", "cuebus.note": "" } },
  { name: "E", max_age: 60_000_000_000, duplicate_window: 100_000_000, allow_rollup_hdrs: true, num_replicas: 1 },
];

test("a normalized stream config passes normalization again unchanged", () => {
  for (const input of streams) {
    // Requests arrive as text: the literal int64 max is read exactly, not as a rounded double.
    const first = normalizeStreamConfig(roundTrip(input));
    assert.ok(!("err_code" in first), `${JSON.stringify(input)}: ${JSON.stringify(first)}`);
    const again = normalizeStreamConfig(roundTrip(first));
    assert.equal(JSON.stringify(again), JSON.stringify(first), `${input["name"] as string} round trip`);
  }
  // A sealed update's adjustments (max_age 0, discard new, denials) are stable too.
  const old = normalizeStreamConfig({ name: "S", max_age: 1_000_000_000 }) as StreamConfig;
  const sealed = checkStreamUpdate(old, normalizeStreamConfig({ name: "S", max_age: 1_000_000_000, sealed: true }) as StreamConfig);
  assert.ok(!("err_code" in sealed));
  assert.equal(JSON.stringify(normalizeStreamConfig(roundTrip(sealed))), JSON.stringify(sealed));
});

const consumers: Array<Record<string, unknown>> = [
  { durable_name: "d1", ack_policy: "explicit" },
  { name: "ephemeral-1" },
  { durable_name: "d2", description: "x", deliver_policy: "by_start_sequence", opt_start_seq: 18446744073709551615, ack_policy: "all", max_deliver: 5, backoff: [1_000_000_000, 9223372036854775807], filter_subject: "s.a", replay_policy: "original", max_ack_pending: -1, max_waiting: 3, max_batch: 10, max_expires: 1_000_000, max_bytes: 1024, headers_only: true, mem_storage: true },
  { durable_name: "d3", deliver_policy: "by_start_time", opt_start_time: "2023-01-01T00:00:00.123456789+02:00", ack_policy: "explicit", ack_wait: 9223372036854775807, inactive_threshold: 9223372036854775807, sample_freq: "50%" },
  { durable_name: "push", deliver_subject: "out.here", deliver_group: "g", idle_heartbeat: 5_000_000_000, flow_control: true, rate_limit_bps: 1000, ack_policy: "explicit", ack_wait: -1 },
  { durable_name: "multi", deliver_policy: "last_per_subject", filter_subjects: ["s.a", "s.b.>"], metadata: { "cuebus.dead_letter_stream": "DLQ" } },
  { deliver_policy: "undefined", inactive_threshold: -1 },
];

test("a normalized consumer config passes normalization again unchanged", () => {
  const stream = normalizeStreamConfig({ name: "S", subjects: ["s.>"] }) as StreamConfig;
  for (const input of consumers) {
    const first = normalizeConsumerConfig(roundTrip(input), stream);
    assert.ok(!("err_code" in first), `${JSON.stringify(input)}: ${JSON.stringify(first)}`);
    const again = normalizeConsumerConfig(roundTrip(first), stream) as ConsumerConfig;
    assert.equal(JSON.stringify(again), JSON.stringify(first), `${JSON.stringify(input)} round trip`);
  }
});

test("what cuebus prints for int64 max is again a valid Go int64 (JS numbers round 2^63-1 up)", () => {
  const cfg = normalizeStreamConfig({ name: "M", max_age: 2 ** 63 }) as StreamConfig;
  const printed = JSON.stringify(cfg.max_age);
  assert.ok(BigInt(printed) <= 2n ** 63n - 1n, printed);
});

test("configs an earlier cuebus accepted and stored still load at start, though a request with them is now refused", () => {
  // Earlier releases took these without nats-server's checks; a stricter release must not lose the stream.
  const stored: Array<Record<string, unknown>> = [
    { name: "FAST", subjects: ["fast"], max_age: 50_000_000, duplicate_window: 50_000_000 },
    { name: "LOCKED", subjects: ["locked"], deny_purge: true, allow_rollup_hdrs: true },
    { name: "TWICE", subjects: ["a.*", "a.b"] },
  ];
  for (const cfg of stored) {
    assert.ok("err_code" in normalizeStreamConfig(cfg), `${cfg["name"] as string} refused as a request`);
    const recovered = normalizeStreamConfig(cfg, { recovering: true });
    assert.ok(!("err_code" in recovered), `${cfg["name"] as string}: ${JSON.stringify(recovered)}`);
    assert.equal(JSON.stringify(normalizeStreamConfig(roundTrip(recovered), { recovering: true })), JSON.stringify(recovered));
  }
  // Types and the name (a directory) are still checked.
  assert.ok("err_code" in normalizeStreamConfig({ name: "a/b" }, { recovering: true }));
  assert.ok("err_code" in normalizeStreamConfig({ name: "X", max_msgs: "5" }, { recovering: true }));
  // A consumer whose filter its stream no longer covers is still served as it was.
  const stream = normalizeStreamConfig({ name: "S", subjects: ["t.>"] }) as StreamConfig;
  const consumer = { durable_name: "d", filter_subject: "s.a", ack_policy: "explicit", sample_freq: "x" };
  assert.ok("err_code" in normalizeConsumerConfig(consumer, stream));
  assert.ok(!("err_code" in normalizeConsumerConfig(consumer, stream, { recovering: true })));
  assert.ok("err_code" in normalizeConsumerConfig({ durable_name: "a.b" }, stream, { recovering: true }));
});
