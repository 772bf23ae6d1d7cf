/**
 * The store interface every backend (memory, file, postgres) implements; the memory store is the
 * reference and `tests/unit/stores/conformance.ts` is the suite each backend passes.
 * Modelled on what nats-server's `server/store.go` StreamStore does, not on its code.
 */

/** One stored message. `headers` is the raw NATS header block (`NATS/1.0\r\n...\r\n\r\n`) or null. */
export interface StoredMsg {
  readonly seq: number;
  readonly subject: string;
  /** Time of storing, nanoseconds since the epoch (JetStream reports ns). */
  readonly timeNs: bigint;
  readonly headers: Buffer | null;
  readonly data: Buffer;
}

/** Stream state as `$JS.API.STREAM.INFO` reports it. */
export interface StreamState {
  messages: number;
  bytes: number;
  firstSeq: number;
  firstTimeNs: bigint;
  lastSeq: number;
  lastTimeNs: bigint;
  /** Sequences inside [firstSeq, lastSeq] that were deleted. */
  numDeleted: number;
  numSubjects: number;
  /**
   * Messages found damaged on disk and not served, since the store was opened (nats-server's
   * LostStreamData: `state.lost` of STREAM.INFO); absent when none.
   */
  lost?: LostData;
}

/** Sequences of messages lost to damage (at most a store's LOST_SEQS_MAX of them) and the bytes lost. */
export interface LostData {
  msgs: number[];
  bytes: number;
}

/** Limits a store enforces on append (the stream config's). 0 = unlimited. */
export interface StoreLimits {
  maxMsgs: number;
  maxBytes: number;
  maxAgeMs: number;
  maxMsgsPerSubject: number;
  /** `old`: drop the oldest to make room; `new`: refuse the append. */
  discard: "old" | "new";
  /** With `discard: new`, also refuse an append that would pass maxMsgsPerSubject (nats-server DiscardNewPer). */
  discardNewPerSubject?: boolean;
}

/** What purge may be limited to (ADR-10). */
export interface PurgeRequest {
  /** Only messages on subjects matching this filter. */
  filter?: string;
  /** Purge all messages below this sequence (exclusive). */
  seq?: number;
  /** Keep this many of the newest (per filter, when given). */
  keep?: number;
}

/** Why an append was refused. */
export class StoreLimitError extends Error {
  readonly code = "STORE_LIMIT" as const;
  constructor(message: string) {
    super(message);
    this.name = "StoreLimitError";
  }
}

/** Bytes a message counts for in a memory stream's limits and state: nats-server's memStoreMsgSize. */
export function storedSize(subject: string, headers: Buffer | null, data: Buffer): number {
  return Buffer.byteLength(subject) + (headers?.length ?? 0) + data.length + 16;
}

/**
 * Bytes a message counts for in a file stream: nats-server's fileStoreMsgSize (its record framing:
 * length, sequence, time, subject length, checksum, and a header length when there are headers),
 * so `bytes` and `max_bytes` mean the same on both servers.
 */
export function fileStoredSize(subject: string, headers: Buffer | null, data: Buffer): number {
  const h = headers === null || headers.length === 0 ? 0 : 4 + headers.length;
  return 30 + Buffer.byteLength(subject) + h + data.length;
}

/**
 * Whether a store can write (for `/healthz` and `/metrics`). A file store whose write fails (a full
 * disk) refuses appends, and tries again with backoff, until a write succeeds.
 */
export interface StoreWriteState {
  /** Why writes fail (the last write error), or null while they succeed. */
  readonly error: string | null;
  /** When writes started failing, ms since the epoch; 0 while they succeed. */
  readonly failingSinceMs: number;
  /** Writes that failed since the store was opened (a batch of appends is one; so is a cut back after one). */
  readonly failedWrites: number;
}

/** Told the highest sequence now durable, or the error that failed the batch holding `seq`. */
export type DurableListener = (seq: number, err: Error | null) => void;

/**
 * A stream's messages. Every method that changes state resolves only when the change is as durable
 * as the store promises (the file store: fsynced).
 */
