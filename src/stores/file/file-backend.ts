import { join } from "node:path";
import { parseConsumerState, type BackendOptions, type CatalogListing, type ConsumerState, type ConsumerStore, type StoreBackend, type StoredConsumer, type StoredStream } from "../catalog-types.js";
import type { StoreLimits, StreamStore } from "../types.js";
import { FileCatalog } from "./catalog.js";
import { FileStore } from "./file-store.js";

/**
 * The file backend: streams and durable consumers in the FileCatalog's directories (every write
 * atomic and fsynced, see catalog.ts), each stream's messages in a FileStore in its `msgs/`.
 */
export class FileBackend implements StoreBackend {
  readonly kind = "file" as const;
  readonly catalog: FileCatalog;

  constructor(private readonly opts: BackendOptions) {
    this.catalog = new FileCatalog(join(opts.storeDir, "jetstream"));
  }

  streams(): Promise<CatalogListing<StoredStream>> {
    return this.catalog.streams();
  }

  hasStream(name: string): Promise<boolean> {
    return this.catalog.hasStream(name);
  }

  createStream(name: string, config: unknown, created: Date): Promise<void> {
    return this.catalog.createStream(name, config, created);
  }

  /** A store's write failures and recoveries go to the backend's warn. */
  openStream(name: string, limits: StoreLimits): Promise<StreamStore> {
    const o = this.opts;
    return FileStore.open({ dir: this.catalog.messagesDir(name), limits, sync: o.sync, syncIntervalMs: o.syncIntervalMs, observeSyncSeconds: o.observeSync, log: o.warn });
  }

  updateStream(name: string, config: unknown, created: Date): Promise<void> {
    return this.catalog.writeStream(name, config, created);
  }

  deleteStream(name: string): Promise<void> {
    return this.catalog.removeStream(name);
  }

  /** A state.json that is there but not a ConsumerState is damage, like a bad meta.json. */
  async consumers(stream: string): Promise<CatalogListing<StoredConsumer>> {
    const { entries, damage } = await this.catalog.consumers(stream);
    const out: StoredConsumer[] = [];
    for (const e of entries) {
      let state: ConsumerState | null = null;
      if (e.state !== null) {
        const s = parseConsumerState(e.state);
        if (typeof s === "string") {
          damage.push({ stream, consumer: e.name, file: e.stateFile, reason: s });
          continue;
        }
        state = s;
      }
      out.push({ name: e.name, config: e.config, created: e.created, state, metaFile: e.metaFile });
    }
    return { entries: out, damage };
  }

  async createConsumer(stream: string, name: string, config: unknown, created: Date, state: ConsumerState): Promise<ConsumerStore> {
    await this.catalog.createConsumer(stream, name, config, created, state);
    return this.openConsumer(stream, name);
  }

  openConsumer(stream: string, name: string): ConsumerStore {
    return new FileConsumerStore(this.catalog, stream, name);
  }
}

/** One durable consumer's meta.json and state.json (see FileCatalog). */
class FileConsumerStore implements ConsumerStore {
  constructor(
    private readonly catalog: FileCatalog,
    readonly stream: string,
    readonly name: string,
  ) {}

  updateConfig(config: unknown, created: Date): Promise<void> {
    return this.catalog.writeConsumer(this.stream, this.name, config, created);
  }

  writeState(state: ConsumerState): Promise<void> {
    return this.catalog.writeConsumerState(this.stream, this.name, state);
  }

  delete(): Promise<void> {
    return this.catalog.removeConsumer(this.stream, this.name);
  }

  exists(): Promise<boolean> {
    return this.catalog.hasConsumer(this.stream, this.name);
  }
}
