import type { Stream } from "./stream.js";

/** What retention asks of a consumer (a Consumer; named here so that retention does not import it). */
export interface InterestedConsumer {
  /** Does this consumer still need `seq` (on `subject`)? */
  needAck(seq: number, subject: string): boolean;
}

/**
 * Interest retention: remove `seq` (on `subject`) from the stream once none of its consumers
 * still needs it.
 */
export function removeIfNoInterest(stream: Stream, consumers: ReadonlyMap<string, InterestedConsumer>, seq: number, subject: string): void {
  for (const c of consumers.values()) if (c.needAck(seq, subject)) return;
  void stream.store.remove(seq).catch(() => false);
}

/**
 * A consumer acknowledged `seq` (or delivered it, with ack policy none): work-queue retention
 * removes it at once, interest retention once no consumer needs it any more.
 */
export function acknowledged(stream: Stream, consumers: ReadonlyMap<string, InterestedConsumer>, seq: number): void {
  const store = stream.store;
  if (stream.config.retention === "workqueue") {
    void store.remove(seq).catch(() => false);
    return;
  }
  void store.load(seq).then(
    (m) => {
      if (m !== null) removeIfNoInterest(stream, consumers, seq, m.subject);
    },
    () => {},
  );
}
