import { CHUNK_MSGS, type Chunk } from "./chunk.js";
import type { ChunkList } from "./chunk-list.js";
import type { FilterMemo, FilterMemory } from "./filter-memo.js";
import type { SubjectTable } from "./subject-table.js";

const chunkOf = (seq: number): number => Math.floor(seq / CHUNK_MSGS);
const slotOf = (seq: number): number => seq % CHUNK_MSGS;

/** How a chunk's subjects stand to a filter: none matches, all do, or some. */
export const NONE = 0;
export const ALL = 1;
export const SOME = 2;

/**
 * The walks over an index's chunks: the next or last message held (matching a filter, or of one
 * subject) from a sequence, and counts from a sequence. A chunk whose subjects all match (or none
 * does) is answered from its liveness bits and subject counts; only a chunk where some match is
 * looked into slot by slot (bringing its arrays back when paged out).
 */
export class ChunkScan {
  constructor(
    private readonly list: ChunkList,
    private readonly subjects: SubjectTable,
    private readonly filters: FilterMemory,
  ) {}

  /** How `c`'s subjects stand to the filter of `memo` (NONE, ALL or SOME match). */
  matchKind(c: Chunk, memo: FilterMemo): number {
    let yes = 0;
    for (const id of c.subjects.keys()) if (this.filters.matchId(memo, id)) yes++;
    return yes === 0 ? NONE : yes === c.subjects.size ? ALL : SOME;
  }

  /** The first sequence >= `from` held (matching `memo` when given); 0 when none. */
  scanUp(from: number, memo: FilterMemo | null): number {
    const end = this.list.end;
    for (let n = Math.max(chunkOf(from), this.list.base); n < end; n++) {
      const c = this.list.get(n);
      if (c === undefined) continue;
      const kind = memo === null ? ALL : this.matchKind(c, memo);
      if (kind === NONE) continue;
      let slot = c.nextLive(n === chunkOf(from) ? slotOf(from) : 0);
      if (kind === SOME) {
        const subj = this.list.arraysOf(c).subj;
        while (slot < CHUNK_MSGS && !this.filters.matchId(memo as FilterMemo, subj[slot] as number)) slot = c.nextLive(slot + 1);
      }
      if (slot < CHUNK_MSGS) return n * CHUNK_MSGS + slot;
    }
    return 0;
  }

  /** The last sequence <= `from` held (matching `memo` when given); 0 when none. */
  scanDown(from: number, memo: FilterMemo | null): number {
    for (let n = Math.min(chunkOf(from), this.list.end - 1); n >= this.list.base; n--) {
      const c = this.list.get(n);
      if (c === undefined) continue;
      const kind = memo === null ? ALL : this.matchKind(c, memo);
      if (kind === NONE) continue;
      let slot = c.prevLive(n === chunkOf(from) ? slotOf(from) : CHUNK_MSGS - 1);
      if (kind === SOME) {
        const subj = this.list.arraysOf(c).subj;
        while (slot >= 0 && !this.filters.matchId(memo as FilterMemo, subj[slot] as number)) slot = c.prevLive(slot - 1);
      }
      if (slot >= 0) return n * CHUNK_MSGS + slot;
    }
    return 0;
  }

  /** The next message of subject `id` at or after `from` (0 when none). */
  nextOfSubject(id: number, from: number): number {
    const end = Math.min(chunkOf(this.subjects.last(id)), this.list.end - 1);
    for (let n = Math.max(chunkOf(from), this.list.base); n <= end; n++) {
      const c = this.list.get(n);
      if (c === undefined || !c.subjects.has(id)) continue;
      let slot = c.nextLive(n === chunkOf(from) ? slotOf(from) : 0);
      if (c.subjects.size > 1) {
        const subj = this.list.arraysOf(c).subj;
        while (slot < CHUNK_MSGS && subj[slot] !== id) slot = c.nextLive(slot + 1);
      }
      if (slot < CHUNK_MSGS) return n * CHUNK_MSGS + slot;
    }
    return 0;
  }

  /** The last message of subject `id` at or before `from` (0 when none). */
  prevOfSubject(id: number, from: number): number {
    const low = Math.max(chunkOf(this.subjects.first(id)), this.list.base);
    for (let n = Math.min(chunkOf(from), this.list.end - 1); n >= low; n--) {
      const c = this.list.get(n);
      if (c === undefined || !c.subjects.has(id)) continue;
      let slot = c.prevLive(n === chunkOf(from) ? slotOf(from) : CHUNK_MSGS - 1);
      if (c.subjects.size > 1) {
        const subj = this.list.arraysOf(c).subj;
        while (slot >= 0 && subj[slot] !== id) slot = c.prevLive(slot - 1);
      }
      if (slot >= 0) return n * CHUNK_MSGS + slot;
    }
    return 0;
  }

  /**
   * Messages at or above `from` by per-chunk counts (`perChunk`), and in the chunk `from` falls in
   * by its slots: every one held when `kind` says all its subjects match, else those whose subject
   * id passes `subjTest`; from whichever side of `from` has fewer chunks when `total` (all
   * matching, -1 unknown) is given.
   */
  countFrom(from: number, perChunk: (c: Chunk) => number, kind: (c: Chunk) => number, subjTest: (subj: number) => boolean, total: number): number {
    const at = chunkOf(from);
    const end = this.list.end;
    const c = this.list.get(at);
    const below = total >= 0 && at - this.list.base < end - at;
    let n = 0;
    if (c !== undefined) {
      // The slots of `from`'s chunk on the side being counted.
      const s = slotOf(from);
      const k = kind(c);
      if (k === ALL) n = below ? c.liveBelow(s) : c.live - c.liveBelow(s);
      else if (k === SOME) {
        const subj = this.list.arraysOf(c).subj;
        const [lo, hi] = below ? [0, s] : [s, CHUNK_MSGS];
        for (let slot = c.nextLive(lo); slot < hi; slot = c.nextLive(slot + 1)) if (subjTest(subj[slot] as number)) n++;
      }
    }
    if (below) {
      for (let k = this.list.base; k < at; k++) {
        const x = this.list.get(k);
        if (x !== undefined) n += perChunk(x);
      }
      return total - n;
    }
    for (let k = at + 1; k < end; k++) {
      const x = this.list.get(k);
      if (x !== undefined) n += perChunk(x);
    }
    return n;
  }
}
