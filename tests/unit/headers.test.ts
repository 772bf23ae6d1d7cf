import { test } from "node:test";
import assert from "node:assert/strict";
import { encodeHeaders, headerValue, parseHeaders } from "../../src/protocol/headers.js";

test("headers: encode and parse round trip, status lines, case-insensitive lookup", () => {
  const b = encodeHeaders([["Nats-Msg-Id", "abc"], ["X-Multi", "1"], ["X-Multi", "2"]]);
  assert.equal(b.toString(), "NATS/1.0\r\nNats-Msg-Id: abc\r\nX-Multi: 1\r\nX-Multi: 2\r\n\r\n");
  const h = parseHeaders(b);
  assert.ok(h);
  assert.equal(h.status, 0);
  assert.equal(headerValue(h, "nats-msg-id"), "abc");
  assert.deepEqual(h.entries.filter(([k]) => k === "X-Multi").map(([, v]) => v), ["1", "2"]);
  const s = parseHeaders(encodeHeaders([], 404, "No Messages"));
  assert.equal(s?.status, 404);
  assert.equal(s?.description, "No Messages");
  assert.equal(encodeHeaders([], 503).toString(), "NATS/1.0 503\r\n\r\n");
  assert.equal(parseHeaders(Buffer.from("HTTP/1.1 200\r\n\r\n")), null);
  assert.equal(parseHeaders(null), null);
});
