import { headerValue, parseHeaders, type HeaderBlock } from "../protocol/headers.js";
import { subjectMatches } from "../subjects/validate.js";
import { nowNs, type StoreLimits, type StreamStore } from "../stores/types.js";
import { jsError, type JsApiError } from "./errors.js";
import type { Republisher } from "./republish.js";
import type { StreamConfig } from "./stream-config.js";

/** Result of a publish into a stream: the ack nats-server sends, or an error. */
export type PubResult = { seq: number; duplicate: boolean } | { error: JsApiError };

/** How a write reaches the stream (see Stream.publish); the defaults are a client's publish. */
export interface PublishOptions {
  /** false: not republished (an interest stream's message no consumer wants, which nats-server never stores). */
  republish?: boolean;
  /**
   * A write the server makes itself (a dead letter) rather than a client's publish: the headers
   * it carries are not directives to this stream (Nats-Expected-*, Nats-Rollup and Nats-Msg-Id
   * were meant for the stream the message was first published to); it is deduplicated by
   * `msgId` instead. Every other check a publish passes still applies.
   */
  internal?: { msgId: string };
}

/** Sends the publish ack for one message to its reply subject: its sequence, or an error. */
export type AckSink = (reply: string, seq: number, duplicate: boolean, error: JsApiError | null) => void;

interface DedupEntry {
  seq: number;
  timeNs: bigint;
}

/** Bound on remembered message ids, whatever the window: a limit checked before growing. */
export const MAX_DEDUP_IDS = 1_000_000;

/** The error a publish gets when the store refuses it (a limit under discard new, a write error). */
function storeFailed(err: unknown): JsApiError {
  return jsError("StreamStoreFailed", { err: err instanceof Error ? err.message : String(err) });
}

/** Limits of a stream config as the store takes them. */
export function storeLimitsOf(c: StreamConfig): StoreLimits {
  return {
    maxMsgs: Math.max(0, c.max_msgs),
    maxBytes: Math.max(0, c.max_bytes),
    maxAgeMs: Math.floor(c.max_age / 1e6),
    maxMsgsPerSubject: Math.max(0, c.max_msgs_per_subject),
    discard: c.discard,
    discardNewPerSubject: c.discard_new_per_subject === true,
  };
}

/**
 * One stream: its config, store and the publish rules of nats-server's `processJetStreamMsg`
 * (size, expected-* headers, dedup, rollup, sealed). Listeners (consumers) are told of each
 * message once it is durable.
 */
export class Stream {
  private readonly dedup = new Map<string, DedupEntry>();
  /** How to read back the dedup window after a restart, until a write first needs it (see loadDedupLater). */
  private dedupToLoad: ((h: HeaderBlock) => string | undefined) | null = null;
  private dedupLoading: Promise<void> | null = null;
  private lastMsgId = "";
  private readonly listeners = new Set<(seq: number) => void>();
  /**
   * Highest sequence known durable: consumers deliver nothing above it, so no one sees a message
   * that a crash could still take back (the store indexes an append before its batch is synced).
   */
  durableSeq: number;
  /** Acks waiting for their batch to be durable: sequence, reply subject and duplicate flag, oldest first from `ackHead`. */
  private ackSeqs: number[] = [];
  private ackReplies: string[] = [];
  private ackDups: boolean[] = [];
  private ackHead = 0;
  /** Slow-path publishes waiting for a sequence to be durable. */
  private durableWaiters: Array<{ seq: number; resolve: (ok: boolean) => void }> = [];
  private sink: AckSink = () => {};
  /** RePublish of this stream's config, or null (the publish path then pays one null check). */
  private republisher: Republisher | null = null;
  private flushAcks: () => void = () => {};

  constructor(
    public config: StreamConfig,
    readonly store: StreamStore,
    readonly created: Date,
  ) {
    this.durableSeq = store.lastSequence();
    store.setDurableListener((seq, err) => this.onDurable(seq, err));
  }

  /** Republish stored messages as the config's RePublish says (null: none). */
  setRepublisher(r: Republisher | null): void {
    this.republisher = r;
  }

  /** Where `accept` sends publish acks, and how to write the acks queued so far at once. */
  setAckSink(sink: AckSink, flush: () => void = () => {}): void {
    this.sink = sink;
    this.flushAcks = flush;
  }

