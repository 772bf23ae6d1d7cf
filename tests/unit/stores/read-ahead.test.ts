import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, open, rm, writeFile, type FileHandle } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LONE_READS_NOTED, RANDOM_READ_BYTES, READ_AHEAD_BYTES, READ_AHEAD_WINDOWS, ReadAhead } from "../../../src/stores/file/read-ahead.js";
import { newSegment, type Segment } from "../../../src/stores/file/segment-io.js";

/** A real file of `size` patterned bytes, its handle counting the reads made through it. */
async function file(t: TestContext, size: number): Promise<{ seg: Segment; bytes: Buffer; reads: () => number; handle: () => Promise<FileHandle> }> {
  const dir = await mkdtemp(join(tmpdir(), "cuebus-ra-"));
  const path = join(dir, "00000000000000000001.seg");
  const bytes = Buffer.alloc(size);
  for (let i = 0; i < size; i++) bytes[i] = (i * 31 + (i >> 8)) & 0xff;
  await writeFile(path, bytes);
  const fh = await open(path, "r");
  t.after(async () => {
    await fh.close();
    await rm(dir, { recursive: true, force: true });
  });
  let reads = 0;
  const counting = new Proxy(fh, {
    get(target, prop) {
      if (prop === "read") {
        return (...args: Parameters<FileHandle["read"]>) => {
          reads++;
          return (target.read as (...a: unknown[]) => unknown).apply(target, args);
        };
      }
      const v = Reflect.get(target, prop) as unknown;
      return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  return { seg: newSegment(path, 1, size), bytes, reads: () => reads, handle: () => Promise.resolve(counting) };
}

test("read-ahead: a sequential replay of small records reads the file once per stretch, bytes intact", async (t) => {
  const size = 3 * READ_AHEAD_BYTES + 1000;
  const f = await file(t, size);
  const ra = new ReadAhead(f.handle);
  const len = 137;
  for (let off = 0; off + len <= size; off += len) {
    const got = await ra.read(f.seg, off, len);
    assert.ok(got.equals(f.bytes.subarray(off, off + len)), `bytes at ${off}`);
  }
  const stretches = Math.ceil(size / READ_AHEAD_BYTES);
  assert.ok(f.reads() <= stretches + 3, `${f.reads()} reads for ${Math.floor(size / len)} records (about ${stretches} stretches)`);
});

test("read-ahead: readers of one stretch at once share its read", async (t) => {
  const f = await file(t, READ_AHEAD_BYTES);
  const ra = new ReadAhead(f.handle);
  const got = await Promise.all(Array.from({ length: 100 }, (_, i) => ra.read(f.seg, i * 100, 100)));
  got.forEach((b, i) => assert.ok(b.equals(f.bytes.subarray(i * 100, i * 100 + 100)), `reader ${i}`));
  // The first read continues nothing (RANDOM_READ_BYTES); the one after it continues it (a stretch).
  assert.equal(f.reads(), 2);
});

test("read-ahead: a stretch never covers bytes past the segment's size (bytes still being written)", async (t) => {
  const f = await file(t, 4096);
  // The file holds 4096 bytes, but only the first 1000 are written as far as the store knows.
  const seg = { ...f.seg, size: 1000 };
  const ra = new ReadAhead(f.handle);
  await ra.read(seg, 0, 10);
  assert.equal(f.reads(), 1);
  await ra.read(seg, 900, 100);
  assert.equal(f.reads(), 1, "inside the first stretch");
  // Written later: not served from the stretch read before it was, but read afresh.
  seg.size = 4096;
  const later = await ra.read(seg, 995, 20);
  assert.ok(later.equals(f.bytes.subarray(995, 1015)));
  assert.equal(f.reads(), 2);
});

test("read-ahead: large records are read on their own; at most READ_AHEAD_WINDOWS stretches are kept", async (t) => {
  const f = await file(t, (READ_AHEAD_WINDOWS + 2) * READ_AHEAD_BYTES * 2);
  const ra = new ReadAhead(f.handle);
  const big = await ra.read(f.seg, 5, READ_AHEAD_BYTES + 7);
  assert.ok(big.equals(f.bytes.subarray(5, 5 + READ_AHEAD_BYTES + 7)));
  await ra.read(f.seg, 10, 10);
  assert.equal(f.reads(), 2, "the large record made no stretch");
  const far = (i: number): number => (i + 1) * 2 * READ_AHEAD_BYTES;
  for (let i = 0; i < READ_AHEAD_WINDOWS - 1; i++) await ra.read(f.seg, far(i), 10);
  assert.equal(f.reads(), 1 + READ_AHEAD_WINDOWS, "a stretch each");
  await ra.read(f.seg, 20, 10); // the stretch at 10 is used again: now the most recent
  await ra.read(f.seg, far(READ_AHEAD_WINDOWS), 10);
  assert.equal(f.reads(), 2 + READ_AHEAD_WINDOWS);
  await ra.read(f.seg, 30, 10);
  assert.equal(f.reads(), 2 + READ_AHEAD_WINDOWS, "the recently used stretch stayed");
  await ra.read(f.seg, far(0) + 100, 10);
  assert.equal(f.reads(), 3 + READ_AHEAD_WINDOWS, "the least recently used one went");
});

test("read-ahead: short at the end of the file; forget drops a segment's stretches; a failed read is not kept", async (t) => {
  const f = await file(t, 500);
  const ra = new ReadAhead(f.handle);
  // The store thinks 600 bytes are there; the file ends at 500 (a reader finds the record short).
  const seg = { ...f.seg, size: 600 };
  assert.equal((await ra.read(seg, 450, 100)).length, 50);
  const reads = f.reads();
  assert.ok((await ra.read(seg, 460, 10)).equals(f.bytes.subarray(460, 470)));
  assert.equal(f.reads(), reads, "what the short stretch holds is served from it");
  ra.forget(seg);
  await ra.read(seg, 460, 10);
  assert.ok(f.reads() > reads, "read again after forget");

  let fail = true;
  const flaky = new ReadAhead(async () => {
    if (fail) throw new Error("EIO: injected by the test's handle");
    return f.handle();
  });
  await assert.rejects(flaky.read(f.seg, 0, 10), /EIO/);
  fail = false;
  assert.ok((await flaky.read(f.seg, 0, 10)).equals(f.bytes.subarray(0, 10)), "tried again, not the failed stretch");
});

test("read-ahead: a read that continues nothing reads a page, not a stretch; one that continues a read brings in a stretch", async (t) => {
  const f = await file(t, 4 * READ_AHEAD_BYTES);
  const readBytes: number[] = [];
  const sized = new ReadAhead(async () => {
    const fh = await f.handle();
    return new Proxy(fh, {
      get(target, prop) {
        if (prop === "read") {
          return (buf: Buffer, o: number, len: number, pos: number) => {
            readBytes.push(len);
            return target.read(buf, o, len, pos);
          };
        }
        const v = Reflect.get(target, prop) as unknown;
        return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
  });
  // Random gets far apart: each reads one page.
  for (const off of [3 * READ_AHEAD_BYTES + 100, 50, 2 * READ_AHEAD_BYTES + 7]) {
    const got = await sized.read(f.seg, off, 16);
    assert.ok(got.equals(f.bytes.subarray(off, off + 16)), `bytes at ${off}`);
  }
  assert.ok(readBytes.every((n) => n <= RANDOM_READ_BYTES), `random reads: ${readBytes.join(", ")}`);
  // A replay from 50: the read past the page continues it and brings in a whole stretch.
  readBytes.length = 0;
  for (let off = 50; off < 50 + 3 * RANDOM_READ_BYTES; off += 16) {
    const got = await sized.read(f.seg, off, 16);
    assert.ok(got.equals(f.bytes.subarray(off, off + 16)), `bytes at ${off}`);
  }
  assert.deepEqual(readBytes, [READ_AHEAD_BYTES], "one stretch read for the replay past the first page");
});

test("read-ahead: a read is alone unless a stretch holds it or it continues a read; the read after a lone one brings in a stretch", async (t) => {
  const f = await file(t, 4 * READ_AHEAD_BYTES);
  const ra = new ReadAhead(f.handle);
  const off = 2 * READ_AHEAD_BYTES + 100;
  assert.ok(ra.alone(f.seg, off, 50), "nothing read yet");
  assert.equal(ra.alone(f.seg, off, READ_AHEAD_BYTES), false, "a record as large as a stretch is read through `read`");
  // The reader made the lone read itself and says where it ended.
  ra.noteLoneRead(f.seg, off + 50);
  assert.equal(ra.alone(f.seg, off + 50, 50), false, "the next record continues it");
  assert.ok(ra.alone(f.seg, off + 51, 50));
  const next = await ra.read(f.seg, off + 50, 50);
  assert.ok(next.equals(f.bytes.subarray(off + 50, off + 100)));
  assert.equal(f.reads(), 1);
  // That read brought in a stretch: the records after it are at hand, and no longer alone.
  assert.ok(ra.peek(f.seg, off + 1000, 50)?.equals(f.bytes.subarray(off + 1000, off + 1050)));
  assert.equal(ra.alone(f.seg, off + 1000, 50), false);
  // Ends noted for a segment that goes are forgotten with it.
  ra.noteLoneRead(f.seg, 10);
  ra.forget(f.seg);
  assert.ok(ra.alone(f.seg, 10, 50));
});

test("read-ahead: LONE_READS_NOTED lone reads are remembered; an older one is pushed out", async (t) => {
  const f = await file(t, READ_AHEAD_BYTES);
  const ra = new ReadAhead(f.handle);
  for (let i = 0; i <= LONE_READS_NOTED; i++) ra.noteLoneRead(f.seg, 1000 + i * 100);
  assert.ok(ra.alone(f.seg, 1000, 10), "the oldest end was pushed out");
  for (let i = 1; i <= LONE_READS_NOTED; i++) assert.equal(ra.alone(f.seg, 1000 + i * 100, 10), false, `end ${i} remembered`);
});
