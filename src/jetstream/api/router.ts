import { jsError, type JsErrorName } from "../errors.js";
import type { ApiContext, ApiResponse } from "./context.js";
import * as consumers from "./consumers.js";
import * as streams from "./streams.js";

const T = "io.nats.jetstream.api.v1.";

/** The error a request answers when its handler fails inside (a store error, a broken invariant). */
function serverErrorOf(t: readonly string[]): { type: string; name: JsErrorName } {
  const [a, b, c] = t;
  if (a === "STREAM" && b === "CREATE") return { type: `${T}stream_create_response`, name: "StreamCreate" };
  if (a === "STREAM" && b === "UPDATE") return { type: `${T}stream_update_response`, name: "StreamUpdate" };
  if (a === "STREAM" && b === "DELETE") return { type: `${T}stream_delete_response`, name: "StreamDelete" };
  if (a === "STREAM" && b === "PURGE") return { type: `${T}stream_purge_response`, name: "StreamGeneralError" };
  if (a === "STREAM" && b === "MSG" && c === "DELETE") return { type: `${T}stream_msg_delete_response`, name: "StreamMsgDeleteFailed" };
  if (a === "CONSUMER" && (b === "CREATE" || b === "DURABLE")) return { type: `${T}consumer_create_response`, name: "ConsumerCreate" };
  return { type: `${T}error_response`, name: "StreamGeneralError" };
}

/**
 * Answer one `$JS.API.<...>` request. A handler that throws (a store I/O error, say) is answered
 * as the server-side failure it is, a 500 with that request's response type and the error's
 * message, never as a bad request and never without an answer.
 */
export async function handleApi(ctx: ApiContext, subject: string, body: Buffer): Promise<ApiResponse> {
  const t = subject.split(".").slice(2); // drop "$JS", "API"
  try {
    return await dispatch(ctx, t, body);
  } catch (err) {
    const { type, name } = serverErrorOf(t);
    return { type, error: jsError(name, { err: err instanceof Error ? err.message : String(err) }) };
  }
}

async function dispatch(ctx: ApiContext, t: string[], body: Buffer): Promise<ApiResponse> {
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
        case "INFO": return streams.info(ctx, c, body);
        case "DELETE": return streams.remove(ctx, c, body);
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
      if (b === "INFO") return consumers.info(ctx, c, d, body);
      if (b === "DELETE") return consumers.remove(ctx, c, d, body);
    }
  }
  return { error: jsError("BadRequest") };
}