  /**
   * The publish path: store a message and ack it to `reply` once durable, with no promise or
   * closure per message. Checks that need the store's help (expected last subject sequence,
   * rollup) take the general path, `publish`.
   */
  accept(subject: string, reply: string, headers: Buffer | null, data: Buffer): void {
    const h = headers === null ? null : parseHeaders(headers);
    if (
      (h !== null && (headerValue(h, "Nats-Expected-Last-Subject-Sequence") !== undefined || headerValue(h, "Nats-Rollup") !== undefined)) ||
      (this.dedupToLoad !== null && (this.dedupLoading !== null || needsDedup(h)))
    ) {
      void this.publish(subject, headers, data).then(
        (r) => {
          if ("error" in r) this.sink(reply, 0, false, r.error);
          else this.sink(reply, r.seq, r.duplicate, null);
        },
        (err: unknown) => this.sink(reply, 0, false, storeFailed(err)),
      );
      return;
    }
    const now = nowNs();
    const msgId = headerValue(h, "Nats-Msg-Id");
    const refused = this.admit(h, (headers?.length ?? 0) + data.length, msgId, now) ?? this.checkLastMsgId(h);
    if (refused !== null) {
      // A duplicate of a message still in flight is acknowledged no sooner than the original.
      if (typeof refused === "number") this.ackWhenDurable(reply, refused, true);
      else this.sink(reply, 0, false, refused);
      return;
    }
    const rp = this.republisher;
    const to = rp === null ? null : rp.target(subject);
    const prev = to === null ? 0 : this.store.lastSequenceOf(subject);
    let seq: number;
    try {
      seq = this.store.appendNoWait(subject, headers, data, now);
    } catch (err) {
      this.sink(reply, 0, false, storeFailed(err));
      return;
    }
    if (to !== null) (rp as Republisher).send(to, subject, seq, prev, headers, data);
    this.remember(msgId, seq, now);
    if (this.store.durableSequence() >= seq) this.notifyAppend(seq);
    this.ackWhenDurable(reply, seq, false);
  }

  private ackWhenDurable(reply: string, seq: number, duplicate: boolean): void {
    if (reply === "") return;
    if (this.store.durableSequence() >= seq) {
      this.sink(reply, seq, duplicate, null);
      return;
    }
    // A duplicate's sequence can be below acks already queued: it then waits for them too.
    this.ackSeqs.push(seq);
    this.ackReplies.push(reply);
    this.ackDups.push(duplicate);
  }

  /** Resolves true once `seq` is durable, false if its batch failed. */
  private whenDurable(seq: number): Promise<boolean> {
    if (this.store.durableSequence() >= seq) return Promise.resolve(true);
    return new Promise((resolve) => this.durableWaiters.push({ seq, resolve }));
  }

  /** The store made everything up to `seq` durable (or failed it): send those acks, wake consumers. */
  private onDurable(seq: number, err: Error | null): void {
    const seqs = this.ackSeqs;
    const replies = this.ackReplies;
    const dups = this.ackDups;
    let i = this.ackHead;
    const failed = err === null ? null : storeFailed(err);
    const first = i;
    for (; i < seqs.length && (seqs[i] as number) <= seq; i++) {
      if (failed === null) this.sink(replies[i] as string, seqs[i] as number, dups[i] as boolean, null);
      else this.sink(replies[i] as string, 0, false, failed);
    }
    // The publishers get their acks before this turn parses what else arrived: each publisher
    // with a window of acks in flight sends its next publishes that much sooner.
    if (i > first) this.flushAcks();
    if (i === seqs.length) {
      this.ackSeqs = [];
      this.ackReplies = [];
      this.ackDups = [];
      this.ackHead = 0;
    } else if (i > 1024 && i * 2 > seqs.length) {
      this.ackSeqs = seqs.slice(i);
      this.ackReplies = replies.slice(i);
      this.ackDups = dups.slice(i);
      this.ackHead = 0;
    } else this.ackHead = i;
    if (this.durableWaiters.length > 0) {
      const still = this.durableWaiters.filter((w) => w.seq > seq);
      for (const w of this.durableWaiters) if (w.seq <= seq) w.resolve(err === null);
      this.durableWaiters = still;
    }
    if (err === null) this.notifyAppend(seq);
    else this.forgetUnstored();
  }

