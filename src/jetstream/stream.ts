import { headerValue, parseHeaders } from "../protocol/headers.js";
import { subjectMatches } from "../subjects/validate.js";
import { StoreLimitError, nowNs, type StoreLimits, type StreamStore } from "../stores/types.js";
import { jsError, type JsApiError } from "./errors.js";
import type { StreamConfig } from "./stream-config.js";

/** Result of a publish into a stream: the ack nats-server sends, or an error. */
export type PubResult = { seq: number; duplicate: boolean } | { error: JsApiError };

interface DedupEntry {
  seq: number;
  timeNs: bigint;
}

/** Bound on remembered message ids, whatever the window: a limit checked before growing. */
export const MAX_DEDUP_IDS = 1_000_000;

/** Limits of a stream config as the store takes them. */
export function storeLimitsOf(c: StreamConfig): StoreLimits {
  return {
    maxMsgs: Math.max(0, c.max_msgs),
    maxBytes: Math.max(0, c.max_bytes),
    maxAgeMs: Math.floor(c.max_age / 1e6),
    maxMsgsPerSubject: Math.max(0, c.max_msgs_per_subject),
    discard: c.discard,
  };
}

/**
 * One stream: its config, store and the publish rules of nats-server's `processJetStreamMsg`
 * (size, expected-* headers, dedup, rollup, sealed). Listeners (consumers) are told of each
 * message once it is durable.
 */
export class Stream {
  private readonly dedup = new Map<string, DedupEntry>();
  private lastMsgId = "";
  private readonly listeners = new Set<(seq: number) => void>();
  /**
   * Highest sequence known durable: consumers deliver nothing above it, so no one sees a message
   * that a crash could still take back (the store indexes an append before its batch is synced).
   */
  durableSeq: number;

  constructor(
    public config: StreamConfig,
    readonly store: StreamStore,
    readonly created: Date,
  ) {
    this.durableSeq = store.lastSequence();
  }

  get name(): string {
    return this.config.name;
  }

  /** Does a subject belong to this stream? */
  covers(subject: string): boolean {
    return this.config.subjects.some((s) => s === subject || subjectMatches(s, subject));
  }

  onAppend(fn: (seq: number) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Store one published message (the store copies the bytes before it returns); resolves once durable. */
  async publish(subject: string, headers: Buffer | null, data: Buffer): Promise<PubResult> {
    const c = this.config;
    if (c.sealed) return { error: jsError("StreamSealed") };
    const size = (headers?.length ?? 0) + data.length;
    if (c.max_msg_size >= 0 && size > c.max_msg_size) return { error: jsError("StreamMessageExceedsMaximum") };
    const h = headers === null ? null : parseHeaders(headers);
    const expStream = headerValue(h, "Nats-Expected-Stream");
    if (expStream !== undefined && expStream !== c.name) return { error: jsError("StreamNotMatch") };
    const now = nowNs();
    const msgId = headerValue(h, "Nats-Msg-Id");
    if (msgId !== undefined && msgId !== "") {
      this.pruneDedup(now);
      const seen = this.dedup.get(msgId);
      if (seen !== undefined) return { seq: seen.seq, duplicate: true };
    }
    const lastSeq = this.store.lastSequence();
    const expLast = headerValue(h, "Nats-Expected-Last-Sequence");
    if (expLast !== undefined && Number(expLast) !== lastSeq) return { error: jsError("StreamWrongLastSequence", { seq: lastSeq }) };
    const expSubj = headerValue(h, "Nats-Expected-Last-Subject-Sequence");
    if (expSubj !== undefined) {
      const last = (await this.store.loadLast(subject))?.seq ?? 0;
      if (Number(expSubj) !== last) return { error: jsError("StreamWrongLastSequence", { seq: last }) };
    }
    const expId = headerValue(h, "Nats-Expected-Last-Msg-Id");
    if (expId !== undefined && expId !== this.lastMsgId) return { error: jsError("StreamWrongLastMsgID", { id: this.lastMsgId }) };
    const rollup = headerValue(h, "Nats-Rollup");
    if (rollup !== undefined) {
      if (!c.allow_rollup_hdrs) return { error: jsError("StreamRollupFailed", { err: "rollup not permitted" }) };
      if (rollup !== "sub" && rollup !== "all") return { error: jsError("StreamRollupFailed", { err: `rollup value invalid: ${rollup}` }) };
    }
    let seq: number;
    try {
      const pending = this.store.append(subject, headers, data, now);
      // The sequence is assigned synchronously: remember the id now so a duplicate in flight is caught.
      seq = lastSeq + 1;
      if (msgId !== undefined && msgId !== "") {
        if (this.dedup.size < MAX_DEDUP_IDS) this.dedup.set(msgId, { seq, timeNs: now });
        this.lastMsgId = msgId;
      }
      seq = await pending;
    } catch (err) {
      if (err instanceof StoreLimitError) return { error: jsError("StreamStoreFailed", { err: err.message }) };
      return { error: jsError("StreamStoreFailed", { err: err instanceof Error ? err.message : String(err) }) };
    }
    if (rollup === "sub") await this.store.purge({ filter: subject, keep: 1 });
    else if (rollup === "all") await this.store.purge({ keep: 1 });
    this.notifyAppend(seq);
    return { seq, duplicate: false };
  }

  /** Tell listeners (consumers) a message was stored at `seq`, durably. */
  notifyAppend(seq: number): void {
    if (seq > this.durableSeq) this.durableSeq = seq;
    for (const fn of this.listeners) fn(seq);
  }

  /**
   * After a restart: remember the `Nats-Msg-Id` of every message stored within the duplicate
   * window, so a publisher retrying a message whose ack it never got is deduplicated.
   */
  async rebuildDedup(): Promise<void> {
    const cutoff = nowNs() - BigInt(this.config.duplicate_window);
    const from = await this.store.seqForTime(cutoff);
    if (from === 0) return;
    for (let m = await this.store.loadNext("", from); m !== null; m = await this.store.loadNext("", m.seq + 1)) {
      if (m.headers === null) continue;
      const id = headerValue(parseHeaders(m.headers), "Nats-Msg-Id");
      if (id === undefined || id === "") continue;
      if (this.dedup.size < MAX_DEDUP_IDS) this.dedup.set(id, { seq: m.seq, timeNs: m.timeNs });
      this.lastMsgId = id;
    }
  }

  private pruneDedup(now: bigint): void {
    const cutoff = now - BigInt(this.config.duplicate_window);
    for (const [id, e] of this.dedup) {
      if (e.timeNs >= cutoff) break; // insertion order is time order
      this.dedup.delete(id);
    }
  }
}
