import { test } from "node:test";
import assert from "node:assert/strict";
import { SEQ_LIST_COMPACT_MIN, SeqList } from "../../../src/stores/memory/seq-list.js";

/** The list's contents through its public reads. */
const contents = (l: SeqList): number[] => {
  const out: number[] = [];
  l.appendTo(out);
  assert.deepEqual(out, Array.from({ length: l.length }, (_, i) => l.at(i)), "appendTo and at agree");
  return out;
};

test("seq-list: removing from the front, past each compaction, keeps the rest exactly; lowerBound and middle removals agree with an array", () => {
  const l = new SeqList("s");
  let model: number[] = [];
  const n = SEQ_LIST_COMPACT_MIN * 6;
  for (let q = 1; q <= n; q++) {
    l.push(q * 2);
    model.push(q * 2);
    // Drop the oldest on most appends, as a stream at its limit does.
    if (q % 4 !== 0 && q > 10) {
      assert.equal(l.remove(model[0] as number), true);
      model.shift();
    }
    if (q % 500 === 0) assert.deepEqual(contents(l), model, `after ${q} appends`);
  }
  assert.deepEqual(contents(l), model);
  for (const probe of [0, model[0] as number, (model[0] as number) + 1, model[100] as number, n * 2, n * 2 + 1]) {
    const want = model.findIndex((q) => q >= probe);
    assert.equal(l.lowerBound(probe), want === -1 ? model.length : want, `lowerBound(${probe})`);
  }
  const middle = model[Math.floor(model.length / 2)] as number;
  const last = model[model.length - 1] as number;
  assert.equal(l.remove(middle), true);
  assert.equal(l.remove(last), true);
  assert.equal(l.remove(middle + 1), false, "odd: never held");
  assert.equal(l.remove(1), false, "below the head");
  model = model.filter((q) => q !== middle && q !== last);
  assert.deepEqual(contents(l), model);
  for (const q of [...model]) assert.equal(l.remove(q), true);
  assert.equal(l.length, 0);
  l.push(7);
  assert.deepEqual(contents(l), [7]);
});

test("seq-list: insert puts a sequence back in order (below the head, in the middle, at the end) and ignores one held", () => {
  const l = new SeqList("s");
  let model: number[] = [];
  for (let q = 1; q <= SEQ_LIST_COMPACT_MIN * 2; q++) {
    l.push(q * 3);
    model.push(q * 3);
  }
  // Drop the oldest few (the head moves), then put sequences back everywhere.
  for (let i = 0; i < 10; i++) assert.equal(l.remove(model.shift() as number), true);
  for (const q of [3, 1, 6 * 3 + 1, 500 * 3 + 2, SEQ_LIST_COMPACT_MIN * 6 + 1, 30]) {
    l.insert(q);
    if (!model.includes(q)) model.push(q);
    model.sort((a, b) => a - b);
    assert.deepEqual(contents(l), model, `after inserting ${q}`);
  }
  l.insert(30);
  assert.deepEqual(contents(l), model, "a sequence held is not inserted twice");
});
