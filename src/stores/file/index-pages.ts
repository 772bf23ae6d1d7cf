import { closeSync, fdatasync, openSync, readSync, readdirSync, unlink, write, constants } from "node:fs";
import { join } from "node:path";
import { crc32c } from "../../util/crc32c.js";
import { CHUNK_MSGS, newArrays, type Chunk, type ChunkArrays, type ChunkPager } from "../index/chunk.js";
import { takeAnchors } from "./record-anchors.js";
import { fileStoredSize } from "../types.js";
import { MAX_RECORD_BYTES, RECORD_OVERHEAD_BYTES, RecordType, decodeRecord } from "./record.js";
import { NO_SEGMENT, type Segment } from "./segment-io.js";
import type { StoreLog } from "./write-outage.js";

/**
 * Bytes of one chunk's page: per slot the subject id (u32), size (u32) and time (i64) as three
 * columns, then where its record lies as rows of 16 bytes (the segment's first sequence as f64, the
 * offset and the record length as u32), so the place of one record is one small read.
 */
export const PAGE_BYTES = CHUNK_MSGS * 32;
/** Chunks per page file: a file of up to 8 MiB, removed whole once the stream's front passes it. */
export const GROUP_CHUNKS = 64;
/**
 * Chunks brought back from their pages that a store keeps in memory at once (the least recently
 * loaded or written goes first): RESIDENT_PAGES_MAX * 112 KiB bounds what reads of old messages
 * cost in memory.
 */
export const RESIDENT_PAGES_MAX = 16;
/** Sets of arrays kept from chunks paged out for the next ones brought back (see load). */
const SPARE_ARRAYS = 2;
/** Bytes read at a time while a damaged page is rebuilt from the segments. */
const REBUILD_READ_BYTES = 4 * 1024 * 1024;

const SIZE_AT = CHUNK_MSGS * 4;
const TIME_AT = CHUNK_MSGS * 8;
const LOC_AT = CHUNK_MSGS * 16;
const PAGE_FILE_SUFFIX = ".idx";

const groupOf = (n: number): number => Math.floor(n / GROUP_CHUNKS);
/** A page file's name: the first sequence it covers, zero-padded like a segment's. */
export const pageFileName = (group: number): string => `${String(group * GROUP_CHUNKS * CHUNK_MSGS).padStart(20, "0")}${PAGE_FILE_SUFFIX}`;

/** What the pager needs of its store. */
export interface PageHost {
  readonly dir: string;
  /** The store's segments, oldest first. */
  segments(): readonly Segment[];
  segByOrd: ReadonlyMap<number, Segment>;
  /** The id of a subject held (-1 when none): a damaged page's subjects are found again by name. */
  subjectId(subject: string): number;
  log: StoreLog;
}

/** In which of the pager's lists a chunk is. */
const LISTED_NONE = 0;
const LISTED_UNWRITTEN = 1;
const LISTED_RESIDENT = 2;

/**
 * Pages of the file store's message index (see ChunkPager): once a chunk's records are durable its
 * per-slot arrays are written to its page, in a page file of GROUP_CHUNKS chunks beside the
 * segments, and may then leave memory; brought back with one synchronous read when the index asks
 * (a page in the OS cache is a few microseconds; a cold one a disk read) and checked against the
 * checksum kept with the chunk. A page that does not check out is never used: the chunk is rebuilt
 * from the segments, reported in the log, and written again.
 *
 * Pages are written in the background after each acknowledged batch (`flush`) and fsynced before
 * a chunk counts as paged (its `pageCrc` set): the saved index file names only pages on disk. A page
 * file goes once a saved index no longer needs it (`release`).
 */
export class IndexPages implements ChunkPager {
  /** Chunks whose arrays are in memory and match their page (evictable), oldest first. */
  private resident: Chunk[] = [];
  /** Chunks whose arrays have no page matching them yet. */
  private unwritten: Chunk[] = [];
  private readonly listed = new WeakMap<Chunk, number>();
  /** Times each chunk's arrays changed (a write that raced a change does not count). */
  private readonly edits = new WeakMap<Chunk, number>();
  private readonly fds = new Map<number, number>();
  /** Page files on disk (by group). */
  private readonly groups = new Set<number>();
  private flushing: Promise<void> | null = null;
  private readonly readBuf = Buffer.alloc(PAGE_BYTES);
  /** Arrays of chunks paged out, for the next chunk brought back (at most SPARE_ARRAYS). */
  private readonly spare: ChunkArrays[] = [];
  private readonly locBuf = Buffer.alloc(16);
  /** Segment first sequence -> segment number (pages name segments by first sequence). */
  private ords = new Map<number, number>();
  /** Pages found damaged and rebuilt since open. */
  rebuilt = 0;

