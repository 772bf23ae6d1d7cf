import { open, type FileHandle } from "node:fs/promises";
import type { MsgIndex } from "../index/msg-index.js";
import type { StoredMsg } from "../types.js";
import type { LocTable } from "./loc-table.js";
import { loneReads } from "./lone-reads.js";
import { ANCHOR_READ_MAX_BYTES, findRecord } from "./record-anchors.js";
import { ReadAhead } from "./read-ahead.js";
import type { RecordCache } from "./record-cache.js";
import { RecordType, decodeRecord, viewRecord } from "./record.js";
import { SegmentWindow, readFullySync, type Segment } from "./segment-io.js";

/** Bytes of the buffer each reader reuses for transient lone reads; a larger record gets its own. */
export const LONE_READ_SCRATCH_BYTES = 4096;

/** What the reader reads through: the store's index and record locations (replaced when recovery rebuilds them), cache and segments. */
export interface ReadSource {
  readonly index: MsgIndex;
  readonly locs: LocTable;
  readonly cache: RecordCache;
  readonly segByOrd: ReadonlyMap<number, Segment>;
  /** Bytes a whole-store scan reads at a time. */
  readonly scanChunkBytes: number;
  /** The record read back for `seq` did not check out: report it and drop it from the index. */
  corrupt(seq: number, seg: Segment, off: number, len: number): void;
}

/**
 * The file store's read path: a held message from its cached record, or read back from its
 * segment and checked, never served when it no longer checks out; and the whole-store scan
 * start-up's dedup rebuild makes. A record is read back through ReadAhead (on one read handle per
 * segment), or on the spot when the read is a lone one (see lone-reads.ts).
 */
export class RecordReader {
  private readonly readers = new Map<Segment, Promise<FileHandle>>();
  /** The read handles once open: lone reads are made on their descriptors. */
  private readonly opened = new Map<Segment, FileHandle>();
  /** What transient lone reads are read into (see messageNow). */
  private readonly scratch = Buffer.allocUnsafe(LONE_READ_SCRATCH_BYTES);
  private readonly readAhead = new ReadAhead((seg) => this.reader(seg));
  /** Where an anchored read starts (see record-anchors.ts) and what it reads into. */
  private readonly stretchAt = new Float64Array(3);
  private readonly stretchBuf = Buffer.allocUnsafe(ANCHOR_READ_MAX_BYTES);
  /** Records served by an anchored read (see anchoredRead). */
  anchoredReads = 0;

  constructor(private readonly src: ReadSource) {}

  /** The message at `seq` (held): from its cached record, or read back from its segment and checked. */
  message(seq: number): StoredMsg | null | Promise<StoredMsg | null> {
    const m = this.messageNow(seq);
    return m !== undefined ? m : this.readBack(seq);
  }

  /**
   * From the record cache, from bytes already read back, or read on the spot when the read is a
   * lone one (see lone-reads.ts); undefined when a read through the thread pool is needed.
   * `transient`: a record read on the spot may be read into a buffer the next read reuses (the
   * caller is done with the message before it calls the store again: a direct get).
   */
  messageNow(seq: number, transient = false): StoredMsg | null | undefined {
    const src = this.src;
    const rec = src.cache.get(seq);
    if (rec !== undefined) return viewRecord(rec, seq, src.index.timeOf(seq), src.index.subjectOf(seq) as string);
    const locs = src.locs;
    if (locs.stretch(seq, this.stretchAt)) {
      const m = this.anchoredRead(seq, transient);
      if (m !== null) return m;
    }
    const seg = src.segByOrd.get(locs.seg(seq));
    if (seg === undefined) return undefined;
    const off = locs.off(seq);
    const len = locs.len(seq);
    const ra = this.readAhead;
    const buf = ra.peek(seg, off, len);
    if (buf !== null) {
      const m = this.checked(seq, seg, off, buf);
      return m === MOVED ? this.messageNow(seq, transient) : m;
    }
    const fh = this.opened.get(seg);
    if (fh === undefined || !ra.alone(seg, off, len)) return undefined;
    const lone = this.readLone(fh.fd, seg, off, len, transient);
    if (lone === null) return undefined;
    const m = this.checked(seq, seg, off, lone);
    return m === MOVED ? this.messageNow(seq, transient) : m;
  }

