import { test } from "node:test";
import assert from "node:assert/strict";
import { MAX_JSON_DEPTH, jsonTooDeep, parseJsonLimited } from "../../src/util/json-depth.js";

const nested = (n: number, open = "[", close = "]"): Buffer => Buffer.from(open.repeat(n) + close.repeat(n));

test("jsonTooDeep counts arrays and objects, not brackets inside strings", () => {
  assert.equal(jsonTooDeep(nested(MAX_JSON_DEPTH)), false);
  assert.equal(jsonTooDeep(nested(MAX_JSON_DEPTH + 1)), true);
  assert.equal(jsonTooDeep(Buffer.from(`{"a":${'{"a":'.repeat(MAX_JSON_DEPTH)}1${"}".repeat(MAX_JSON_DEPTH)}}`)), true);
  assert.equal(jsonTooDeep(Buffer.from(JSON.stringify({ s: "[".repeat(1000) }))), false);
  // An escaped quote does not end the string: the brackets after it are still string content.
  assert.equal(jsonTooDeep(Buffer.from(JSON.stringify({ s: `\\"${"{".repeat(1000)}` }))), false);
  // Siblings do not add up: depth returns as each closes.
  assert.equal(jsonTooDeep(Buffer.from(`[${"[[]],".repeat(1000)}[]]`)), false);
});

test("parseJsonLimited refuses a body 20,000 levels deep without parsing it, and parses the rest", () => {
  const deep = parseJsonLimited(nested(20_000, '{"a":', "}"));
  assert.equal(deep.ok, false);
  assert.match(deep.ok ? "" : deep.reason, /nesting deeper than 64 levels/);
  const bad = parseJsonLimited(Buffer.from("{not json"));
  assert.equal(bad.ok, false);
  assert.deepEqual(parseJsonLimited(Buffer.from('{"x":[1,{"y":"]"}]}')), { ok: true, value: { x: [1, { y: "]" }] } });
  const big = Buffer.from(' {"k":"é"} ');
  assert.deepEqual(parseJsonLimited(big.subarray(1, big.length - 1)), { ok: true, value: { k: "é" } });
});