  constructor(private readonly host: PageHost) {}

  /** Learn which page files the store's directory holds (at open). */
  findFiles(): void {
    for (const name of readdirSync(this.host.dir)) {
      if (name.endsWith(PAGE_FILE_SUFFIX) && name.length === 20 + PAGE_FILE_SUFFIX.length) {
        this.groups.add(Math.floor(Number(name.slice(0, 20)) / (GROUP_CHUNKS * CHUNK_MSGS)));
      }
    }
  }

  /** Forget every chunk (the index is being rebuilt from the records); the page files stay, to be written over. */
  reset(): void {
    this.resident = [];
    this.unwritten = [];
  }

  created(c: Chunk): void {
    this.list(c, LISTED_UNWRITTEN);
  }

  changed(c: Chunk): void {
    c.pageCrc = -1;
    this.edits.set(c, (this.edits.get(c) ?? 0) + 1);
    if (this.listed.get(c) !== LISTED_UNWRITTEN) this.list(c, LISTED_UNWRITTEN);
  }

  dropped(c: Chunk): void {
    this.listed.set(c, LISTED_NONE);
    this.edits.set(c, (this.edits.get(c) ?? 0) + 1);
    c.arrays = null;
  }

  load(c: Chunk): void {
    const fd = this.fd(groupOf(c.n), false);
    const buf = this.readBuf;
    let got = 0;
    if (fd >= 0) {
      for (let n = -1; got < PAGE_BYTES && n !== 0; got += n) n = readSync(fd, buf, got, PAGE_BYTES - got, this.pageAt(c.n) + got);
    }
    if (got < PAGE_BYTES || crc32c(buf, 0, PAGE_BYTES) >>> 0 !== c.pageCrc) {
      this.rebuild(c, got < PAGE_BYTES ? "missing or short" : "checksum mismatch");
      return;
    }
    // Arrays of a chunk paged out are reused: random reads across a long stream bring chunks back
    // and page them out all the time, and 112 KiB allocated and freed each time grows the
    // allocator's heap (it keeps what it had).
    const spare = this.spare.pop();
    if (spare !== undefined) spare.loc.fill(0);
    const a = spare ?? newArrays(CHUNK_MSGS, true);
    const ab = buf.buffer;
    a.subj.set(new Uint32Array(ab, buf.byteOffset, CHUNK_MSGS));
    a.size.set(new Uint32Array(ab, buf.byteOffset + SIZE_AT, CHUNK_MSGS));
    a.time.set(new BigInt64Array(ab, buf.byteOffset + TIME_AT, CHUNK_MSGS));
    const f64 = new Float64Array(ab, buf.byteOffset + LOC_AT, CHUNK_MSGS * 2);
    const u32 = new Uint32Array(ab, buf.byteOffset + LOC_AT, CHUNK_MSGS * 4);
    const loc = a.loc;
    let lastFirst = -1;
    let lastOrd = NO_SEGMENT;
    for (let slot = 0; slot < CHUNK_MSGS; slot++) {
      if (!c.has(slot)) continue;
      const first = f64[slot * 2] as number;
      if (first !== lastFirst) {
        lastFirst = first;
        lastOrd = this.ordOf(first);
      }
      loc[slot * 3] = lastOrd;
      loc[slot * 3 + 1] = u32[slot * 4 + 2] as number;
      loc[slot * 3 + 2] = u32[slot * 4 + 3] as number;
    }
    c.arrays = a;
    this.list(c, LISTED_RESIDENT);
    this.evict();
  }

  /**
   * Where the record of `slot` in paged-out chunk `c` lies, read from its page without bringing
   * the chunk back ([segment number, offset, length]; a direct get of one old message). Not checked
   * by the page's checksum: the record read there is checked (its sequence and CRC), and a record
   * that does not check out is looked up again through the whole page (see FileStore.corrupt).
   */
  pointLoc(c: Chunk, slot: number, out: Uint32Array): void {
    const fd = this.fd(groupOf(c.n), false);
    const b = this.locBuf;
    if (fd < 0 || readSync(fd, b, 0, 16, this.pageAt(c.n) + LOC_AT + slot * 16) !== 16) {
      // No page to read from: the whole chunk comes back (rebuilt from the segments).
      this.load(c);
      const loc = (c.arrays as ChunkArrays).loc;
      out[0] = loc[slot * 3] as number;
      out[1] = loc[slot * 3 + 1] as number;
      out[2] = loc[slot * 3 + 2] as number;
      return;
    }
    out[0] = this.ordOf(b.readDoubleLE(0));
    out[1] = b.readUInt32LE(8);
    out[2] = b.readUInt32LE(12);
  }