  /**
   * `seq`'s record read on the spot from its chunk's anchor (`stretchAt`) and found among the
   * records there, when it checks out; null otherwise (a read through the page row then follows,
   * and reports damage if the record is damaged).
   */
  private anchoredRead(seq: number, transient: boolean): StoredMsg | null {
    const at = this.stretchAt;
    const seg = this.src.segByOrd.get(at[0] as number);
    const fh = seg === undefined ? undefined : this.opened.get(seg);
    if (seg === undefined || fh === undefined) return null;
    const off = at[1] as number;
    const bytes = at[2] as number;
    // Not when a read just ended inside the stretch: a replay goes on through read-ahead instead
    // of reading the stretch again for each message.
    if (!this.readAhead.alone(seg, off, bytes) || this.readAhead.loneEndWithin(seg, off, off + bytes)) return null;
    const buf = this.stretchBuf;
    const got = readOnSpot(fh.fd, bytes === buf.length ? buf : buf.subarray(0, bytes), off);
    if (got < 0) return null;
    const p = findRecord(buf, got, seq);
    if (p < 0) return null;
    const size = buf.readUInt32LE(p) + 4;
    this.readAhead.noteLoneRead(seg, off + p + size);
    // The buffer is reused by the next read: a message kept past it gets its own copy.
    const rec = transient ? buf.subarray(p, p + size) : Buffer.from(buf.subarray(p, p + size));
    const r = decodeRecord(rec, 0, false);
    if (typeof r === "string" || r.type !== RecordType.MSG || r.seq !== seq) return null;
    this.anchoredReads++;
    return r;
  }

  private async readBack(seq: number): Promise<StoredMsg | null> {
    const locs = this.src.locs;
    const seg = this.src.segByOrd.get(locs.seg(seq));
    if (seg === undefined) return null;
    const off = locs.off(seq);
    const m = this.checked(seq, seg, off, await this.readAhead.read(seg, off, locs.len(seq)));
    return m === MOVED ? this.readBack(seq) : m;
  }

  /**
   * Bytes [off, off + len) of `seg`, read on the spot (a lone read); shorter only when the file is.
   * Null when the read failed: then it is made again through the thread pool, whose promise carries
   * the error to the caller (a caller of messageNow expects no throw).
   */
  private readLone(fd: number, seg: Segment, off: number, len: number, transient: boolean): Buffer | null {
    // A buffer of its own (a small one is cut from Node's pool) unless the caller is done with the
    // message before the next read.
    const buf = transient && len <= LONE_READ_SCRATCH_BYTES ? this.scratch.subarray(0, len) : Buffer.allocUnsafe(len);
    const got = readOnSpot(fd, buf, off);
    if (got < 0) return null;
    this.readAhead.noteLoneRead(seg, off + got);
    return got === len ? buf : buf.subarray(0, got);
  }

  /**
   * The record read back for `seq`, if it checks out. If not, its place is looked up again through
   * the checked page (it may have been read from a page row without its checksum: see
   * LocTable.recheck); another place means the page was wrong, not the record (MOVED: read again
   * there). Else the record is reported (see ReadSource.corrupt) and null.
   */
  private checked(seq: number, seg: Segment, off: number, buf: Buffer): StoredMsg | null | typeof MOVED {
    const locs = this.src.locs;
    const len = locs.len(seq);
    const r = buf.length === len ? decodeRecord(buf, 0, false) : "short";
    if (typeof r !== "string" && r.seq === seq) return r;
    locs.recheck(seq);
    if (this.src.index.has(seq) && (locs.seg(seq) !== seg.ord || locs.off(seq) !== off)) return MOVED;
    // Changed on disk since it was written or recovered: report it, never serve it, forget it.
    this.src.corrupt(seq, seg, off, len);
    return null;
  }

