import assert from "node:assert/strict";
import { cp, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { BackendOptions } from "../../../src/stores/catalog-types.js";
import { FileBackend } from "../../../src/stores/file/file-backend.js";
import { MemoryBackend } from "../../../src/stores/memory/memory-backend.js";
import { catalogConformance } from "./catalog-conformance.js";

catalogConformance("memory", () => {
  const backend = new MemoryBackend();
  return Promise.resolve({ backend, afterCrash: () => Promise.resolve(backend) });
});

catalogConformance("file", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "cuebus-catalog-conf-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const opts = (storeDir: string): BackendOptions => ({ storeDir, sync: "always", syncIntervalMs: undefined, observeSync: () => {}, warn: (l) => assert.fail(l) });
  let crashes = 0;
  return {
    backend: new FileBackend(opts(join(dir, "live"))),
    // Every write resolved is fsynced and atomic: the directory as it is now is what a crash leaves.
    afterCrash: async () => {
      const copy = join(dir, `crash-${++crashes}`);
      await cp(join(dir, "live"), copy, { recursive: true });
      return new FileBackend(opts(copy));
    },
  };
});
