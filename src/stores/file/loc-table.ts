import { CHUNK_MSGS } from "../index/chunk.js";

/** A segment number that names no segment: the record is not written yet (it is in the record cache). */
export const NO_SEGMENT = 0;

interface LocChunk {
  seg: Uint32Array;
  off: Uint32Array;
  len: Uint32Array;
}

/**
 * Where each message's record lies on disk (segment number, offset, length), in typed arrays
 * chunked like the index (CHUNK_MSGS sequences a chunk): 12 bytes a message, no object per message.
 * Which sequences hold a message is the index's to say; this table only remembers where.
 */
export class LocTable {
  private chunks: Array<LocChunk | undefined> = [];
  private chunkBase = 0;

  set(seq: number, seg: number, off: number, len: number): void {
    const n = Math.floor(seq / CHUNK_MSGS);
    if (this.chunks.length === 0) this.chunkBase = n;
    else if (n < this.chunkBase) {
      this.chunks = new Array<LocChunk | undefined>(this.chunkBase - n).fill(undefined).concat(this.chunks);
      this.chunkBase = n;
    }
    const i = n - this.chunkBase;
    while (this.chunks.length <= i) this.chunks.push(undefined);
    const slot = seq % CHUNK_MSGS;
    let c = this.chunks[i];
    if (c === undefined || slot >= c.seg.length) {
      // Room for the slot, doubling (a small stream's table stays small).
      let cap = c === undefined ? 32 : c.seg.length * 2;
      while (cap <= slot) cap *= 2;
      cap = Math.min(cap, CHUNK_MSGS);
      const grown: LocChunk = { seg: new Uint32Array(cap), off: new Uint32Array(cap), len: new Uint32Array(cap) };
      if (c !== undefined) {
        grown.seg.set(c.seg);
        grown.off.set(c.off);
        grown.len.set(c.len);
      }
      c = grown;
      this.chunks[i] = c;
    }
    c.seg[slot] = seg;
    c.off[slot] = off;
    c.len[slot] = len;
  }

  private at(seq: number): LocChunk | undefined {
    const i = Math.floor(seq / CHUNK_MSGS) - this.chunkBase;
    return i >= 0 ? this.chunks[i] : undefined;
  }

  /** The segment number of `seq`'s record (NO_SEGMENT when not written or not known). */
  seg(seq: number): number {
    return this.at(seq)?.seg[seq % CHUNK_MSGS] ?? NO_SEGMENT;
  }

  off(seq: number): number {
    return this.at(seq)?.off[seq % CHUNK_MSGS] ?? 0;
  }

  len(seq: number): number {
    return this.at(seq)?.len[seq % CHUNK_MSGS] ?? 0;
  }

  /** Forget the chunks wholly below `seq` (nothing below the first message is read again). */
  trimBelow(seq: number): void {
    const k = Math.min(Math.floor(seq / CHUNK_MSGS) - this.chunkBase, this.chunks.length);
    if (k <= 0) return;
    this.chunks = this.chunks.slice(k);
    this.chunkBase += k;
  }

  clear(): void {
    this.chunks = [];
    this.chunkBase = 0;
  }
}
