import type { PurgeRequest, StreamStore } from "../stores/types.js";
import type { KeyLock } from "../util/key-lock.js";
import type { ConsumerStateWriter } from "./consumer-state-writer.js";
import { jsError, type JsApiError } from "./errors.js";
import { subjectsOverlap } from "./overlap.js";
import { storeLimitsOf } from "./stream.js";
import { checkStreamUpdate, sameConfig, type StreamConfig } from "./stream-config.js";
import type { StreamEntry, StreamRegistry } from "./stream-registry.js";

/**
 * Stream administration: `STREAM.CREATE`, `UPDATE`, `DELETE` and `PURGE`. Each runs under its
 * stream's lock (nats-server holds the stream's lock for these), so none sees another half done;
 * a stream's config is in its backend's catalog (durably) before a change is served, and a change
 * that cannot be written changes nothing. Subjects may not overlap another
 * stream's, nor those of a stream of another name being created or updated meanwhile.
 */
export class StreamAdmin {
  /**
   * Subjects of streams being created or updated, by name, until the change is done: a stream of
   * another name checks overlap against these too, as its own lock does not cover them.
   */
  private readonly claims = new Map<string, readonly string[]>();

  /** `locks`: one chain per stream name, shared with consumer administration. */
  constructor(
    private readonly registry: StreamRegistry,
    private readonly locks: KeyLock,
    private readonly stateWriter: ConsumerStateWriter,
    private readonly warn: (line: string) => void,
  ) {}

  /**
   * `STREAM.CREATE`: idempotent for the same config. The stream is in its backend's catalog before
   * its store is opened, and served only once both are done.
   */
  createStream(cfg: StreamConfig): Promise<{ entry: StreamEntry; created: boolean } | JsApiError> {
    return this.locks.run(cfg.name, async () => {
      const registry = this.registry;
      const existing = registry.streams.get(cfg.name);
      if (existing !== undefined) {
        if (sameConfig(existing.stream.config, cfg)) return { entry: existing, created: false };
        return jsError("StreamNameExist");
      }
      if (cfg.sealed) return jsError("StreamInvalidConfig", { err: "stream configuration for create can not be sealed" });
      if (this.overlaps(cfg)) return jsError("StreamSubjectOverlap");
      if (registry.isUnloaded(cfg.name, undefined)) {
        return jsError("StreamCreate", { err: `stream "${cfg.name}" is on disk but could not be loaded (see /jsz); its files are kept until an operator removes them` });
      }
      const created = new Date();
      const backend = registry.backends[cfg.storage];
      this.claims.set(cfg.name, cfg.subjects);
      try {
        try {
          await backend.createStream(cfg.name, cfg, created);
        } catch (err) {
          return jsError("StreamCreate", { err: `could not write the stream's metadata: ${errText(err)}` });
        }
        let store: StreamStore;
        try {
          store = await registry.openStore(cfg);
        } catch (err) {
          await backend.deleteStream(cfg.name).catch((e: unknown) => this.warn(`JetStream: stream "${cfg.name}": create failed and its directory could not be removed: ${errText(e)}`));
          return jsError("StreamCreate", { err: `could not open the stream's store: ${errText(err)}` });
        }
        return { entry: registry.register(cfg, store, created), created: true };
      } finally {
        this.claims.delete(cfg.name);
      }
    });
  }

  /** `STREAM.UPDATE`: the new config is on disk before it is applied; if it cannot be written, nothing changes. */
  updateStream(requested: StreamConfig): Promise<StreamEntry | JsApiError> {
    return this.locks.run(requested.name, async () => {
      const entry = this.registry.streams.get(requested.name);
      if (entry === undefined) return jsError("StreamNotFound");
      // Checked against the config as it is now, under the stream's lock (nats-server's
      // stream.update checks the same under the stream's lock).
      const cfg = checkStreamUpdate(entry.stream.config, requested);
      if ("err_code" in cfg) return cfg;
      if (this.overlaps(cfg)) return jsError("StreamSubjectOverlap");
      this.claims.set(cfg.name, cfg.subjects);
      try {
        try {
          await this.registry.backends[cfg.storage].updateStream(cfg.name, cfg, entry.stream.created);
        } catch (err) {
          return jsError("StreamUpdate", { err: `could not write the stream's metadata: ${errText(err)}` });
        }
        entry.stream.config = cfg;
        try {
          await entry.stream.store.setLimits(storeLimitsOf(cfg));
        } catch (err) {
          this.registry.wire(entry);
          return jsError("StreamStoreFailed", { err: `the new configuration is saved but its limits could not be applied yet: ${errText(err)}` });
        }
        this.registry.wire(entry);
        return entry;
      } finally {
        this.claims.delete(cfg.name);
      }
    });
  }

  /**
   * `STREAM.DELETE`: the stream and its data. The directory is removed (renamed aside, durably)
   * before anything stops; if that fails, the stream goes on as before and the error is thrown.
   */
  deleteStream(name: string): Promise<boolean> {
    return this.locks.run(name, async () => {
      const registry = this.registry;
      const entry = registry.streams.get(name);
      if (entry === undefined) return false;
      for (const c of entry.consumers.values()) await this.stateWriter.hold(c);
      const backend = registry.backends[entry.stream.config.storage];
      // Take no more publishes (and no expiry) while the stream goes: a publish arriving after the
      // file backend renamed its directory aside would fail (ENOENT) and be reported as a failing disk.
      registry.unwire(entry);
      // ... and let the writes already under way end before the store goes from under them.
      await entry.stream.store.settle();
      try {
        await backend.deleteStream(name);
      } catch (err) {
        if (await backend.hasStream(name)) {
          registry.wire(entry);
          for (const c of entry.consumers.values()) this.stateWriter.resume(c);
          throw new Error(`stream "${name}" could not be deleted: ${errText(err)}`);
        }
        this.warn(`JetStream: stream "${name}" deleted, but not all of its files could be removed (the next start removes them): ${errText(err)}`);
      }
      // Out of the map before their state writes are forgotten: a consumer still served under its
      // name is written again when work it had under way ends (a redelivery reaching max_deliver
      // marks it changed after it stopped), into the directory just removed (ENOENT, logged).
      const consumers = [...entry.consumers.values()];
      entry.consumers.clear();
      for (const c of consumers) {
        c.stop(true);
        await this.stateWriter.forget(c);
      }
      // Consumers of it that were not loaded went with its directory.
      registry.forgetUnloaded(name);
      await registry.closeEntry(name);
      return true;
    });
  }

  /** Does `cfg` share subjects with another stream, or one being created or updated? */
  private overlaps(cfg: StreamConfig): boolean {
    const clash = (subjects: readonly string[]): boolean => subjects.some((a) => cfg.subjects.some((b) => subjectsOverlap(a, b)));
    for (const [name, e] of this.registry.streams) if (name !== cfg.name && clash(e.stream.config.subjects)) return true;
    for (const [name, subjects] of this.claims) if (name !== cfg.name && clash(subjects)) return true;
    return false;
  }

  /** `STREAM.PURGE`; a purge that is not filtered moves consumers past what it removed. */
  purgeStream(name: string, req: PurgeRequest): Promise<number> {
    return this.locks.run(name, async () => {
      const e = this.registry.streams.get(name);
      if (e === undefined) return 0;
      const n = await e.stream.store.purge(req);
      if (req.filter === undefined) {
        const st = e.stream.store.state();
        const first = st.messages === 0 ? st.lastSeq + 1 : st.firstSeq;
        for (const c of e.consumers.values()) c.purged(first);
      }
      return n;
    });
  }
}

function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
