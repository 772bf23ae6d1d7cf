import type { FileEntry } from "./file-entry.js";

/** Recently written records kept in memory so consumers reading the tail do not read the disk. */
export const TAIL_CACHE_BYTES = 8 * 1024 * 1024;

/**
 * The newest written records, kept in memory (in their entries' `rec`) up to TAIL_CACHE_BYTES;
 * older ones are let go and read back from their segments.
 */
export class TailCache {
  /** Entries whose record is cached, oldest first, from `head` on. */
  private cached: FileEntry[] = [];
  private head = 0;
  /** Bytes of the cached records. */
  bytes = 0;

  /** Records just written (null: a record no entry holds, such as a tombstone). */
  add(entries: Array<FileEntry | null>): void {
    for (const e of entries) {
      if (e === null) continue;
      this.cached.push(e);
      this.bytes += e.len;
    }
    while (this.bytes > TAIL_CACHE_BYTES && this.head < this.cached.length) {
      const e = this.cached[this.head++] as FileEntry;
      this.bytes -= e.len;
      e.rec = null;
    }
    if (this.head > 4096 && this.head * 2 > this.cached.length) {
      this.cached = this.cached.slice(this.head);
      this.head = 0;
    }
  }
}
