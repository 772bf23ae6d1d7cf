/**
 * The file store's index pages (index-pages.ts): once a chunk of CHUNK_MSGS sequences is durable its
 * per-message arrays go to a page on disk and leave memory, coming back when asked; every answer is
 * the same as the memory store's for the same changes, before and after a restart or a crash; a
 * damaged or missing page is reported and rebuilt from the segments, never trusted.
 */
import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { cp, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CHUNK_MSGS } from "../../../src/stores/index/chunk.js";
import { FileStore } from "../../../src/stores/file/file-store.js";
import { PAGE_BYTES, RESIDENT_PAGES_MAX } from "../../../src/stores/file/index-pages.js";
import { MemoryStore } from "../../../src/stores/memory/memory-store.js";
import { NoLimits, type StreamStore } from "../../../src/stores/types.js";

/** Stores a test opened, closed at its end before its directories are removed. */
const opened = new Map<TestContext, FileStore[]>();

async function tempDir(t: TestContext): Promise<string> {
  if (!opened.has(t)) {
    opened.set(t, []);
    // Registered before any removal (after-hooks run in the order registered): a store still
    // open would write its index into a directory being removed.
    t.after(async () => {
      for (const s of opened.get(t) ?? []) await s.close();
      opened.delete(t);
    });
  }
  const dir = await mkdtemp(join(tmpdir(), "cuebus-pages-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Close `s` at the end of the test (see tempDir). */
function closeAtEnd(t: TestContext, s: FileStore): void {
  opened.get(t)?.push(s);
}

const CHUNKS = RESIDENT_PAGES_MAX + 8;
const T0 = 1_000_000_000_000n;

/** Subjects by chunk: some chunks hold one subject, some several, one a subject of its own. */
const subjectOf = (i: number): string => {
  const chunk = Math.floor(i / CHUNK_MSGS);
  if (chunk % 3 === 0) return "one.a";
  if (chunk === 5) return "rare.x";
  // A chunk of many subjects (a KV bucket's): its counts are packed once it is on its page.
  if (chunk === 7) return `wide.${i % 100}`;
  return `mix.${i % 7}`;
};

/** The same changes on any store: a fill over CHUNKS chunks, deletes here and there, a purge of one subject, an expired front. */
async function change(s: StreamStore): Promise<void> {
  for (let i = 1; i <= CHUNKS * CHUNK_MSGS; i++) s.appendNoWait(subjectOf(i), i % 1000 === 0 ? Buffer.from(`NATS/1.0\r\nNats-Msg-Id: ${i}\r\n\r\n`) : null, Buffer.from(`v${i}`), T0 + BigInt(i) * 1000n);
  await s.append("tail", null, Buffer.from("tail"), T0 + 10n ** 12n);
  for (let seq = 7; seq < CHUNKS * CHUNK_MSGS; seq += 4099) await s.remove(seq);
  await s.purge({ filter: "rare.x" });
  await s.purge({ seq: 1500 });
}

/** Everything a reader asks, as one comparable value (sampled reads, every query). */
async function answers(s: StreamStore): Promise<unknown> {
  // Bytes are compared between file stores only (the two stores count a message's bytes differently).
  const st: Partial<ReturnType<StreamStore["state"]>> = { ...s.state() };
  delete st.lost;
  delete st.bytes;
  const reads: string[] = [];
  const lastSeq = st.lastSeq as number;
  for (let seq = 1; seq <= lastSeq; seq += 997) {
    const m = await s.load(seq);
    reads.push(m === null ? `${seq}:-` : `${seq}:${m.subject}|${m.timeNs}|${m.headers?.toString() ?? ""}|${m.data.toString()}`);
  }
  const filters = ["", "one.a", "mix.*", "mix.3", "rare.x", "tail", "*.a", "wide.42", "wide.*"];
  const froms = [1, 1500, CHUNK_MSGS * 4 + 17, CHUNK_MSGS * 9 - 1, lastSeq];
  return {
    st,
    reads,
    next: await Promise.all(filters.map((f) => Promise.all(froms.map(async (from) => (await s.loadNext(f, from))?.seq)))),
    last: await Promise.all(filters.map(async (f) => (await s.loadLast(f))?.seq)),
    pending: filters.map((f) => froms.map((from) => s.numPending(f, from))),
    subjects: [...s.subjects(">")].sort(),
    lasts: ["one.a", "mix.0", "mix.6", "tail"].map((x) => s.lastSequenceOf(x)),
    deleted: s.deletedSequences(40),
    at: await Promise.all([T0 + 5_000_000n, T0 + BigInt(CHUNK_MSGS * 11) * 1000n + 5n].map((t) => s.seqForTime(t))),
  };
}

/** A memory store and a file store in a temp directory, both after `change`, and the memory store's answers. */
async function changedStores(t: TestContext): Promise<{ dir: string; mem: MemoryStore; want: unknown; s: FileStore }> {
  const dir = await tempDir(t);
  const mem = new MemoryStore({ ...NoLimits });
  await change(mem);
  const want = await answers(mem);
  const s = await FileStore.open({ dir });
  await change(s);
  return { dir, mem, want, s };
}

test("index pages: chunks leave memory once durable and come back when read; every answer is the memory store's", async (t) => {
  const { dir, mem, want, s } = await changedStores(t);
  closeAtEnd(t, s);
  await s.settle();
  const pages = (await readdir(dir)).filter((n) => n.endsWith(".idx"));
  assert.ok(pages.length >= 1, "page files written");
  assert.ok(s.indexPages.inMemory <= RESIDENT_PAGES_MAX + 2, `chunks with arrays in memory: ${s.indexPages.inMemory}`);
  assert.deepEqual(await answers(s), want);
  assert.ok(s.indexPages.inMemory <= RESIDENT_PAGES_MAX + 2, `after reading everywhere: ${s.indexPages.inMemory}`);
  // Changes to chunks paged out: a delete deep in the history, limits dropping the front.
  await s.remove(CHUNK_MSGS * 8 + 100);
  await mem.remove(CHUNK_MSGS * 8 + 100);
  assert.deepEqual(await answers(s), await answers(mem));
  assert.equal(s.indexPages.rebuilt, 0);
});

test("index pages: a clean restart loads only the summaries; after a crash the same answers; the index file stays small", async (t) => {
  const { dir, want, s } = await changedStores(t);
  await s.settle();
  const bytes = s.state().bytes;
  // The directory as kill -9 leaves it: every acknowledged record, the pages written so far.
  const crashed = await tempDir(t);
  await cp(dir, crashed, { recursive: true, filter: (src) => !src.endsWith(".tmp") });
  await s.close();
  const snap = await readFile(join(dir, "index.snap"));
  assert.ok(snap.length < 64 * 1024, `index file of ${snap.length} bytes for ${CHUNKS} chunks`);
  const again = await FileStore.open({ dir });
  closeAtEnd(t, again);
  assert.deepEqual(again.recovery, { index: "loaded", reason: "", recordsRead: 0 });
  assert.ok(again.indexPages.inMemory <= 2, `chunks with arrays in memory after open: ${again.indexPages.inMemory}`);
  assert.deepEqual(await answers(again), want);
  assert.equal(again.state().bytes, bytes);
  const back = await FileStore.open({ dir: crashed });
  closeAtEnd(t, back);
  assert.deepEqual(await answers(back), want);
  assert.equal(back.state().bytes, bytes);
  assert.equal(back.indexPages.rebuilt, 0);
});

test("index pages: a damaged or missing page is reported and rebuilt from the segments, never used", async (t) => {
  const { dir, mem, want, s } = await changedStores(t);
  await s.close();
  const [first, second] = (await readdir(dir)).filter((n) => n.endsWith(".idx")).sort();
  assert.ok(first !== undefined);
  // A flipped bit in chunk 3's subject ids and in chunk 10's record places.
  const bytes = await readFile(join(dir, first));
  bytes[3 * PAGE_BYTES + 4 * 50] = (bytes[3 * PAGE_BYTES + 4 * 50] as number) ^ 1;
  bytes[10 * PAGE_BYTES + CHUNK_MSGS * 16 + 16 * 77 + 9] = (bytes[10 * PAGE_BYTES + CHUNK_MSGS * 16 + 16 * 77 + 9] as number) ^ 4;
  await writeFile(join(dir, first), bytes);
  assert.equal(second, undefined, "one page file for these chunks");
  const lines: string[] = [];
  const back = await FileStore.open({ dir, log: (l) => lines.push(l) });
  closeAtEnd(t, back);
  assert.deepEqual(await answers(back), want);
  // The message whose record place was damaged: read where the page says, found wrong, looked up again through the checked page.
  const seq = CHUNK_MSGS * 10 + 77;
  assert.equal((await back.load(seq))?.data.toString(), (await mem.load(seq))?.data.toString());
  assert.equal(back.state().lost, undefined);
  // A search by time in chunk 3 brings its arrays back: the damaged page is found then.
  assert.equal(await back.seqForTime(T0 + 12338n * 1000n), 12338);
  assert.ok(back.indexPages.rebuilt >= 2, `pages rebuilt: ${back.indexPages.rebuilt}: ${lines.join("\n")}`);
  assert.ok(lines.some((l) => /index page for sequences 12288\.\.16383 not used \(checksum mismatch\)/.test(l)), lines.join("\n"));
  assert.deepEqual(back.damage, []);
  // The page file gone altogether.
  await back.close();
  await rm(join(dir, first));
  const gone = await FileStore.open({ dir, log: () => {} });
  closeAtEnd(t, gone);
  const got = (await answers(gone)) as Record<string, unknown>;
  for (const [k, v] of Object.entries(want as Record<string, unknown>)) assert.deepEqual(got[k], v, k);
  assert.ok(gone.indexPages.rebuilt > 0);
});

test("index pages: a damaged record of a chunk paged out is never served, and its neighbours are", async (t) => {
  const { dir, mem, s } = await changedStores(t);
  await s.close();
  // Flip a byte in the payloads of messages 50,000 (chunk 12) and 60,000 (chunk 14), both paged.
  const segs = (await readdir(dir)).filter((n) => n.endsWith(".seg")).sort();
  const hit = new Set<string>();
  for (const name of segs) {
    const bytes = await readFile(join(dir, name));
    for (const v of ["v50000", "v60000"]) {
      const at = bytes.indexOf(v);
      if (at < 0) continue;
      bytes[at + 2] = (bytes[at + 2] as number) ^ 0x20;
      hit.add(name);
    }
    await writeFile(join(dir, name), bytes);
  }
  assert.ok(hit.size > 0, "the records were found");
  const back = await FileStore.open({ dir, log: () => {} });
  closeAtEnd(t, back);
  assert.equal((await back.load(20_000))?.data.toString(), "v20000");
  // Read through places taken from the pages (one row each), then through the chunk brought back.
  assert.equal((await back.load(50_001))?.data.toString(), "v50001");
  assert.equal(await back.load(60_000), null);
  assert.equal(await back.load(50_000), null);
  assert.deepEqual([...(back.state().lost?.msgs ?? [])].sort(), [50_000, 60_000]);
  assert.equal(back.damage.filter((d) => d.kind === "corrupt" && hit.has(d.segment)).length, 2);
  assert.equal((await back.load(49_999))?.data.toString(), (await mem.load(49_999))?.data.toString());
});

test("index pages: an old message of a chunk paged out is read in one read from its chunk's anchor; a damaged one found there is never served", async (t) => {
  const { dir, mem, s } = await changedStores(t);
  // Chunks paged out in this process took their anchors (the oldest: the newest RESIDENT_PAGES_MAX
  // keep their arrays): gets across them are anchored reads and bring no chunk back.
  const before = s.indexPages.anchoredReads;
  let gets = 0;
  // (Chunk 0 is left out: the purge brought it back last.)
  for (let seq = CHUNK_MSGS + 1; seq < (CHUNKS - RESIDENT_PAGES_MAX) * CHUNK_MSGS; seq += 733) {
    const want = await mem.load(seq);
    const got = await s.load(seq);
    assert.equal(got === null ? null : `${got.subject}|${got.timeNs}|${got.headers?.toString() ?? ""}|${got.data.toString()}`, want === null ? null : `${want.subject}|${want.timeNs}|${want.headers?.toString() ?? ""}|${want.data.toString()}`, `seq ${seq}`);
    if (want !== null) gets++;
  }
  const anchored = s.indexPages.anchoredReads - before;
  // The first read of the segment opens its read handle through the thread pool, not on the spot.
  assert.ok(anchored >= gets - 1, `anchored reads: ${anchored} of ${gets} gets`);
  assert.ok(s.indexPages.inMemory <= RESIDENT_PAGES_MAX + 1, `chunks brought back: ${s.indexPages.inMemory}`);
  // A replay through a chunk with anchors reads ahead: only its first message is an anchored read.
  const replayFrom = s.indexPages.anchoredReads;
  for (let seq = 2 * CHUNK_MSGS + 100; seq < 2 * CHUNK_MSGS + 400; seq++) {
    const want = await mem.load(seq);
    assert.equal((await s.load(seq))?.data.toString(), want?.data.toString(), `replay ${seq}`);
  }
  assert.ok(s.indexPages.anchoredReads - replayFrom <= 1, `anchored reads in a replay of 300: ${s.indexPages.anchoredReads - replayFrom}`);
  await s.close();

  // Flip a byte in the payload of message 14,000 (chunk 3).
  let hit = "";
  for (const name of (await readdir(dir)).filter((n) => n.endsWith(".seg"))) {
    const bytes = await readFile(join(dir, name));
    const at = bytes.indexOf("v14000");
    if (at < 0) continue;
    bytes[at + 2] = (bytes[at + 2] as number) ^ 0x20;
    await writeFile(join(dir, name), bytes);
    hit = name;
  }
  assert.ok(hit !== "", "the record was found");
  const back = await FileStore.open({ dir, log: () => {} });
  closeAtEnd(t, back);
  // After a restart chunks come back whole at their first read; paged out again (chunk 3 is, as the
  // RESIDENT_PAGES_MAX read after it stay), they have anchors.
  for (let n = 0; n < CHUNKS; n++) await back.load(n * CHUNK_MSGS + 2000);
  const was = back.indexPages.anchoredReads;
  assert.equal((await back.load(14_001))?.data.toString(), "v14001");
  assert.equal(back.indexPages.anchoredReads, was + 1, "the neighbour came from its anchor");
  assert.equal(back.loadNow(14_000), null, "the damaged record is not served");
  assert.equal(back.indexPages.anchoredReads, was + 1);
  assert.deepEqual([...(back.state().lost?.msgs ?? [])], [14_000]);
  assert.equal(back.damage.filter((d) => d.kind === "corrupt" && d.segment === hit).length, 1);
});
