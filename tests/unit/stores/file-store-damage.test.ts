/** The file store against damage to its segment bytes: every bit flipped, every length cut. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import { served, smallSegment } from "./file-store-helpers.js";

for (const chunk of [undefined, 7]) {
  const how = chunk === undefined ? "" : ` (recovery reading ${chunk} bytes at a time)`;
  test(`file store: flipping any single bit never serves a corrupt record, keeps the rest, reports damage${how}`, async () => {
    const { dir, seg, bytes } = await smallSegment();
    const { store: good, msgs: original } = await served(dir, chunk);
    await good.close();
    assert.equal(original.size, 6);
    for (let bit = 0; bit < bytes.length * 8; bit++) {
      const copy = Buffer.from(bytes);
      copy[bit >> 3] = (copy[bit >> 3] as number) ^ (1 << (bit & 7));
      await writeFile(seg, copy);
      const { store, msgs } = await served(dir, chunk);
      for (const [seq, text] of msgs) assert.equal(text, original.get(seq), `bit ${bit}: seq ${seq} served altered`);
      assert.ok(msgs.size >= 5, `bit ${bit}: only ${msgs.size} intact records served`);
      assert.ok(store.damage.length >= 1, `bit ${bit}: damage not reported`);
      await store.close();
    }
  });

  test(`file store: truncating at every offset keeps every whole record and trims the torn tail${how}`, async () => {
    const { dir, seg, bytes } = await smallSegment();
    const { store: good, msgs: original } = await served(dir, chunk);
    await good.close();
    for (let cut = 0; cut < bytes.length; cut++) {
      await writeFile(seg, bytes.subarray(0, cut));
      const { store, msgs } = await served(dir, chunk);
      for (const [seq, text] of msgs) assert.equal(text, original.get(seq));
      // Every record wholly before the cut is served, in order 1..n.
      assert.deepEqual([...msgs.keys()], Array.from({ length: msgs.size }, (_, i) => i + 1));
      await store.close();
      const after = await readFile(seg);
      // The torn tail was truncated away, so appending continues on a clean boundary.
      const { store: again, msgs: msgs2 } = await served(dir, chunk);
      assert.equal(msgs2.size, msgs.size);
      assert.equal(again.damage.length, 0, `cut ${cut}: damage remained after truncation (${after.length} bytes)`);
      await again.close();
    }
  });
}
