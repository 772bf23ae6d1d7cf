import type { BackendOptions, StoreBackends } from "./catalog-types.js";
import { FileBackend } from "./file/file-backend.js";
import { MemoryBackend } from "./memory/memory-backend.js";

/**
 * The backends a JetStream serves streams from: the file backend under `opts.storeDir` and the
 * memory backend. The one place above `stores/` that names a backend: JetStream takes these (or
 * others a caller hands it, as tests do) and knows them only by their interfaces.
 */
export function openBackends(opts: BackendOptions): StoreBackends {
  return { file: new FileBackend(opts), memory: new MemoryBackend() };
}
