import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, open, readFile, rm, writeFile } from "node:fs/promises";
import { constants } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EAGER_BATCH_BYTES, EAGER_BATCH_RECORDS, FileStore, MAX_WRITES_IN_FLIGHT, TAIL_CACHE_BYTES } from "../../../src/stores/file/file-store.js";
import { RecordType, decodeRecord } from "../../../src/stores/file/record.js";
import { waitFor } from "../../helpers/wait.js";
import { storeConformance } from "./conformance.js";
import { dirOf, dirs, fresh, segmentFiles, served, smallSegment } from "./file-store-helpers.js";

storeConformance("file store", {
  create: fresh,
  reopen: async (store, limits) => {
    const dir = dirOf.get(store) as string;
    await store.close();
    const s = await FileStore.open({ dir, limits });
    dirOf.set(s, dir);
    return s;
  },
});


test("file store: subjects of every kind and nanosecond times come back exactly, cached and after a reopen", async () => {
  const s = await fresh();
  const subjects = ["a", "orders.eu.created", `long.${"x".repeat(120)}`, "prix.été.ünïcode", "emoji.🚀.launch"];
  // Times with all 64 bits in use below the sign: no part may be lost on the way through the halves.
  const times = [1_700_000_000_123_456_789n, 1n, 0x7fff_ffff_ffff_ffffn, 4_294_967_296n, 4_294_967_295n];
  for (let i = 0; i < subjects.length; i++) s.appendNoWait(subjects[i] as string, null, Buffer.from(`m${i}`), times[i] as bigint);
  await s.append("last", null, Buffer.from("end"), times[0] as bigint);
  const check = async (store: FileStore, when: string): Promise<void> => {
    for (let i = 0; i < subjects.length; i++) {
      const m = await store.load(i + 1);
      assert.equal(m?.subject, subjects[i], `subject ${i} ${when}`);
      assert.equal(m?.timeNs, times[i], `time ${i} ${when}`);
      assert.equal(m?.data.toString(), `m${i}`, `data ${i} ${when}`);
    }
  };
  await check(s, "from the tail cache");
  const dir = dirOf.get(s) as string;
  await s.close();
  const again = await FileStore.open({ dir });
  try {
    assert.deepEqual(again.damage, []);
    await check(again, "after a reopen");
  } finally {
    await again.close();
  }
});

test("file store: scan after a reopen reads every record from disk, across segments, in order", async () => {
  const dir = await mkdtemp(join(tmpdir(), "cuebus-fs-"));
  dirs.push(dir);
  const s = await FileStore.open({ dir, segmentMaxBytes: 600 });
  for (let i = 1; i <= 40; i++) await s.append(`s.${i % 3}`, i % 4 === 0 ? Buffer.from(`NATS/1.0\r\nNats-Msg-Id: id-${i}\r\n\r\n`) : null, Buffer.from(`payload-${i}`));
  await s.remove(10);
  await s.close();
  assert.ok((await segmentFiles(dir)).length > 3, "several segments");
  // A window of 7 bytes: every record crosses a chunk edge.
  const again = await FileStore.open({ dir, recoveryChunkBytes: 7 });
  try {
    const seen: string[] = [];
    await again.scan(5, (m) => void seen.push(`${m.seq}|${m.subject}|${m.headers?.toString() ?? ""}|${m.data.toString()}`));
    const expected: string[] = [];
    for (let seq = 5; seq <= 40; seq++) {
      const m = await again.load(seq);
      if (m !== null) expected.push(`${m.seq}|${m.subject}|${m.headers?.toString() ?? ""}|${m.data.toString()}`);
    }
    assert.equal(expected.length, 35);
    assert.deepEqual(seen, expected);
  } finally {
    await again.close();
  }
});

test("file store: a store whose segment is gone keeps refusing appends, and keeps retrying the cut with backoff", async () => {
  const dir = await mkdtemp(join(tmpdir(), "cuebus-fs-"));
  dirs.push(dir);
  const s = await FileStore.open({ dir, retryBackoffMs: [5] });
  await s.append("a", null, Buffer.from("1"));
  await rm(dir, { recursive: true, force: true });
  // Force a new segment so the missing directory is hit.
  const forced = (s as unknown as { writer: { fh: { close(): Promise<void> } | null } }).writer;
  await forced.fh?.close();
  forced.fh = null;
  await assert.rejects(s.append("a", null, Buffer.from("2")), /ENOENT/);
  assert.throws(() => s.appendNoWait("a", null, Buffer.from("3"), 1n), /ENOENT/, "later appends fail fast with the error");
  // The acknowledged segment cannot be cut back (it is gone): the outage lasts, retried, reported.
  await waitFor(() => s.writeState().failedWrites >= 3, 5000, "retries of the cut");
  assert.match(s.writeState().error ?? "", /ENOENT/);
  assert.deepEqual([s.state().messages, s.lastSequence()], [1, 1]);
  await s.close();
});

