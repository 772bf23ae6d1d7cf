import { test } from "node:test";
import assert from "node:assert/strict";
import { JsErrors, jsError } from "../../src/jetstream/errors.js";

test("JetStream error table: codes unique, in nats-server's ranges, placeholders filled", () => {
  const seen = new Set<number>();
  for (const [name, e] of Object.entries(JsErrors)) {
    assert.ok(!seen.has(e.err_code), `${name}: err_code ${e.err_code} used twice`);
    seen.add(e.err_code);
    assert.ok(e.err_code >= 10000 && e.err_code < 11000, name);
    assert.ok([400, 404, 500, 503].includes(e.code), name);
    assert.ok(e.description.length > 0, name);
  }
  assert.deepEqual(jsError("StreamWrongLastSequence", { seq: 5 }), { code: 400, err_code: 10071, description: "wrong last sequence: 5" });
  assert.deepEqual(jsError("StreamNotFound"), { code: 404, err_code: 10059, description: "stream not found" });
});
