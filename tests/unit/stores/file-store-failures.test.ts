/**
 * The file store on a full disk: a failed write is taken back (index and segment) and retried with
 * backoff, never sticky. ENOSPC is simulated at the segment writes: a write the disk has no room for
 * lands as far as it fits (a short write, for real) and the next call for the rest fails, as on a
 * full filesystem. tests/e2e/disk-full.test.ts does the same on a real full tmpfs (as root).
 */
import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import { syncBuiltinESMExports } from "node:module";
import { readlinkSync } from "node:fs";
import { mkdtemp, open, readdir, readFile, rm, stat, writeFile, type FileHandle } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EAGER_BATCH_RECORDS, FileStore, type FileStoreOptions } from "../../../src/stores/file/file-store.js";
import { RecordType, decodeRecord } from "../../../src/stores/file/record.js";
import { NoLimits, type StoreLimits } from "../../../src/stores/types.js";
import { waitFor } from "../../helpers/wait.js";

const dirs: string[] = [];
test.after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "cuebus-full-"));
  dirs.push(dir);
  return dir;
}

/** What a store logged, and how to open one that logs there with a short backoff. */
function logged(): { lines: string[]; log: FileStoreOptions["log"] } {
  const lines: string[] = [];
  return { lines, log: (line) => lines.push(line) };
}

const enospc = (): Error => Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" });

/** The decision for one held write: all of it, or this many bytes before the disk is full. */
type Outcome = "ok" | { fits: number };

interface HeldWrite {
  pos: number;
  bytes: number;
  settle(o: Outcome): void;
}

type WritevFn = (this: FileHandle, bufs: Buffer[], pos?: number) => Promise<{ bytesWritten: number; buffers: Buffer[] }>;
type TruncateFn = (this: FileHandle, len?: number) => Promise<void>;

/**
 * A disk under the test's control, at every segment write under `dir` (O_DSYNC writes name their offset):
 * `pass` writes, `full` fails with ENOSPC before a byte lands, `hold` waits for the test to settle
 * each write (`held`). A write settled `{ fits: n }` writes its first n bytes for real and returns
 * n; the call for the rest then fails with ENOSPC. `holdCuts` holds the truncation that cuts a
 * segment back, so the test can copy what a crash before it would leave.
 */
interface Disk {
  /** Only files under it are affected (stores of other tests keep their own disk). */
  dir: string;
  mode: "pass" | "full" | "hold";
  held: HeldWrite[];
  calls: number;
  holdCuts: boolean;
  cuts: Array<() => void>;
}

let handleProto: { writev: WritevFn; truncate: TruncateFn } | null = null;

async function fileHandleProto(): Promise<{ writev: WritevFn; truncate: TruncateFn }> {
  if (handleProto !== null) return handleProto;
  const dir = await tempDir();
  const probe = await open(join(dir, "probe"), "w");
  handleProto = Object.getPrototypeOf(probe) as { writev: WritevFn; truncate: TruncateFn };
  await probe.close();
  return handleProto;
}

async function install(t: TestContext): Promise<Disk> {
  const disk: Disk = { dir: "", mode: "pass", held: [], calls: 0, holdCuts: false, cuts: [] };
  const ours = (fh: FileHandle): boolean => disk.dir !== "" && readlinkSync(`/proc/self/fd/${fh.fd}`).startsWith(disk.dir);
  const proto = await fileHandleProto();
  const writev = proto.writev;
  const truncate = proto.truncate;
  const fullAt = new Set<string>();
  proto.writev = async function (this: FileHandle, bufs: Buffer[], pos?: number) {
    if (typeof pos !== "number" || !ours(this)) return writev.call(this, bufs, pos);
    disk.calls++;
    const key = `${this.fd}:${pos}`;
    if (fullAt.delete(key) || disk.mode === "full") throw enospc();
    if (disk.mode === "pass") return writev.call(this, bufs, pos);
    const bytes = bufs.reduce((a, b) => a + b.length, 0);
    const outcome = await new Promise<Outcome>((settle) => disk.held.push({ pos, bytes, settle }));
    if (outcome === "ok") return writev.call(this, bufs, pos);
    if (outcome.fits === 0) throw enospc();
    const part = Buffer.concat(bufs).subarray(0, outcome.fits);
    const r = await writev.call(this, [part], pos);
    fullAt.add(`${this.fd}:${pos + r.bytesWritten}`);
    return r;
  };
  proto.truncate = async function (this: FileHandle, len?: number) {
    if (disk.holdCuts && ours(this)) await new Promise<void>((go) => disk.cuts.push(go));
    return truncate.call(this, len);
  };
  t.after(() => {
    proto.writev = writev;
    proto.truncate = truncate;
    // A test that failed half way leaves nothing hanging.
    for (const w of disk.held.splice(0)) w.settle({ fits: 0 });
    for (const go of disk.cuts.splice(0)) go();
  });
  return disk;
}