test("file store: a write that fails while another is in flight fails both batches; while the store waits to retry, appends are refused and nothing is written", { timeout: 10_000 }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "cuebus-fs-"));
  dirs.push(dir);
  const s = await FileStore.open({ dir, retryBackoffMs: [60_000] });
  await s.append("e", null, Buffer.from("kept"));
  const probe = await open(join(tmpdir(), `cuebus-probe-e-${process.pid}`), "w");
  type Handle = { writev(bufs: Buffer[], pos?: number): Promise<{ bytesWritten: number }> };
  const proto = Object.getPrototypeOf(probe) as Handle;
  await probe.close();
  const original = proto.writev;
  let calls = 0;
  proto.writev = async function (): Promise<{ bytesWritten: number }> {
    calls++;
    await new Promise((r) => setTimeout(r, 5));
    throw Object.assign(new Error("EIO: i/o error, write"), { code: "EIO" });
  };
  t.after(() => {
    proto.writev = original;
  });
  const burst = Array.from({ length: EAGER_BATCH_RECORDS * 2 }, (_, i) => s.append("e", null, Buffer.from(`lost-${i}`)));
  const results = await Promise.allSettled(burst);
  assert.ok(results.every((r) => r.status === "rejected" && /EIO/.test(String(r.reason))), "every append of both batches fails");
  assert.equal(calls, 2, "two batches were on their way at once");
  await assert.rejects(s.append("e", null, Buffer.from("later")), /EIO/);
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(calls, 2, "no write tried before the backoff is over");
  assert.deepEqual([s.state().messages, s.lastSequence()], [1, 1], "nothing counted that was not stored");
  // Nothing left counted as on its way: a failed store must not keep starting batches (closing
  // batch records included), which once recursed until the stack ran out.
  const counters = (s as unknown as { commits: { writes: number; inflight: number } }).commits;
  assert.deepEqual([counters.writes, counters.inflight], [0, 0]);
  proto.writev = original;
  await s.close();
});

test("file store: group commit resolves many concurrent appends in order", async () => {
  const s = await fresh();
  const seqs = await Promise.all(Array.from({ length: 500 }, (_, i) => s.append("g", null, Buffer.from(String(i)))));
  assert.deepEqual(seqs, Array.from({ length: 500 }, (_, i) => i + 1));
  const dir = dirOf.get(s) as string;
  await s.close();
  const { store, msgs } = await served(dir);
  assert.equal(msgs.size, 500);
  await store.close();
});

test("file store: a burst larger than one eager batch, across a segment roll, is stored whole and in order", async () => {
  const dir = await mkdtemp(join(tmpdir(), "cuebus-fs-"));
  dirs.push(dir);
  const s = await FileStore.open({ dir, segmentMaxBytes: EAGER_BATCH_BYTES });
  const n = Math.ceil((4 * EAGER_BATCH_BYTES) / 1024);
  const body = (i: number): Buffer => Buffer.alloc(1024, i % 251);
  const seqs = await Promise.all(Array.from({ length: n }, (_, i) => s.append(`b.${i % 3}`, null, body(i))));
  assert.deepEqual(seqs, Array.from({ length: n }, (_, i) => i + 1));
  await s.close();
  assert.ok((await segmentFiles(dir)).length >= 2, "the burst crossed a segment roll");
  const store = await FileStore.open({ dir });
  assert.deepEqual(store.damage, []);
  for (let i = 0; i < n; i++) {
    const m = await store.load(i + 1);
    assert.ok(m !== null && m.subject === `b.${i % 3}` && m.data.equals(body(i)), `message ${i + 1} intact`);
  }
  await store.close();
});

