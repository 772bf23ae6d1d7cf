import { test } from "node:test";
import assert from "node:assert/strict";
import { JsErrors } from "../../src/jetstream/errors.js";
import { JS_SERVER_FAILURE_STATUS, jsHttpStatus } from "../../src/gateway/js-status.js";

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
