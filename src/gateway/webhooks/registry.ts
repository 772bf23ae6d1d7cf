import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { WebhookConfig } from "./spec.js";

/** The registrations file, under the JetStream store directory. */
export const WEBHOOKS_FILE = join("gateway", "webhooks.json");
const FORMAT_VERSION = 1;

/**
 * Webhook registrations on disk, `<storeDir>/gateway/webhooks.json`: `{"version":1,"webhooks":[..]}`
 * with each webhook's secret, written whole to a temporary file then renamed into place (a crash
 * leaves the old file or the new one, never half of one), mode 0600 because it holds secrets.
 * Without a store directory registrations live in memory only. The durable consumers themselves
 * are JetStream's and survive restarts on their own.
 */
export class WebhookRegistry {
  private writing: Promise<void> = Promise.resolve();

  constructor(private readonly storeDir: string | undefined) {}

  /** The registrations saved before; none when there is no file yet. A corrupt file is an error. */
  async load(): Promise<WebhookConfig[]> {
    if (this.storeDir === undefined) return [];
    let text: string;
    try {
      text = await readFile(join(this.storeDir, WEBHOOKS_FILE), "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw err;
    }
    let doc: { version?: unknown; webhooks?: unknown };
    try {
      doc = JSON.parse(text) as { version?: unknown; webhooks?: unknown };
    } catch (err) {
      // Refuse to start rather than silently forget every registration (and their secrets).
      throw new Error(`${join(this.storeDir, WEBHOOKS_FILE)} is not JSON: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (doc.version !== FORMAT_VERSION || !Array.isArray(doc.webhooks)) throw new Error(`${WEBHOOKS_FILE}: not a version ${FORMAT_VERSION} webhooks file`);
    return doc.webhooks as WebhookConfig[];
  }

  /** Save all registrations; writes are serialized, so the last call's list is what stays on disk. */
  save(all: WebhookConfig[]): Promise<void> {
    if (this.storeDir === undefined) return Promise.resolve();
    const dir = join(this.storeDir, "gateway");
    const path = join(this.storeDir, WEBHOOKS_FILE);
    const text = JSON.stringify({ version: FORMAT_VERSION, webhooks: all }, null, 2);
    const next = this.writing.then(async () => {
      await mkdir(dir, { recursive: true });
      await writeFile(`${path}.tmp`, text, { mode: 0o600 });
      await rename(`${path}.tmp`, path);
    });
    // A failed write is reported to its caller; the next write starts afresh.
    this.writing = next.catch(() => {});
    return next;
  }

  /** Wait for the writes in progress. */
  flush(): Promise<void> {
    return this.writing;
  }
}