  /**
   * Write the pages of chunks whose every sequence is durable (up to `durableSeq`) and that have
   * no page matching them; they may then leave memory. One run at a time, in the background.
   */
  flush(durableSeq: number): Promise<void> {
    if (this.flushing !== null || this.unwritten.length === 0) return this.flushing ?? Promise.resolve();
    const ready: Array<{ c: Chunk; page: Buffer; crc: number; edits: number }> = [];
    const keep: Chunk[] = [];
    for (const c of this.unwritten) {
      if (this.listed.get(c) !== LISTED_UNWRITTEN) continue;
      if ((c.n + 1) * CHUNK_MSGS - 1 > durableSeq || c.arrays === null) {
        keep.push(c);
        continue;
      }
      const page = encodePage(c, this.host.segByOrd);
      ready.push({ c, page, crc: crc32c(page, 0, PAGE_BYTES) >>> 0, edits: this.edits.get(c) ?? 0 });
    }
    this.unwritten = keep;
    if (ready.length === 0) return Promise.resolve();
    for (const r of ready) this.listed.set(r.c, LISTED_NONE);
    this.flushing = this.writePages(ready).finally(() => {
      this.flushing = null;
    });
    return this.flushing;
  }

  private async writePages(ready: Array<{ c: Chunk; page: Buffer; crc: number; edits: number }>): Promise<void> {
    const touched = new Set<number>();
    try {
      for (const r of ready) {
        const fd = this.fd(groupOf(r.c.n), true);
        touched.add(fd);
        await new Promise<void>((resolve, reject) => write(fd, r.page, 0, PAGE_BYTES, this.pageAt(r.c.n), (err) => (err ? reject(err) : resolve())));
      }
      for (const fd of touched) await new Promise<void>((resolve, reject) => fdatasync(fd, (err) => (err ? reject(err) : resolve())));
    } catch (err) {
      // Not written: the chunks keep their arrays and are tried again at the next flush.
      for (const r of ready) if ((this.edits.get(r.c) ?? 0) === r.edits && r.c.live > 0) this.list(r.c, LISTED_UNWRITTEN);
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") this.host.log(`JetStream store ${this.host.dir}: could not write index pages (kept in memory): ${(err as Error).message}`);
      return;
    }
    for (const r of ready) {
      if ((this.edits.get(r.c) ?? 0) !== r.edits || r.c.live === 0) continue;
      r.c.pageCrc = r.crc;
      // On its page: the chunk takes no new subject (only put-backs), so its counts are packed.
      r.c.subjects.pack();
      this.list(r.c, LISTED_RESIDENT);
    }
    this.evict();
  }

  /** Chunks whose arrays are in memory (those with no page matching them yet, and those brought back). */
  get inMemory(): number {
    return this.unwritten.length + this.resident.length;
  }

  /**
   * Remove the page files wholly below chunk `firstChunk` (a saved index that no longer names them
   * is on disk: see IndexKeeper).
   */
  release(firstChunk: number): void {
    for (const g of [...this.groups]) {
      if ((g + 1) * GROUP_CHUNKS > firstChunk) continue;
      this.groups.delete(g);
      const fd = this.fds.get(g);
      if (fd !== undefined) closeSync(fd);
      this.fds.delete(g);
      unlink(join(this.host.dir, pageFileName(g)), () => {});
    }
  }

  /** Resolves once the page writes under way have ended. */
  settled(): Promise<void> {
    return this.flushing ?? Promise.resolve();
  }

  close(): void {
    for (const fd of this.fds.values()) closeSync(fd);
    this.fds.clear();
  }

  private pageAt(n: number): number {
    return (n % GROUP_CHUNKS) * PAGE_BYTES;
  }

  /** The open page file of `group` (-1 when there is none and `create` is false). */
  private fd(group: number, create: boolean): number {
    let fd = this.fds.get(group);
    if (fd !== undefined) return fd;
    if (!create && !this.groups.has(group)) return -1;
    try {
      fd = openSync(join(this.host.dir, pageFileName(group)), constants.O_RDWR | (create ? constants.O_CREAT : 0), 0o644);
    } catch (err) {
      if (!create && (err as NodeJS.ErrnoException).code === "ENOENT") return -1;
      throw err;
    }
    this.fds.set(group, fd);
    this.groups.add(group);
    return fd;
  }

  private ordOf(firstSeq: number): number {
    const ord = this.ords.get(firstSeq);
    if (ord !== undefined && this.host.segByOrd.has(ord)) return ord;
    this.ords = new Map(this.host.segments().map((s) => [s.firstSeq, s.ord]));
    return this.ords.get(firstSeq) ?? NO_SEGMENT;
  }

