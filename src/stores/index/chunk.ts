/**
 * Sequences per chunk of the message index (a power of two: a sequence's chunk and slot are a
 * division and a mask). A chunk of 16-byte messages' index data is 64 KiB when full.
 */
export const CHUNK_MSGS = 4096;
/** Slots a chunk makes room for at first; its arrays double up to CHUNK_MSGS as messages arrive. */
const INITIAL_SLOTS = 32;

/**
 * The index data of CHUNK_MSGS consecutive sequences, in typed arrays (no object per message): per
 * slot the subject id, the bytes the message counts for (0: no message there) and its time; and per
 * subject present, how many of its messages the chunk holds, so a search for one subject skips
 * every chunk without it.
 */
export class Chunk {
  /** Messages held. */
  live = 0;
  subj: Uint32Array;
  size: Uint32Array;
  time: BigInt64Array;
  /** The latest time of any message put in the chunk (a search by time skips chunks all older). */
  maxTimeNs = -(2n ** 63n);
  /** Subject id -> messages of that subject in this chunk (only subjects with at least one). */
  readonly subjects = new Map<number, number>();

  constructor(
    /** The chunk's number: it holds sequences [n * CHUNK_MSGS, (n + 1) * CHUNK_MSGS). */
    readonly n: number,
    slots: number,
  ) {
    let cap = INITIAL_SLOTS;
    while (cap < slots) cap *= 2;
    cap = Math.min(cap, CHUNK_MSGS);
    this.subj = new Uint32Array(cap);
    this.size = new Uint32Array(cap);
    this.time = new BigInt64Array(cap);
  }

  /** A chunk read back from an index file (its counts are rebuilt by MsgIndex.adopt). */
  static of(n: number, subj: Uint32Array, size: Uint32Array, time: BigInt64Array, maxTimeNs: bigint): Chunk {
    const c = new Chunk(n, 1);
    c.subj = subj;
    c.size = size;
    c.time = time;
    c.maxTimeNs = maxTimeNs;
    return c;
  }

  /** Slots the arrays have room for (slots past it hold no message). */
  get capacity(): number {
    return this.size.length;
  }

  /** Make room for `slot`. */
  ensure(slot: number): void {
    if (slot < this.size.length) return;
    let cap = this.size.length * 2;
    while (cap <= slot) cap *= 2;
    cap = Math.min(cap, CHUNK_MSGS);
    const subj = new Uint32Array(cap);
    subj.set(this.subj);
    const size = new Uint32Array(cap);
    size.set(this.size);
    const time = new BigInt64Array(cap);
    time.set(this.time);
    this.subj = subj;
    this.size = size;
    this.time = time;
  }

  /** Whether a message is held in `slot`. */
  has(slot: number): boolean {
    return slot < this.size.length && (this.size[slot] as number) > 0;
  }
}
