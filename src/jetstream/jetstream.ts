import { mkdir, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { FileStore } from "../stores/file/file-store.js";
import { MemoryStore } from "../stores/memory/memory-store.js";
import type { StreamStore } from "../stores/types.js";
import type { Bus } from "./bus.js";
import { jsError, type JsApiError } from "./errors.js";
import { subjectsOverlap } from "./overlap.js";
import { Stream, storeLimitsOf } from "./stream.js";
import { normalizeStreamConfig, sameConfig, type StreamConfig } from "./stream-config.js";
import { handleApi } from "./api/router.js";

/** JetStream options. */
export interface JetStreamOptions {
  /** Where file streams live: `<storeDir>/jetstream/<stream>/`. */
  storeDir: string;
  /** File store durability mode (see stores/file). */
  sync?: "always" | "interval";
}

interface StreamEntry {
  stream: Stream;
  unsubscribe: Array<() => void>;
}

/** Streams and the `$JS.API` they answer; an internal client of the router. */
export class JetStream {
  readonly streams = new Map<string, StreamEntry>();
  apiTotal = 0;
  apiErrors = 0;
  private unsubApi: (() => void) | null = null;

  constructor(
    readonly bus: Bus,
    readonly opts: JetStreamOptions,
  ) {}

  private get root(): string {
    return join(this.opts.storeDir, "jetstream");
  }

  /** Recover file streams from disk and start answering `$JS.API.>`. */
  async start(): Promise<void> {
    await mkdir(this.root, { recursive: true });
    for (const name of await readdir(this.root)) {
      const meta = join(this.root, name, "meta.json");
      let text: string;
      try {
        text = await readFile(meta, "utf8");
      } catch {
        continue;
      }
      const m = JSON.parse(text) as { config: unknown; created: string };
      const cfg = normalizeStreamConfig(m.config);
      if ("err_code" in cfg) continue;
      await this.open(cfg, new Date(m.created));
    }
    this.unsubApi = this.bus.subscribe("$JS.API.>", "", (subject, reply, _h, data) => {
      if (reply === "") return;
      const body = Buffer.from(data);
      handleApi(this, subject, body).then(
        (res) => {
          this.apiTotal++;
          if ("error" in res) this.apiErrors++;
          this.bus.publish(reply, "", null, Buffer.from(JSON.stringify(res)));
        },
        (err: unknown) => {
          this.apiErrors++;
          const e = jsError("BadRequest");
          e.description = err instanceof Error ? err.message : String(err);
          this.bus.publish(reply, "", null, Buffer.from(JSON.stringify({ error: e })));
        },
      );
    });
  }

  /** Create (or open) a stream's store and wire its subjects. */
  private async open(cfg: StreamConfig, created: Date): Promise<Stream> {
    let store: StreamStore;
    if (cfg.storage === "memory") store = new MemoryStore(storeLimitsOf(cfg));
    else store = await FileStore.open({ dir: join(this.root, cfg.name, "msgs"), limits: storeLimitsOf(cfg), sync: this.opts.sync ?? "always" });
    const stream = new Stream(cfg, store, created);
    const entry: StreamEntry = { stream, unsubscribe: [] };
    this.wire(entry);
    this.streams.set(cfg.name, entry);
    return stream;
  }

  private wire(entry: StreamEntry): void {
    for (const u of entry.unsubscribe) u();
    entry.unsubscribe = entry.stream.config.subjects.map((s) =>
      this.bus.subscribe(s, "", (subject, reply, headers, data) => {
        if (subject.startsWith("$JS.API.")) return;
        entry.stream.publish(subject, headers, data).then(
          (r) => {
            if (reply === "") return;
            const ack =
              "error" in r
                ? JSON.stringify({ error: r.error, stream: entry.stream.name, seq: 0 })
                : r.duplicate
                  ? `{"stream":${JSON.stringify(entry.stream.name)}, "seq":${r.seq},"duplicate": true}`
                  : `{"stream":${JSON.stringify(entry.stream.name)}, "seq":${r.seq}}`;
            this.bus.publish(reply, "", null, Buffer.from(ack));
          },
          () => {
            // publish() reports store failures as results; nothing else can reject.
          },
        );
      }),
    );
  }

  private async persist(stream: Stream): Promise<void> {
    if (stream.config.storage !== "file") return;
    const dir = join(this.root, stream.name);
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, "meta.json"), JSON.stringify({ config: stream.config, created: stream.created.toISOString() }));
  }

  /** `STREAM.CREATE`: idempotent for the same config. */
  async createStream(cfg: StreamConfig): Promise<{ stream: Stream; created: boolean } | JsApiError> {
    const existing = this.streams.get(cfg.name);
    if (existing !== undefined) {
      if (sameConfig(existing.stream.config, cfg)) return { stream: existing.stream, created: false };
      return jsError("StreamNameExist");
    }
    if (cfg.sealed) return jsError("StreamInvalidConfig", { err: "stream configuration for create can not be sealed" });
    if (this.overlaps(cfg)) return jsError("StreamSubjectOverlap");
    const stream = await this.open(cfg, new Date());
    await this.persist(stream);
    return { stream, created: true };
  }

  /** `STREAM.UPDATE`. */
  async updateStream(cfg: StreamConfig): Promise<Stream | JsApiError> {
    const entry = this.streams.get(cfg.name);
    if (entry === undefined) return jsError("StreamNotFound");
    const old = entry.stream.config;
    if (old.storage !== cfg.storage) return jsError("StreamUpdate", { err: "stream configuration update can not change storage type" });
    if (old.sealed && !cfg.sealed) return jsError("StreamUpdate", { err: "stream configuration update can not unseal a sealed stream" });
    if (this.overlaps(cfg)) return jsError("StreamSubjectOverlap");
    entry.stream.config = cfg;
    await entry.stream.store.setLimits(storeLimitsOf(cfg));
    this.wire(entry);
    await this.persist(entry.stream);
    return entry.stream;
  }

  /** `STREAM.DELETE`: the stream and its data. */
  async deleteStream(name: string): Promise<boolean> {
    const entry = this.streams.get(name);
    if (entry === undefined) return false;
    for (const u of entry.unsubscribe) u();
    this.streams.delete(name);
    await entry.stream.store.close();
    await rm(join(this.root, name), { recursive: true, force: true });
    return true;
  }

  private overlaps(cfg: StreamConfig): boolean {
    for (const [name, e] of this.streams) {
      if (name === cfg.name) continue;
      for (const a of e.stream.config.subjects) for (const b of cfg.subjects) if (subjectsOverlap(a, b)) return true;
    }
    return false;
  }

  /** Close every store (data stays on disk). */
  async close(): Promise<void> {
    this.unsubApi?.();
    for (const e of this.streams.values()) {
      for (const u of e.unsubscribe) u();
      await e.stream.store.close();
    }
    this.streams.clear();
  }
}
