import { test } from "node:test";
import assert from "node:assert/strict";
import { connect, createInbox, headers, type NatsConnection } from "@nats-io/transport-node";
import { jetStreamPair } from "../helpers/js-pair.js";
import { apiTable, directGetTable, pullTable } from "../helpers/jsapi-type-table.js";

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
  // Issue 14: bad input, on a stream B with three messages. Each refusal must change nothing,
  // which the STREAM.INFO steps between them show (same state, same config).
  ["$JS.API.STREAM.CREATE.B", { name: "B", subjects: ["b.>"] }],
  ["#pub b.1", ""],
  ["#pub b.2", ""],
  ["#pub b.1", ""],
  ["$JS.API.STREAM.PURGE.B", { seq: "x" }],
  ["$JS.API.STREAM.PURGE.B", { keep: "x" }],
  ["$JS.API.STREAM.PURGE.B", { filter: 5 }],
  ["$JS.API.STREAM.PURGE.B", { keep: -1 }],
  ["$JS.API.STREAM.PURGE.B", '{"seq":1.0}'],
  ["$JS.API.STREAM.PURGE.B", "[]"],
  ["$JS.API.STREAM.PURGE.B", " "],
  ["$JS.API.STREAM.PURGE.B", { seq: 2, keep: 1 }],
  ["$JS.API.STREAM.PURGE.NOPE", { keep: "x" }],
  ["$JS.API.STREAM.INFO.B", ""],
  ["$JS.API.STREAM.UPDATE.B", { name: "B", subjects: "b.>" }],
  ["$JS.API.STREAM.UPDATE.B", '{"name":"B","subjects":["b.>"],"max_msgs":"5"}'],
  ["$JS.API.STREAM.UPDATE.B", ""],
  ["$JS.API.STREAM.UPDATE.B", {}],
  ["$JS.API.STREAM.UPDATE.B", { name: "B", subjects: ["b.>"], storage: "memory" }],
  ["$JS.API.STREAM.UPDATE.B", { name: "B", subjects: ["b.>"], retention: "workqueue" }],
  ["$JS.API.STREAM.UPDATE.B", { name: "B", subjects: ["b.>"], max_consumers: 5 }],
  ["$JS.API.STREAM.UPDATE.B", { name: "B", subjects: ["b..x"] }],
  ["$JS.API.STREAM.UPDATE.B", { name: "B", subjects: ["b.>"], num_replicas: -1 }],
  ["$JS.API.STREAM.UPDATE.NOPE", { name: "NOPE" }],
  ["$JS.API.STREAM.INFO.B", ""],
  ["$JS.API.STREAM.CREATE.T", '{"name":"T","max_msgs":"5"}'],
  ["$JS.API.STREAM.CREATE.T", { name: "T", storage: "disk" }],
  ["$JS.API.STREAM.CREATE.T", { name: "T", storage: null }],
  ["$JS.API.STREAM.CREATE.T", { name: "T", retention: 5 }],
  ["$JS.API.STREAM.CREATE.T", { name: "T", retention: "Limits" }],
  ["$JS.API.STREAM.CREATE.T", '{"name":"T","max_msg_size":2147483648}'],
  ["$JS.API.STREAM.CREATE.T", '{"name":"T","max_age":9223372036854775808}'],
  ["$JS.API.STREAM.CREATE.T", '{"name":"T","MAX_MSGS":"x"}'],
  ["$JS.API.STREAM.CREATE.T", ""],
  ["$JS.API.STREAM.CREATE.T", "null"],
  ["$JS.API.STREAM.CREATE.T", {}],
  ["$JS.API.STREAM.CREATE.T", { name: "T", max_age: -1 }],
  ["$JS.API.STREAM.CREATE.T", { name: "T", max_age: 5 }],
  ["$JS.API.STREAM.CREATE.T", { name: "T", duplicate_window: 50 }],
  ["$JS.API.STREAM.CREATE.T", { name: "T", max_age: 1_000_000_000, duplicate_window: 2_000_000_000 }],
  ["$JS.API.STREAM.CREATE.T", { name: "T", num_replicas: -1 }],
  ["$JS.API.STREAM.CREATE.T", { name: "T", num_replicas: 3 }],
  ["$JS.API.STREAM.CREATE.T", { name: "T", num_replicas: 6 }],
  ["$JS.API.STREAM.CREATE.T", { name: "T", subjects: ["a..b"] }],
  ["$JS.API.STREAM.CREATE.T", { name: "T", subjects: ["t", "t"] }],
  ["$JS.API.STREAM.CREATE.T", { name: "T", subjects: ["$JS.API.x"] }],
  ["$JS.API.STREAM.CREATE.T", { name: "T", subjects: ["t.*", "t.a"] }],
  ["$JS.API.STREAM.CREATE.T", { name: "T", subjects: [null] }],
  ["$JS.API.STREAM.CREATE.T", { name: "T", deny_purge: true, allow_rollup_hdrs: true }],
  ["$JS.API.STREAM.CREATE.T", { name: "T", sealed: true }],
  ["$JS.API.STREAM.CREATE.T", { name: "T", mirror_direct: true }],
  ["$JS.API.STREAM.CREATE.T", { name: "T", discard_new_per_subject: true }],
  ["$JS.API.STREAM.CREATE.T", { name: "T", description: "d".repeat(4097) }],
  ["$JS.API.STREAM.CREATE.T", { name: "T", discard: "NEW", max_msgs: -5, max_msg_size: -7, max_consumers: -3, description: "ok" }],
  ["$JS.API.STREAM.MSG.GET.B", ""],
  ["$JS.API.STREAM.MSG.GET.B", { seq: "1" }],
  ["$JS.API.STREAM.MSG.GET.B", { seq: -1 }],
  ["$JS.API.STREAM.MSG.GET.B", { last_by_subj: 5 }],
  ["$JS.API.STREAM.MSG.GET.B", { seq: 1, last_by_subj: "b.1" }],
  ["$JS.API.STREAM.MSG.GET.B", { next_by_subj: "b.1", last_by_subj: "b.1" }],
  ["$JS.API.STREAM.MSG.GET.B", "null"],
  ["$JS.API.STREAM.MSG.GET.NOPE", { seq: "x" }],
  ["$JS.API.STREAM.MSG.GET.NOPE", ""],
  ["$JS.API.STREAM.MSG.DELETE.B", ""],
  ["$JS.API.STREAM.MSG.DELETE.B", { seq: "1" }],
  ["$JS.API.STREAM.MSG.DELETE.B", { seq: 1, no_erase: "yes" }],
  ["$JS.API.STREAM.MSG.DELETE.B", { seq: 0 }],
  ["$JS.API.STREAM.MSG.DELETE.B", "null"],
  ["$JS.API.STREAM.MSG.DELETE.NOPE", { seq: "x" }],
  ["$JS.API.STREAM.NAMES", { offset: "1" }],
  ["$JS.API.STREAM.NAMES", { subject: 5 }],
  ["$JS.API.STREAM.NAMES", { offset: 5 }],
  ["$JS.API.STREAM.NAMES", { subject: "x.y" }],
  ["$JS.API.STREAM.NAMES", "null"],
  ["$JS.API.STREAM.LIST", { offset: 1.5 }],
  ["$JS.API.STREAM.LIST", { offset: 100 }],
  ["$JS.API.STREAM.INFO.B", { deleted_details: "x" }],
  ["$JS.API.STREAM.INFO.NOPE", { offset: "1" }],
  ["$JS.API.STREAM.DELETE.NOPE", { x: 1 }],
  ["$JS.API.CONSUMER.INFO.B.x", { x: 1 }],
  ["$JS.API.CONSUMER.DELETE.B.x", "null"],
  ["$JS.API.CONSUMER.NAMES.B", { offset: "1" }],
  ["$JS.API.CONSUMER.LIST.NOPE", { offset: "1" }],
  ["$JS.API.CONSUMER.NAMES.B", { offset: 7 }],
  ["$JS.API.CONSUMER.DURABLE.CREATE.B.d", { stream_name: "B", config: { durable_name: "d", ack_policy: "explicit", max_deliver: 3 } }],
  ["$JS.API.CONSUMER.DURABLE.CREATE.B.d", { stream_name: "B", config: { durable_name: "d", ack_policy: "explicit", max_deliver: "x" } }],
  ["$JS.API.CONSUMER.DURABLE.CREATE.B.d", { stream_name: "B", config: { durable_name: "d", ack_policy: "fast" } }],
  ["$JS.API.CONSUMER.DURABLE.CREATE.B.d", { stream_name: "B", config: { durable_name: "d", ack_policy: "explicit", replay_policy: null } }],
  ["$JS.API.CONSUMER.DURABLE.CREATE.B.d", { stream_name: "B", config: { durable_name: "d", ack_policy: "explicit", deliver_policy: "ALL" } }],
  ["$JS.API.CONSUMER.INFO.B.d", ""],
  ["$JS.API.CONSUMER.CREATE.B.n", { stream_name: "B", config: { name: "n", ack_wait: "1s" } }],
  ["$JS.API.CONSUMER.CREATE.B.n", { stream_name: "B", config: { name: "n", deliver_policy: "by_start_time", opt_start_time: "yesterday" } }],
  ["$JS.API.CONSUMER.CREATE.B.n", { stream_name: "B", config: { name: "n", deliver_policy: "by_start_time", opt_start_time: "2023-01-01 00:00:00Z" } }],
  ["$JS.API.CONSUMER.CREATE.B.n", { stream_name: "B", config: { name: "n", backoff: [1.5] } }],
  ["$JS.API.CONSUMER.CREATE.B.n", { stream_name: "B", config: { name: "n", sample_freq: "abc" } }],
  ["$JS.API.CONSUMER.CREATE.B.n", { stream_name: "B", config: { name: "n", sample_freq: "-5" } }],
  ["$JS.API.CONSUMER.CREATE.B.n", { stream_name: "B", config: { name: "n", max_waiting: -1 } }],
  ["$JS.API.CONSUMER.CREATE.B.n", { stream_name: "B", config: { name: "n", max_batch: -1 } }],
  ["$JS.API.CONSUMER.CREATE.B.n", { stream_name: "B", config: { name: "n", max_expires: 100 } }],
  ["$JS.API.CONSUMER.CREATE.B.n", { stream_name: "B", config: { name: "n", num_replicas: -1 } }],
  ["$JS.API.CONSUMER.CREATE.B.n", { stream_name: "B", config: { name: "n", num_replicas: 2 } }],
  ["$JS.API.CONSUMER.CREATE.B.n", { stream_name: "B", config: { name: "n", filter_subject: "a..b" } }],
  ["$JS.API.CONSUMER.CREATE.B.n", { stream_name: "B", config: { name: "n", deliver_subject: "a..b" } }],
  ["$JS.API.CONSUMER.CREATE.B.n", { stream_name: "B", config: { name: "a.b" } }],
  ["$JS.API.CONSUMER.CREATE.B.n", { stream_name: "B", config: { name: "n", description: "d".repeat(4097) } }],
  ["$JS.API.CONSUMER.CREATE.B.n", { stream_name: "B", config: 5 }],
  ["$JS.API.CONSUMER.CREATE.B.n", { stream_name: 5, config: { name: "n" } }],
  ["$JS.API.CONSUMER.CREATE.B.n", { stream_name: null, config: { name: "n" } }],
  ["$JS.API.CONSUMER.CREATE.B.n", ""],
  ["$JS.API.CONSUMER.CREATE.B.n", "null"],
  ["$JS.API.CONSUMER.CREATE.NOPE.n", { stream_name: "NOPE", config: { name: "n", max_deliver: "x" } }],
  ["$JS.API.CONSUMER.CREATE.B.n", { stream_name: "B", config: { name: "n", ack_policy: "explicit", ack_wait: -1, max_ack_pending: -5, max_bytes: -1, backoff: [-1, null], max_deliver: 5 } }],
  ["$JS.API.CONSUMER.DURABLE.CREATE.B.n2", { stream_name: "B", config: { durable_name: "n2", inactive_threshold: -1, deliver_policy: "undefined" } }],
  ["$JS.API.CONSUMER.NAMES.B", ""],
  ["$JS.API.STREAM.INFO.B", ""],
  // Issue 15: STREAM.INFO's subject counts (subjects_filter, paged by offset) and deleted sequences
  // (deleted_details), on a file stream with two interior deletes.
  ["$JS.API.STREAM.CREATE.S15", { name: "S15", subjects: ["s.>", "t.*"] }],
  ["#pub s.a", ""],
  ["#pub s.b", ""],
  ["#pub s.a", ""],
  ["#pub t.x", ""],
  ["#pub s.c", ""],
  ["#pub s.d.e", ""],
  ["$JS.API.STREAM.MSG.DELETE.S15", { seq: 2 }],
  ["$JS.API.STREAM.MSG.DELETE.S15", { seq: 4 }],
  ["$JS.API.STREAM.INFO.S15", { subjects_filter: ">" }],
  ["$JS.API.STREAM.INFO.S15", { subjects_filter: "s.*" }],
  ["$JS.API.STREAM.INFO.S15", { subjects_filter: "s.*", offset: 1 }],
  // Past the end: the paging fields, no map.
  ["$JS.API.STREAM.INFO.S15", { subjects_filter: "s.*", offset: 9 }],
  // Nothing matches: no map and zero paging fields.
  ["$JS.API.STREAM.INFO.S15", { subjects_filter: "nope" }],
  ["$JS.API.STREAM.INFO.S15", { subjects_filter: "s.a" }],
  ["$JS.API.STREAM.INFO.S15", { subjects_filter: "" }],
  ["$JS.API.STREAM.INFO.S15", { deleted_details: true }],
  ["$JS.API.STREAM.INFO.S15", { deleted_details: false }],
  ["$JS.API.STREAM.INFO.S15", { deleted_details: true, subjects_filter: "s.>" }],
  // The last sequence deleted is listed too (a file stream; nats-server 2.9.10's memory store
  // leaves the last sequence out of `deleted` while `num_deleted` counts it; 2.10's lists it).
  ["$JS.API.STREAM.MSG.DELETE.S15", { seq: 6 }],
  ["$JS.API.STREAM.INFO.S15", { deleted_details: true }],
  // STREAM.NAMES / LIST with `subject`: the streams whose subjects overlap it.
  ["$JS.API.STREAM.CREATE.T15", { name: "T15", subjects: ["foo.*"], storage: "memory" }],
  ["$JS.API.STREAM.NAMES", { subject: "s.a" }],
  ["$JS.API.STREAM.NAMES", { subject: "s.*" }],
  ["$JS.API.STREAM.NAMES", { subject: ">" }],
  ["$JS.API.STREAM.NAMES", { subject: "*.x" }],
  ["$JS.API.STREAM.NAMES", { subject: "foo.bar" }],
  ["$JS.API.STREAM.NAMES", { subject: "foo.>" }],
  ["$JS.API.STREAM.NAMES", { subject: "foo" }],
  ["$JS.API.STREAM.NAMES", { subject: "t" }],
  ["$JS.API.STREAM.NAMES", { subject: "t.>" }],
  ["$JS.API.STREAM.NAMES", { subject: "b.>", offset: 1 }],
  ["$JS.API.STREAM.LIST", { subject: "s.a" }],
  ["$JS.API.STREAM.LIST", { subject: "nope" }],
  // STREAM.MSG.DELETE of a sequence that is not there: nats-server's memory store always answers
  // 10043; its file store so only inside first..last ("no message found" below, EOF above).
  ["$JS.API.STREAM.CREATE.M15", { name: "M15", storage: "memory" }],
  ["$JS.API.STREAM.CREATE.F15", { name: "F15" }],
  ["$JS.API.STREAM.MSG.DELETE.M15", { seq: 0 }],
  ["$JS.API.STREAM.MSG.DELETE.M15", { seq: 1 }],
  ["$JS.API.STREAM.MSG.DELETE.F15", { seq: 0 }],
  ["$JS.API.STREAM.MSG.DELETE.F15", { seq: 1 }],
  ["#pub M15", ""],
  ["#pub M15", ""],
  ["#pub M15", ""],
  ["#pub M15", ""],
  ["#pub F15", ""],
  ["#pub F15", ""],
  ["#pub F15", ""],
  ["#pub F15", ""],
  ["$JS.API.STREAM.PURGE.M15", { seq: 3 }],
  ["$JS.API.STREAM.PURGE.F15", { seq: 3 }],
  ["$JS.API.STREAM.MSG.DELETE.M15", { seq: 1 }],
  ["$JS.API.STREAM.MSG.DELETE.F15", { seq: 1 }],
  ["$JS.API.STREAM.MSG.DELETE.M15", { seq: 0 }],
  ["$JS.API.STREAM.MSG.DELETE.M15", { seq: 5 }],
  ["$JS.API.STREAM.MSG.DELETE.F15", { seq: 5 }],
  ["$JS.API.STREAM.MSG.DELETE.F15", { seq: 4 }],
  ["$JS.API.STREAM.MSG.DELETE.F15", { seq: 4 }],
  ["$JS.API.STREAM.MSG.DELETE.F15", { seq: 3 }],
  ["$JS.API.STREAM.MSG.DELETE.F15", { seq: 3 }],
  ["$JS.API.STREAM.MSG.DELETE.F15", { seq: 4 }],
  ["$JS.API.STREAM.PURGE.M15", ""],
  ["$JS.API.STREAM.MSG.DELETE.M15", { seq: 4 }],
  ["$JS.API.STREAM.MSG.DELETE.M15", { seq: 5 }],
  // A message without payload (a KV delete marker): STREAM.MSG.GET leaves `data` out.
  ["#kvdel M15", ""],
  ["#pub0 M15", ""],
  ["$JS.API.STREAM.MSG.GET.M15", { seq: 5 }],
  ["$JS.API.STREAM.MSG.GET.M15", { seq: 6 }],
  ["$JS.API.STREAM.MSG.GET.M15", { last_by_subj: "M15" }],
  // discard_new_per_subject: its preconditions, then the publish past the subject's limit refused.
  ["$JS.API.STREAM.CREATE.D15", { name: "D15", discard_new_per_subject: true }],
  ["$JS.API.STREAM.CREATE.D15", { name: "D15", discard_new_per_subject: true, discard: "new" }],
  ["$JS.API.STREAM.CREATE.D15", { name: "D15", discard_new_per_subject: true, max_msgs_per_subject: 2 }],
  ["$JS.API.STREAM.CREATE.D15", { name: "D15", discard_new_per_subject: true, discard: "new", max_msgs_per_subject: 2 }],
  ["#pub D15", ""],
  ["#pub D15", ""],
  ["#pub D15", ""],
  ["$JS.API.STREAM.INFO.D15", ""],
  ["$JS.API.STREAM.CREATE.E15", { name: "E15", discard: "new" }],
  ["$JS.API.STREAM.UPDATE.E15", { name: "E15", discard_new_per_subject: true, discard: "new" }],
  ["$JS.API.STREAM.UPDATE.E15", { name: "E15", discard_new_per_subject: true, max_msgs_per_subject: 1 }],
  ["$JS.API.STREAM.UPDATE.E15", { name: "E15", discard_new_per_subject: true, discard: "new", max_msgs_per_subject: 1 }],
  ["#pub E15", ""],
  ["#pub E15", ""],
  // Replicas: refused on create and for a consumer without a cluster (10074); nats-server 2.9.10
  // (and 2.10) take a stream update to 3 replicas as it comes.
  ["$JS.API.STREAM.CREATE.R15", { name: "R15", num_replicas: 2 }],
  ["$JS.API.STREAM.CREATE.R15", { name: "R15" }],
  ["$JS.API.CONSUMER.CREATE.R15.c", { stream_name: "R15", config: { name: "c", num_replicas: 3 } }],
  ["$JS.API.STREAM.UPDATE.R15", { name: "R15", num_replicas: 3 }],
  ["$JS.API.STREAM.UPDATE.R15", { name: "R15", num_replicas: 6 }],
  // nats.c's test of deny_delete / deny_purge (test_JetStreamSealed... "AUDIT"): neither can be
  // turned off by an update; turning them on is allowed.
  ["$JS.API.STREAM.CREATE.AUDIT", { name: "AUDIT", storage: "memory", deny_delete: true, deny_purge: true }],
  ["#pub AUDIT", ""],
  ["$JS.API.STREAM.MSG.DELETE.AUDIT", { seq: 1 }],
  ["$JS.API.STREAM.PURGE.AUDIT", ""],
  ["$JS.API.STREAM.UPDATE.AUDIT", { name: "AUDIT", storage: "memory" }],
  ["$JS.API.STREAM.UPDATE.AUDIT", { name: "AUDIT", storage: "memory", deny_delete: true }],
  ["$JS.API.STREAM.UPDATE.AUDIT", { name: "AUDIT", storage: "memory", deny_purge: true }],
  ["$JS.API.STREAM.UPDATE.M15", { name: "M15", storage: "memory", deny_delete: true }],
  ["$JS.API.STREAM.UPDATE.M15", { name: "M15", storage: "memory", deny_delete: false, deny_purge: true }],
  ["$JS.API.STREAM.UPDATE.M15", { name: "M15", storage: "memory", deny_delete: true, deny_purge: true }],
  // RePublish (nats-server 2.9): its checks on create, refused changes on update (nats.c's
  // test_KeyValueRePublish updates a KV bucket's stream to add one), and the republished messages.
  ["$JS.API.STREAM.CREATE.RP", { name: "RP", subjects: ["rp.>"], republish: { src: "zz.>", dest: "out.>" } }],
  ["$JS.API.STREAM.CREATE.RP", { name: "RP", subjects: ["rp.>"], republish: { src: "rp.*", dest: "rp.x" } }],
  ["$JS.API.STREAM.CREATE.RP", { name: "RP", subjects: ["rp.>"], republish: { src: "rp.*", dest: "out.*" } }],
  ["$JS.API.STREAM.CREATE.RP", { name: "RP", subjects: ["rp.>"], republish: { src: "rp.>", dest: "out" } }],
  ["$JS.API.STREAM.CREATE.RP", { name: "RP", subjects: ["rp.>"], republish: { src: "rp.*", dest: "out" } }],
  ["$JS.API.STREAM.CREATE.RP", { name: "RP", subjects: ["rp.>"], republish: { src: "rp.*", dest: "out.$2" } }],
  ["$JS.API.STREAM.CREATE.RP", { name: "RP", subjects: ["rp.>"], republish: { src: "rp.*", dest: "out.{{wildcard()}}" } }],
  ["$JS.API.STREAM.CREATE.RP", { name: "RP", subjects: ["rp.>"], republish: { src: "rp.*", dest: "" } }],
  ["$JS.API.STREAM.CREATE.RP", { name: "RP", subjects: ["rp.>"], republish: { src: "rp.*.*", dest: "out.{{ Wildcard( 2 ) }}.$1", headers_only: false } }],
  ["$JS.API.STREAM.UPDATE.RP", { name: "RP", subjects: ["rp.>"], republish: { src: "rp.*.*", dest: "out.{{ Wildcard( 2 ) }}.$1", headers_only: true } }],
  ["$JS.API.STREAM.UPDATE.RP", { name: "RP", subjects: ["rp.>"], republish: { src: "rp.*.*", dest: "out.{{ Wildcard( 2 ) }}.$1" } }],
  ["$JS.API.STREAM.UPDATE.RP", { name: "RP", subjects: ["rp.>"] }],
  ["$JS.API.STREAM.CREATE.RH", { name: "RH", subjects: ["rh.*"], republish: { dest: "hout.>", headers_only: true } }],
  ["#pub rp.a.b", ""],
  ["#pub rp.a.c", ""],
  ["#pub rp.a.b", ""],
  ["#pub rp.x", ""],
  ["#kvdel rp.q.r", ""],
  ["#pub rh.k", ""],
  ["#pub rh.k", ""],
  // An interest stream does not store, nor republish, what no consumer wants.
  ["$JS.API.STREAM.CREATE.RJ", { name: "RJ", subjects: ["rj.*"], retention: "interest", republish: { src: "rj.*", dest: "out.rj.$1" } }],
  ["#pub rj.a", ""],
  ["$JS.API.STREAM.CREATE.RI", { name: "RI", subjects: ["ri.*"], retention: "interest", republish: { src: "ri.*", dest: "out.ri.$1" } }],
  ["$JS.API.CONSUMER.DURABLE.CREATE.RI.c", { stream_name: "RI", config: { durable_name: "c", ack_policy: "explicit", filter_subject: "ri.b" } }],
  ["#pub ri.a", ""],
  ["#pub ri.b", ""],
  ["#republished", ""],
  ["$JS.API.STREAM.CREATE.KV_RP", { name: "KV_RP", subjects: ["$KV.RP.>"], max_msgs_per_subject: 1, discard: "new", allow_rollup_hdrs: true, deny_delete: true, allow_direct: true }],
  ["$JS.API.STREAM.UPDATE.KV_RP", { name: "KV_RP", subjects: ["$KV.RP.>"], max_msgs_per_subject: 1, discard: "new", allow_rollup_hdrs: true, deny_delete: true, allow_direct: true, republish: { src: ">", dest: "bar.>" } }],
  ["$JS.API.INFO", ""],
];

