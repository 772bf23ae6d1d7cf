import { test } from "node:test";
import { mkdtemp, readdir, readFile, rm, unlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FileStore } from "../../../src/stores/file/file-store.js";
import { INDEX_FILE_NAME } from "../../../src/stores/file/index-file.js";
import type { StoreLimits, StreamStore } from "../../../src/stores/types.js";

/** Helpers of the file store's test files: fresh stores in temp directories, and reading one back whole. */

/** Temp directories removed when the test file ends (tests that make their own push them here). */
export const dirs: string[] = [];
/** The directory of each store a test file opened with `fresh`. */
export const dirOf = new WeakMap<StreamStore, string>();

/** A new store in a temp directory (removed when the test file ends). */
export async function fresh(limits?: StoreLimits): Promise<FileStore> {
  const dir = await mkdtemp(join(tmpdir(), "cuebus-fs-"));
  dirs.push(dir);
  const s = await FileStore.open({ dir, limits });
  dirOf.set(s, dir);
  return s;
}

test.after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/** A small store on disk: 6 messages, returns its dir and the segment's bytes. */
export async function smallSegment(): Promise<{ dir: string; seg: string; bytes: Buffer }> {
  const s = await fresh();
  for (let i = 1; i <= 6; i++) await s.append(`sub.${i}`, i % 2 === 0 ? Buffer.from("NATS/1.0\r\nK: v\r\n\r\n") : null, Buffer.from(`payload-${i}`));
  await s.close();
  const dir = dirOf.get(s) as string;
  const [name] = await segmentFiles(dir);
  const seg = join(dir, name as string);
  return { dir, seg, bytes: await readFile(seg) };
}

/** The segment files of a store (not its saved index). */
export async function segmentFiles(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((n) => n.endsWith(".seg")).sort();
}

/**
 * Open the store in `dir` and read every message. Unless `keepIndex`, its saved index is removed
 * first: these tests change segment bytes behind the store's back, and the index is rebuilt from
 * the records, as after a crash that left no usable index.
 */
export async function served(dir: string, recoveryChunkBytes?: number, keepIndex = false): Promise<{ store: FileStore; msgs: Map<number, string> }> {
  if (!keepIndex) await unlink(join(dir, INDEX_FILE_NAME)).catch(() => {});
  const store = await FileStore.open({ dir, recoveryChunkBytes, indexFile: keepIndex });
  const msgs = new Map<number, string>();
  for (let m = await store.loadNext(">", 1); m !== null; m = await store.loadNext(">", m.seq + 1)) {
    msgs.set(m.seq, `${m.subject}|${m.headers?.toString() ?? ""}|${m.data.toString()}`);
  }
  return { store, msgs };
}

