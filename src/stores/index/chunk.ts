import { SubjectCounts } from "./subject-counts.js";

/**
 * Sequences per chunk of the message index (a power of two: a sequence's chunk and slot are a
 * division and a mask). A chunk of 16-byte messages' index data is 64 KiB when full.
 */
export const CHUNK_MSGS = 4096;
/** Slots a chunk makes room for at first; its arrays double up to CHUNK_MSGS as messages arrive. */
const INITIAL_SLOTS = 32;
/** Bytes of a chunk's liveness bits (one per slot). */
export const CHUNK_BITS_BYTES = CHUNK_MSGS / 8;

/** A chunk's per-slot arrays: subject id, bytes the message counts for, time; and (file store) where its record lies. */
export interface ChunkArrays {
  subj: Uint32Array;
  size: Uint32Array;
  time: BigInt64Array;
  /** Per slot: segment number, offset, record length (3 entries a slot); empty where nothing says where records lie. */
  loc: Uint32Array;
}

/**
 * The index data of CHUNK_MSGS consecutive sequences. Always in memory (a few hundred bytes,
 * whatever the chunk holds): which slots hold a message (`bits`, one bit a slot), how many, the
 * newest time, and per subject present how many of its messages the chunk holds (a search for one
 * subject skips every chunk without it). Per slot, in typed arrays (no object per message): the
 * subject id, the bytes the message counts for and its time, and where its record lies (file
 * store). Those arrays can be paged out (`arrays` null) once a copy is on disk (see ChunkPager):
 * only the chunks in use keep them.
 */
export class Chunk {
  /** Messages held and the bytes they count for. */
  live = 0;
  bytes = 0;
  /** Bit `slot` set: a message is held in `slot`. */
  readonly bits = new Uint8Array(CHUNK_BITS_BYTES);
  /** The per-slot arrays; null while paged out. */
  arrays: ChunkArrays | null;
  /** The latest time of any message put in the chunk (a search by time skips chunks all older). */
  maxTimeNs = -(2n ** 63n);
  /** Subject id -> messages of that subject in this chunk (only subjects with at least one). */
  readonly subjects = new SubjectCounts();
  /**
   * The pager's: the checksum of the chunk's page on disk, or -1 when the disk has no page matching
   * the arrays (never written, or changed since).
   */
  pageCrc = -1;
  /**
   * The pager's: where records of the chunk lie, sparsely, for reads while the arrays are paged
   * out (see file/record-anchors.ts); null until the arrays were in memory since the last change.
   */
  anchors: Float64Array | null = null;

  constructor(
    /** The chunk's number: it holds sequences [n * CHUNK_MSGS, (n + 1) * CHUNK_MSGS). */
    readonly n: number,
    slots: number,
    withLoc: boolean,
  ) {
    let cap = INITIAL_SLOTS;
    while (cap < slots) cap *= 2;
    cap = Math.min(cap, CHUNK_MSGS);
    this.arrays = newArrays(cap, withLoc);
  }

  /** Slots the arrays have room for (slots past it hold no message); the arrays must be in memory. */
  get capacity(): number {
    return (this.arrays as ChunkArrays).size.length;
  }

  /** Make room for `slot` (the arrays must be in memory). */
  ensure(slot: number): void {
    const a = this.arrays as ChunkArrays;
    if (slot < a.size.length) return;
    let cap = a.size.length * 2;
    while (cap <= slot) cap *= 2;
    cap = Math.min(cap, CHUNK_MSGS);
    const b = newArrays(cap, a.loc.length > 0);
    b.subj.set(a.subj);
    b.size.set(a.size);
    b.time.set(a.time);
    b.loc.set(a.loc);
    this.arrays = b;
  }

  /** Whether a message is held in `slot`. */
  has(slot: number): boolean {
    return ((this.bits[slot >> 3] as number) & (1 << (slot & 7))) !== 0;
  }

  setBit(slot: number): void {
    this.bits[slot >> 3] = (this.bits[slot >> 3] as number) | (1 << (slot & 7));
  }

  clearBit(slot: number): void {
    this.bits[slot >> 3] = (this.bits[slot >> 3] as number) & ~(1 << (slot & 7));
  }

  /** The first slot >= `from` holding a message (CHUNK_MSGS when none). */
  nextLive(from: number): number {
    const bits = this.bits;
    for (let slot = from; slot < CHUNK_MSGS; ) {
      const b = bits[slot >> 3] as number;
      if (b === 0) {
        slot = (slot | 7) + 1;
        continue;
      }
      if ((b & (1 << (slot & 7))) !== 0) return slot;
      slot++;
    }
    return CHUNK_MSGS;
  }

  /** The last slot <= `from` holding a message (-1 when none). */
  prevLive(from: number): number {
    const bits = this.bits;
    for (let slot = from; slot >= 0; ) {
      const b = bits[slot >> 3] as number;
      if (b === 0) {
        slot = (slot & ~7) - 1;
        continue;
      }
      if ((b & (1 << (slot & 7))) !== 0) return slot;
      slot--;
    }
    return -1;
  }

  /** Messages held in slots below `slot`. */
  liveBelow(slot: number): number {
    let n = 0;
    const bits = this.bits;
    const whole = slot >> 3;
    for (let i = 0; i < whole; i++) n += POPCOUNT[bits[i] as number] as number;
    if ((slot & 7) !== 0) n += POPCOUNT[(bits[whole] as number) & ((1 << (slot & 7)) - 1)] as number;
    return n;
  }

  /** Whether every slot holds a message. */
  full(): boolean {
    return this.live === CHUNK_MSGS;
  }
}

/** Per-slot arrays for `cap` slots (`withLoc`: with room for where records lie). */
export function newArrays(cap: number, withLoc: boolean): ChunkArrays {
  return { subj: new Uint32Array(cap), size: new Uint32Array(cap), time: new BigInt64Array(cap), loc: new Uint32Array(withLoc ? cap * 3 : 0) };
}

const POPCOUNT = new Uint8Array(256);
for (let i = 1; i < 256; i++) POPCOUNT[i] = (POPCOUNT[i >> 1] as number) + (i & 1);

/**
 * What pages a chunk's arrays out and back in (the file store: see file/index-pages.ts). Without
 * one (the memory store) every chunk keeps its arrays.
 */
export interface ChunkPager {
  /** `c` was made (its arrays are in memory and on no page yet). */
  created(c: Chunk): void;
  /** Put back `c`'s arrays from its page (synchronous: the index answers synchronously). */
  load(c: Chunk): void;
  /** `c`'s arrays changed (a message put back): its page no longer matches. */
  changed(c: Chunk): void;
  /** `c` holds no message any more and is forgotten. */
  dropped(c: Chunk): void;
}
