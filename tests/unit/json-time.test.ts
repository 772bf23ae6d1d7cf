import { test } from "node:test";
import assert from "node:assert/strict";
import { isoToNs, nsToIso } from "../../src/jetstream/json.js";

test("isoToNs keeps nanoseconds, honours offsets, and round-trips nsToIso", () => {
  assert.equal(isoToNs("2026-12-01T00:00:00.123456789Z"), 1796083200123456789n);
  assert.equal(isoToNs("2026-12-01T01:00:00.123456789+01:00"), 1796083200123456789n);
  assert.equal(isoToNs("2026-12-01T00:00:00.5Z"), 1796083200500000000n);
  assert.equal(isoToNs("2026-12-01T00:00:00Z"), 1796083200000000000n);
  assert.equal(isoToNs("not a time"), null);
  for (const ns of [1796083200123456789n, 1796083200000000001n, 1796083200100000000n]) assert.equal(isoToNs(nsToIso(ns)), ns);
});
