import { jsError } from "../errors.js";
import type { ApiContext, ApiResponse } from "./context.js";
import * as consumers from "./consumers.js";
import * as streams from "./streams.js";

const T = "io.nats.jetstream.api.v1.";

/** Dispatch one `$JS.API.<...>` request to its handler. */
export async function handleApi(ctx: ApiContext, subject: string, body: Buffer): Promise<ApiResponse> {
  const t = subject.split(".").slice(2); // drop "$JS", "API"
  const [a, b, c, d] = t;
  if (a === "INFO" && t.length === 1) {
    let streamCount = 0;
    let consumerCount = 0;
    let storage = 0;
    let memory = 0;
    for (const e of ctx.streams.values()) {
      streamCount++;
      consumerCount += e.consumers.size;
      if (e.stream.config.storage === "memory") memory += e.stream.store.state().bytes;
      else storage += e.stream.store.state().bytes;
    }
    return {
      type: `${T}account_info_response`,
      memory,
      storage,
      streams: streamCount,
      consumers: consumerCount,
      limits: { max_memory: -1, max_storage: -1, max_streams: -1, max_consumers: -1, max_ack_pending: -1, memory_max_stream_bytes: -1, storage_max_stream_bytes: -1, max_bytes_required: false },
      api: { total: ctx.apiTotal, errors: ctx.apiErrors },
    };
  }
  if (a === "STREAM") {
    if (b === "NAMES" && t.length === 2) return streams.names(ctx, body, false);
    if (b === "LIST" && t.length === 2) return streams.names(ctx, body, true);
    if (c !== undefined && t.length === 3) {
      switch (b) {
        case "CREATE": return streams.createOrUpdate(ctx, c, body, false);
        case "UPDATE": return streams.createOrUpdate(ctx, c, body, true);
        case "INFO": return streams.info(ctx, c);
        case "DELETE": return streams.remove(ctx, c);
        case "PURGE": return streams.purge(ctx, c, body);
        default: break;
      }
    }
    if (b === "MSG" && d !== undefined && t.length === 4) {
      if (c === "GET") return streams.msgGet(ctx, d, body);
      if (c === "DELETE") return streams.msgDelete(ctx, d, body);
    }
  }
  if (a === "CONSUMER") {
    if (b === "CREATE" && t.length >= 3) return consumers.create(ctx, t, body);
    if (b === "DURABLE" && c === "CREATE") return consumers.create(ctx, t, body);
    if (c !== undefined && t.length === 3) {
      if (b === "NAMES") return consumers.names(ctx, c, body, false);
      if (b === "LIST") return consumers.names(ctx, c, body, true);
    }
    if (c !== undefined && d !== undefined && t.length === 4) {
      if (b === "INFO") return consumers.info(ctx, c, d);
      if (b === "DELETE") return consumers.remove(ctx, c, d);
    }
  }
  return { error: jsError("BadRequest") };
}