  /**
   * After a failed write the store took back every sequence it had not stored, and hands them out
   * again: forget the message ids remembered for them, so that a publisher retrying one (same
   * `Nats-Msg-Id`) has it stored rather than being told it is a duplicate of a message that is not
   * there, or of the one that got its sequence next. Runs once per failure, not per message.
   */
  private forgetUnstored(): void {
    const last = this.store.lastSequence();
    let lastKept = "";
    let lastGone = false;
    for (const [id, e] of this.dedup) {
      if (e.seq <= last) lastKept = id;
      else {
        this.dedup.delete(id);
        if (id === this.lastMsgId) lastGone = true;
      }
    }
    // nats-server's last msg id is that of the last message stored with one.
    if (lastGone) this.lastMsgId = lastKept;
  }

  /**
   * The checks of nats-server's processJetStreamMsg that need nothing from the store: null to
   * store the message, the sequence of the message it duplicates, or the error to answer.
   */
  private admit(h: HeaderBlock | null, size: number, msgId: string | undefined, now: bigint): JsApiError | number | null {
    const c = this.config;
    if (c.sealed) return jsError("StreamSealed");
    if (c.max_msg_size >= 0 && size > c.max_msg_size) return jsError("StreamMessageExceedsMaximum");
    const expStream = headerValue(h, "Nats-Expected-Stream");
    if (expStream !== undefined && expStream !== c.name) return jsError("StreamNotMatch");
    if (msgId !== undefined && msgId !== "") {
      this.pruneDedup(now);
      const seen = this.dedup.get(msgId);
      if (seen !== undefined) return seen.seq;
    }
    const lastSeq = this.store.lastSequence();
    const expLast = headerValue(h, "Nats-Expected-Last-Sequence");
    if (expLast !== undefined && Number(expLast) !== lastSeq) return jsError("StreamWrongLastSequence", { seq: lastSeq });
    return null;
  }

  /** nats-server checks the expected last msg id after the expected last subject sequence. */
  private checkLastMsgId(h: HeaderBlock | null): JsApiError | null {
    const expId = headerValue(h, "Nats-Expected-Last-Msg-Id");
    return expId !== undefined && expId !== this.lastMsgId ? jsError("StreamWrongLastMsgID", { id: this.lastMsgId }) : null;
  }