interface Opened {
  store: FileStore;
  dir: string;
  lines: string[];
}

/** A store on a fresh directory (the disk's, when given), closed after the test. */
async function openStore(t: TestContext, disk: Disk | null, extra: Partial<FileStoreOptions> = {}): Promise<Opened> {
  const dir = await tempDir();
  if (disk !== null) disk.dir = dir;
  const { lines, log } = logged();
  const store = await FileStore.open({ dir, log, retryBackoffMs: [5], ...extra });
  t.after(() => store.close());
  return { store, dir, lines };
}

/** Everything a reader sees: state, per-subject counts and each message (seq, subject, payload). */
async function readable(s: FileStore): Promise<{ state: ReturnType<FileStore["state"]>; subjects: Array<[string, number]>; msgs: string[] }> {
  const msgs: string[] = [];
  for (let m = await s.loadNext(">", 1); m !== null; m = await s.loadNext(">", m.seq + 1)) msgs.push(`${m.seq}|${m.subject}|${m.data.toString()}`);
  const st = s.state();
  assert.equal(st.messages, msgs.length, "state counts exactly the messages that can be read");
  return { state: st, subjects: [...s.subjects(">")].sort(), msgs };
}

const segmentOf = async (dir: string): Promise<string> => {
  const names = (await readdir(dir)).filter((n) => n.endsWith(".seg")).sort();
  return join(dir, names[names.length - 1] as string);
};

/** Records of a segment file: type, the sequence field, offset. */
function recordsOf(bytes: Buffer): Array<{ type: number; seq: number; off: number }> {
  const out: Array<{ type: number; seq: number; off: number }> = [];
  for (let off = 0; off < bytes.length; ) {
    const r = decodeRecord(bytes, off);
    assert.ok(typeof r !== "string", `an intact record at ${off}`);
    out.push({ type: r.type, seq: r.seq, off });
    off += r.size;
  }
  return out;
}

/** Store `n` messages (acknowledged) on subjects k.0..k.2. */
async function fill(s: FileStore, n: number, tag = "kept"): Promise<void> {
  for (let i = 0; i < n; i++) await s.append(`k.${i % 3}`, null, Buffer.from(`${tag}-${i}`));
}

/**
 * After a failure, with room again: the next append after the backoff is the retry and is stored
 * with the sequence after the last one stored; the outage is over; the store reopens cleanly with
 * exactly `expect` and that append.
 */
async function recoversAndReopens(o: Opened, disk: { mode: string }, expect: Awaited<ReturnType<typeof readable>>): Promise<void> {
  const { store, dir, lines } = o;
  disk.mode = "pass";
  let seq = 0;
  // Refused while the store waits out its backoff (changing nothing), then taken.
  await waitFor(
    async () => {
      seq = await store.append("after", null, Buffer.from("after")).catch(() => 0);
      return seq !== 0;
    },
    5000,
    "an append taken again",
  );
  const next = expect.state.lastSeq + 1;
  assert.equal(seq, next, "the next append gets the sequence after the last one stored");
  assert.equal(store.writeState().error, null);
  assert.match(lines[lines.length - 1] as string, /^JetStream store .*: writes succeed again/);
  assert.deepEqual((await readable(store)).msgs, [...expect.msgs, `${next}|after|after`]);
  await store.close();
  const again = await FileStore.open({ dir });
  try {
    assert.deepEqual(again.damage, [], "the cut left the segment as recovery would: no torn tail, nothing to skip");
    const back = await readable(again);
    assert.deepEqual(back.msgs, [...expect.msgs, `${next}|after|after`]);
    assert.equal(back.state.lastSeq, next);
  } finally {
    await again.close();
  }
}

