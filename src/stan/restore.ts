import type { StanClients } from "./clients.js";
import { CHANNEL_STREAM_PREFIX, channelStream, isTransientConsumer, isValidClientID } from "./names.js";
import type { StanJetStream } from "./options.js";
import type { StanState, StanStateSnapshot } from "./stan-state.js";
import type { Subscriptions } from "./subscriptions.js";

/** What restoreState works on. */
export interface RestoreParts {
  js: StanJetStream;
  state: StanState;
  clients: StanClients;
  subs: Subscriptions;
}

/**
 * After a restart, take back what was kept (nats-streaming-server recovers its clients and
 * subscriptions from its store the same way): every client, heartbeaten from now on and closed if
 * it does not answer; every subscription of a client taken back, bound to its consumer again. A
 * subscription whose channel or consumer is gone, or whose client is not there, is dropped with its
 * record; so are the records in `stale` (kept under another cluster id). Last, consumers of a
 * plain subscription or queue group (`S:`, `G:`) that no subscription uses any more (a crash came
 * between their creation and their record, or after a removal) are deleted.
 */
export async function restoreState(kept: StanStateSnapshot, stale: StanStateSnapshot | null, p: RestoreParts, warn: (line: string) => void): Promise<void> {
  for (const c of kept.clients) if (isValidClientID(c.id)) p.clients.restore(c.id, c.hbInbox, Buffer.from(c.connID, "base64"), c.protocol);
  const used = new Set<string>();
  for (const rec of kept.subs) {
    const client = p.clients.get(rec.clientID);
    if (client !== undefined && p.subs.restore(rec, client)) {
      used.add(`${channelStream(rec.channel)}\n${rec.consumer}`);
      continue;
    }
    warn(`NATS Streaming: subscription ${rec.id} of "${rec.clientID}" on "${rec.channel}" not taken back (its client, channel or consumer is gone)`);
    await p.state.removeSub(rec.id);
  }
  if (stale !== null) {
    for (const c of stale.clients) await p.state.removeClient(c.id);
    for (const s of stale.subs) await p.state.removeSub(s.id);
  }
  for (const [name, e] of p.js.streams) {
    if (!name.startsWith(CHANNEL_STREAM_PREFIX)) continue;
    for (const consumer of [...e.consumers.keys()]) {
      if (!isTransientConsumer(consumer) || used.has(`${name}\n${consumer}`)) continue;
      try {
        await p.js.deleteConsumer(name, consumer);
      } catch (err) {
        warn(`NATS Streaming: consumer "${name} > ${consumer}" is no longer used and could not be removed: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  }
}
