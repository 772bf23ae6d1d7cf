import { CHUNK_MSGS, type ChunkArrays } from "../index/chunk.js";
import type { MsgIndex } from "../index/msg-index.js";
import type { IndexPages } from "./index-pages.js";
import { anchoredStretch } from "./record-anchors.js";

export { NO_SEGMENT } from "./segment-io.js";

/**
 * Where each message's record lies on disk (segment number, offset, length): kept in the index's
 * chunks beside each message's subject, size and time (12 bytes a message, no object per message),
 * so it is paged out and in with them. For a chunk paged out, the place of one record is read from
 * its page alone (a direct get of an old message brings back 16 bytes, not the chunk).
 */
export class LocTable {
  /** The last place read from a page, and its sequence. */
  private readonly point = new Uint32Array(3);
  private pointSeq = -1;
  /** The chunk of the last place read from a page: a second read in it brings the chunk back (a scan, not a random get). */
  private pointChunk = -1;

  constructor(
    private readonly index: MsgIndex,
    private readonly pages: IndexPages,
  ) {}

  /** Remember where `seq`'s record lies (the index holds `seq`'s chunk; nothing happens otherwise). */
  set(seq: number, seg: number, off: number, len: number): void {
    const c = this.index.chunkAt(seq);
    if (c === undefined) return;
    const slot = seq % CHUNK_MSGS;
    const loc = this.index.arraysOf(c).loc;
    if (slot * 3 >= loc.length) return;
    if (loc[slot * 3] === seg && loc[slot * 3 + 1] === off && loc[slot * 3 + 2] === len) return;
    if (c.pageCrc !== -1) this.pages.changed(c);
    c.anchors = null;
    loc[slot * 3] = seg;
    loc[slot * 3 + 1] = off;
    loc[slot * 3 + 2] = len;
    if (seq === this.pointSeq) this.pointSeq = -1;
  }

  /**
   * A batch took its place in segment `segOrd`: the records of `bufs` (`seqs[i]` the sequence of
   * bufs[i], 0 for other records) lie one after another from offset `first`.
   */
  place(seqs: number[], bufs: Buffer[], segOrd: number, first: number): void {
    let off = first;
    for (let i = 0; i < bufs.length; i++) {
      const len = (bufs[i] as Buffer).length;
      const seq = seqs[i] as number;
      if (seq !== 0) this.set(seq, segOrd, off, len);
      off += len;
    }
  }

  /** Where `seq`'s record lies: [segment number, offset, length] (NO_SEGMENT when not written or not known). */
  private at(seq: number): ArrayLike<number> {
    const slot = seq % CHUNK_MSGS;
    const c = this.index.chunkAt(seq);
    if (c === undefined || !c.has(slot)) return NOWHERE;
    const a: ChunkArrays | null = c.arrays;
    const out = this.point;
    if (a === null) {
      if (seq === this.pointSeq) return out;
      // A chunk without anchors comes back whole (they are taken when it is paged out again).
      if (c.n !== this.pointChunk && c.anchors !== null) {
        this.pages.pointLoc(c, slot, out);
        this.pointSeq = seq;
        this.pointChunk = c.n;
        return out;
      }
      this.index.arraysOf(c);
      return this.at(seq);
    }
    if (slot * 3 >= a.loc.length) return NOWHERE;
    this.pointSeq = -1;
    out[0] = a.loc[slot * 3] as number;
    out[1] = a.loc[slot * 3 + 1] as number;
    out[2] = a.loc[slot * 3 + 2] as number;
    return out;
  }

  /**
   * Where to read `seq`'s record from its chunk's anchor (see record-anchors.ts): into `out`,
   * [segment number, offset, bytes]; false unless `seq` is held in a chunk paged out with anchors.
   */
  stretch(seq: number, out: Float64Array): boolean {
    const c = this.index.chunkAt(seq);
    const slot = seq % CHUNK_MSGS;
    return c !== undefined && c.arrays === null && c.has(slot) && anchoredStretch(c, slot, out);
  }

  /** The segment number of `seq`'s record (NO_SEGMENT when not written or not known). */
  seg(seq: number): number {
    return this.at(seq)[0] as number;
  }

  off(seq: number): number {
    return this.at(seq)[1] as number;
  }

  len(seq: number): number {
    return this.at(seq)[2] as number;
  }

  /**
   * Look up `seq`'s place again through its whole chunk, checked (a record read where the page
   * said did not check out: was it the page?).
   */
  recheck(seq: number): void {
    this.pointSeq = -1;
    const c = this.index.chunkAt(seq);
    if (c !== undefined) this.index.arraysOf(c);
  }
}

const NOWHERE = new Uint32Array(3);
