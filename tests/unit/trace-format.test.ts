import { test } from "node:test";
import assert from "node:assert/strict";
import { goQuote, redactConnect } from "../../src/server/trace.js";

test("goQuote quotes bytes as Go's %q does (outputs taken from go1.19 fmt.Printf(\"%q\"))", () => {
  const cases: Array<[string, string]> = [
    ["ff", '"\\xff"'],
    ["610062", '"a\\x00b"'],
    ["c3a9", '"é"'],
    ["c3", '"\\xc3"'],
    ["e282ac", '"€"'],
    ["f09f9880", '"😀"'],
    ["eda080", '"\\xed\\xa0\\x80"'],
    ["c2a0", '"\\u00a0"'],
    ["e2808b", '"\\u200b"'],
    ["7461620968657265225c", '"tab\\there\\"\\\\"'],
    ["070b0c7f", '"\\a\\v\\f\\x7f"'],
  ];
  for (const [hex, want] of cases) assert.equal(goQuote(Buffer.from(hex, "hex")), want, hex);
});

test("redactConnect hides passwords, tokens, nkeys and signatures as newer nats-server's trace does", () => {
  assert.equal(redactConnect('{"user":"a","pass":"secret","name":"x"}'), '{"user":"a","pass":"[REDACTED]","name":"x"}');
  assert.equal(redactConnect('{"verbose":true,"name":"signer"}'), '{"verbose":true,"name":"signer"}');
  assert.equal(redactConnect('{"auth_token":"t","user":"u"}'), '{"auth_token":"[REDACTED]","user":"u"}');
  assert.equal(redactConnect('{"nkey":"UABC","sig":"xyz","proxy":"p"}'), '{"nkey":"[REDACTED]","sig":"[REDACTED]","proxy":"p"}');
});