test("file store: nothing is acknowledged before the O_DSYNC writes that hold it, and every one before, have returned", async (t) => {
  // Watch every write of a segment: on a handle opened O_DSYNC, what it wrote is durable once it
  // returns. Writes go at explicit offsets, up to MAX_WRITES_IN_FLIGHT at once, so what is durable
  // is the stretch from offset 0 that returned writes cover without a gap.
  const probe = await open(join(tmpdir(), `cuebus-probe-${process.pid}`), "w");
  type Handle = { fd: number; writev(bufs: Buffer[], pos?: number): Promise<{ bytesWritten: number }> };
  const proto = Object.getPrototypeOf(probe) as Handle;
  await probe.close();
  const original = proto.writev;
  const returned = new Map<number, number>();
  let durable = 0;
  let syncs = 0;
  let inFlight = 0;
  let mostInFlight = 0;
  const notDsync: number[] = [];
  const noOffset: number[] = [];
  proto.writev = async function (this: Handle, bufs: Buffer[], pos?: number): Promise<{ bytesWritten: number }> {
    inFlight++;
    mostInFlight = Math.max(mostInFlight, inFlight);
    // The flags the kernel holds for this descriptor (octal): O_DSYNC must be among them.
    const flags = Number.parseInt(/flags:\s*(\d+)/.exec(await readFile(`/proc/self/fdinfo/${this.fd}`, "utf8"))?.[1] ?? "0", 8);
    if ((flags & constants.O_DSYNC) === 0) notDsync.push(this.fd);
    if (typeof pos !== "number") noOffset.push(this.fd);
    const r = await original.call(this, bufs, pos);
    inFlight--;
    syncs++;
    returned.set(pos as number, (pos as number) + r.bytesWritten);
    while (returned.has(durable)) durable = returned.get(durable) as number;
    return r;
  };
  t.after(() => {
    proto.writev = original;
  });
  const s = await fresh();
  const endOf = (seq: number): number => s.recordEnd(seq);
  const violations: string[] = [];
  let told = 0;
  s.setDurableListener((seq, err) => {
    assert.equal(err, null);
    if (durable < endOf(seq)) violations.push(`listener told ${seq} before it and all before it were synced`);
    if (seq < told) violations.push(`listener told ${seq} after ${told}`);
    told = seq;
  });
  // Bursts of small and large records: crosses EAGER_BATCH_RECORDS and EAGER_BATCH_BYTES, through both entry points.
  for (let round = 0; round < 4; round++) {
    const burst: Array<Promise<void>> = [];
    let resolved = 0;
    for (let i = 0; i < EAGER_BATCH_RECORDS * 2 + 7; i++) {
      const data = Buffer.alloc(i % 5 === 0 ? 2048 : 16, i);
      if (i % 2 === 0) s.appendNoWait("d.x", null, data, 0n);
      else
        burst.push(
          s.append("d.y", null, data).then((seq) => {
            if (durable < endOf(seq)) violations.push(`append ${seq} resolved before it and all before it were synced`);
            if (seq < resolved) violations.push(`append ${seq} resolved after ${resolved}`);
            resolved = seq;
          }),
        );
    }
    await Promise.all(burst);
  }
  assert.deepEqual(violations, []);
  assert.deepEqual(notDsync, [], "every segment write goes through an O_DSYNC handle");
  assert.deepEqual(noOffset, [], "every segment write names its offset");
  assert.equal(mostInFlight, MAX_WRITES_IN_FLIGHT, "batches overlapped on their way to the disk");
  assert.equal((await segmentFiles(dirOf.get(s) as string)).length, 1, "one segment");
  assert.ok(syncs >= 4, `durable writes: ${syncs}`);
  assert.ok(syncs < s.state().messages / 8, `group commit: ${syncs} durable writes for ${s.state().messages} appends`);
});

/** The records of a segment file as written: type, the sequence field, offset and size. */
function recordsOf(bytes: Buffer): Array<{ type: number; seq: number; off: number; size: number }> {
  const out: Array<{ type: number; seq: number; off: number; size: number }> = [];
  for (let off = 0; off < bytes.length; ) {
    const r = decodeRecord(bytes, off);
    assert.ok(typeof r !== "string", `record at ${off}`);
    out.push({ type: r.type, seq: r.seq, off, size: r.size });
    off += r.size;
  }
  return out;
}

/**
 * A store that wrote one message alone, then two batches at once (each EAGER_BATCH_RECORDS
 * messages: the second opens with a batch record while the first is on its way to the disk), then
 * closed: its segment's bytes and where the overlapping batches lie.
 */
