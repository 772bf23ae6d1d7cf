import { randomBytes } from "node:crypto";
import { mkdir, open, rename, rm, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";

/**
 * Writing small metadata files (the stream catalog, consumer config and state) so that a crash, a
 * power cut or a failed write leaves either the old content or the new, never a mix:
 *
 * 1. write the new content to a temp file beside the target (same directory, so same file system),
 * 2. fsync the temp file (its bytes are on disk before its name can point at them),
 * 3. rename it over the target (atomic: a reader or a crash sees the old file or the new one),
 * 4. fsync the directory (the rename itself is on disk before the write is reported done).
 *
 * A failure at 1-3 removes the temp file and throws: the target is untouched. Temp files have a
 * random part in their names, so two writes of one target at once never write into one temp file;
 * the one renamed last wins, whole. What a crash leaves behind (a temp file, a half-made or
 * half-removed directory) carries a name `isLeftover` recognises, and the catalog removes it at start.
 */

/** Ends the name of a temp file: `<target name>.<random hex>.tmp`. */
export const TEMP_SUFFIX = ".tmp";
/** Starts the name of a directory being made whole before it is renamed into place. */
export const CREATING_PREFIX = ".creating-";
/** Starts the name a directory is renamed to when removed, before its contents are deleted. */
export const DELETED_PREFIX = ".deleted-";

const LEFTOVER_TEMP = /\.[0-9a-f]{16}\.tmp$/;

/** A random name part: 16 hex digits. */
function nonce(): string {
  return randomBytes(8).toString("hex");
}

/**
 * Linux's NAME_MAX: the longest name of one directory entry, in bytes. A stream may be named up to
 * it (nats-server stores a 255-character name; nats.c's suite creates one).
 */
const NAME_MAX_BYTES = 255;

/**
 * The name of a staging or removed copy of `dir` beside it: `<prefix><name>-<nonce>`, the name cut
 * short (by whole characters) so that the entry stays within NAME_MAX; the name part is only there
 * for a person reading the directory.
 */
function sideName(prefix: string, dir: string): string {
  const tail = `-${nonce()}`;
  const room = NAME_MAX_BYTES - prefix.length - tail.length;
  let name = basename(dir);
  while (Buffer.byteLength(name) > room) name = name.slice(0, -1);
  return prefix + name + tail;
}

/**
 * Is `name` (a directory entry) something an atomic write, create or remove left behind when it was
 * interrupted? The writer's own temp files, the `.tmp` files of cuebus before this module, and
 * staging or removed directories.
 */
export function isLeftover(name: string): boolean {
  return LEFTOVER_TEMP.test(name) || name.endsWith(`.json${TEMP_SUFFIX}`) || name.startsWith(CREATING_PREFIX) || name.startsWith(DELETED_PREFIX);
}

/** fsync a directory, so that entries created, renamed or removed in it are durable. */
export async function syncDir(dir: string): Promise<void> {
  const h = await open(dir, "r");
  try {
    await h.sync();
  } finally {
    await h.close();
  }
}

/** Write a new file and fsync it (it must not exist). On failure the file is removed. */
async function writeSynced(path: string, data: string | Uint8Array): Promise<void> {
  const h = await open(path, "wx");
  try {
    await h.writeFile(data);
    await h.sync();
  } catch (err) {
    await h.close().catch(() => {});
    await unlink(path).catch(() => {});
    throw err;
  }
  await h.close();
}

/**
 * Replace `path` with `data` atomically and durably (see the module comment). Resolves once the new
 * content and its name are on disk; on failure (ENOSPC, EIO, ...) throws and leaves the old file.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const tmp = `${path}.${nonce()}${TEMP_SUFFIX}`;
  await writeSynced(tmp, data);
  try {
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => {});
    throw err;
  }
  await syncDir(dirname(path));
}

/**
 * Create directory `dir` holding `files` (name -> content), all at once: they are written and
 * fsynced in a staging directory beside it, which is then renamed to `dir`. A crash leaves either no
 * `dir` or a whole one. Throws if `dir` exists and is not empty (nothing is overwritten).
 */
export async function createDirAtomic(dir: string, files: ReadonlyArray<readonly [string, string | Uint8Array]>): Promise<void> {
  const parent = dirname(dir);
  const made = await mkdir(parent, { recursive: true });
  if (made !== undefined) {
    // Directories made on the way (a stream's `obs/`) are made durable in their parents first.
    const top = dirname(made);
    for (let d = dirname(parent); ; d = dirname(d)) {
      await syncDir(d);
      if (d.length <= top.length || d === dirname(d)) break;
    }
  }
  const stage = join(parent, sideName(CREATING_PREFIX, dir));
  await mkdir(stage);
  try {
    for (const [name, data] of files) await writeSynced(join(stage, name), data);
    await syncDir(stage);
    await rename(stage, dir);
  } catch (err) {
    await rm(stage, { recursive: true, force: true }).catch(() => {});
    throw err;
  }
  await syncDir(parent);
}

/**
 * Remove directory `dir` and everything in it so that a crash never leaves it half removed under
 * its own name: it is first renamed aside and the rename made durable (a directory fsync), then the
 * renamed copy is deleted. If the rename fails, `dir` is untouched and the error thrown. A failure
 * after it (the fsync, the delete) is thrown too, but `dir` is gone by then (a caller that must know
 * checks); a renamed copy left behind is a leftover the next start removes. A missing `dir` is fine.
 */
export async function removeDirAtomic(dir: string): Promise<void> {
  const parent = dirname(dir);
  const aside = join(parent, sideName(DELETED_PREFIX, dir));
  try {
    await rename(dir, aside);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return;
    throw err;
  }
  await syncDir(parent);
  await rm(aside, { recursive: true, force: true });
}