test("file store, full disk, one write in flight: the batch fails, the index and the segment go back to what was acknowledged, appends are refused until a retry succeeds", async (t) => {
  const disk = await install(t);
  const o = await openStore(t, disk);
  const { store, dir, lines } = o;
  await fill(store, 10);
  const before = await readable(store);
  const seg = await segmentOf(dir);
  const size = (await stat(seg)).size;
  disk.mode = "hold";
  const appends = Promise.allSettled(["k.0", "fresh.subject", "k.1"].map((subj, i) => store.append(subj, null, Buffer.from(`lost-${i}`))));
  await waitFor(() => disk.held.length === 1, 5000, "the batch on its way");
  disk.mode = "full";
  (disk.held.shift() as HeldWrite).settle({ fits: 50 });
  const results = await appends;
  assert.ok(results.every((r) => r.status === "rejected" && /ENOSPC/.test(String(r.reason))), "every append of the batch fails with the disk's error");
  // At once, before the segment is cut: nothing counted that is not stored, the last sequence back.
  assert.deepEqual(await readable(store), before);
  assert.equal(store.lastSequence(), 10);
  assert.equal(await store.load(11), null);
  assert.equal(store.durableSequence(), 10);
  const w = store.writeState();
  assert.match(w.error ?? "", /ENOSPC/);
  assert.equal(w.failedWrites, 1);
  assert.ok(w.failingSinceMs > 0);
  assert.match(lines[0] as string, /^JetStream store .*: write failed, publishes are refused .*ENOSPC/);
  // Still full: appends and changes are refused at once, or fail again after the backoff.
  assert.throws(() => store.appendNoWait("k.0", null, Buffer.from("x"), 1n), /ENOSPC/);
  await assert.rejects(store.remove(1), /ENOSPC/);
  await assert.rejects(store.purge(), /ENOSPC/);
  await waitFor(
    async () => {
      await store.append("k.0", null, Buffer.from("x")).catch(() => 0);
      return store.writeState().failedWrites >= 3;
    },
    5000,
    "retries (appends after the backoff) that fail again",
  );
  assert.deepEqual(await readable(store), before);
  await waitFor(async () => (await stat(seg)).size === size, 5000, "the segment cut back to the acknowledged bytes");
  assert.equal(lines.length, 1, "one line when writes start failing, none per retry");
  await recoversAndReopens(o, disk, before);
});

