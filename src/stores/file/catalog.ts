import { mkdir, readdir, readFile, rm, rmdir, stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import { parseJsonLimited } from "../../util/json-depth.js";
import type { CatalogDamage, CatalogListing, StoredStream } from "../catalog-types.js";
import { createDirAtomic, isLeftover, removeDirAtomic, writeFileAtomic } from "./atomic-file.js";

/**
 * The stream catalog of the file backend, and its durable consumers' files:
 *
 * ```
 * <root>/<stream>/meta.json                 {"config": <stream config>, "created": <ISO time>}
 * <root>/<stream>/msgs/                     the stream's FileStore
 * <root>/<stream>/obs/<consumer>/meta.json  {"config": <consumer config>, "created": <ISO time>}
 * <root>/<stream>/obs/<consumer>/state.json the consumer's ConsumerState (see catalog-types.ts)
 * ```
 *
 * Every write is atomic and durable (see atomic-file.ts): a stream or consumer directory appears
 * whole with its metadata in it, a metadata file is replaced whole, a directory is renamed aside
 * before it is deleted. So after any crash a directory under its own name has its meta.json, and
 * what an interrupted write left (temp files, staging and removed directories) is removed when the
 * catalog is read at start.
 *
 * Reading never throws for one bad entry: a file that cannot be read, is not JSON or has the wrong
 * shape is returned as `CatalogDamage` naming the file and why, and left on disk untouched (the
 * operator decides what to do with it); every other entry is read as usual. The configs inside are
 * returned as stored (`unknown`): JetStream validates them and reports those that no longer pass.
 */

/** Largest stream or consumer meta.json read (a config is a few hundred bytes; metadata maps add some). */
export const MAX_META_FILE_BYTES = 1024 * 1024;
/** Largest consumer state.json read: its pending list grows with max_ack_pending (about 40 bytes an entry). */
export const MAX_STATE_FILE_BYTES = 256 * 1024 * 1024;

/** Name of a stream's or consumer's metadata file. */
export const META_FILE = "meta.json";
/** Name of a durable consumer's state file. */
export const STATE_FILE = "state.json";
const MSGS_DIR = "msgs";
const CONSUMERS_DIR = "obs";

export type { CatalogDamage, CatalogListing, StoredStream };

/** A durable consumer's files as stored. */
export interface StoredConsumerFiles {
  /** The directory name (the consumer name it was created under). */
  name: string;
  config: unknown;
  created: Date;
  /** The parsed state.json; null when there is none (created and not yet written, as after a crash at create). */
  state: unknown;
  /** Absolute paths of its files (for reports). */
  metaFile: string;
  stateFile: string;
}

type Read = { ok: true; value: unknown } | { ok: false; reason: string; missing: boolean };

/** Read and parse one JSON file of at most `maxBytes`, checking its size before reading it. */
async function readJson(file: string, maxBytes: number): Promise<Read> {
  try {
    const st = await stat(file);
    if (!st.isFile()) return { ok: false, reason: "not a regular file", missing: false };
    if (st.size > maxBytes) return { ok: false, reason: `larger than ${maxBytes} bytes (${st.size})`, missing: false };
    const r = parseJsonLimited(await readFile(file));
    return r.ok ? r : { ok: false, reason: `not JSON: ${r.reason}`, missing: false };
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    return { ok: false, reason: e.code === "ENOENT" ? "missing" : `cannot be read: ${e.message}`, missing: e.code === "ENOENT" };
  }
}

/** `{config: object, created: ISO time}`, the shape of both meta.json files, or why not. */
function metaOf(v: unknown): { config: unknown; created: Date } | string {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return "wrong shape: not a JSON object";
  const m = v as Record<string, unknown>;
  if (typeof m["config"] !== "object" || m["config"] === null || Array.isArray(m["config"])) return "wrong shape: no \"config\" object";
  const created = typeof m["created"] === "string" ? new Date(m["created"]) : null;
  if (created === null || Number.isNaN(created.getTime())) return "wrong shape: no valid \"created\" time";
  return { config: m["config"], created };
}

/**
 * A stream's or consumer's directory: its meta.json as read (with its path), or the file and why it
 * cannot be used; null when the directory held nothing (an interrupted create from before writes
 * were atomic) and has been removed.
 */
async function readMetaDir(dir: string): Promise<{ meta: { config: unknown; created: Date }; file: string } | { file: string; reason: string } | null> {
  const file = join(dir, META_FILE);
  let inside;
  try {
    inside = await sweep(dir);
  } catch (err) {
    return { file: dir, reason: `cannot be read: ${(err as Error).message}` };
  }
  const r = await readJson(file, MAX_META_FILE_BYTES);
  if (!r.ok) {
    if (r.missing && inside.length === 0 && (await rmdir(dir).then(() => true, () => false))) return null;
    return { file, reason: r.reason };
  }
  const meta = metaOf(r.value);
  return typeof meta === "string" ? { file, reason: meta } : { meta, file };
}

function metaText(config: unknown, created: Date): string {
  return JSON.stringify({ config, created: created.toISOString() });
}

/**
 * Entries of `dir` after removing what interrupted writes left there; `[]` when `dir` does not
 * exist. A leftover that cannot be removed is skipped (the next start tries again).
 */
async function sweep(dir: string): Promise<Array<{ name: string; isDir: boolean }>> {
  let list;
  try {
    list = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw err;
  }
  const out: Array<{ name: string; isDir: boolean }> = [];
  for (const d of list) {
    // Already aside (or never in place): deleted as it is.
    if (isLeftover(d.name)) await rm(join(dir, d.name), { recursive: true, force: true }).catch(() => {});
    else out.push({ name: d.name, isDir: d.isDirectory() });
  }
  return out;
}

/** The file backend's stream catalog and consumer files under one root directory. */
export class FileCatalog {
  /** Absolute path of the root (`<store dir>/jetstream`). */
  readonly root: string;

  constructor(root: string) {
    this.root = resolve(root);
  }

  private streamDir(stream: string): string {
    return join(this.root, stream);
  }

  private consumerDir(stream: string, consumer: string): string {
    return join(this.root, stream, CONSUMERS_DIR, consumer);
  }

  /** Where a stream's FileStore keeps its segments. */
  messagesDir(stream: string): string {
    return join(this.root, stream, MSGS_DIR);
  }

  /**
   * Every stream in the catalog, after removing what interrupted writes left; a directory that holds
   * nothing else is an interrupted create from before writes were atomic, and is removed too.
   */
  async streams(): Promise<CatalogListing<StoredStream>> {
    await mkdir(this.root, { recursive: true });
    const out: CatalogListing<StoredStream> = { entries: [], damage: [] };
    for (const d of await sweep(this.root)) {
      if (!d.isDir) continue;
      const r = await readMetaDir(this.streamDir(d.name));
      if (r === null) continue;
      if ("reason" in r) out.damage.push({ stream: d.name, ...r });
      else out.entries.push({ name: d.name, ...r.meta, file: r.file });
    }
    return out;
  }

  /** Does a stream directory exist (loaded or not)? */
  async hasStream(stream: string): Promise<boolean> {
    return stat(this.streamDir(stream)).then(
      () => true,
      () => false,
    );
  }

  /** Add a stream: its directory appears with its meta.json in it, or not at all. Fails if the directory exists. */
  async createStream(stream: string, config: unknown, created: Date): Promise<void> {
    await createDirAtomic(this.streamDir(stream), [[META_FILE, metaText(config, created)]]);
  }

  /** Replace a stream's meta.json (update). */
  async writeStream(stream: string, config: unknown, created: Date): Promise<void> {
    await writeFileAtomic(join(this.streamDir(stream), META_FILE), metaText(config, created));
  }

  /** Remove a stream: its metadata, messages and consumers (see removeDirAtomic). */
  async removeStream(stream: string): Promise<void> {
    await removeDirAtomic(this.streamDir(stream));
  }

  /** A stream's durable consumers on disk, after removing leftovers; damaged ones are reported, not returned. */
  async consumers(stream: string): Promise<CatalogListing<StoredConsumerFiles>> {
    const out: CatalogListing<StoredConsumerFiles> = { entries: [], damage: [] };
    const obs = join(this.streamDir(stream), CONSUMERS_DIR);
    let list;
    try {
      list = await sweep(obs);
    } catch (err) {
      out.damage.push({ stream, consumer: "*", file: obs, reason: `cannot be read: ${(err as Error).message}` });
      return out;
    }
    for (const d of list) {
      if (!d.isDir) continue;
      const r = await readMetaDir(this.consumerDir(stream, d.name));
      if (r === null) continue;
      if ("reason" in r) {
        out.damage.push({ stream, consumer: d.name, ...r });
        continue;
      }
      const stateFile = join(this.consumerDir(stream, d.name), STATE_FILE);
      const s = await readJson(stateFile, MAX_STATE_FILE_BYTES);
      if (!s.ok && !s.missing) {
        out.damage.push({ stream, consumer: d.name, file: stateFile, reason: s.reason });
        continue;
      }
      out.entries.push({ name: d.name, ...r.meta, state: s.ok ? s.value : null, metaFile: r.file, stateFile });
    }
    return out;
  }

  /**
   * Add a durable consumer: its directory appears with meta.json and state.json in it, or not at
   * all. Fails when the stream is not in the catalog (its meta.json is not there): a consumer's
   * directory would otherwise make a stream directory without one.
   */
  async createConsumer(stream: string, consumer: string, config: unknown, created: Date, state: unknown): Promise<void> {
    await stat(join(this.streamDir(stream), META_FILE));
    await createDirAtomic(this.consumerDir(stream, consumer), [
      [META_FILE, metaText(config, created)],
      [STATE_FILE, JSON.stringify(state)],
    ]);
  }

  /** Replace a consumer's meta.json (update). */
  async writeConsumer(stream: string, consumer: string, config: unknown, created: Date): Promise<void> {
    await writeFileAtomic(join(this.consumerDir(stream, consumer), META_FILE), metaText(config, created));
  }

  /** Replace a consumer's state.json. */
  async writeConsumerState(stream: string, consumer: string, state: unknown): Promise<void> {
    await writeFileAtomic(join(this.consumerDir(stream, consumer), STATE_FILE), JSON.stringify(state));
  }

  /** Does a consumer directory exist (loaded or not)? */
  async hasConsumer(stream: string, consumer: string): Promise<boolean> {
    return stat(this.consumerDir(stream, consumer)).then(
      () => true,
      () => false,
    );
  }

  /** Remove a consumer's files (see removeDirAtomic). */
  async removeConsumer(stream: string, consumer: string): Promise<void> {
    await removeDirAtomic(this.consumerDir(stream, consumer));
  }
}
