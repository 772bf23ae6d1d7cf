/**
 * Small buffers cut from large slabs: one allocation per slab instead of one per buffer (Node's
 * own pool is 8 KiB, so 1 KiB records would need a new one every seven). A slab lives while any
 * buffer cut from it does, so a slab must only serve buffers that die roughly in the order they
 * were made: one file store's records, which leave its tail cache oldest first. Buffers of
 * several owners with different lifetimes must not share one (see `Slab`).
 */
export const SLAB_BYTES = 512 * 1024;
/** Buffers larger than this get their own allocation (from the shared slab). */
export const SLAB_MAX_PIECE = 32 * 1024;
/** A per-owner slab starts this small and doubles with each slab filled, up to its maximum. */
export const SLAB_FIRST_BYTES = 4 * 1024;

/**
 * A sequence of slabs for one owner. Why one per owner: with one slab for every file store, a
 * record kept by a quiet stream's tail cache held the whole 512 KiB slab it was cut from, which
 * busy streams had otherwise left long ago: next to busy streams, each cached record of a quiet
 * one pinned a slab, and memory grew without bound (481 MiB of slabs after 1.8 M messages for a
 * tail cache budget of 56 MiB). With its own slabs an owner's buffers pin only its own.
 *
 * The first slab is made on first use and small; each next one is twice as large up to
 * `maxBytes`, so an owner that stores little holds little.
 */
export class Slab {
  private slab: Buffer | null = null;
  private view: DataView | null = null;
  private used = 0;
  private nextBytes: number;
  private lastView: DataView | null = null;

  constructor(
    private readonly maxBytes = SLAB_BYTES,
    private readonly maxPiece = Math.min(SLAB_MAX_PIECE, maxBytes / 8),
    firstBytes = Math.min(SLAB_FIRST_BYTES, maxBytes),
  ) {
    this.nextBytes = firstBytes;
  }

  /** An uninitialised buffer of `n` bytes; `lastSlabView()` then covers it. */
  alloc(n: number): Buffer {
    if (n > this.maxPiece) {
      const own = Buffer.allocUnsafeSlow(n);
      this.lastView = new DataView(own.buffer, own.byteOffset, own.length);
      return own;
    }
    if (this.slab === null || this.used + n > this.slab.length) {
      const size = Math.max(this.nextBytes, n);
      this.nextBytes = Math.min(this.maxBytes, this.nextBytes * 2);
      this.slab = Buffer.allocUnsafeSlow(size);
      this.view = new DataView(this.slab.buffer, this.slab.byteOffset, this.slab.length);
      this.used = 0;
    }
    this.lastView = this.view;
    const b = this.slab.subarray(this.used, this.used + n);
    this.used = (this.used + n + 7) & ~7; // keep pieces 8-byte aligned
    return b;
  }

  /**
   * A DataView over the memory of the buffer the last `alloc` returned, at that buffer's
   * `byteOffset`: fixed-width fields are written through it without Buffer's per-call checks (and
   * a BigInt is written without the BigInt arithmetic of `writeBigInt64LE`).
   */
  lastSlabView(): DataView {
    return this.lastView as DataView;
  }
}

/** The slab for buffers that die soon after they are made (records written and dropped at once). */
export const sharedSlab = new Slab(SLAB_BYTES, SLAB_MAX_PIECE, SLAB_BYTES);