async function overlappedSegment(): Promise<{ dir: string; seg: string; bytes: Buffer; first: number; second: number; closer: number }> {
  const s = await fresh();
  await s.append("o.alone", null, Buffer.from("before"));
  const burst: Array<Promise<number>> = [];
  for (let i = 0; i < EAGER_BATCH_RECORDS * 2; i++) burst.push(s.append(`o.${i % 4}`, null, Buffer.from(`m-${i}`)));
  await Promise.all(burst);
  await s.close();
  const dir = dirOf.get(s) as string;
  const [name] = await segmentFiles(dir);
  const seg = join(dir, name as string);
  const bytes = await readFile(seg);
  const batches = recordsOf(bytes).filter((r) => r.type === RecordType.BATCH);
  // The second batch says where the first began: only that was not yet known durable.
  assert.equal(batches.length, 2, "a batch record opening the overlapping batch, one closing the overlap");
  const [open2, closer] = batches as unknown as [{ seq: number; off: number }, { seq: number; off: number }];
  assert.ok(open2.seq < open2.off, "the second batch was written while the first was in flight");
  assert.equal(closer.seq, closer.off, "once both returned, everything before the closing record was durable");
  return { dir, seg, bytes, first: open2.seq, second: open2.off, closer: closer.off };
}

test("file store: a batch that never reached the disk while the one after it did is cut off at recovery; nothing after it is served", async () => {
  const { dir, seg, bytes, first, second, closer } = await overlappedSegment();
  const { store: good, msgs: original } = await served(dir);
  assert.equal(original.size, 1 + EAGER_BATCH_RECORDS * 2);
  assert.deepEqual(good.damage, []);
  await good.close();
  const recs = recordsOf(bytes);
  const msgEnd = (off: number): number => recs.filter((r) => r.type === RecordType.MSG && r.off + r.size <= off).length;
  // Killed before the closing record: the first batch lost entirely (a hole of zeros the later
  // write left), or only its end (torn inside a record, or on a record boundary).
  const middle = recs.find((r) => r.off > (first + second) / 2) as { off: number };
  for (const lostFrom of [first, first + 3, middle.off, second - 1]) {
    const crashed = Buffer.from(bytes.subarray(0, closer));
    crashed.fill(0, lostFrom, second);
    await writeFile(seg, crashed);
    const { store, msgs } = await served(dir);
    const kept = msgEnd(lostFrom);
    assert.deepEqual([...msgs.keys()], Array.from({ length: kept }, (_, i) => i + 1), `lost from ${lostFrom}: the records before it, and no later one`);
    for (const [seq, text] of msgs) assert.equal(text, original.get(seq));
    const at = (recs.find((r) => r.off + r.size > lostFrom) as { off: number }).off;
    assert.deepEqual(store.damage, [{ segment: seg.slice(dir.length + 1), offset: at, bytes: closer - at, kind: "torn-tail" }]);
    // Cut away: the next append continues the sequence on a clean tail, and nothing is reported again.
    assert.equal(await store.append("o.after", null, Buffer.from("next")), kept + 1);
    await store.close();
    const { store: again, msgs: after } = await served(dir);
    assert.deepEqual(again.damage, []);
    assert.equal(after.size, kept + 1);
    await again.close();
  }
});

test("file store: damage to overlapping batches that both returned is reported as corrupt and skipped, never taken for an unfinished write", async () => {
  const { dir, seg, bytes, first, second } = await overlappedSegment();
  const { store: good, msgs: original } = await served(dir);
  await good.close();
  const recs = recordsOf(bytes);
  // One byte of a message record in the first batch, in the second, and the second's batch record.
  for (const target of [recs.find((r) => r.off > first + 100), recs.find((r) => r.off > second + 100), recs.find((r) => r.off === second)]) {
    const t = target as { off: number; size: number; type: number; seq: number };
    const damaged = Buffer.from(bytes);
    damaged[t.off + t.size - 6] = (damaged[t.off + t.size - 6] as number) ^ 0x40;
    await writeFile(seg, damaged);
    const { store, msgs } = await served(dir);
    const lost = t.type === RecordType.MSG ? 1 : 0;
    assert.equal(msgs.size, original.size - lost, `damage at ${t.off}: every other message served`);
    for (const [seq, text] of msgs) assert.equal(text, original.get(seq));
    if (lost === 1) assert.ok(!msgs.has(t.seq));
    assert.deepEqual(store.damage, [{ segment: seg.slice(dir.length + 1), offset: t.off, bytes: t.size, kind: "corrupt" }]);
    await store.close();
  }
});

