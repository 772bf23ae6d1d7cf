/** Entries past which a chunk's subject counts are worth packing (a Map entry costs about 30 bytes, a packed one 8). */
export const PACK_SUBJECTS_AT = 16;

/**
 * How many messages of each subject id a chunk holds (only ids with at least one). A Map while the
 * chunk takes new messages; packed into two sorted typed arrays (8 bytes an id) once it is on its
 * page (`pack`): a KV bucket's chunks each hold thousands of keys, and a million keys cost 29 MB
 * of Map entries. A packed set takes decrements in place; a new id unpacks it again.
 */
export class SubjectCounts {
  private map: Map<number, number> | null = new Map();
  private ids: Uint32Array | null = null;
  private counts: Uint32Array | null = null;
  private live = 0;

  get size(): number {
    return this.map !== null ? this.map.size : this.live;
  }

  get(id: number): number | undefined {
    if (this.map !== null) return this.map.get(id);
    const i = this.find(id);
    const k = i < 0 ? 0 : ((this.counts as Uint32Array)[i] as number);
    return k > 0 ? k : undefined;
  }

  has(id: number): boolean {
    return this.get(id) !== undefined;
  }

  /** Set `id`'s count (> 0). */
  set(id: number, k: number): void {
    if (this.map === null) {
      const i = this.find(id);
      if (i < 0) this.unpack();
      else {
        const counts = this.counts as Uint32Array;
        if (counts[i] === 0) this.live++;
        counts[i] = k;
        return;
      }
    }
    (this.map as Map<number, number>).set(id, k);
  }

  delete(id: number): void {
    if (this.map !== null) {
      this.map.delete(id);
      return;
    }
    const i = this.find(id);
    const counts = this.counts as Uint32Array;
    if (i >= 0 && (counts[i] as number) > 0) {
      counts[i] = 0;
      this.live--;
    }
  }

  /** The ids held. */
  *keys(): IterableIterator<number> {
    for (const [id] of this.entries()) yield id;
  }

  /** The ids held and their counts. */
  *entries(): IterableIterator<[number, number]> {
    if (this.map !== null) {
      yield* this.map.entries();
      return;
    }
    const ids = this.ids as Uint32Array;
    const counts = this.counts as Uint32Array;
    for (let i = 0; i < ids.length; i++) if ((counts[i] as number) > 0) yield [ids[i] as number, counts[i] as number];
  }

  [Symbol.iterator](): IterableIterator<[number, number]> {
    return this.entries();
  }

  /** Pack into sorted arrays (when there are PACK_SUBJECTS_AT ids or more). */
  pack(): void {
    const map = this.map;
    if (map === null || map.size < PACK_SUBJECTS_AT) return;
    const ids = Uint32Array.from(map.keys()).sort();
    const counts = new Uint32Array(ids.length);
    for (let i = 0; i < ids.length; i++) counts[i] = map.get(ids[i] as number) as number;
    this.ids = ids;
    this.counts = counts;
    this.live = ids.length;
    this.map = null;
  }

  private unpack(): void {
    const map = new Map<number, number>();
    for (const [id, k] of this.entries()) map.set(id, k);
    this.map = map;
    this.ids = null;
    this.counts = null;
    this.live = 0;
  }

  /** Index of `id` in the packed ids (-1 when absent). */
  private find(id: number): number {
    const ids = this.ids as Uint32Array;
    let lo = 0;
    let hi = ids.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const v = ids[mid] as number;
      if (v === id) return mid;
      if (v < id) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }
}