  /** The first message held >= `fromSeq` matching `filter` (a message that no longer checks out is passed over). */
  async next(filter: string, fromSeq: number): Promise<StoredMsg | null> {
    for (let from = fromSeq; ; ) {
      const seq = this.src.index.next(filter, from);
      if (seq === 0) return null;
      const m = await this.message(seq);
      if (m !== null) return m;
      from = seq + 1;
    }
  }

  /** The same from what is at hand (see messageNow): undefined when a read is needed. */
  nextNow(filter: string, fromSeq: number): StoredMsg | null | undefined {
    for (let from = fromSeq; ; ) {
      const seq = this.src.index.next(filter, from);
      if (seq === 0) return null;
      const m = this.messageNow(seq);
      if (m !== null) return m;
      from = seq + 1;
    }
  }

  /** The last message held matching `filter`. */
  async last(filter: string): Promise<StoredMsg | null> {
    for (let at = this.src.index.lastSeq; ; ) {
      const seq = this.src.index.prev(filter, at);
      if (seq === 0) return null;
      const m = await this.message(seq);
      if (m !== null) return m;
      at = seq - 1;
    }
  }

  /**
   * A whole-store read (start-up's dedup rebuild): cached records from memory, the rest through a
   * window over each segment, read in `scanChunkBytes` pieces instead of a read per message.
   * A record that no longer checks out is skipped, never handed on (a load of it reports it).
   */
  async scan(fromSeq: number, fn: (m: StoredMsg) => void): Promise<void> {
    const src = this.src;
    const index = src.index;
    let seg: Segment | null = null;
    let fh: FileHandle | null = null;
    let win: SegmentWindow | null = null;
    try {
      for (let seq = index.next("", fromSeq); seq !== 0; seq = index.next("", seq + 1)) {
        const rec = src.cache.get(seq);
        if (rec !== undefined) {
          fn(viewRecord(rec, seq, index.timeOf(seq), index.subjectOf(seq) as string));
          continue;
        }
        const at = src.segByOrd.get(src.locs.seg(seq));
        if (at === undefined) continue;
        if (at !== seg || win === null) {
          await fh?.close();
          fh = null;
          seg = at;
          fh = await open(seg.path, "r");
          win = new SegmentWindow(fh, seg.size, src.scanChunkBytes);
        }
        const off = src.locs.off(seq);
        const r = win.decodeLoaded(off) ?? (await win.decodeAt(off));
        if (typeof r !== "string" && r.seq === seq && r.type === RecordType.MSG) fn(r);
      }
    } finally {
      await fh?.close();
    }
  }

  /** A read handle on a segment, opened once. */
  private reader(seg: Segment): Promise<FileHandle> {
    let fh = this.readers.get(seg);
    if (fh === undefined) {
      const opening = open(seg.path, "r");
      fh = opening;
      this.readers.set(seg, opening);
      opening.then(
        (h) => {
          if (this.readers.get(seg) === opening) this.opened.set(seg, h);
        },
        () => {},
      );
    }
    return fh;
  }

  /** Stop reading a segment that is going away. */
  async forget(seg: Segment): Promise<void> {
    this.readAhead.forget(seg);
    const r = this.readers.get(seg);
    this.readers.delete(seg);
    this.opened.delete(seg);
    if (r !== undefined) await r.then((h) => h.close()).catch(() => {});
  }

  /** Close every read handle. */
  async close(): Promise<void> {
    this.readAhead.clear();
    const all = [...this.readers.values()];
    this.readers.clear();
    this.opened.clear();
    for (const r of all) await r.then((h) => h.close()).catch(() => {});
  }
}

/** `checked`'s answer for a record found at another place than it was read at. */
const MOVED = Symbol("moved");

/**
 * Bytes of `fd` from `off` into `buf`, read on the event loop's thread (a lone read, paced by
 * `loneReads`): how many came (fewer only at the file's end), or -1 when lone reads are paused or
 * the read failed (the caller then reads through the thread pool, which carries the error).
 */
function readOnSpot(fd: number, buf: Buffer, off: number): number {
  const t0 = loneReads.started();
  if (t0 < 0) return -1;
  try {
    return readFullySync(fd, buf, off);
  } catch {
    return -1;
  } finally {
    loneReads.ended(t0);
  }
}