/** Publish the same messages to both servers between creating the stream and reading it. */
async function publishSome(nc: NatsConnection): Promise<void> {
  for (const s of ["orders.new", "orders.paid", "orders.new"]) await nc.request(s, "x");
}

async function run(port: number): Promise<unknown[]> {
  const nc = await connect({ port, noEcho: false });
  const out: unknown[] = [];
  // What the RePublish steps send on: subject, header block (times masked) and payload, in order.
  const republished: string[] = [];
  for (const filter of ["out.>", "hout.>"]) {
    nc.subscribe(filter, {
      callback: (_e, m) => {
        republished.push(`${m.subject} ${JSON.stringify(m.headers?.toString() ?? "")} ${m.string()}`);
      },
    });
  }
  try {
    for (const [i, [subject, body]] of steps.entries()) {
      if (subject === "#republished") {
        await nc.flush();
        out.push(republished.splice(0));
        continue;
      }
      if (i === 7) await publishSome(nc);
      if (subject.startsWith("#pub ")) {
        out.push(mask((await nc.request(subject.slice(5), "x")).json()));
        continue;
      }
      // A publish without payload; `#kvdel` also with a KV delete marker's header.
      if (subject.startsWith("#pub0 ") || subject.startsWith("#kvdel ")) {
        const h = headers();
        h.set("KV-Operation", "DEL");
        const opts = subject.startsWith("#kvdel ") ? { timeout: 2000, headers: h } : { timeout: 2000 };
        out.push(mask((await nc.request(subject.slice(subject.indexOf(" ") + 1), new Uint8Array(0), opts)).json()));
        continue;
      }
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
  // Not equal by being empty: nats-server republished the seven messages RePublish matches.
  const republished = a[steps.findIndex(([subject]) => subject === "#republished")];
  assert.equal((republished as string[]).length, 7, JSON.stringify(republished));
});

/** Answers to the type table's rows (tests/helpers/jsapi-type-table.ts) the oracle knows the field of. */
async function runTable(port: number): Promise<{ api: unknown[]; pull: string[]; direct: string[] }> {
  const nc = await connect({ port });
  try {
    const r = async (subject: string, body: string): Promise<unknown> => mask((await nc.request(`$JS.API.${subject}`, body, { timeout: 2000 })).json());
    await r("STREAM.CREATE.S", JSON.stringify({ name: "S", subjects: ["s.>"], allow_direct: true }));
    for (const s of ["s.a", "s.b", "s.a"]) await nc.request(s, "x");
    await r("CONSUMER.DURABLE.CREATE.S.d", JSON.stringify({ stream_name: "S", config: { durable_name: "d", ack_policy: "explicit" } }));
    const api: unknown[] = [];
    for (const row of apiTable().filter((x) => x.oracle)) api.push(await r(row.subject, row.body));
    const status = async (subject: string, body: string): Promise<string> => {
      const inbox = createInbox();
      const sub = nc.subscribe(inbox, { max: 1 });
      nc.publish(`$JS.API.${subject}`, body, { reply: inbox });
      for await (const m of sub) return `${m.headers?.code ?? 0} ${m.headers?.description ?? ""} ${m.data.length}`;
      return "none";
    };
    const pull: string[] = [];
    for (const body of pullTable()) pull.push(await status("CONSUMER.MSG.NEXT.S.d", body));
    const direct: string[] = [];
    for (const body of directGetTable()) direct.push(await status("DIRECT.GET.S", body));
    api.push(await r("STREAM.INFO.S", ""), await r("CONSUMER.INFO.S.d", ""), await r("STREAM.NAMES", ""));
    return { api, pull, direct };
  } finally {
    await nc.close();
  }
}

test("the wrong-type table: nats-server refuses every row it knows the field of, as cuebus does, and neither changes anything", async (t) => {
  const { realPort, ourPort } = await jetStreamPair(t);
  const [a, b] = await Promise.all([runTable(realPort), runTable(ourPort)]);
  const rows = apiTable().filter((x) => x.oracle);
  const diffs: string[] = [];
  for (let i = 0; i < a.api.length; i++) {
    try {
      assert.deepEqual(sameInvalidJson(b.api[i], a.api[i]), a.api[i]);
    } catch {
      const row = rows[i];
      diffs.push(`${row === undefined ? "final state" : `${row.subject} ${row.body}`}\n  nats-server: ${JSON.stringify(a.api[i])}\n  cuebus:      ${JSON.stringify(b.api[i])}`);
    }
  }
  assert.deepEqual(diffs, []);
  // The oracle itself refused every row: no field's type in our schemas is looser than nats-server's.
  const accepted = rows.filter((_r, i) => (a.api[i] as { error?: { err_code?: number } }).error?.err_code !== 10025);
  assert.deepEqual(accepted, []);
  t.diagnostic(`${rows.length} $JS.API rows, ${a.pull.length} pull requests, ${a.direct.length} direct gets compared`);
  // Pull requests: nats-server words the reason as Go's unmarshal error, cuebus names the field; both `400 Bad Request - `.
  const prefix = (s: string): string => s.replace(/^(400 Bad Request - ).* (\d+)$/, "$1... $2");
  assert.deepEqual(b.pull.map(prefix), a.pull.map(prefix));
  assert.ok(a.pull.every((s) => s.startsWith("400 Bad Request - ")));
  assert.deepEqual(b.direct, a.direct);
});
