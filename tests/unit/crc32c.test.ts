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

test("crc32c: equals the bit-at-a-time definition at every length and offset", () => {
  const bitwise = (b: Uint8Array): number => {
    let c = ~0;
    for (const byte of b) {
      c ^= byte;
      for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    }
    return ~c >>> 0;
  };
  const buf = Buffer.from(Array.from({ length: 80 }, (_, i) => (i * 131 + 7) & 0xff));
  for (let start = 0; start < 9; start++) {
    for (let end = start; end <= buf.length; end++) assert.equal(crc32c(buf, start, end), bitwise(buf.subarray(start, end)), `[${start}, ${end})`);
  }
});
