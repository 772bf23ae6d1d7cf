import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FileCatalog, MAX_META_FILE_BYTES } from "../../../src/stores/file/catalog.js";

async function catalogIn(t: test.TestContext): Promise<{ root: string; catalog: FileCatalog }> {
  const dir = await mkdtemp(join(tmpdir(), "cuebus-catalog-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const root = join(dir, "jetstream");
  return { root, catalog: new FileCatalog(root) };
}

const created = new Date("2026-01-02T03:04:05.000Z");

test("catalog: streams written, replaced and removed read back as written", async (t) => {
  const { root, catalog } = await catalogIn(t);
  await catalog.streams(); // makes the root
  await catalog.createStream("A", { name: "A", max_msgs: 1 }, created);
  await catalog.createStream("B", { name: "B" }, created);
  await assert.rejects(catalog.createStream("A", { name: "A", max_msgs: 2 }, created), "an existing stream is not overwritten by a create");
  await catalog.writeStream("A", { name: "A", max_msgs: 3 }, created);
  await catalog.removeStream("B");
  const { entries, damage } = await catalog.streams();
  assert.deepEqual(damage, []);
  assert.deepEqual(
    entries.map((e) => [e.name, e.config, e.created.toISOString()]),
    [["A", { name: "A", max_msgs: 3 }, created.toISOString()]],
  );
  assert.deepEqual(await readdir(root), ["A"]);
  assert.equal(catalog.messagesDir("A"), join(root, "A", "msgs"));
});

test("catalog: a damaged meta.json is reported with its file and reason and left as it is; the other streams are read", async (t) => {
  const { root, catalog } = await catalogIn(t);
  await catalog.streams();
  await catalog.createStream("GOOD", { name: "GOOD" }, created);
  const bad: Record<string, string> = {
    TRUNC: '{"config":{"name":"TRUNC","subjects":["a"]},"crea',
    GARBAGE: "\u0000\u0001 not json at all",
    TWICE: '{"config":{"name":"TWICE"},"created":"2026-01-02T03:04:05.000Z"}{"config":{}}',
    ARRAY: "[1,2,3]",
    NOCONFIG: '{"created":"2026-01-02T03:04:05.000Z"}',
    BADTIME: '{"config":{"name":"BADTIME"},"created":"yesterday"}',
    DEEP: `{"config":${"[".repeat(100)}${"]".repeat(100)}}`,
  };
  for (const [name, text] of Object.entries(bad)) {
    await mkdir(join(root, name, "msgs"), { recursive: true });
    await writeFile(join(root, name, "meta.json"), text);
  }
  await mkdir(join(root, "NOMETA", "msgs"), { recursive: true });
  await mkdir(join(root, "BIG"));
  await writeFile(join(root, "BIG", "meta.json"), Buffer.alloc(MAX_META_FILE_BYTES + 1, 0x20));
  const { entries, damage } = await catalog.streams();
  assert.deepEqual(
    entries.map((e) => e.name),
    ["GOOD"],
  );
  const reasons = Object.fromEntries(damage.map((d) => [d.stream, d.reason]));
  assert.match(reasons["TRUNC"] ?? "", /^not JSON/);
  assert.match(reasons["GARBAGE"] ?? "", /^not JSON/);
  assert.match(reasons["TWICE"] ?? "", /^not JSON/);
  assert.match(reasons["ARRAY"] ?? "", /^wrong shape/);
  assert.match(reasons["NOCONFIG"] ?? "", /^wrong shape: no "config"/);
  assert.match(reasons["BADTIME"] ?? "", /^wrong shape: no valid "created"/);
  assert.match(reasons["DEEP"] ?? "", /nesting deeper/);
  assert.match(reasons["BIG"] ?? "", /^larger than/);
  assert.equal(reasons["NOMETA"], "missing");
  for (const d of damage) assert.equal(d.file, join(root, d.stream, "meta.json"));
  // Nothing is deleted: the operator decides.
  for (const [name, text] of Object.entries(bad)) assert.equal(await readFile(join(root, name, "meta.json"), "utf8"), text);
  assert.deepEqual(await readdir(join(root, "NOMETA")), ["msgs"]);
});

test("catalog: what interrupted writes left is removed at start; an empty stream directory too", async (t) => {
  const { root, catalog } = await catalogIn(t);
  await catalog.streams();
  await catalog.createStream("S", { name: "S" }, created);
  await catalog.createConsumer("S", "c", { durable_name: "c" }, created, { delivered: 1 });
  // A crash before the rename of each kind of write, and an interrupted create and delete.
  await writeFile(join(root, "S", "meta.json.00112233445566ff.tmp"), '{"config":');
  await writeFile(join(root, "S", "obs", "c", "state.json.tmp"), "{"); // the temp name cuebus used before
  await mkdir(join(root, ".creating-T-0011223344556677"));
  await writeFile(join(root, ".creating-T-0011223344556677", "meta.json"), "{}");
  await mkdir(join(root, ".deleted-U-0011223344556677", "msgs"), { recursive: true });
  await mkdir(join(root, "S", "obs", ".deleted-d-0011223344556677"));
  await mkdir(join(root, "EMPTY"));
  const { entries, damage } = await catalog.streams();
  assert.deepEqual(damage, []);
  assert.deepEqual(
    entries.map((e) => e.name),
    ["S"],
  );
  const consumers = await catalog.consumers("S");
  assert.deepEqual(consumers.damage, []);
  assert.deepEqual(
    consumers.entries.map((c) => [c.name, c.config, c.state]),
    [["c", { durable_name: "c" }, { delivered: 1 }]],
  );
  assert.deepEqual(await readdir(root), ["S"]);
  assert.deepEqual((await readdir(join(root, "S"))).sort(), ["meta.json", "obs"]);
  assert.deepEqual(await readdir(join(root, "S", "obs")), ["c"]);
  assert.deepEqual((await readdir(join(root, "S", "obs", "c"))).sort(), ["meta.json", "state.json"]);
});

test("catalog: a consumer with a damaged meta.json or state.json is reported, the others read; a missing state is no damage", async (t) => {
  const { root, catalog } = await catalogIn(t);
  await catalog.streams();
  await catalog.createStream("S", { name: "S" }, created);
  for (const c of ["ok", "badmeta", "badstate", "nostate"]) await catalog.createConsumer("S", c, { durable_name: c }, created, { delivered: 1 });
  const obs = join(root, "S", "obs");
  await writeFile(join(obs, "badmeta", "meta.json"), '{"config":{"durable_na');
  await writeFile(join(obs, "badstate", "state.json"), "garbage");
  await rm(join(obs, "nostate", "state.json"));
  const { entries, damage } = await catalog.consumers("S");
  assert.deepEqual(entries.map((e) => [e.name, e.state]).sort(), [
    ["nostate", null],
    ["ok", { delivered: 1 }],
  ]);
  assert.deepEqual(
    damage.map((d) => [d.stream, d.consumer, d.file]).sort(),
    [
      ["S", "badmeta", join(obs, "badmeta", "meta.json")],
      ["S", "badstate", join(obs, "badstate", "state.json")],
    ],
  );
  await catalog.removeConsumer("S", "ok");
  assert.deepEqual((await readdir(obs)).sort(), ["badmeta", "badstate", "nostate"]);
});