  /** Remember a stored message's id for deduplication (as soon as its sequence is known, so a duplicate in flight is caught). */
  private remember(msgId: string | undefined, seq: number, now: bigint): void {
    if (msgId === undefined || msgId === "") return;
    if (this.dedup.size < MAX_DEDUP_IDS) this.dedup.set(msgId, { seq, timeNs: now });
    this.lastMsgId = msgId;
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

  /**
   * Store one message (the store copies the bytes before it returns); resolves once durable. The
   * one way into the stream besides `accept` (the publish fast path, which takes the same checks):
   * a client's publish with headers `accept` leaves to it, a dead letter, a replayed one. Never
   * rejects: a store that fails (or was closed by a delete racing this publish) is answered as a
   * store error, not left as an unhandled rejection that stops the process.
   */
  async publish(subject: string, headers: Buffer | null, data: Buffer, opts: PublishOptions = {}): Promise<PubResult> {
    try {
      return await this.publishChecked(subject, headers, data, opts);
    } catch (err) {
      return { error: storeFailed(err) };
    }
  }

  private async publishChecked(subject: string, headers: Buffer | null, data: Buffer, opts: PublishOptions): Promise<PubResult> {
    const c = this.config;
    const internal = opts.internal;
    // An internal write's headers are data, not directives to this stream.
    const h = headers === null || internal !== undefined ? null : parseHeaders(headers);
    // Once one write waits for the dedup window to be read back, every later one waits too (in order).
    if (this.dedupToLoad !== null && (this.dedupLoading !== null || internal !== undefined || needsDedup(h))) await this.dedupReady();
    const now = nowNs();
    const msgId = internal !== undefined ? internal.msgId : headerValue(h, "Nats-Msg-Id");
    const refused = this.admit(h, (headers?.length ?? 0) + data.length, msgId, now);
    if (typeof refused === "number") {
      // A duplicate of a message still in flight is acknowledged no sooner than the original.
      return (await this.whenDurable(refused)) ? { seq: refused, duplicate: true } : { error: storeFailed(new Error("the original message was not stored")) };
    }
    if (refused !== null) return { error: refused };
    const lastSeq = this.store.lastSequence();
    const expSubj = headerValue(h, "Nats-Expected-Last-Subject-Sequence");
    if (expSubj !== undefined) {
      const last = (await this.store.loadLast(subject))?.seq ?? 0;
      if (Number(expSubj) !== last) return { error: jsError("StreamWrongLastSequence", { seq: last }) };
    }
    const badId = this.checkLastMsgId(h);
    if (badId !== null) return { error: badId };
    const rollup = headerValue(h, "Nats-Rollup");
    if (rollup !== undefined) {
      if (!c.allow_rollup_hdrs) return { error: jsError("StreamRollupFailed", { err: "rollup not permitted" }) };
      if (rollup !== "sub" && rollup !== "all") return { error: jsError("StreamRollupFailed", { err: `rollup value invalid: ${rollup}` }) };
    }
    const rp = opts.republish !== false ? this.republisher : null;
    const to = rp === null ? null : rp.target(subject);
    const prev = to === null ? 0 : this.store.lastSequenceOf(subject);
    const before = this.store.lastSequence();
    let seq: number;
    try {
      const pending = this.store.append(subject, headers, data, now);
      // The sequence is assigned synchronously: remember the id now so a duplicate in flight is caught.
      const assigned = this.store.lastSequence();
      this.remember(msgId, assigned, now);
      // Republished now, while the caller's buffers are still valid, if the store took the message.
      if (to !== null && assigned > before) (rp as Republisher).send(to, subject, assigned, prev, headers, data);
      seq = await pending;
    } catch (err) {
      return { error: storeFailed(err) };
    }
    try {
      if (rollup === "sub") await this.store.purge({ filter: subject, keep: 1 });
      else if (rollup === "all") await this.store.purge({ keep: 1 });
    } catch {
      // As nats-server 2.9, which ignores a failed rollup purge: the message is stored, the purge
      // changed nothing (the store refused it whole), and the store reports why it cannot write.
    }
    this.notifyAppend(seq);
    return { seq, duplicate: false };
  }

  /** Tell listeners (consumers) a message was stored at `seq`, durably. */
  notifyAppend(seq: number): void {
    if (seq > this.durableSeq) this.durableSeq = seq;
    for (const fn of this.listeners) fn(seq);
  }

  /**
   * After a restart: the `Nats-Msg-Id` of every message stored within the duplicate window is read
   * back (rebuildDedup) when a write first needs it (one with a message id or an expected last
   * message id, or an internal write), as nats-server does: a start does not read the stream's
   * newest messages, and a stream written without ids never does.
   */
  loadDedupLater(internalId: (h: HeaderBlock) => string | undefined = () => undefined): void {
    this.dedupToLoad = internalId;
  }

  /** Resolves once the dedup window is read back (see loadDedupLater); started by the first caller. */
  private dedupReady(): Promise<void> {
    const load = this.dedupToLoad;
    if (load === null) return Promise.resolve();
    this.dedupLoading ??= this.rebuildDedup(load).finally(() => {
      this.dedupToLoad = null;
      this.dedupLoading = null;
    });
    return this.dedupLoading;
  }

  /**
   * Remember the `Nats-Msg-Id` of every message stored within the duplicate window, so a publisher
   * retrying a message whose ack it never got is deduplicated. `internalId` gives the id an
   * internal write was deduplicated by (PublishOptions.internal), read from its headers; it is
   * taken instead of the Nats-Msg-Id those carry as data.
   */
  async rebuildDedup(internalId: (h: HeaderBlock) => string | undefined = () => undefined): Promise<void> {
    const cutoff = nowNs() - BigInt(Math.floor(this.config.duplicate_window));
    const from = await this.store.seqForTime(cutoff);
    if (from === 0) return;
    await this.store.scan(from, (m) => {
      if (m.headers === null) return;
      const h = parseHeaders(m.headers);
      const id = h === null ? undefined : (internalId(h) ?? headerValue(h, "Nats-Msg-Id"));
      if (id === undefined || id === "") return;
      if (this.dedup.size < MAX_DEDUP_IDS) this.dedup.set(id, { seq: m.seq, timeNs: m.timeNs });
      this.lastMsgId = id;
    });
  }

  private pruneDedup(now: bigint): void {
    // Floored: a fractional window (which the API should refuse) must not throw on every publish.
    const cutoff = now - BigInt(Math.floor(this.config.duplicate_window));
    for (const [id, e] of this.dedup) {
      if (e.timeNs >= cutoff) break; // insertion order is time order
      this.dedup.delete(id);
    }
  }
}

/** Whether a write's headers ask for the dedup window: a message id, or an expected last message id. */
function needsDedup(h: HeaderBlock | null): boolean {
  return h !== null && (headerValue(h, "Nats-Msg-Id") !== undefined || headerValue(h, "Nats-Expected-Last-Msg-Id") !== undefined);
}
