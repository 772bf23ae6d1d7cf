import { MemoryStore } from "../../../src/stores/memory/memory-store.js";
import { storeConformance } from "./conformance.js";

storeConformance("memory store", { create: async (limits) => new MemoryStore(limits) });
