import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, execFileSync } from "node:child_process";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { createDirAtomic, isLeftover, removeDirAtomic, writeFileAtomic } from "../../../src/stores/file/atomic-file.js";
import { FileCatalog } from "../../../src/stores/file/catalog.js";
import { FILE_BYTES, versionContent } from "../../fixtures/atomic-writer.js";

const WRITER = join(dirname(fileURLToPath(import.meta.url)), "../../fixtures/atomic-writer.js");

async function tempDir(t: test.TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "cuebus-atomic-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** The version a file's content is, whole; throws if it is not one whole version. */
function versionOf(b: Buffer): number {
  const m = /^version (\d+)\n/.exec(b.subarray(0, 32).toString("latin1"));
  assert.ok(m !== null, `starts with a version line: ${JSON.stringify(b.subarray(0, 32).toString("latin1"))}`);
  const v = Number(m[1]);
  assert.equal(b.length, FILE_BYTES, `version ${v} is whole`);
  assert.ok(b.equals(versionContent(v)), `version ${v} has its own bytes only`);
  return v;
}

test("writeFileAtomic: many writes of one file at once; every read sees one whole version, no temp file stays", async (t) => {
  const dir = await tempDir(t);
  const target = join(dir, "meta.json");
  await writeFileAtomic(target, versionContent(0));
  const writes: Array<Promise<void>> = [];
  for (let v = 1; v <= 40; v++) writes.push(writeFileAtomic(target, versionContent(v)));
  let reads = 0;
  let settled = false;
  const all = Promise.all(writes).finally(() => (settled = true));
  // Read while they run: never a mix of two versions, never a short file.
  while (!settled) {
    versionOf(await readFile(target));
    reads++;
  }
  await all;
  assert.ok(reads > 0);
  const v = versionOf(await readFile(target));
  assert.ok(v >= 1 && v <= 40);
  assert.deepEqual(await readdir(dir), ["meta.json"], "no temp file left");
});

test("writeFileAtomic: a process killed (SIGKILL) while writing leaves a whole old or new version; its temp file is a leftover the catalog removes", async (t) => {
  const dir = await tempDir(t);
  const streamDir = join(dir, "jetstream", "S");
  await mkdir(streamDir, { recursive: true });
  const target = join(streamDir, "meta.json");
  for (let kill = 0; kill < 6; kill++) {
    const child = spawn(process.execPath, [WRITER, target], { stdio: ["ignore", "pipe", "inherit"] });
    const exited = new Promise<void>((r) => child.once("exit", () => r()));
    let written = 0;
    // Kill at once after a few writes, wherever the writer is in its next one.
    const enough = 3 + Math.floor(Math.random() * 5);
    await new Promise<void>((r) => {
      child.stdout.on("data", (d: Buffer) => {
        written += d.toString().split("\n").length - 1;
        if (written >= enough) r();
      });
    });
    child.kill("SIGKILL");
    await exited;
    versionOf(await readFile(target));
  }
  // What a kill leaves beside the target is recognised as a leftover, and the catalog removes it
  // when it reads the stream directory at start.
  for (const name of await readdir(streamDir)) if (name !== "meta.json") assert.ok(isLeftover(name), name);
  await writeFile(join(streamDir, "meta.json.0123456789abcdef.tmp"), "half a temp file"); // as a crash before the rename leaves it
  const catalog = new FileCatalog(join(dir, "jetstream"));
  const listing = await catalog.streams();
  assert.deepEqual(await readdir(streamDir), ["meta.json"], "leftovers removed at start");
  // The content here is not a catalog entry (it is the writer's bytes), so it is reported, not served.
  assert.equal(listing.entries.length, 0);
  assert.equal(listing.damage.length, 1);
  assert.equal(listing.damage[0]?.file, resolve(target));
});

test("writeFileAtomic: a write that fails (file system full) throws, leaves the old content and no temp file", async (t) => {
  if (process.getuid?.() !== 0) {
    t.skip("needs root to mount a small tmpfs");
    return;
  }
  const dir = await mkdtemp(join(tmpdir(), "cuebus-atomic-"));
  const fs = join(dir, "small");
  await mkdir(fs);
  let mounted = false;
  // One hook, in this order: the file system goes before its mount point.
  t.after(async () => {
    if (mounted) execFileSync("umount", [fs]);
    await rm(dir, { recursive: true, force: true });
  });
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=256k", "tmpfs", fs]);
    mounted = true;
  } catch {
    t.skip("mount not permitted here");
    return;
  }
  const target = join(fs, "meta.json");
  await writeFileAtomic(target, '{"config":{"name":"old"}}');
  // Fill the file system, then try to write more than is left.
  await writeFile(join(fs, "filler"), Buffer.alloc(200 * 1024));
  await assert.rejects(writeFileAtomic(target, Buffer.alloc(100 * 1024, 0x41)), (err: NodeJS.ErrnoException) => err.code === "ENOSPC");
  assert.equal(await readFile(target, "utf8"), '{"config":{"name":"old"}}');
  assert.deepEqual((await readdir(fs)).sort(), ["filler", "meta.json"]);
  // Space freed: the next write goes through.
  await rm(join(fs, "filler"));
  await writeFileAtomic(target, "new");
  assert.equal(await readFile(target, "utf8"), "new");
});

test("writeFileAtomic: a rename that fails (the target became a directory) throws and removes the temp file", async (t) => {
  const dir = await tempDir(t);
  const target = join(dir, "state.json");
  await mkdir(join(target, "inside"), { recursive: true });
  await assert.rejects(writeFileAtomic(target, "{}"));
  assert.deepEqual(await readdir(dir), ["state.json"]);
});

test("createDirAtomic and removeDirAtomic: a directory appears whole or not at all, and is never half removed under its name", async (t) => {
  const dir = await tempDir(t);
  const s = join(dir, "S");
  await createDirAtomic(s, [
    ["meta.json", "{}"],
    ["other", "x"],
  ]);
  assert.deepEqual((await readdir(s)).sort(), ["meta.json", "other"]);
  // Never over an existing directory with something in it.
  await assert.rejects(createDirAtomic(s, [["meta.json", "new"]]));
  assert.equal(await readFile(join(s, "meta.json"), "utf8"), "{}");
  assert.deepEqual(await readdir(dir), ["S"], "the staging directory is removed after a failure");
  // Made on the way: parents that do not exist yet.
  await createDirAtomic(join(dir, "S", "obs", "c"), [["meta.json", "{}"]]);
  await removeDirAtomic(s);
  assert.deepEqual(await readdir(dir), []);
  await removeDirAtomic(s); // gone already: fine
});

// nats.c's JetStreamSubscribe creates a stream named with 255 characters, which nats-server stores:
// the staging (".creating-<name>-<nonce>") and removal names must stay within NAME_MAX (255 bytes).
test("createDirAtomic and removeDirAtomic: a directory named with 255 bytes (NAME_MAX) is made and removed", async (t) => {
  const root = await tempDir(t);
  for (const name of ["a".repeat(255), "é".repeat(127)]) {
    const dir = join(root, "streams", name);
    await createDirAtomic(dir, [["meta.json", "{}"]]);
    assert.equal(await readFile(join(dir, "meta.json"), "utf8"), "{}");
    await removeDirAtomic(dir);
    assert.deepEqual(await readdir(join(root, "streams")), []);
  }
});
