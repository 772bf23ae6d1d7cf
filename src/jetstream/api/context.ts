import type { PurgeRequest } from "../../stores/types.js";
import type { Consumer } from "../consumer.js";
import type { ConsumerConfig } from "../consumer-config.js";
import type { JsApiError } from "../errors.js";
import type { Stream } from "../stream.js";
import type { StreamConfig } from "../stream-config.js";

/** A stream and its consumers, as the handlers see them. */
export interface StreamEntryView {
  readonly stream: Stream;
  readonly consumers: ReadonlyMap<string, Consumer>;
}

/** How a consumer create request may treat an existing consumer (nats-server 2.10 `action`). */
export type ConsumerAction = "" | "create" | "update";

/** What the `$JS.API` handlers need of JetStream (keeps api/ free of a cycle with jetstream.ts). */
export interface ApiContext {
  readonly streams: ReadonlyMap<string, StreamEntryView>;
  readonly apiTotal: number;
  readonly apiErrors: number;
  /** The JetStream domain, when one is configured. */
  readonly domain: string | undefined;
  createStream(cfg: StreamConfig): Promise<{ entry: StreamEntryView; created: boolean } | JsApiError>;
  updateStream(cfg: StreamConfig): Promise<StreamEntryView | JsApiError>;
  deleteStream(name: string): Promise<boolean>;
  purgeStream(name: string, req: PurgeRequest): Promise<number>;
  createConsumer(stream: string, cfg: ConsumerConfig, action: ConsumerAction): Promise<Consumer | JsApiError>;
  deleteConsumer(stream: string, name: string): Promise<boolean>;
}

/** A `$JS.API` response body. */
export type ApiResponse = Record<string, unknown>;
