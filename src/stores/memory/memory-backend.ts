import type { CatalogListing, ConsumerState, ConsumerStore, StoreBackend, StoredConsumer, StoredStream } from "../catalog-types.js";
import type { StoreLimits, StreamStore } from "../types.js";
import { MemoryStore } from "./memory-store.js";

interface StreamEntry {
  config: unknown;
  created: Date;
  consumers: Map<string, { config: unknown; created: Date; state: ConsumerState }>;
}

/** Where a memory entry "is stored", for reports. */
const where = (stream: string, consumer?: string): string => (consumer === undefined ? `memory:${stream}` : `memory:${stream}/${consumer}`);

/**
 * The memory backend, the reference for the catalog interface as MemoryStore is for StreamStore:
 * streams and durable consumers in maps, each stream's messages in a MemoryStore. Nothing
 * survives the process; within it, the catalog behaves as every backend's must (the conformance
 * suite runs on it). Configs and states are copied in and out, as a backend that serializes them
 * would, so no caller shares an object with the catalog.
 */
export class MemoryBackend implements StoreBackend {
  readonly kind = "memory" as const;
  private readonly streamsByName = new Map<string, StreamEntry>();

  streams(): Promise<CatalogListing<StoredStream>> {
    const entries = [...this.streamsByName].map(([name, e]) => ({ name, config: structuredClone(e.config), created: new Date(e.created), file: where(name) }));
    return Promise.resolve({ entries, damage: [] });
  }

  hasStream(name: string): Promise<boolean> {
    return Promise.resolve(this.streamsByName.has(name));
  }

  createStream(name: string, config: unknown, created: Date): Promise<void> {
    if (this.streamsByName.has(name)) return Promise.reject(new Error(`stream "${name}" exists`));
    this.streamsByName.set(name, { config: structuredClone(config), created: new Date(created), consumers: new Map() });
    return Promise.resolve();
  }

  /** An empty MemoryStore: messages live as long as the store object. */
  openStream(name: string, limits: StoreLimits): Promise<StreamStore> {
    if (!this.streamsByName.has(name)) return Promise.reject(new Error(`stream "${name}" is not in the catalog`));
    return Promise.resolve(new MemoryStore(limits));
  }

  updateStream(name: string, config: unknown, created: Date): Promise<void> {
    const e = this.streamsByName.get(name);
    if (e === undefined) return Promise.reject(new Error(`stream "${name}" is not in the catalog`));
    e.config = structuredClone(config);
    e.created = new Date(created);
    return Promise.resolve();
  }

  deleteStream(name: string): Promise<void> {
    this.streamsByName.delete(name);
    return Promise.resolve();
  }

  consumers(stream: string): Promise<CatalogListing<StoredConsumer>> {
    const e = this.streamsByName.get(stream);
    const entries = e === undefined ? [] : [...e.consumers].map(([name, c]) => ({ name, config: structuredClone(c.config), created: new Date(c.created), state: structuredClone(c.state), metaFile: where(stream, name) }));
    return Promise.resolve({ entries, damage: [] });
  }

  createConsumer(stream: string, name: string, config: unknown, created: Date, state: ConsumerState): Promise<ConsumerStore> {
    const e = this.streamsByName.get(stream);
    if (e === undefined) return Promise.reject(new Error(`stream "${stream}" is not in the catalog`));
    if (e.consumers.has(name)) return Promise.reject(new Error(`consumer "${stream} > ${name}" exists`));
    e.consumers.set(name, { config: structuredClone(config), created: new Date(created), state: structuredClone(state) });
    return Promise.resolve(this.openConsumer(stream, name));
  }

  openConsumer(stream: string, name: string): ConsumerStore {
    const entry = (): { config: unknown; created: Date; state: ConsumerState } => {
      const c = this.streamsByName.get(stream)?.consumers.get(name);
      if (c === undefined) throw new Error(`consumer "${stream} > ${name}" is not in the catalog`);
      return c;
    };
    return {
      stream,
      name,
      updateConfig: (config, created) =>
        run(() => {
          const c = entry();
          c.config = structuredClone(config);
          c.created = new Date(created);
        }),
      writeState: (state) =>
        run(() => {
          entry().state = structuredClone(state);
        }),
      delete: () =>
        run(() => {
          this.streamsByName.get(stream)?.consumers.delete(name);
        }),
      exists: () => Promise.resolve(this.streamsByName.get(stream)?.consumers.has(name) === true),
    };
  }
}

/** `fn`'s outcome as a promise (a throw becomes a rejection, as a backend's failed write would). */
function run(fn: () => void): Promise<void> {
  try {
    fn();
    return Promise.resolve();
  } catch (err) {
    return Promise.reject(err instanceof Error ? err : new Error(String(err)));
  }
}
