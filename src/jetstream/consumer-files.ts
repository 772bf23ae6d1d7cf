import { mkdir, readFile, readdir, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Consumer, ConsumerState } from "./consumer.js";

/** How long consumer state may stay unwritten after a change (acks are at-least-once across a crash). */
export const CONSUMER_STATE_FLUSH_MS = 50;

/** What a consumer left on disk: its config as written (normalized by the caller), creation time and state. */
export interface SavedConsumer {
  name: string;
  config: unknown;
  created: Date;
  /** null when the state file is missing or unreadable: the consumer starts over from its config. */
  state: ConsumerState | null;
}

/**
 * Durable consumers of file streams on disk: `<root>/<stream>/obs/<name>/meta.json` (config,
 * creation time) and `state.json` (delivered, ack floor, pending), each written whole or not at
 * all. State changes are gathered and written within CONSUMER_STATE_FLUSH_MS, one write at a time.
 */
export class ConsumerFiles {
  private readonly dirty = new Set<Consumer>();
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> = Promise.resolve();

  /** `current`: is this consumer still the one served under its name (not deleted or replaced)? */
  constructor(
    private readonly root: string,
    private readonly current: (c: Consumer) => boolean,
  ) {}

  /** Durable consumers of file streams keep config and state on disk; the rest live in memory. */
  static persists(c: Consumer): boolean {
    return c.stream.config.storage === "file" && c.durable && c.config.mem_storage !== true;
  }

  private dir(stream: string, name: string): string {
    return join(this.root, stream, "obs", name);
  }

  /** Write config and state now (create, update). */
  async save(c: Consumer): Promise<void> {
    if (!ConsumerFiles.persists(c)) return;
    const dir = this.dir(c.stream.name, c.name);
    await mkdir(dir, { recursive: true });
    await writeAtomic(join(dir, "meta.json"), JSON.stringify({ config: c.config, created: c.created.toISOString() }));
    await writeAtomic(join(dir, "state.json"), JSON.stringify(c.state()));
  }

  /** Write this consumer's state soon. */
  changed(c: Consumer): void {
    if (!c.durable) return;
    this.dirty.add(c);
    if (this.timer === null) {
      this.timer = setTimeout(() => {
        this.timer = null;
        this.flushing = this.flushing.then(() => this.flush());
      }, CONSUMER_STATE_FLUSH_MS);
    }
  }

  /** Stop writing this consumer's state, and wait for a write in progress. */
  async forget(c: Consumer): Promise<void> {
    this.dirty.delete(c);
    await this.flushing;
  }

  /** Forget a deleted consumer and remove its files. */
  async remove(c: Consumer): Promise<void> {
    await this.forget(c);
    await rm(this.dir(c.stream.name, c.name), { recursive: true, force: true });
  }

  /** The consumers a stream left on disk; one whose config cannot be read is skipped (left on disk, not served). */
  async list(stream: string): Promise<SavedConsumer[]> {
    let names: string[];
    try {
      names = await readdir(join(this.root, stream, "obs"));
    } catch {
      return [];
    }
    const out: SavedConsumer[] = [];
    for (const name of names) {
      const dir = this.dir(stream, name);
      let meta: { config: unknown; created: string };
      try {
        meta = JSON.parse(await readFile(join(dir, "meta.json"), "utf8")) as { config: unknown; created: string };
      } catch {
        continue;
      }
      let state: ConsumerState | null;
      try {
        state = JSON.parse(await readFile(join(dir, "state.json"), "utf8")) as ConsumerState;
      } catch {
        state = null;
      }
      out.push({ name, config: meta.config, created: new Date(meta.created), state });
    }
    return out;
  }

  /** Write every pending state now and stop the timer (shutdown). */
  async close(): Promise<void> {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    await this.flushing;
    await this.flush();
  }

  private async flush(): Promise<void> {
    const list = [...this.dirty];
    this.dirty.clear();
    for (const c of list) {
      if (!this.current(c) || !ConsumerFiles.persists(c)) continue;
      try {
        await writeAtomic(join(this.dir(c.stream.name, c.name), "state.json"), JSON.stringify(c.state()));
      } catch {
        // The directory went away with a delete racing this write; nothing to keep.
      }
    }
  }
}

/** Write a file so that a crash leaves the old or the new content, never a torn one. */
export async function writeAtomic(path: string, text: string): Promise<void> {
  const tmp = `${path}.tmp`;
  await writeFile(tmp, text);
  await rename(tmp, path);
}
