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

test("nsToIso prints what Date prints to the second, then Go's fraction (trailing zeros dropped), for any time in years 1970-9999", () => {
  const expected = (ns: bigint): string => {
    const second = ns / 1_000_000_000n;
    const frac = (ns % 1_000_000_000n).toString().padStart(9, "0").replace(/0+$/, "");
    return `${new Date(Number(second) * 1000).toISOString().slice(0, 19)}${frac === "" ? "" : `.${frac}`}Z`;
  };
  const edges = [1n, 999_999_999n, 1_000_000_000n, 951_782_400n * 1_000_000_000n, 4_107_542_400n * 1_000_000_000n + 10n, 253_402_300_799_999_999_999n, 1796083200000000000n];
  let x = 0x2545f491;
  const random = (): number => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
  const times = [...edges];
  for (let i = 0; i < 20_000; i++) {
    const ns = BigInt(Math.floor(random() * 253_402_300_800)) * 1_000_000_000n + BigInt(Math.floor(random() * 1e9));
    times.push(ns, ns - (ns % 1000n), ns - (ns % 1_000_000_000n));
  }
  for (const ns of times) assert.equal(nsToIso(ns), expected(ns), `${ns}`);
  assert.equal(nsToIso(0n), "0001-01-01T00:00:00Z");
});