test("file store, full disk, two writes in flight: whichever fails, both batches and every queued append fail, and nothing they held is counted or kept", async (t) => {
  const disk = await install(t);
  // Which of the two overlapping writes (started first, second) is settled first, how, and then
  // the other: a write that fails tears (part of it lands) or lands nothing.
  const cases: Array<{ name: string; settleFirst: "first" | "second"; first: Outcome; second: Outcome }> = [
    { name: "the second lands whole, then the first tears", settleFirst: "second", first: { fits: 100 }, second: "ok" },
    { name: "the second tears, then the first lands whole", settleFirst: "second", first: "ok", second: { fits: 300 } },
    { name: "the first lands nothing, then the second lands whole", settleFirst: "first", first: { fits: 0 }, second: "ok" },
    { name: "the first lands whole and is acknowledged, then the second tears", settleFirst: "first", first: "ok", second: { fits: 1 } },
  ];
  for (const c of cases) {
    const o = await openStore(t, disk);
    const { store, dir } = o;
    const writes = (): number => (store as unknown as { commits: { writes: number } }).commits.writes;
    await fill(store, 7);
    const before = await readable(store);
    disk.mode = "hold";
    disk.holdCuts = true;
    let acked = 0;
    // Two eager batches of EAGER_BATCH_RECORDS, and appends queued behind them.
    const n = EAGER_BATCH_RECORDS * 2 + 10;
    const appends = Promise.allSettled(
      Array.from({ length: n }, (_, i) =>
        store.append(`o.${i % 5}`, null, Buffer.from(`lost-${i}`)).then(() => {
          acked++;
        }),
      ),
    );
    await waitFor(() => disk.held.length === 2, 5000, "two writes in flight");
    // Whatever is written after these two (a retry) finds the disk full until the end.
    disk.mode = "full";
    const [w1, w2] = disk.held.splice(0, 2) as [HeldWrite, HeldWrite];
    assert.ok(w1.pos < w2.pos);
    const [early, earlyOutcome, late, lateOutcome] = c.settleFirst === "first" ? [w1, c.first, w2, c.second] : [w2, c.second, w1, c.first];
    early.settle(earlyOutcome);
    // The early one's write has returned (or failed) before the other is settled.
    if (earlyOutcome !== "ok") await waitFor(() => store.writeState().error !== null, 5000, "the failure seen");
    else if (c.settleFirst === "first") await waitFor(() => store.durableSequence() === 7 + EAGER_BATCH_RECORDS, 5000, "the first batch acknowledged");
    else await waitFor(() => writes() === 1, 5000, "the second write returned");
    late.settle(lateOutcome);
    const results = await appends;
    const firstAcked = c.first === "ok" && c.settleFirst === "first";
    // The first batch, when it returned whole before the second failed, is acknowledged and kept
    // (its last append waits on the next batch's commit, so it fails with it); nothing else is.
    if (firstAcked) assert.ok(acked > 0 && results.slice(0, acked).every((r) => r.status === "fulfilled"), c.name);
    else assert.equal(acked, 0, `${c.name}: nothing acknowledged`);
    assert.ok(results.slice(acked).every((r) => r.status === "rejected" && /ENOSPC/.test(String(r.reason))), `${c.name}: every other append fails`);
    const expect = firstAcked ? await readable(store) : before;
    if (firstAcked) assert.equal(expect.state.lastSeq, 7 + EAGER_BATCH_RECORDS);
    else assert.deepEqual(await readable(store), before, `${c.name}: the index is back where it was`);
    assert.equal(store.lastSequence(), expect.state.lastSeq);
    // Before the cut, as a crash would leave it: recovery keeps everything acknowledged and
    // reports only a torn tail (an unfinished write), never damage to what was acknowledged.
    await waitFor(() => disk.cuts.length === 1, 5000, "the cut, once no write is in flight");
    const crashed = await tempDir();
    await writeFile(join(crashed, "00000000000000000001.seg"), await readFile(await segmentOf(dir)));
    const after = await FileStore.open({ dir: crashed });
    assert.ok(after.damage.every((d) => d.kind === "torn-tail"), `${c.name}: ${JSON.stringify(after.damage)}`);
    const kept = await readable(after);
    assert.deepEqual(kept.msgs.slice(0, expect.msgs.length), expect.msgs, `${c.name}: nothing acknowledged lost in a crash before the cut`);
    await after.close();
    disk.holdCuts = false;
    (disk.cuts.shift() as () => void)();
    await recoversAndReopens(o, disk, expect);
  }
});

