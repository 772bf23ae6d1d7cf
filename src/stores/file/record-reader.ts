import { open, type FileHandle } from "node:fs/promises";
import type { MsgIndex } from "../index/msg-index.js";
import type { StoredMsg } from "../types.js";
import type { LocTable } from "./loc-table.js";
import { ReadAhead } from "./read-ahead.js";
import type { RecordCache } from "./record-cache.js";
import { RecordType, decodeRecord, viewRecord } from "./record.js";
import { SegmentWindow, type Segment } from "./segment-io.js";

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
 * segment (through ReadAhead, on one read handle per segment) and checked, never served when it
 * no longer checks out; and the whole-store scan start-up's dedup rebuild makes.
 */
export class RecordReader {
  private readonly readers = new Map<Segment, Promise<FileHandle>>();
  private readonly readAhead = new ReadAhead((seg) => this.reader(seg));

  constructor(private readonly src: ReadSource) {}

  /** The message at `seq` (held): from its cached record, or read back from its segment and checked. */
  message(seq: number): StoredMsg | null | Promise<StoredMsg | null> {
    const src = this.src;
    const rec = src.cache.get(seq);
    if (rec !== undefined) return viewRecord(rec, seq, src.index.timeOf(seq), src.index.subjectOf(seq) as string);
    return this.readBack(seq);
  }

  /** From the record cache or from bytes already read back (no waiting); undefined when a read is needed. */
  messageNow(seq: number): StoredMsg | null | undefined {
    const src = this.src;
    const rec = src.cache.get(seq);
    if (rec !== undefined) return viewRecord(rec, seq, src.index.timeOf(seq), src.index.subjectOf(seq) as string);
    const seg = src.segByOrd.get(src.locs.seg(seq));
    if (seg === undefined) return undefined;
    const off = src.locs.off(seq);
    const buf = this.readAhead.peek(seg, off, src.locs.len(seq));
    return buf === null ? undefined : this.checked(seq, seg, off, buf);
  }

  private async readBack(seq: number): Promise<StoredMsg | null> {
    const locs = this.src.locs;
    const seg = this.src.segByOrd.get(locs.seg(seq));
    if (seg === undefined) return null;
    const off = locs.off(seq);
    return this.checked(seq, seg, off, await this.readAhead.read(seg, off, locs.len(seq)));
  }

  /** The record read back for `seq`, if it checks out; else reported (see ReadSource.corrupt) and null. */
  private checked(seq: number, seg: Segment, off: number, buf: Buffer): StoredMsg | null {
    const len = this.src.locs.len(seq);
    const r = buf.length === len ? decodeRecord(buf, 0, false) : "short";
    if (typeof r !== "string" && r.seq === seq) return r;
    // Changed on disk since it was written or recovered: report it, never serve it, forget it.
    this.src.corrupt(seq, seg, off, len);
    return null;
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
      fh = open(seg.path, "r");
      this.readers.set(seg, fh);
    }
    return fh;
  }

  /** Stop reading a segment that is going away. */
  async forget(seg: Segment): Promise<void> {
    this.readAhead.forget(seg);
    const r = this.readers.get(seg);
    this.readers.delete(seg);
    if (r !== undefined) await r.then((h) => h.close()).catch(() => {});
  }

  /** Close every read handle. */
  async close(): Promise<void> {
    this.readAhead.clear();
    for (const r of this.readers.values()) await r.then((h) => h.close()).catch(() => {});
    this.readers.clear();
  }
}
