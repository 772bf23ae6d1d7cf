/**
 * numPending with a wildcard filter that does not take every subject: counted over the messages
 * above the sequence asked when they are fewer than the subjects (a consumer near the tail), over
 * the subjects otherwise. Both ways must give what a plain count over the stored messages gives,
 * holes (deleted messages) and all; checked here against such a count for every sequence.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FileStore } from "../../../src/stores/file/file-store.js";
import { MemoryStore } from "../../../src/stores/memory/memory-store.js";
import type { StreamStore } from "../../../src/stores/types.js";
import { subjectMatches } from "../../../src/subjects/validate.js";

const FILTERS = ["s.*", "s.*.x", "s.k1.*", "a.>", "*.k2.x"];

/** A small deterministic generator, so a failure names a case that can be run again. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

async function check(store: StreamStore, seed: number, subjects: number, messages: number): Promise<void> {
  const rnd = lcg(seed);
  const held = new Map<number, string>();
  for (let i = 0; i < messages; i++) {
    const r = rnd();
    const subject = r < 0.3 ? "s.a" : r < 0.5 ? `s.k${Math.floor(rnd() * subjects)}.x` : r < 0.7 ? `a.k${Math.floor(rnd() * subjects)}` : `b.k2.x`;
    const seq = await store.append(subject, null, Buffer.from("x"));
    held.set(seq, subject);
  }
  // Holes: every seventh message, and a run near the end.
  for (const seq of [...held.keys()]) {
    if (seq % 7 === 0 || (seq > messages - 10 && seq < messages - 4)) {
      assert.equal(await store.remove(seq), true);
      held.delete(seq);
    }
  }
  const last = store.state().lastSeq;
  for (const filter of FILTERS) {
    for (let from = 0; from <= last + 2; from++) {
      let want = 0;
      for (const [seq, subject] of held) if (seq >= from && subjectMatches(filter, subject)) want++;
      assert.equal(store.numPending(filter, from), want, `seed ${seed}: numPending(${filter}, ${from})`);
    }
  }
}

test("numPending of a wildcard filter: the same count near the tail (few messages, many subjects) as over the subjects, memory store", async () => {
  for (let seed = 1; seed <= 4; seed++) {
    // Many subjects, few messages above most sequences: the count over messages is taken.
    await check(new MemoryStore(), seed, 500, 300);
    // Few subjects: the count over subjects is taken.
    await check(new MemoryStore(), seed + 100, 3, 300);
  }
});

test("numPending of a wildcard filter: the same both ways, file store", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "cuebus-np-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  for (let seed = 1; seed <= 2; seed++) {
    for (const [subjects, tag] of [
      [500, "many"],
      [3, "few"],
    ] as const) {
      const store = await FileStore.open({ dir: join(dir, `${seed}-${tag}`) });
      try {
        await check(store, seed, subjects, 300);
      } finally {
        await store.close();
      }
    }
  }
});
