import type { StreamEntryView } from "../jetstream/api/context.js";
import type { CatalogDamage } from "../stores/catalog-types.js";

/**
 * What the monitoring side (`/jsz`, `/metrics`) reads of a running JetStream: its streams and
 * consumers as the `$JS.API` handlers see them, and its API counters. Read in place at scrape time
 * rather than through `$JS.API` requests, so that scraping does not itself count as API traffic or
 * as routed messages (nats-server's `/jsz` reads its own state too).
 */
export interface JetStreamView {
  readonly streams: ReadonlyMap<string, StreamEntryView>;
  readonly apiTotal: number;
  readonly apiErrors: number;
  /** `$JS.API` requests dropped unanswered because too many were in flight. */
  readonly apiDropped: number;
  readonly opts: { readonly storeDir: string; readonly domain?: string | undefined };
  /** Streams and consumers on disk not loaded at start because their files are damaged (left as they are). */
  readonly unloaded: readonly CatalogDamage[];
  /** Metadata writes (consumer state) that failed since start; each is retried. */
  readonly metadataWriteErrors: number;
  /**
   * Called with the duration of every durable batch write a file stream's store makes (one call
   * per batch, not per message); null when nobody is watching.
   */
  fsyncObserver: ((seconds: number) => void) | null;
}
