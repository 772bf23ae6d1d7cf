/**
 * The file store's saved index (index-file.ts): a clean stop saves it and the next open loads it
 * without reading a record; after a crash only the records written since it was saved are read;
 * a damaged or stale index file is reported and rebuilt from the segments, never trusted.
 */
import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { appendFile, cp, mkdtemp, readFile, readdir, rm, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FileStore } from "../../../src/stores/file/file-store.js";
import { INDEX_FILE_NAME } from "../../../src/stores/file/index-file.js";
import { NoLimits } from "../../../src/stores/types.js";

async function tempDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "cuebus-idx-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Everything a reader can ask a store, as one comparable value. */
async function everything(s: FileStore): Promise<unknown> {
  const msgs: string[] = [];
  for (let m = await s.loadNext(">", 1); m !== null; m = await s.loadNext(">", m.seq + 1)) {
    msgs.push(`${m.seq}|${m.subject}|${m.timeNs}|${m.headers?.toString() ?? ""}|${m.data.toString()}`);
  }
  const st = s.state();
  return {
    st,
    msgs,
    subjects: [...s.subjects(">")].sort(),
    pending: ["k.*", "k.1", "other", ">"].map((f) => [1, 2000, st.lastSeq].map((from) => s.numPending(f, from))),
    lasts: ["k.0", "k.1", "k.2", "other"].map((x) => s.lastSequenceOf(x)),
    deleted: s.deletedSequences(100),
    last: (await s.loadLast("k.*"))?.seq,
    at: await s.seqForTime(1_000_000_000_000n + 3000n * 1_000_000n),
  };
}

/** A store across several segments, with deletes, a purge of one subject and a headers message. */
async function filled(dir: string, log?: (l: string) => void): Promise<FileStore> {
  const s = await FileStore.open({ dir, segmentMaxBytes: 16 * 1024, log });
  for (let i = 1; i <= 5000; i++) {
    const hdr = i % 97 === 0 ? Buffer.from(`NATS/1.0\r\nNats-Msg-Id: m${i}\r\n\r\n`) : null;
    s.appendNoWait(i % 500 === 0 ? "other" : `k.${i % 3}`, hdr, Buffer.from(`v${i}`), 1_000_000_000_000n + BigInt(i) * 1_000_000n);
  }
  await s.append("k.1", null, Buffer.from("last"));
  for (const seq of [2, 17, 4096, 4097, 4999]) await s.remove(seq);
  await s.purge({ filter: "other", keep: 3 });
  return s;
}

test("file store index: a clean stop saves the index; the next open loads it without reading a record and answers the same", async (t) => {
  const dir = await tempDir(t);
  const s = await filled(dir);
  const before = await everything(s);
  await s.close();
  assert.ok((await readdir(dir)).includes(INDEX_FILE_NAME));
  const again = await FileStore.open({ dir, segmentMaxBytes: 16 * 1024 });
  t.after(() => again.close());
  assert.deepEqual(again.recovery, { index: "loaded", reason: "", recordsRead: 0 });
  assert.deepEqual(await everything(again), before);
  assert.deepEqual(again.damage, []);
  // It goes on as before: appends, limits, a delete of a message the index file brought back.
  assert.equal(await again.append("k.0", null, Buffer.from("after")), 5002);
  assert.equal(await again.remove(3), true);
  assert.equal((await again.loadLast("k.0"))?.data.toString(), "after");
});

test("file store index: after a crash only what was written since the index was saved is read, torn tail and all", async (t) => {
  const dir = await tempDir(t);
  const s = await filled(dir);
  await s.close();
  const open = await FileStore.open({ dir, segmentMaxBytes: 16 * 1024 });
  // Written after the saved index: appends, deletes (one below it), a purge that moves the front.
  for (let i = 0; i < 300; i++) await open.append(`k.${i % 3}`, null, Buffer.from(`late${i}`));
  await open.remove(10);
  await open.remove(5100);
  await open.purge({ seq: 20 });
  const want = await everything(open);
  // The directory as a kill -9 leaves it (everything acknowledged is on disk), plus half a record.
  const crashed = await tempDir(t);
  await cp(dir, crashed, { recursive: true, filter: (src) => !src.endsWith(".tmp") });
  await open.close();
  const segs = (await readdir(crashed)).filter((n) => n.endsWith(".seg")).sort();
  await appendFile(join(crashed, segs[segs.length - 1] as string), Buffer.from([60, 0, 0, 0, 1, 2, 3]));
  const back = await FileStore.open({ dir: crashed, segmentMaxBytes: 16 * 1024 });
  t.after(() => back.close());
  assert.equal(back.recovery.index, "loaded");
  assert.ok(back.recovery.recordsRead > 300 && back.recovery.recordsRead < 400, `records read: ${back.recovery.recordsRead}`);
  assert.deepEqual(await everything(back), want);
  assert.deepEqual(back.damage.map((d) => d.kind), ["torn-tail"]);
});

