/** The file store's tail cache: bounded by bytes and by records, never letting go a record not yet written. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { RecordCache, TAIL_CACHE_BYTES, TAIL_CACHE_RECORDS } from "../../../src/stores/file/record-cache.js";

test("record cache: small records are bounded by count (each costs a Buffer object), large ones by bytes; unwritten ones stay", () => {
  const c = new RecordCache();
  const n = TAIL_CACHE_RECORDS * 2;
  for (let seq = 1; seq <= n; seq++) c.put(seq, Buffer.alloc(40));
  // Nothing written yet: every record is the only copy.
  assert.ok(c.get(1) !== undefined);
  c.writtenUpTo(n / 2);
  // Only written records go: the first half; the unwritten half stays even though over the count.
  assert.equal(c.get(n / 2), undefined);
  assert.ok(c.get(n / 2 + 1) !== undefined);
  c.writtenUpTo(n);
  assert.equal(c.get(n - TAIL_CACHE_RECORDS), undefined);
  assert.ok(c.get(n - TAIL_CACHE_RECORDS + 1) !== undefined);
  assert.equal(c.bytes, TAIL_CACHE_RECORDS * 40);
  const big = new RecordCache();
  const size = 64 * 1024;
  const m = (TAIL_CACHE_BYTES / size) * 2;
  for (let seq = 1; seq <= m; seq++) big.put(seq, Buffer.alloc(size));
  big.writtenUpTo(m);
  assert.equal(big.bytes, TAIL_CACHE_BYTES);
  assert.equal(big.get(m / 2), undefined);
});
