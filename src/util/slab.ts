/**
 * Small buffers cut from large shared slabs: one allocation per SLAB_BYTES instead of one per
 * buffer (Node's own pool is 8 KiB, so 1 KiB records would need a new one every seven). A slab
 * lives while any buffer cut from it does, so only use it for buffers that die roughly in the
 * order they were made (the file store's records leave its tail cache oldest first).
 */
export const SLAB_BYTES = 512 * 1024;
/** Buffers larger than this get their own allocation. */
export const SLAB_MAX_PIECE = 32 * 1024;

let slab = Buffer.allocUnsafeSlow(SLAB_BYTES);
let slabView = new DataView(slab.buffer, slab.byteOffset, slab.length);
let used = 0;
let lastView = slabView;

/** An uninitialised buffer of `n` bytes; `lastSlabView()` then covers it. */
export function slabAlloc(n: number): Buffer {
  if (n > SLAB_MAX_PIECE) {
    const own = Buffer.allocUnsafeSlow(n);
    lastView = new DataView(own.buffer, own.byteOffset, own.length);
    return own;
  }
  if (used + n > SLAB_BYTES) {
    slab = Buffer.allocUnsafeSlow(SLAB_BYTES);
    slabView = new DataView(slab.buffer, slab.byteOffset, slab.length);
    used = 0;
  }
  lastView = slabView;
  const b = slab.subarray(used, used + n);
  used = (used + n + 7) & ~7; // keep pieces 8-byte aligned
  return b;
}

/**
 * A DataView over the memory of the buffer the last `slabAlloc` returned, at that buffer's
 * `byteOffset`: fixed-width fields are written through it without Buffer's per-call checks (and
 * a BigInt is written without the BigInt arithmetic of `writeBigInt64LE`).
 */
export function lastSlabView(): DataView {
  return lastView;
}
