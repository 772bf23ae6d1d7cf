import { jsError, type JsErrorName } from "../errors.js";
import type { ApiContext, ApiResponse } from "./context.js";
import * as consumers from "./consumers.js";
import * as streams from "./streams.js";

const T = "io.nats.jetstream.api.v1.";

/** Response types by the subject's first tokens after `$JS.API.`. */
const RESPONSE_TYPES: Readonly<Record<string, string>> = {
  "STREAM.CREATE": "stream_create_response",
  "STREAM.UPDATE": "stream_update_response",
  "STREAM.DELETE": "stream_delete_response",
  "STREAM.INFO": "stream_info_response",
  "STREAM.NAMES": "stream_names_response",
  "STREAM.LIST": "stream_list_response",
  "STREAM.PURGE": "stream_purge_response",
  "STREAM.MSG": "stream_msg_get_response",
  "CONSUMER.CREATE": "consumer_create_response",
  "CONSUMER.DURABLE": "consumer_create_response",
  "CONSUMER.INFO": "consumer_info_response",
  "CONSUMER.NAMES": "consumer_names_response",
  "CONSUMER.LIST": "consumer_list_response",
  "CONSUMER.DELETE": "consumer_delete_response",
};

/**
 * The error a request answers when its handler fails inside (a store error, a broken invariant):
 * always an err_code only server-side failures use (10049 create, 10069 update, 10050 delete,
 * 10051 the rest), so the HTTP gateway can tell them from bad input by err_code alone.
 */
function serverErrorOf(t: readonly string[]): { type: string; name: JsErrorName } {
  const key = `${t[0]}.${t[1]}`;
  let type = RESPONSE_TYPES[key] ?? "error_response";
  if (key === "STREAM.MSG" && t[2] === "DELETE") type = "stream_msg_delete_response";
  const name: JsErrorName = key === "STREAM.CREATE" ? "StreamCreate" : key === "STREAM.UPDATE" ? "StreamUpdate" : key === "STREAM.DELETE" ? "StreamDelete" : "StreamGeneralError";
  return { type: `${T}${type}`, name };
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
    const error = jsError(name, { err: err instanceof Error ? err.message : String(err) });
    // nats-server prints a purge's count with its errors too.
    return type.endsWith("stream_purge_response") ? { type, error, purged: 0 } : { type, error };
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
      // nats-server puts the domain between limits and api, and leaves it out when there is none.
      ...(ctx.domain !== undefined ? { domain: ctx.domain } : {}),
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
