import { test } from "node:test";
import assert from "node:assert/strict";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { crc32c } from "../../src/util/crc32c.js";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

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

test("crc32c: the aligned word path agrees with the byte path, in any buffer, at every alignment", () => {
  // One ArrayBuffer seen through views at each offset mod 8, long enough for the word path, and a
  // second ArrayBuffer in between so the cached word view has to change.
  const ab = new ArrayBuffer(4096 + 16);
  const all = new Uint8Array(ab);
  for (let i = 0; i < all.length; i++) all[i] = (i * 151 + 11) & 0xff;
  const other = Buffer.from(all.subarray(8, 4104));
  const bytewise = (b: Uint8Array, s: number, e: number): number => {
    let c = ~0;
    for (let i = s; i < e; i++) {
      c ^= b[i] as number;
      for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    }
    return ~c >>> 0;
  };
  for (let off = 0; off < 8; off++) {
    const view = Buffer.from(ab, off, 4096);
    for (const [s, e] of [[0, 4096], [4, 1060], [3, 40], [1, 33], [8, 4095]] as const) {
      assert.equal(crc32c(view, s, e), bytewise(view, s, e), `offset ${off} [${s}, ${e})`);
      assert.equal(crc32c(other, s, e), bytewise(other, s, e), `other buffer [${s}, ${e})`);
    }
  }
});

test("crc32c: a large buffer checksummed is not held afterwards (its word view is not kept); a small one's view may be", async () => {
  let big: Uint8Array | null = new Uint8Array(16 * 1024 * 1024).fill(7);
  const expected = crc32c(Buffer.from(big.subarray(0, 64)));
  crc32c(big, 0, big.length);
  const ref = new WeakRef(big.buffer);
  big = null;
  // A WeakRef holds its target until the current job ends.
  await new Promise((r) => setImmediate(r));
  gc();
  assert.equal(ref.deref(), undefined, "the 16 MiB buffer was collected");
  // The small-buffer path (a kept view) still gives the right answers after it.
  assert.equal(crc32c(Buffer.alloc(64, 7)), expected);
});
