import type { JsApiError } from "../errors.js";
import type { Stream } from "../stream.js";
import type { StreamConfig } from "../stream-config.js";

/** What the `$JS.API` handlers need of JetStream (keeps api/ free of a cycle with jetstream.ts). */
export interface ApiContext {
  readonly streams: ReadonlyMap<string, { stream: Stream }>;
  readonly apiTotal: number;
  readonly apiErrors: number;
  createStream(cfg: StreamConfig): Promise<{ stream: Stream; created: boolean } | JsApiError>;
  updateStream(cfg: StreamConfig): Promise<Stream | JsApiError>;
  deleteStream(name: string): Promise<boolean>;
}

/** A `$JS.API` response body. */
export type ApiResponse = Record<string, unknown>;