test("file store, full disk: the batch record that closes overlapping writes fails alone; nothing is lost, and the retry writes it", async (t) => {
  const disk = await install(t);
  const o = await openStore(t, disk);
  const { store, dir } = o;
  await fill(store, 3);
  disk.mode = "hold";
  const appends = Promise.all(Array.from({ length: EAGER_BATCH_RECORDS * 2 }, (_, i) => store.append(`c.${i % 2}`, null, Buffer.from(`m-${i}`))));
  await waitFor(() => disk.held.length === 2, 5000, "two writes in flight");
  for (const w of disk.held.splice(0, 2)) w.settle("ok");
  await appends;
  const acked = await readable(store);
  const seg = await segmentOf(dir);
  const end = (await stat(seg)).size;
  await waitFor(() => disk.held.length === 1, 5000, "the closing batch record");
  const closer = disk.held.shift() as HeldWrite;
  assert.equal(closer.bytes, 35, "a batch record alone");
  assert.equal(closer.pos, end);
  disk.mode = "full";
  closer.settle({ fits: 20 });
  await waitFor(() => store.writeState().error !== null, 5000, "the failure reported");
  assert.deepEqual(await readable(store), acked, "no append was waiting on it: nothing changes");
  await waitFor(async () => (await stat(seg)).size === end, 5000, "the torn record cut away");
  await recoversAndReopens(o, disk, acked);
  // The retry's batch opened with the batch record, where the torn one was cut: it closes off the
  // overlapping batches before it (everything below it durable), then the append.
  const recs = recordsOf(await readFile(seg));
  const at = recs.findIndex((r) => r.off === end);
  assert.deepEqual(recs.slice(at).map((r) => [r.type, r.seq]), [
    [RecordType.BATCH, end],
    [RecordType.MSG, acked.state.lastSeq + 1],
  ]);
});

test("file store, full disk: drops made by the failed batches (limits, deletes, purges) are put back, with their subjects", async (t) => {
  const disk = await install(t);
  const limits: StoreLimits = { ...NoLimits, maxMsgs: 6, discard: "old" };
  const o = await openStore(t, disk, { limits });
  const { store } = o;
  await fill(store, 8);
  await store.remove(5);
  const before = await readable(store);
  assert.deepEqual(before.msgs.map((m) => Number(m.split("|")[0])), [3, 4, 6, 7, 8]);
  disk.mode = "hold";
  // Each append drops the oldest (max_msgs); a delete, a purge of one subject: all in one batch.
  const ops: Array<Promise<unknown>> = [];
  for (let i = 0; i < 4; i++) ops.push(store.append(i === 0 ? "new.one" : "k.0", null, Buffer.from(`lost-${i}`)));
  ops.push(store.remove(7));
  ops.push(store.purge({ filter: "k.2" }));
  const settled = Promise.allSettled(ops);
  await waitFor(() => disk.held.length >= 1, 5000, "the batch on its way");
  assert.notDeepEqual(store.state(), before.state, "the batch changed the index");
  disk.mode = "full";
  (disk.held.shift() as HeldWrite).settle({ fits: 40 });
  const results = await settled;
  assert.ok(results.every((r) => r.status === "rejected"), "every change of the failed batch fails");
  assert.deepEqual(await readable(store), before);
  await recoversAndReopens(o, disk, before);
});

test("file store, full disk, sync: interval: a short append write is cut back and retried the same way", async (t) => {
  // Under `interval` a batch is one writev on the event loop (appending): fail it as a full disk would.
  const writevSync = fs.writevSync;
  let full = false;
  let failed = 0;
  fs.writevSync = (fd: number, bufs: readonly NodeJS.ArrayBufferView[], pos?: number): number => {
    if (!full) return writevSync(fd, bufs, pos);
    failed++;
    if (failed % 2 === 0) throw enospc();
    const part = Buffer.concat(bufs.map((b) => Buffer.from(b.buffer, b.byteOffset, b.byteLength))).subarray(0, 17);
    return writevSync(fd, [part], pos);
  };
  syncBuiltinESMExports();
  t.after(() => {
    fs.writevSync = writevSync;
    syncBuiltinESMExports();
  });
  const o = await openStore(t, null, { sync: "interval", syncIntervalMs: 60_000 });
  const { store, dir } = o;
  await fill(store, 5);
  const before = await readable(store);
  const size = (await stat(await segmentOf(dir))).size;
  full = true;
  const lost = await Promise.allSettled([store.append("k.0", null, Buffer.from("lost-a")), store.append("k.1", null, Buffer.from("lost-b"))]);
  assert.ok(lost.every((r) => r.status === "rejected" && /ENOSPC/.test(String(r.reason))));
  assert.deepEqual(await readable(store), before);
  await waitFor(async () => (await stat(await segmentOf(dir))).size === size && store.writeState().failedWrites >= 1, 5000, "the cut");
  full = false;
  await recoversAndReopens(o, { mode: "pass" }, before);
});
