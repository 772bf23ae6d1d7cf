import { test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { JsErrors } from "../../src/jetstream/errors.js";
import { JS_SERVER_FAILURE_STATUS, jsHttpStatus } from "../../src/gateway/js-status.js";
import { isStrictBase64, isStrictBase64Url } from "../../src/gateway/strict-base64.js";
import { publishSubject, subscribeSubject } from "../../src/gateway/subject-check.js";
import { HttpError } from "../../src/gateway/http-util.js";

test("no JetStream error is answered 500 over HTTP: refusals of input are 4xx, store failures 503, err_code 10025 always 400", () => {
  for (const [name, e] of Object.entries(JsErrors)) {
    const status = jsHttpStatus(e.code, e.err_code);
    assert.notEqual(status, 500, name);
    if (JS_SERVER_FAILURE_STATUS[e.err_code] !== undefined) assert.equal(status, 503, name);
    else if (e.code < 500) assert.equal(status, e.code, `${name}: JetStream's own 4xx kept`);
    else assert.equal(status, e.code === 503 ? 503 : 400, name);
  }
  assert.equal(jsHttpStatus(500, 10077), 503, "StreamStoreFailed whatever its code");
  assert.equal(jsHttpStatus(500, 10104), 503, "ConsumerStoreFailed (code 500 in nats-server)");
  assert.equal(jsHttpStatus(500, 10025), 400);
  assert.equal(jsHttpStatus(404, 10059), 404);
  assert.equal(jsHttpStatus(undefined, undefined), 400, "an error without a code is still the request's");
});

test("strict base64 accepts exactly what an RFC 4648 encoder writes", () => {
  for (let n = 0; n < 40; n++) {
    const b = randomBytes(n);
    assert.ok(isStrictBase64(b.toString("base64")), `std ${n}`);
    assert.ok(isStrictBase64Url(b.toString("base64url")), `url ${n}`);
  }
  for (const s of ["!!!", "aGk", "aGk=\n", "aG k=", " aGk=", "-_8=", "aGl=", "aGk=aGk=", "====", "a===", "aG==", "aGk==", "é"]) assert.equal(isStrictBase64(s), false, JSON.stringify(s));
  for (const s of ["aGk=", "+/8=", "aGk", "-_8", "a", "aGl", "aGk~", "é"]) assert.equal(isStrictBase64Url(s), s === "aGk" || s === "-_8", JSON.stringify(s));
  // Every single-character change to a valid encoding either stays canonical or is refused; never a silent re-read.
  const good = randomBytes(31).toString("base64");
  for (let i = 0; i < good.length; i++) {
    for (const c of ["!", " ", "\n", "-", "_", "="]) {
      const s = good.slice(0, i) + c + good.slice(i + 1);
      if (isStrictBase64(s)) assert.equal(Buffer.from(s, "base64").toString("base64"), s, s);
    }
  }
});

test("subjects as the NATS side takes them: literal for publish, wildcards for subscriptions, no longer than a control line", () => {
  const code = (f: () => unknown): number | string => {
    try {
      f();
      return "ok";
    } catch (e) {
      return e instanceof HttpError ? e.status : String(e);
    }
  };
  for (const s of ["a", "a.b", "a.b*", "a.>b", "$JS.API.X", "ünï.cödé"]) {
    assert.equal(code(() => publishSubject(s)), "ok", s);
    assert.equal(code(() => subscribeSubject(s)), "ok", s);
  }
  for (const s of ["a.*", "a.>", "*", ">"]) {
    assert.equal(code(() => publishSubject(s)), 400, s);
    assert.equal(code(() => subscribeSubject(s)), "ok", s);
  }
  for (const s of ["", "a.", ".a", "a..b", "a b", "a.\tb", "a.b\r", "a.>.b"]) {
    assert.equal(code(() => publishSubject(s)), 400, JSON.stringify(s));
    assert.equal(code(() => subscribeSubject(s)), 400, JSON.stringify(s));
  }
  // The limit is in bytes: 2,000 two-byte characters pass 4,000 bytes.
  assert.equal(code(() => publishSubject("x".repeat(4096))), "ok");
  assert.equal(code(() => publishSubject("x".repeat(4097))), 400);
  assert.equal(code(() => publishSubject("é".repeat(2048))), "ok");
  assert.equal(code(() => publishSubject("é".repeat(2049))), 400);
  assert.equal(code(() => subscribeSubject("x".repeat(100), 99)), 400);
});
