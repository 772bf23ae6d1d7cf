import type { ConsumerState, ConsumerStore, StoreBackend } from "../../src/stores/catalog-types.js";

/**
 * `inner`, with every consumer state write passed through `write`, which makes it by calling
 * `next` (after recording it, say) or refuses it by rejecting. For tests of when consumer state is
 * written and what it holds.
 */
export function withStateWrites(inner: StoreBackend, write: (state: ConsumerState, next: (s: ConsumerState) => Promise<void>) => Promise<void>): StoreBackend {
  const wrap = (s: ConsumerStore): ConsumerStore => ({
    stream: s.stream,
    name: s.name,
    updateConfig: (config, created) => s.updateConfig(config, created),
    writeState: (state) => write(state, (st) => s.writeState(st)),
    delete: () => s.delete(),
    exists: () => s.exists(),
  });
  return {
    kind: inner.kind,
    streams: () => inner.streams(),
    hasStream: (n) => inner.hasStream(n),
    createStream: (n, c, t) => inner.createStream(n, c, t),
    openStream: (n, l) => inner.openStream(n, l),
    updateStream: (n, c, t) => inner.updateStream(n, c, t),
    deleteStream: (n) => inner.deleteStream(n),
    consumers: (s) => inner.consumers(s),
    createConsumer: async (s, n, c, t, st) => wrap(await inner.createConsumer(s, n, c, t, st)),
    openConsumer: (s, n) => wrap(inner.openConsumer(s, n)),
  };
}

/** Stream sequences a state counts as acknowledged: delivered and not pending. */
export function ackedBy(s: ConsumerState): number[] {
  const pending = new Set(s.pending.map(([seq]) => seq));
  const out: number[] = [];
  for (let seq = 1; seq <= s.delivered.stream_seq; seq++) if (!pending.has(seq)) out.push(seq);
  return out;
}
