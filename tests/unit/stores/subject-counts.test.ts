/** A chunk's per-subject counts, as a Map and packed: the same answers through every change. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { PACK_SUBJECTS_AT, SubjectCounts } from "../../../src/stores/index/subject-counts.js";

test("subject counts: packed or not, get/has/size/entries agree with a Map through sets, deletes and a new id", () => {
  const model = new Map<number, number>();
  const c = new SubjectCounts();
  const same = (when: string): void => {
    assert.equal(c.size, model.size, when);
    assert.deepEqual([...c.entries()].sort((a, b) => a[0] - b[0]), [...model].sort((a, b) => a[0] - b[0]), when);
    for (const id of [0, 3, 7, 40, 1000]) {
      assert.equal(c.get(id), model.get(id), `${when}: get ${id}`);
      assert.equal(c.has(id), model.has(id), `${when}: has ${id}`);
    }
  };
  for (let id = PACK_SUBJECTS_AT * 2; id >= 0; id -= 1) {
    c.set(id * 3 + 1, id + 1);
    model.set(id * 3 + 1, id + 1);
  }
  same("a map");
  c.pack();
  same("packed");
  c.set(7, 99);
  model.set(7, 99);
  c.delete(40);
  model.delete(40);
  c.delete(41);
  same("packed, changed in place");
  c.set(40, 5);
  model.set(40, 5);
  same("packed, a deleted id back");
  c.set(1000, 1);
  model.set(1000, 1);
  same("a new id: unpacked");
  const few = new SubjectCounts();
  few.set(5, 1);
  few.pack();
  assert.deepEqual([...few], [[5, 1]]);
});
