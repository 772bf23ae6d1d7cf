import type { StoreBackend } from "../stores/catalog-types.js";
import type { Bus } from "./bus.js";
import { Consumer, type ConsumerHooks } from "./consumer.js";
import { normalizeConsumerConfig } from "./consumer-config.js";
import { storedDeadLetterId } from "./dead-letter.js";
import { jsError, type JsApiError } from "./errors.js";
import { normalizeStreamConfig, type StreamConfig } from "./stream-config.js";
import type { StreamEntry, StreamRegistry } from "./stream-registry.js";

/**
 * Start-up: serve again the streams in each backend's catalog and the durable consumers each
 * left there (the memory backend's is empty at a start; the file backend's is on disk). Stored configs pass the same strict normalizers as requests, in recovering mode. A stream
 * or consumer whose files cannot be used (damaged metadata, a config that no longer validates or
 * names another, a store that does not open) is reported (`unloaded`, the warn log) and skipped;
 * its files stay as they are, and the rest are served.
 */
export async function recoverStreams(registry: StreamRegistry, bus: Bus, hooks: ConsumerHooks): Promise<void> {
  for (const backend of [registry.backends.file, registry.backends.memory]) await recoverBackend(registry, backend, bus, hooks);
}

async function recoverBackend(registry: StreamRegistry, backend: StoreBackend, bus: Bus, hooks: ConsumerHooks): Promise<void> {
  const { entries, damage } = await backend.streams();
  for (const d of damage) registry.notLoaded(d);
  for (const saved of entries) {
    let cfg: StreamConfig | JsApiError;
    try {
      cfg = normalizeStreamConfig(saved.config, { recovering: true });
    } catch (err) {
      cfg = jsError("StreamCreate", { err: err instanceof Error ? err.message : String(err) });
    }
    const at = { stream: saved.name, file: saved.file };
    if ("err_code" in cfg) registry.notLoaded({ ...at, reason: `config no longer valid: ${cfg.description}` });
    else if (cfg.name !== saved.name) registry.notLoaded({ ...at, reason: `config names stream "${cfg.name}"` });
    else if (cfg.storage !== backend.kind) registry.notLoaded({ ...at, reason: `config has storage "${cfg.storage}"` });
    else {
      let entry: StreamEntry;
      try {
        const store = await registry.openStore(cfg);
        entry = registry.register(cfg, store, saved.created);
        entry.stream.loadDedupLater(storedDeadLetterId);
      } catch (err) {
        await registry.closeEntry(saved.name);
        registry.notLoaded({ ...at, reason: `store could not be opened: ${errText(err)}` });
        continue;
      }
      await recoverConsumers(registry, backend, entry, bus, hooks);
    }
  }
}

/** Serve again the consumers a recovered stream left in its backend; one whose config or state cannot be used is reported and skipped. */
async function recoverConsumers(registry: StreamRegistry, backend: StoreBackend, e: StreamEntry, bus: Bus, hooks: ConsumerHooks): Promise<void> {
  const streamName = e.stream.name;
  const { entries: consumers, damage } = await backend.consumers(streamName);
  for (const d of damage) registry.notLoaded(d);
  for (const saved of consumers) {
    const at = { stream: streamName, consumer: saved.name, file: saved.metaFile };
    try {
      const cfg = normalizeConsumerConfig(saved.config, e.stream.config, { recovering: true });
      if ("err_code" in cfg) {
        registry.notLoaded({ ...at, reason: `config no longer valid: ${cfg.description}` });
        continue;
      }
      if (cfg.durable_name !== saved.name) {
        registry.notLoaded({ ...at, reason: `config is not that of durable consumer "${saved.name}"` });
        continue;
      }
      const c = new Consumer(e.stream, cfg, saved.name, saved.created, bus, hooks, saved.state);
      // A durable made with mem_storage never had stored state; it has none now either.
      if (cfg.mem_storage !== true) c.store = backend.openConsumer(streamName, saved.name);
      if (saved.state === null) await c.selectStart();
      e.consumers.set(saved.name, c);
      c.start();
    } catch (err) {
      registry.notLoaded({ ...at, reason: errText(err) });
    }
  }
}

function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
