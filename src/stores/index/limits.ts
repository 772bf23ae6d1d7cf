import { StoreLimitError, type StoreLimits } from "../types.js";
import type { MsgIndex } from "./msg-index.js";

/** Refuse an append of `size` bytes on `subject` that would break a limit under `discard: new`. */
export function checkDiscardNew(index: MsgIndex, l: StoreLimits, size: number, subject: string): void {
  if (l.discard !== "new") return;
  if (l.maxMsgs > 0 && index.count + 1 > l.maxMsgs) throw new StoreLimitError("maximum messages exceeded");
  if (l.maxBytes > 0 && index.bytes + size > l.maxBytes) throw new StoreLimitError("maximum bytes exceeded");
  if (l.discardNewPerSubject === true && l.maxMsgsPerSubject > 0 && index.countOf(subject) >= l.maxMsgsPerSubject) {
    throw new StoreLimitError("maximum messages per subject exceeded");
  }
}

/**
 * Drop the oldest messages until the limits hold again (discard old; per subject for `subject`,
 * or for every subject when it is null). `drop` removes one message the store's way.
 */
export function dropOverLimits(index: MsgIndex, l: StoreLimits, subject: string | null, drop: (seq: number) => void): void {
  if (l.maxMsgsPerSubject > 0) {
    const over = subject === null ? [...index.subjects.entries()].filter(([, id]) => index.subjects.count(id) > l.maxMsgsPerSubject).map(([s]) => s) : [subject];
    for (const s of over) while (index.countOf(s) > l.maxMsgsPerSubject) drop(index.firstSequenceOf(s));
  }
  while (l.maxMsgs > 0 && index.count > l.maxMsgs) drop(index.firstSeq());
  while (l.maxBytes > 0 && index.bytes > l.maxBytes && index.count > 0) drop(index.firstSeq());
}

/** Drop the messages older than max age at `nowNs`; how many went. */
export function dropExpired(index: MsgIndex, l: StoreLimits, nowNs: bigint, drop: (seq: number) => void): number {
  if (l.maxAgeMs <= 0) return 0;
  const cutoff = nowNs - BigInt(l.maxAgeMs) * 1_000_000n;
  let n = 0;
  while (index.count > 0) {
    const first = index.firstSeq();
    if (index.timeOf(first) > cutoff) break;
    drop(first);
    n++;
  }
  return n;
}
