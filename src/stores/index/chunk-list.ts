import { Chunk, type ChunkArrays, type ChunkPager } from "./chunk.js";

/**
 * The chunks of an index by number, from the lowest holding a message to the highest (a chunk with
 * no message is undefined, and leading ones are cut off), and the way to a chunk's arrays when they
 * are paged out.
 */
export class ChunkList {
  /** chunks[i] holds chunk number base + i (undefined: no message in it). */
  private chunks: Array<Chunk | undefined> = [];
  /** The number of the first chunk listed. */
  base = 0;

  constructor(
    /** Pages chunks' arrays out and in (null: every chunk keeps them). */
    readonly pager: ChunkPager | null,
    /** Chunks keep where each record lies (the file store's LocTable). */
    private readonly withLoc: boolean,
  ) {}

  /** One past the number of the last chunk listed. */
  get end(): number {
    return this.base + this.chunks.length;
  }

  /** Chunks listed (held or not: the span from the first to the last). */
  get span(): number {
    return this.chunks.length;
  }

  get(n: number): Chunk | undefined {
    const i = n - this.base;
    return i >= 0 ? this.chunks[i] : undefined;
  }

  /** The chunks holding messages, oldest first. */
  held(): Chunk[] {
    return this.chunks.filter((c): c is Chunk => c !== undefined);
  }

  /** `c`'s arrays, brought back from its page when paged out. */
  arraysOf(c: Chunk): ChunkArrays {
    if (c.arrays === null) (this.pager as ChunkPager).load(c);
    return c.arrays as ChunkArrays;
  }

  /** Chunk `n` with its arrays in memory and room for `slot` (made when missing). */
  make(n: number, slot: number): Chunk {
    if (this.chunks.length === 0) this.base = n;
    else if (n < this.base) {
      this.chunks = new Array<Chunk | undefined>(this.base - n).fill(undefined).concat(this.chunks);
      this.base = n;
    }
    const i = n - this.base;
    while (this.chunks.length <= i) this.chunks.push(undefined);
    let c = this.chunks[i];
    if (c === undefined) {
      c = new Chunk(n, slot + 1, this.withLoc);
      this.chunks[i] = c;
      this.pager?.created(c);
    } else {
      this.arraysOf(c);
      if (slot >= c.capacity) {
        c.ensure(slot);
        if (c.pageCrc !== -1) this.pager?.changed(c);
      }
    }
    return c;
  }

  /** Chunk `n` holds no message any more: it goes; leading empty chunks are cut off. */
  drop(n: number): void {
    const i = n - this.base;
    const c = this.chunks[i];
    this.chunks[i] = undefined;
    if (c !== undefined) this.pager?.dropped(c);
    let k = 0;
    while (k < this.chunks.length && this.chunks[k] === undefined) k++;
    if (k === this.chunks.length) {
      this.chunks = [];
      this.base = 0;
    } else if (k > 0) {
      this.chunks = this.chunks.slice(k);
      this.base += k;
    }
  }

  /** List `chunks` (those holding messages, in order) instead of what was listed. */
  replace(chunks: Chunk[]): void {
    this.chunks = [];
    this.base = 0;
    for (const c of chunks) {
      if (c.live === 0) continue;
      if (this.chunks.length === 0) this.base = c.n;
      while (this.base + this.chunks.length < c.n) this.chunks.push(undefined);
      this.chunks.push(c);
      if (c.arrays !== null) this.pager?.created(c);
    }
  }
}
