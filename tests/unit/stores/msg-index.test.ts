/**
 * The shared message index against a plain model (a Map of sequence -> subject), over enough
 * messages to cross many chunks, with removals at the front, in the middle and at the end, runs of
 * removed chunks, put-backs below the last sequence and rewinds: every query gives the model's answer.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { CHUNK_MSGS } from "../../../src/stores/index/chunk.js";
import { MsgIndex } from "../../../src/stores/index/msg-index.js";
import { subjectMatches } from "../../../src/subjects/validate.js";

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

const FILTERS = ["", ">", "a.*", "a.k1", "b.>", "*.k2", "c.none"];
const matches = (f: string, s: string): boolean => f === "" || f === ">" || subjectMatches(f, s);

function check(ix: MsgIndex, model: Map<number, string>, lastSeq: number, rnd: () => number, when: string): void {
  const seqs = [...model.keys()].sort((a, b) => a - b);
  assert.equal(ix.count, model.size, `${when}: count`);
  assert.equal(ix.lastSeq, lastSeq, `${when}: lastSeq`);
  assert.equal(ix.firstSeq(), seqs[0] ?? lastSeq + 1, `${when}: firstSeq`);
  assert.equal(ix.bytes, seqs.reduce((n, s) => n + s % 100 + 1, 0), `${when}: bytes`);
  const probes = [0, 1, lastSeq, lastSeq + 1, ...Array.from({ length: 12 }, () => Math.floor(rnd() * (lastSeq + 2)))];
  for (const f of FILTERS) {
    for (const from of probes) {
      const after = seqs.filter((s) => s >= from && matches(f, model.get(s) as string));
      const before = seqs.filter((s) => s <= from && matches(f, model.get(s) as string));
      assert.equal(ix.next(f, from), after[0] ?? 0, `${when}: next(${f}, ${from})`);
      assert.equal(ix.prev(f, from), before[before.length - 1] ?? 0, `${when}: prev(${f}, ${from})`);
      assert.equal(ix.numPending(f, from), after.length, `${when}: numPending(${f}, ${from})`);
    }
  }
  const counts = new Map<string, number>();
  for (const s of model.values()) counts.set(s, (counts.get(s) ?? 0) + 1);
  assert.deepEqual([...ix.subjectCounts(">")].sort(), [...counts].sort(), `${when}: subjects`);
  for (const [subject] of counts) {
    const of = seqs.filter((s) => model.get(s) === subject);
    assert.equal(ix.lastSequenceOf(subject), of[of.length - 1], `${when}: last of ${subject}`);
    assert.equal(ix.firstSequenceOf(subject), of[0], `${when}: first of ${subject}`);
  }
  const holes: number[] = [];
  for (let s = (seqs[0] ?? lastSeq) + 1; s <= lastSeq && holes.length < 50; s++) if (!model.has(s)) holes.push(s);
  if (model.size > 0) assert.deepEqual(ix.deletedSequences(50), holes, `${when}: deleted`);
  for (const probe of probes) {
    const t = BigInt(probe) * 1000n;
    assert.equal(ix.seqForTime(t), seqs.find((s) => BigInt(s) * 1000n >= t) ?? 0, `${when}: seqForTime(${t})`);
  }
}

test("msg-index: every query agrees with a plain model across chunks, removals, put-backs and rewinds", () => {
  for (const seed of [1, 2, 3]) {
    const rnd = lcg(seed);
    const ix = new MsgIndex();
    const model = new Map<number, string>();
    let last = 0;
    const subject = (): string => (rnd() < 0.5 ? `a.k${Math.floor(rnd() * 5)}` : rnd() < 0.7 ? "b.k2" : `b.x.k${Math.floor(rnd() * 3)}`);
    const add = (seq: number, s: string): void => {
      ix.add(seq, s, seq % 100 + 1, BigInt(seq) * 1000n);
      model.set(seq, s);
    };
    const remove = (seq: number): void => {
      assert.equal(ix.remove(seq), model.delete(seq), `remove ${seq}`);
    };
    const total = CHUNK_MSGS * 3 + 123;
    for (let i = 0; i < total; i++) add(++last, subject());
    check(ix, model, last, rnd, `seed ${seed} filled`);
    // Random removals, a whole chunk's worth in the middle, the front, the end.
    for (let i = 0; i < 2000; i++) remove(1 + Math.floor(rnd() * last));
    for (let s = CHUNK_MSGS; s < CHUNK_MSGS * 2 + 10; s++) remove(s);
    for (let s = 1; s < 300; s++) remove(s);
    remove(last);
    remove(last - 1);
    check(ix, model, last, rnd, `seed ${seed} after removals`);
    // Put back some of those removed, below the last sequence.
    for (const s of [CHUNK_MSGS + 5, 7, 2, CHUNK_MSGS * 2 + 1]) if (!model.has(s)) add(s, "b.k2");
    check(ix, model, last, rnd, `seed ${seed} after put-backs`);
    ix.rewind(last - 500, BigInt(last - 500) * 1000n);
    for (const s of [...model.keys()]) if (s > last - 500) model.delete(s);
    last -= 500;
    check(ix, model, last, rnd, `seed ${seed} after a rewind`);
    for (const s of [...model.keys()]) remove(s);
    check(ix, model, last, rnd, `seed ${seed} emptied`);
    add(++last, "a.k1");
    check(ix, model, last, rnd, `seed ${seed} one after empty`);
  }
});