test("file store: segments roll over and whole segments are dropped by limits", async () => {
  const dir = await mkdtemp(join(tmpdir(), "cuebus-fs-"));
  dirs.push(dir);
  const s = await FileStore.open({ dir, segmentMaxBytes: 512, limits: { maxMsgs: 10, maxBytes: 0, maxAgeMs: 0, maxMsgsPerSubject: 0, discard: "old" } });
  for (let i = 0; i < 200; i++) await s.append("roll", null, Buffer.alloc(40, i));
  const files = await segmentFiles(dir);
  assert.ok(files.length < 10, `segments below max_msgs dropped on append: ${files.length} left`);
  await s.purge({ seq: 195 });
  await s.close();
  const { store, msgs } = await served(dir);
  assert.deepEqual([...msgs.keys()], [195, 196, 197, 198, 199, 200]);
  assert.equal(store.state().lastSeq, 200);
  await store.close();
});

test("file store: payloads are not held in memory; old records are read back from disk intact", async () => {
  const s = await fresh();
  const size = 64 * 1024;
  const n = Math.ceil((TAIL_CACHE_BYTES * 3) / size);
  const payload = (i: number): Buffer => Buffer.alloc(size, i % 251);
  const pending: Array<Promise<number>> = [];
  for (let i = 1; i <= n; i++) pending.push(s.append(`big.${i % 7}`, null, payload(i)));
  await Promise.all(pending);
  assert.ok(s.cachedRecordBytes <= TAIL_CACHE_BYTES, `cached ${s.cachedRecordBytes} > ${TAIL_CACHE_BYTES}`);
  assert.equal(s.state().messages, n);
  // The first record left the cache long ago: it comes from the segment file.
  const first = await s.load(1);
  assert.ok(first !== null && first.data.equals(payload(1)), "first record read back");
  const mid = await s.loadNext("big.3", Math.floor(n / 2));
  assert.ok(mid !== null && mid.subject === "big.3" && mid.data.equals(payload(mid.seq)));
  assert.ok(s.cachedRecordBytes <= TAIL_CACHE_BYTES);
  await s.close();
});

test("file store: replay from disk (read in stretches) serves every message intact, across segments, deletes and readers at once", async () => {
  const dir = await mkdtemp(join(tmpdir(), "cuebus-fs-"));
  dirs.push(dir);
  const body = (i: number): Buffer => Buffer.alloc(100 + (i % 900), i % 251);
  const s = await FileStore.open({ dir, segmentMaxBytes: 300 * 1024 });
  const n = 3000;
  // In groups, each its own batch: a batch goes whole into one segment.
  for (let g = 0; g < n; g += 100) {
    await Promise.all(Array.from({ length: 100 }, (_, i) => g + i).map((k) => s.append(`r.${k % 5}`, k % 3 === 0 ? Buffer.from(`NATS/1.0\r\nN: ${k + 1}\r\n\r\n`) : null, body(k + 1))));
  }
  for (let q = 7; q <= n; q += 97) assert.equal(await s.remove(q), true);
  await s.close();
  assert.ok((await segmentFiles(dir)).length > 3, "several segments");
  const again = await FileStore.open({ dir, segmentMaxBytes: 300 * 1024 });
  const check = (m: { seq: number; subject: string; headers: Buffer | null; data: Buffer }): void => {
    assert.equal(m.subject, `r.${(m.seq - 1) % 5}`);
    assert.ok(m.data.equals(body(m.seq)), `payload of ${m.seq}`);
    assert.equal(m.headers?.toString() ?? null, (m.seq - 1) % 3 === 0 ? `NATS/1.0\r\nN: ${m.seq}\r\n\r\n` : null);
  };
  // Two cursors at once over the same files: all messages, and one subject from the middle.
  const all: number[] = [];
  const one: number[] = [];
  await Promise.all([
    (async () => {
      for (let m = await again.loadNext(">", 1); m !== null; m = await again.loadNext(">", m.seq + 1)) {
        check(m);
        all.push(m.seq);
      }
    })(),
    (async () => {
      for (let m = await again.loadNext("r.2", 1500); m !== null; m = await again.loadNext("r.2", m.seq + 1)) {
        check(m);
        one.push(m.seq);
      }
    })(),
  ]);
  const deleted = (q: number): boolean => q >= 7 && (q - 7) % 97 === 0;
  assert.deepEqual(all, Array.from({ length: n }, (_, k) => k + 1).filter((q) => !deleted(q)));
  assert.deepEqual(one, all.filter((q) => q >= 1500 && (q - 1) % 5 === 2));
  assert.deepEqual(again.damage, []);
  await again.close();
});

