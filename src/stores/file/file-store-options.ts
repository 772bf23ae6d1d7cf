import type { StoreLimits } from "../types.js";
import type { StoreLog } from "./write-outage.js";

/** A segment is closed and a new one started once it passes this size. */
export const SEGMENT_MAX_BYTES = 64 * 1024 * 1024;
/** Bytes read at a time while recovering a segment. */
export const RECOVERY_CHUNK_BYTES = 4 * 1024 * 1024;
/** The largest slab a store cuts its message records from (its first is 4 KiB; each next doubles). */
export const STORE_SLAB_BYTES = 64 * 1024;

/**
 * `always` (default): every batch of appends is on disk before any of them is acknowledged (group
 * commit: the segment is opened O_DSYNC, so each batch's one write returns once its data, and the
 * file size that reaches it, are durable, as a write then fdatasync would). `interval`:
 * acknowledged once written to the OS, fsynced every `syncIntervalMs`; a power cut or kernel crash
 * (not a process crash) can lose what was acknowledged in that window.
 */
export type SyncMode = "always" | "interval";

/** File store options. */
export interface FileStoreOptions {
  dir: string;
  limits?: StoreLimits;
  sync?: SyncMode;
  syncIntervalMs?: number;
  segmentMaxBytes?: number;
  /** Bytes read at a time while recovering (tests make it tiny to cross chunk edges). */
  recoveryChunkBytes?: number;
  /**
   * Told how long each group commit's durable write took (for the fsync latency histogram of
   * `/metrics`): one call per batch, whatever the number of messages it covers.
   */
  observeSyncSeconds?: (seconds: number) => void;
  /** Waits before retrying after a failed write (default WRITE_RETRY_BACKOFF_MS; tests shorten it). */
  retryBackoffMs?: readonly number[];
  /** Told when writes start failing and when they succeed again (nothing is said when absent). */
  log?: StoreLog;
  /**
   * Load and save the index file (default true). Off, every start reads every record, as tests
   * of damage to segment bytes want.
   */
  indexFile?: boolean;
  /** Record bytes appended between saves of the index (default INDEX_SAVE_BYTES; tests make it small). */
  indexSaveBytes?: number;
}
