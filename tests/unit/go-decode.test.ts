import { test } from "node:test";
import assert from "node:assert/strict";
import { JsonNumber, JsonObject, parseJsonExact } from "../../src/jetstream/api/exact-json.js";
import { GoTypeError, MAX_INT64_NUMBER, MAX_UINT64_NUMBER, arrayOf, bool, decodeStruct, decodeValue, duration, int, isRfc3339, mapOf, oneOf, str, struct, time, type Kind } from "../../src/jetstream/api/go-decode.js";
import { decodeBody, isEmptyRequest } from "../../src/jetstream/api/request-schema.js";
import { goAtoi, parseGoDuration, parseNakDelayMs } from "../../src/jetstream/consumer-status.js";

const b = (s: string): Buffer => Buffer.from(s);

test("parseJsonExact keeps number literals, member order and duplicates, and refuses deep or broken JSON", () => {
  const r = parseJsonExact(b(' {"a": 1.0, "b": [1e3, -0, "x\\"y"], "a": null, "c": {"d": true}} '));
  assert.ok(r.ok);
  const v = r.value as JsonObject;
  assert.deepEqual(
    v.members.map(([k]) => k),
    ["a", "b", "a", "c"],
  );
  assert.deepEqual(v.members[0]?.[1], new JsonNumber("1.0"));
  assert.deepEqual(v.members[1]?.[1], [new JsonNumber("1e3"), new JsonNumber("-0"), 'x"y']);
  assert.equal(v.members[2]?.[1], null);
  assert.deepEqual(v.members[3]?.[1], new JsonObject([["d", true]]));
  assert.deepEqual(parseJsonExact(b("[]")), { ok: true, value: [] });
  assert.deepEqual(parseJsonExact(b('"é"')), { ok: true, value: "é" });
  assert.equal(parseJsonExact(b("{bad")).ok, false);
  assert.equal(parseJsonExact(b('{"a":1} x')).ok, false);
  const deep = parseJsonExact(b(`${'{"a":'.repeat(20_000)}1${"}".repeat(20_000)}`));
  assert.equal(deep.ok, false);
  assert.match(deep.ok ? "" : deep.reason, /nesting deeper than/);
});

/** Decode one field of a one-field struct; the refusal text, or the value. */
function one(kind: Kind, json: string): unknown {
  const parsed = parseJsonExact(b(`{"f":${json}}`));
  assert.ok(parsed.ok, json);
  try {
    return (decodeValue(parsed.value, struct({ f: kind }), "") as { f?: unknown }).f;
  } catch (err) {
    assert.ok(err instanceof GoTypeError, String(err));
    return `refused: ${err.message}`;
  }
}
const refused = (v: unknown): boolean => typeof v === "string" && v.startsWith("refused: ");

test("integers: integer literals in the Go type's range only", () => {
  assert.equal(one(int("int64"), "5"), 5);
  assert.equal(one(int("int64"), "-0"), 0);
  for (const bad of ["1.0", "1.5", "1e3", '"1"', "true", "[1]", "{}", "9223372036854775808", "-9223372036854775809"]) assert.ok(refused(one(int("int64"), bad)), bad);
  // int64 max is valid; a JS number cannot hold it, so it is kept one double below 2^63.
  assert.equal(one(duration, "9223372036854775807"), MAX_INT64_NUMBER);
  assert.equal(one(int("int64"), "-9223372036854775808"), -MAX_INT64_NUMBER);
  assert.ok(BigInt(JSON.stringify(MAX_INT64_NUMBER)) <= 2n ** 63n - 1n, "prints as a valid int64");
  assert.equal(one(int("uint64"), "18446744073709551615"), MAX_UINT64_NUMBER);
  assert.ok(refused(one(int("uint64"), "18446744073709551616")));
  assert.ok(refused(one(int("uint64"), "-1")));
  assert.equal(one(int("int32"), "2147483647"), 2147483647);
  assert.ok(refused(one(int("int32"), "2147483648")));
  assert.equal(one(int("int64"), "null"), undefined);
  assert.match(String(one(int("uint64"), '"x"')), /^refused: f must be an integer from 0 to 18446744073709551615 \(got "x"\)$/);
});

test("integers from a stored config (JS numbers): integral and in range, the rounded bound taken back", () => {
  assert.deepEqual(decodeStruct({ f: 2 ** 63 }, { f: duration }, ""), { f: MAX_INT64_NUMBER });
  assert.deepEqual(decodeStruct({ f: MAX_INT64_NUMBER }, { f: duration }, ""), { f: MAX_INT64_NUMBER });
  assert.throws(() => decodeStruct({ f: 1.5 }, { f: int("int") }, ""), GoTypeError);
  assert.throws(() => decodeStruct({ f: 2 ** 64 }, { f: int("int64") }, ""), GoTypeError);
  assert.throws(() => decodeStruct({ f: Number.NaN }, { f: int("int64") }, ""), GoTypeError);
});