  private list(c: Chunk, where: number): void {
    const was = this.listed.get(c);
    if (was === LISTED_RESIDENT) this.resident = this.resident.filter((x) => x !== c);
    this.listed.set(c, where);
    if (where === LISTED_UNWRITTEN) this.unwritten.push(c);
    else if (where === LISTED_RESIDENT) this.resident.push(c);
  }

  /** Page out the oldest resident chunks beyond RESIDENT_PAGES_MAX. */
  private evict(): void {
    while (this.resident.length > RESIDENT_PAGES_MAX) {
      const c = this.resident.shift() as Chunk;
      this.listed.set(c, LISTED_NONE);
      const a = c.arrays;
      if (c.pageCrc === -1 || a === null) continue;
      if (c.anchors === null) takeAnchors(c, a.loc);
      c.arrays = null;
      if (this.spare.length < SPARE_ARRAYS && a.size.length === CHUNK_MSGS && a.loc.length === CHUNK_MSGS * 3) this.spare.push(a);
    }
  }

  /**
   * A page that does not check out: the chunk's arrays are read again from the records of its
   * sequences in the segments (synchronously; damage is rare), reported, and written again.
   */
  private rebuild(c: Chunk, why: string): void {
    const lo = c.n * CHUNK_MSGS;
    const hi = lo + CHUNK_MSGS - 1;
    this.host.log(`JetStream store ${this.host.dir}: index page for sequences ${lo}..${hi} not used (${why}); rebuilt from the segments`);
    this.rebuilt++;
    const a = newArrays(CHUNK_MSGS, true);
    let found = 0;
    const segs = this.host.segments();
    let i = 0;
    while (i + 1 < segs.length && (segs[i + 1] as Segment).firstSeq <= lo) i++;
    scan: for (; i < segs.length; i++) {
      const seg = segs[i] as Segment;
      let fd: number;
      try {
        fd = openSync(seg.path, "r");
      } catch {
        continue;
      }
      try {
        const buf = Buffer.allocUnsafe(REBUILD_READ_BYTES);
        let start = 0;
        let len = 0;
        for (let off = 0; off + RECORD_OVERHEAD_BYTES <= seg.size; ) {
          if (off + 4 > start + len || off + 4 + buf.readUInt32LE(off - start) > start + len) {
            start = off;
            len = readSync(fd, buf, 0, Math.min(REBUILD_READ_BYTES, seg.size - off), off);
            if (len < 4) break;
          }
          const rlen = buf.readUInt32LE(off - start);
          if (rlen > MAX_RECORD_BYTES || rlen + 4 > REBUILD_READ_BYTES || off + 4 + rlen > start + len) break;
          const r = decodeRecord(buf, off - start, false);
          if (typeof r === "string") break;
          if (r.type === RecordType.MSG) {
            if (r.seq > hi) break scan;
            if (r.seq >= lo) {
              const slot = r.seq - lo;
              a.subj[slot] = Math.max(this.host.subjectId(r.subject), 0);
              a.size[slot] = fileStoredSize(r.subject, r.headers, r.data);
              a.time[slot] = r.timeNs;
              a.loc[slot * 3] = seg.ord;
              a.loc[slot * 3 + 1] = off;
              a.loc[slot * 3 + 2] = r.size;
              found++;
            }
          }
          off += r.size;
        }
      } finally {
        closeSync(fd);
      }
    }
    if (found < c.live) this.host.log(`JetStream store ${this.host.dir}: ${c.live - found} messages of sequences ${lo}..${hi} have no intact record`);
    c.arrays = a;
    this.changed(c);
  }
}

/** The page of `c` (its arrays must be in memory), segments named by their first sequence. */
function encodePage(c: Chunk, segByOrd: ReadonlyMap<number, Segment>): Buffer {
  const page = Buffer.alloc(PAGE_BYTES);
  const a = c.arrays as ChunkArrays;
  const ab = page.buffer;
  new Uint32Array(ab, page.byteOffset, CHUNK_MSGS).set(a.subj);
  new Uint32Array(ab, page.byteOffset + SIZE_AT, CHUNK_MSGS).set(a.size);
  new BigInt64Array(ab, page.byteOffset + TIME_AT, CHUNK_MSGS).set(a.time);
  const f64 = new Float64Array(ab, page.byteOffset + LOC_AT, CHUNK_MSGS * 2);
  const u32 = new Uint32Array(ab, page.byteOffset + LOC_AT, CHUNK_MSGS * 4);
  const loc = a.loc;
  const cap = a.size.length;
  for (let slot = 0; slot < cap; slot++) {
    if (!c.has(slot)) continue;
    f64[slot * 2] = segByOrd.get(loc[slot * 3] as number)?.firstSeq ?? 0;
    u32[slot * 4 + 2] = loc[slot * 3 + 1] as number;
    u32[slot * 4 + 3] = loc[slot * 3 + 2] as number;
  }
  return page;
}