test("file store index: a damaged, short or stale index file is reported and rebuilt from the segments", async (t) => {
  const dir = await tempDir(t);
  const s = await filled(dir);
  const want = await everything(s);
  await s.close();
  const good = await readFile(join(dir, INDEX_FILE_NAME));
  const cases: Array<[string, () => Promise<void>, RegExp]> = [
    ["a flipped bit", () => writeFile(join(dir, INDEX_FILE_NAME), Buffer.from(good).fill(good[100] as number ^ 1, 100, 101)), /checksum/],
    ["cut short", () => writeFile(join(dir, INDEX_FILE_NAME), good.subarray(0, good.length - 9)), /length/],
    ["not an index", () => writeFile(join(dir, INDEX_FILE_NAME), Buffer.from("hello")), /header/],
    ["a segment cut shorter than it lists", async () => {
      await writeFile(join(dir, INDEX_FILE_NAME), good);
      const segs = (await readdir(dir)).filter((n) => n.endsWith(".seg")).sort();
      const last = join(dir, segs[segs.length - 1] as string);
      const size = (await readFile(last)).length;
      await truncate(last, size - 1);
    }, /shorter/],
  ];
  for (const [what, damage, why] of cases) {
    await damage();
    const lines: string[] = [];
    const back = await FileStore.open({ dir, segmentMaxBytes: 16 * 1024, limits: NoLimits, log: (l) => lines.push(l) });
    assert.equal(back.recovery.index, "rebuilt", what);
    assert.match(back.recovery.reason, why, what);
    assert.ok(lines.some((l) => l.includes(INDEX_FILE_NAME) && l.includes("rebuilding")), `${what}: logged`);
    const got = (await everything(back)) as { msgs: string[] };
    if (what.startsWith("a segment cut")) {
      // The torn last record (here the purge's) is gone and reported; every message before it is served.
      assert.ok(back.damage.some((d) => d.kind === "torn-tail"));
      for (const m of (want as { msgs: string[] }).msgs.slice(0, -1)) assert.ok(got.msgs.includes(m), `${what}: ${m}`);
    } else assert.deepEqual(got, want, what);
    await back.close();
    // Rebuilt and saved again: the next open loads it.
    const next = await FileStore.open({ dir, segmentMaxBytes: 16 * 1024 });
    assert.equal(next.recovery.index, "loaded", `${what}: saved again`);
    await next.close();
  }
});

/** Six messages in one segment, closed (index saved); the segment's and the index file's bytes. */
async function sixMessages(t: TestContext): Promise<{ dir: string; seg: string; bytes: Buffer; index: Buffer; recordEnds: number[] }> {
  const dir = await tempDir(t);
  const s = await FileStore.open({ dir });
  for (let i = 1; i <= 6; i++) await s.append(`sub.${i}`, i % 2 === 0 ? Buffer.from("NATS/1.0\r\nK: v\r\n\r\n") : null, Buffer.from(`payload-${i}`));
  const recordEnds = [1, 2, 3, 4, 5, 6].map((q) => s.recordEnd(q));
  await s.close();
  const name = (await readdir(dir)).find((n) => n.endsWith(".seg")) as string;
  const seg = join(dir, name);
  return { dir, seg, bytes: await readFile(seg), index: await readFile(join(dir, INDEX_FILE_NAME)), recordEnds };
}

async function readAll(s: FileStore): Promise<Map<number, string>> {
  const msgs = new Map<number, string>();
  for (let m = await s.loadNext(">", 1); m !== null; m = await s.loadNext(">", m.seq + 1)) msgs.set(m.seq, `${m.subject}|${m.headers?.toString() ?? ""}|${m.data.toString()}`);
  return msgs;
}

test("file store index: with the index trusted, a flipped bit in a message record is found when read: never served, reported as lost", async (t) => {
  const { dir, seg, bytes, index, recordEnds } = await sixMessages(t);
  const first = await FileStore.open({ dir, indexFile: false });
  const original = await readAll(first);
  await first.close();
  // Every bit of the second record (one with headers).
  for (let bit = (recordEnds[0] as number) * 8; bit < (recordEnds[1] as number) * 8; bit++) {
    const copy = Buffer.from(bytes);
    copy[bit >> 3] = (copy[bit >> 3] as number) ^ (1 << (bit & 7));
    await writeFile(seg, copy);
    await writeFile(join(dir, INDEX_FILE_NAME), index);
    const lines: string[] = [];
    const s = await FileStore.open({ dir, log: (l) => lines.push(l) });
    assert.equal(s.recovery.index, "loaded");
    const msgs = await readAll(s);
    for (const [seq, text] of msgs) assert.equal(text, original.get(seq), `bit ${bit}: seq ${seq} served altered`);
    assert.equal(msgs.size, 5, `bit ${bit}: the other five served`);
    assert.ok(!msgs.has(2), `bit ${bit}: the damaged message served`);
    assert.deepEqual(s.state().lost?.msgs, [2], `bit ${bit}: state.lost`);
    assert.ok(lines.some((l) => l.includes("message 2 lost") && l.includes(".seg")), `bit ${bit}: logged`);
    await s.close();
  }
});