test("strings, bools, enums, times, arrays and maps follow Go's rules", () => {
  assert.equal(one(str, '"x"'), "x");
  assert.ok(refused(one(str, "5")));
  assert.equal(one(str, "null"), undefined);
  assert.equal(one(bool, "true"), true);
  for (const bad of ['"true"', "1", "0"]) assert.ok(refused(one(bool, bad)), bad);
  const retention = oneOf(["limits", "interest"] as const);
  assert.equal(one(retention, '"interest"'), "interest");
  // nats-server's enums refuse null and unknown or differently cased values.
  for (const bad of ["null", '"Limits"', "5", '""']) assert.ok(refused(one(retention, bad)), bad);
  assert.equal(one(oneOf(["old", "new"] as const, { foldCase: true }), '"NEW"'), "new");
  assert.equal(one(oneOf(["all", "last"] as const, { aliases: { undefined: "all" } }), '"undefined"'), "all");
  assert.equal(one(time, '"2023-01-01T00:00:00.123456789+02:00"'), "2023-01-01T00:00:00.123456789+02:00");
  assert.equal(one(time, "null"), undefined);
  for (const bad of ['"yesterday"', '"2023-01-01 00:00:00Z"', '"2023-02-29T00:00:00Z"', '"2023-01-01T24:00:00Z"', "5"]) assert.ok(refused(one(time, bad)), bad);
  assert.ok(isRfc3339("2024-02-29T23:59:59Z"));
  assert.deepEqual(one(arrayOf(str), '["a", null]'), ["a", ""]);
  assert.deepEqual(one(arrayOf(duration), "[1, null]"), [1, 0]);
  assert.match(String(one(arrayOf(str), '["a", 5]')), /f\[1\] must be a string/);
  assert.ok(refused(one(arrayOf(str), '"a"')));
  assert.deepEqual(one(mapOf(str), '{"a": "b", "c": null}'), { a: "b", c: "" });
  assert.match(String(one(mapOf(str), '{"a": 5}')), /f\.a must be a string/);
  assert.ok(refused(one(mapOf(str), "[]")));
});

test("structs: unknown fields ignored, names matched case-insensitively, null leaves the field, the last duplicate wins", () => {
  const fields = { max_msgs: int("int64"), name: str } as const;
  const dec = (json: string): unknown => {
    const p = parseJsonExact(b(json));
    assert.ok(p.ok);
    return decodeStruct(p.value, fields, "");
  };
  assert.deepEqual(dec('{"name":"a","other":[{"x":"y"}]}'), { name: "a" });
  assert.deepEqual(dec('{"Max_Msgs":7}'), { max_msgs: 7 });
  assert.throws(() => dec('{"MAX_MSGS":"x"}'), /max_msgs must be an integer/);
  assert.deepEqual(dec('{"max_msgs":5,"max_msgs":null}'), { max_msgs: 5 });
  assert.deepEqual(dec('{"max_msgs":5,"max_msgs":6}'), { max_msgs: 6 });
  // Go keeps decoding after a type error and still fails the request.
  assert.throws(() => dec('{"max_msgs":"x","max_msgs":6}'), GoTypeError);
  assert.throws(() => dec("[]"), /request must be an object/);
});

test("decodeBody and isEmptyRequest treat bodies as nats-server's handlers do", () => {
  const fields = { seq: int("uint64") } as const;
  assert.deepEqual(decodeBody(b("null"), fields), { ok: {} });
  assert.deepEqual(decodeBody(b('{"seq":3}'), fields), { ok: { seq: 3 } });
  assert.ok("refused" in decodeBody(b(""), fields));
  assert.ok("refused" in decodeBody(b("5"), fields));
  assert.ok("refused" in decodeBody(b('{"seq":-1}'), fields));
  for (const e of ["", "{}", " { } "]) assert.equal(isEmptyRequest(b(e)), true, JSON.stringify(e));
  for (const e of [" ", "null", "[]", '{"a":1}', "{bad"]) assert.equal(isEmptyRequest(b(e)), false, JSON.stringify(e));
});

test("Go durations and Atoi, as -NAK delays and pull batches are read", () => {
  assert.equal(parseGoDuration("1h30m"), 5_400_000_000_000);
  assert.equal(parseGoDuration("1.5s"), 1_500_000_000);
  assert.equal(parseGoDuration("250ms"), 250_000_000);
  assert.equal(parseGoDuration("-5s"), -5_000_000_000);
  assert.equal(parseGoDuration("+2µs"), 2000);
  assert.equal(parseGoDuration("0"), 0);
  for (const bad of ["", "5", "5x", "s", ".s", "1h 30m", "-", "9999999999h"]) assert.equal(parseGoDuration(bad), null, bad);
  assert.equal(parseNakDelayMs('{"delay": 2000000000}'), 2000);
  assert.equal(parseNakDelayMs("2s"), 2000);
  assert.equal(parseNakDelayMs("-2s"), 0);
  for (const bad of ['{"delay": "2s"}', '{"delay": 1.5}', "{bad", "soon"]) assert.equal(parseNakDelayMs(bad), -1, bad);
  assert.equal(goAtoi("12"), 12);
  assert.equal(goAtoi("-3"), -3);
  for (const bad of ["12abc", "1.0", "", "9223372036854775808"]) assert.equal(goAtoi(bad), null, bad);
});