test("file store: times and subjects read back exactly, whether records share them or not", async () => {
  const s = await fresh();
  const t0 = 1_700_000_000_123_456_789n;
  const rows: Array<[string, bigint]> = [
    ["t.a", t0],
    ["t.a", t0],
    ["t.b", t0],
    ["t.b", t0 + 1n],
    ["t.é", t0 + 1n],
    ["t.a", 2n ** 62n + 7n],
    ["t.a", 2n ** 62n + 7n + 2n ** 32n],
    ["t.ab", 5n],
    ["t.a", t0],
  ];
  for (const [subject, time] of rows) await s.append(subject, null, Buffer.from(subject), time);
  const dir = dirOf.get(s) as string;
  await s.close();
  const again = await FileStore.open({ dir });
  const got: Array<[string, bigint]> = [];
  for (let m = await again.loadNext(">", 1); m !== null; m = await again.loadNext(">", m.seq + 1)) got.push([m.subject, m.timeNs]);
  assert.deepEqual(got, rows);
  assert.equal(again.state().lastTimeNs, t0);
  await again.close();
});

test("file store: after a read brings a stretch in, the messages in it are served without waiting, checked like any read", async () => {
  const s = await fresh();
  for (let i = 1; i <= 20; i++) await s.append("r", null, Buffer.from(`replay-${i}`));
  const dir = dirOf.get(s) as string;
  await s.close();
  const [name] = await segmentFiles(dir);
  const seg = join(dir, name as string);
  // Damage message 7 on disk; a reopen reads only the index, so nothing is cached but the records' places.
  const bytes = await readFile(seg);
  const at = bytes.indexOf("replay-7");
  bytes[at] = (bytes[at] as number) ^ 0x01;
  const reopened = await FileStore.open({ dir });
  await writeFile(seg, bytes);
  try {
    assert.equal(reopened.loadNextNow(">", 1), undefined, "nothing read yet: the caller must wait for a read");
    assert.equal((await reopened.loadNext(">", 1))?.data.toString(), "replay-1");
    // That read brought the stretch holding the rest: each next one now comes at once.
    const got: string[] = [];
    for (let m = reopened.loadNextNow(">", 2); m !== null && m !== undefined; m = reopened.loadNextNow(">", m.seq + 1)) got.push(m.data.toString());
    assert.deepEqual(got, [2, 3, 4, 5, 6, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20].map((i) => `replay-${i}`), "every intact one, the damaged one skipped");
    assert.deepEqual(
      reopened.damage.map((d) => d.kind),
      ["corrupt"],
    );
    assert.equal(await reopened.load(7), null, "dropped from the index");
  } finally {
    await reopened.close();
  }
});

test("file store: a record corrupted on disk after open is detected when read, not served, and reported", async () => {
  const s = await fresh();
  const filler = Buffer.alloc(TAIL_CACHE_BYTES / 4, 7);
  await s.append("a", null, Buffer.from("target-payload"));
  // Push the first record out of the tail cache.
  for (let i = 0; i < 5; i++) await s.append("fill", null, filler);
  const dir = dirOf.get(s) as string;
  const [name] = await segmentFiles(dir);
  const seg = join(dir, name as string);
  const bytes = await readFile(seg);
  const at = bytes.indexOf("target-payload");
  assert.ok(at > 0);
  bytes[at] = (bytes[at] as number) ^ 0x01;
  await writeFile(seg, bytes);
  assert.equal(await s.load(1), null, "a corrupt record is not served");
  assert.equal(s.damage.length, 1);
  assert.equal(s.damage[0]?.kind, "corrupt");
  assert.equal(s.state().messages, 5, "the corrupt message is dropped from the index");
  const next = await s.loadNext(">", 1);
  assert.equal(next?.seq, 2, "the rest is still served");
  await s.close();
});

test("file store: sync interval mode acknowledges before the fsync and still keeps what was written", async () => {
  const dir = await mkdtemp(join(tmpdir(), "cuebus-fsi-"));
  dirs.push(dir);
  const s = await FileStore.open({ dir, sync: "interval", syncIntervalMs: 20 });
  const seqs = await Promise.all(Array.from({ length: 50 }, (_, i) => s.append("i", null, Buffer.from(`v${i}`))));
  assert.deepEqual(seqs, Array.from({ length: 50 }, (_, i) => i + 1));
  await new Promise((r) => setTimeout(r, 60));
  await s.close();
  const again = await FileStore.open({ dir });
  assert.equal(again.state().messages, 50);
  assert.equal((await again.load(50))?.data.toString(), "v49");
  await again.close();
});
