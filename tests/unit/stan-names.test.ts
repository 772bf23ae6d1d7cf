import { test } from "node:test";
import assert from "node:assert/strict";
import { isValidStreamName } from "../../src/jetstream/stream-config.js";
import { channelStream, channelSubject, durableConsumer, escapeName, isValidChannel, isValidClientID, queueDurableConsumer, unescapeName } from "../../src/stan/names.js";

test("channel names: nats-streaming-server's rule (no empty token, no `/`, no wildcard), and no whitespace", () => {
  for (const ok of ["foo", "ticket:created", "orders.eu.created", "a-b_c", "ünïcode"]) assert.ok(isValidChannel(ok), ok);
  for (const bad of ["", ".foo", "foo.", "foo..bar", "foo.*", "foo.>", "a*b", "a/b", "a b", "a\tb", "x".repeat(81)]) assert.ok(!isValidChannel(bad), bad);
});

test("client ids: letters, digits, - and _", () => {
  assert.ok(isValidClientID("orders-service_1"));
  for (const bad of ["", "a.b", "a b", "a:b", "é"]) assert.ok(!isValidClientID(bad), bad);
});

test("a channel's stream and subject; escaping keeps names valid and apart", () => {
  assert.equal(channelStream("ticket:created"), "STAN_ticket:created");
  assert.equal(channelStream("orders.eu"), "STAN_orders~eu");
  assert.equal(channelSubject("orders.eu"), "_STAN.ch.orders.eu");
  assert.equal(escapeName("a~b%c/d é"), "a%7Eb%25c%2Fd%20%C3%A9");
  const names = ["a.b", "a~b", "a%7Eb", "a_b", "a/b", "a b", "ü"];
  const escaped = names.map(escapeName);
  assert.equal(new Set(escaped).size, names.length, "no two names escape alike");
  for (const e of escaped) assert.ok(isValidStreamName(`STAN_${e}`) && !/[\\/]/.test(e), e);
});

test("durable consumers: per client and durable name; durable queue groups per durable and queue", () => {
  assert.equal(durableConsumer("orders-1", "orders-service"), "D:orders-1:orders-service");
  assert.equal(queueDurableConsumer("orders-service", "orders-service"), "Q:orders-service:orders-service");
  // A client id holds no ':' (isValidClientID), so the first ':' after "D:" ends it even when the durable name holds one.
  assert.equal(durableConsumer("a", "b:c").split(":")[1], "a");
  assert.notEqual(durableConsumer("a", "b:c"), durableConsumer("a-b", "c"));
  assert.ok(isValidStreamName(durableConsumer("c", "my durable.v2")));
});

test("unescapeName reverses escapeName (the monitoring endpoints read durable names back from consumer names)", () => {
  for (const name of ["plain", "a.b", "a~b", "a%7Eb", "a:b", "a/b c", "ünï.code", "%", "100%", "~~", "日本.語"]) assert.equal(unescapeName(escapeName(name)), name, name);
  assert.equal(unescapeName("orders~eu"), "orders.eu");
});
