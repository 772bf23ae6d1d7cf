import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { JsErrors, jsError } from "../../src/jetstream/errors.js";

const srcDir = resolve(dirname(fileURLToPath(import.meta.url)), "../../../src");

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? sources(p) : n.endsWith(".ts") ? [p] : [];
  });
}

test("JetStream error table: codes unique, in nats-server's ranges, placeholders filled", () => {
  const seen = new Set<number>();
  for (const [name, e] of Object.entries(JsErrors)) {
    assert.ok(!seen.has(e.err_code), `${name}: err_code ${e.err_code} used twice`);
    seen.add(e.err_code);
    assert.ok(e.err_code >= 10000 && e.err_code < 11000, name);
    assert.ok([400, 404, 500, 503].includes(e.code), name);
    assert.ok(e.description.length > 0, name);
  }
  assert.deepEqual(jsError("StreamWrongLastSequence", { seq: 5 }), { code: 400, err_code: 10071, description: "wrong last sequence: 5" });
  assert.deepEqual(jsError("StreamNotFound"), { code: 404, err_code: 10059, description: "stream not found" });
});

test("JetStream error table: every entry is produced somewhere in src/", () => {
  const text = sources(srcDir)
    .filter((p) => !p.endsWith(join("jetstream", "errors.ts")))
    .map((p) => readFileSync(p, "utf8"))
    .join("\n");
  const unused = Object.keys(JsErrors).filter((name) => !text.includes(`"${name}"`));
  assert.deepEqual(unused, []);
});