export interface StreamStore {
  /** Append one message; resolves with its sequence once durable. Throws StoreLimitError under `discard: new`. */
  append(subject: string, headers: Buffer | null, data: Buffer, timeNs?: bigint): Promise<number>;
  /**
   * Append one message without waiting: it is indexed and its sequence returned at once, and the
   * durable listener hears when it (with the rest of its batch) is durable. The publish path uses
   * it so that a message costs no promise. Throws StoreLimitError, or the write error while the
   * store cannot write (see writeState).
   */
  appendNoWait(subject: string, headers: Buffer | null, data: Buffer, timeNs: bigint): number;
  /** The highest sequence known durable; everything at or below it is. */
  durableSequence(): number;
  /**
   * The one listener told, after each batch, the highest sequence now durable, or the error that
   * failed the batch (every append up to that sequence not yet durable has then failed). After a
   * failure the store has taken back every sequence it had not made durable: `lastSequence()` is
   * the last one stored, and the next append gets the one after it (as nats-server, whose last
   * sequence does not move for a message it did not store).
   */
  setDurableListener(fn: DurableListener): void;
  /** The message at `seq`, or null when absent or deleted. */
  load(seq: number): Promise<StoredMsg | null>;
  /**
   * load's answer when the store has it without waiting (in memory, in bytes already read, or read
   * on the spot: see the file store's lone reads); undefined when it would have to wait. A direct
   * get takes this path, so that it costs no promise. The message is valid only until the next
   * call into the store (its bytes may be read into a buffer the store reuses).
   */
  loadNow(seq: number): StoredMsg | null | undefined;
  /** The first message with sequence >= `fromSeq` whose subject matches `filter` ("" or ">" = any). */
  loadNext(filter: string, fromSeq: number): Promise<StoredMsg | null>;
  /**
   * loadNext's answer when the store has it without waiting (in memory, or in bytes already read);
   * undefined when it would have to read. Consumers take this path for every message they can, so
   * a delivery costs no promise.
   */
  loadNextNow(filter: string, fromSeq: number): StoredMsg | null | undefined;
  /** The last message whose subject matches `filter`. */
  loadLast(filter: string): Promise<StoredMsg | null>;
  /**
   * Visit every stored message with sequence >= `fromSeq`, in order (a whole-stream read, as on
   * start-up: the file store reads its segments in large chunks rather than a read per message).
   * The message handed to `fn` is valid only during the call.
   */
  scan(fromSeq: number, fn: (m: StoredMsg) => void): Promise<void>;
  /** Delete one message; false when it was not there. */
  remove(seq: number): Promise<boolean>;
  /** Purge; resolves with how many messages were removed. */
  purge(req?: PurgeRequest): Promise<number>;
  /** The first sequence whose message is not older than `timeNs` (0 when none). */
  seqForTime(timeNs: bigint): Promise<number>;
  /** Per-subject message counts for subjects matching `filter`. */
  subjects(filter: string): Map<string, number>;
  /**
   * The deleted sequences between the first message and the last sequence (both ends included:
   * a deleted last sequence is one), ascending, at most `max` of them (`STREAM.INFO` with
   * `deleted_details`).
   */
  deletedSequences(max: number): number[];
  /** The sequence of the last message stored on this literal subject (0 when none), without waiting. */
  lastSequenceOf(subject: string): number;
  /** Number of messages matching `filter` with sequence >= `fromSeq`. */
  numPending(filter: string, fromSeq: number): number;
  /** Apply new limits (stream update); may drop messages. */
  setLimits(limits: StoreLimits): Promise<void>;
  /** Drop messages older than max age; called periodically by the stream. */
  expire(nowNs?: bigint): Promise<number>;
  state(): StreamState;
  /** The last sequence assigned (cheaper than state() on the publish path). */
  lastSequence(): number;
  /** Whether the store can write now, and how many writes failed (memory: always can). */
  writeState(): StoreWriteState;
  /**
   * Resolves once every change made so far is durable or has failed (never rejects): what a
   * caller about to take the store's files away (a stream delete) waits for.
   */
  settle(): Promise<void>;
  close(): Promise<void>;
}

/** Default limits: nothing limited. */
export const NoLimits: StoreLimits = { maxMsgs: 0, maxBytes: 0, maxAgeMs: 0, maxMsgsPerSubject: 0, discard: "old" };

let lastMs = 0;
let lastNs = 0n;

/** Current time in nanoseconds since the epoch (millisecond resolution; one BigInt per millisecond, not per call). */
export function nowNs(): bigint {
  const ms = Date.now();
  if (ms !== lastMs) {
    lastMs = ms;
    lastNs = BigInt(ms) * 1_000_000n;
  }
  return lastNs;
}