test("file store index: a record damaged in the middle of a segment is reported as lost when the index is rebuilt; a later delete of it is not", async (t) => {
  const { dir, seg, bytes, recordEnds } = await sixMessages(t);
  const damaged = Buffer.from(bytes);
  // A byte inside record 3 and one inside record 5.
  damaged[(recordEnds[2] as number) - 6] = (damaged[(recordEnds[2] as number) - 6] as number) ^ 0x10;
  damaged[(recordEnds[4] as number) - 6] = (damaged[(recordEnds[4] as number) - 6] as number) ^ 0x10;
  await writeFile(seg, damaged);
  const lines: string[] = [];
  const s = await FileStore.open({ dir, indexFile: false, log: (l) => lines.push(l) });
  t.after(() => s.close());
  assert.deepEqual([...(await readAll(s)).keys()], [1, 2, 4, 6]);
  assert.deepEqual(s.state().lost?.msgs, [3, 5]);
  assert.ok((s.state().lost?.bytes ?? 0) > 0);
  assert.equal(lines.filter((l) => / lost: segment \d+\.seg is damaged/.test(l)).length, 2);
  // A healthy store reports nothing lost.
  const { dir: other } = await sixMessages(t);
  const healthy = await FileStore.open({ dir: other, indexFile: false });
  assert.equal(healthy.state().lost, undefined);
  await healthy.close();
});

test("file store index: saved again as records are appended, publishing or not: a crash then reads only the newest ones", async (t) => {
  const dir = await tempDir(t);
  const s = await FileStore.open({ dir, segmentMaxBytes: 4096, indexSaveBytes: 4096 });
  t.after(() => s.close());
  // Bursts that leave no pause between batches, then one at a time.
  for (let i = 0; i < 600; i++) s.appendNoWait(`r.${i % 5}`, null, Buffer.alloc(40, i), BigInt(i + 1) * 1_000_000n);
  for (let i = 0; i < 200; i++) await s.append(`r.${i % 5}`, null, Buffer.alloc(40, i));
  // The save made at the newest segment's start is written once its batch is durable.
  await new Promise((r) => setTimeout(r, 100));
  const want = await everything(s);
  const crashed = await tempDir(t);
  await cp(dir, crashed, { recursive: true, filter: (src) => !src.endsWith(".tmp") });
  const back = await FileStore.open({ dir: crashed, segmentMaxBytes: 4096 });
  t.after(() => back.close());
  assert.equal(back.recovery.index, "loaded", back.recovery.reason);
  // A save every 4096 bytes of records (about 54 records), or as many as the index file holds
  // (here the chunk of 800 messages is not paged yet, so some 30 KB): a few hundred records are read.
  assert.ok(back.recovery.recordsRead < 600, `records read after the crash: ${back.recovery.recordsRead}`);
  assert.deepEqual(await everything(back), want);
});

test("file store index: segments dropped by limits after the save are fine; a segment gone while messages in it are held makes a rebuild", async (t) => {
  const dir = await tempDir(t);
  const opts = { dir, segmentMaxBytes: 4096, limits: { ...NoLimits, maxMsgs: 100 } };
  const s = await FileStore.open(opts);
  for (let i = 0; i < 150; i++) await s.append(`d.${i % 3}`, null, Buffer.alloc(40, i));
  await s.close();
  const old = await readFile(join(dir, INDEX_FILE_NAME));
  const again = await FileStore.open(opts);
  for (let i = 0; i < 300; i++) await again.append(`d.${i % 3}`, null, Buffer.alloc(40, i));
  const want = await everything(again);
  const crashed = await tempDir(t);
  // (A background save's temp file may come and go meanwhile: a crash would leave it, or not.)
  await cp(dir, crashed, { recursive: true, filter: (src) => !src.endsWith(".tmp") });
  await again.close();
  // The crash left the index saved before the oldest segments were dropped.
  await writeFile(join(crashed, INDEX_FILE_NAME), old);
  const back = await FileStore.open({ ...opts, dir: crashed });
  assert.equal(back.recovery.index, "loaded", back.recovery.reason);
  assert.deepEqual(await everything(back), want);
  await back.close();
  // A segment still holding messages removed behind the store's back: the index is not trusted.
  const segs = (await readdir(crashed)).filter((n) => n.endsWith(".seg")).sort();
  assert.ok(segs.length >= 3);
  await rm(join(crashed, segs[1] as string));
  const lines: string[] = [];
  const rebuilt = await FileStore.open({ ...opts, dir: crashed, log: (l) => lines.push(l) });
  t.after(() => rebuilt.close());
  assert.equal(rebuilt.recovery.index, "rebuilt");
  assert.match(rebuilt.recovery.reason, /is gone while messages in it are held/);
  assert.ok(lines.some((l) => l.includes("rebuilding")));
});
