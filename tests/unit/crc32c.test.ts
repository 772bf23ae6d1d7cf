import { test } from "node:test";
import assert from "node:assert/strict";
import { crc32c } from "../../src/util/crc32c.js";

test("crc32c: known check values (RFC 3720 appendix B.4)", () => {
  assert.equal(crc32c(Buffer.from("123456789")), 0xe3069283);
  assert.equal(crc32c(Buffer.alloc(32, 0)), 0x8a9136aa);
  assert.equal(crc32c(Buffer.alloc(32, 0xff)), 0x62a8ab43);
  const inc = Buffer.from(Array.from({ length: 32 }, (_, i) => i));
  assert.equal(crc32c(inc), 0x46dd794e);
  assert.equal(crc32c(Buffer.alloc(0)), 0);
});

test("crc32c: continuing over pieces equals the whole", () => {
  const buf = Buffer.from("the quick brown fox jumps over the lazy dog, again and again");
  for (let cut = 0; cut <= buf.length; cut++) {
    assert.equal(crc32c(buf, cut, buf.length, crc32c(buf, 0, cut)), crc32c(buf));
  }
});
