import { jsError, type JsApiError } from "../errors.js";
import { nsToIso, stateJson } from "../json.js";
import { normalizeStreamConfig } from "../stream-config.js";
import type { ApiContext, ApiResponse, StreamEntryView } from "./context.js";

const T = "io.nats.jetstream.api.v1.";

/** Parse a JSON request body; an empty body is `{}`. */
export function parseBody(body: Buffer): { ok: Record<string, unknown> } | { error: JsApiError } {
  if (body.length === 0) return { ok: {} };
  try {
    const v = JSON.parse(body.toString("utf8")) as unknown;
    if (typeof v === "object" && v !== null && !Array.isArray(v)) return { ok: v as Record<string, unknown> };
  } catch {
    // fall through
  }
  // nats-server 2.9.10 answers "invalid JSON" without the parser's detail.
  return { error: { ...jsError("InvalidJSON"), description: "invalid JSON" } };
}

/** `config`, `created` and `state` of a stream, as info responses carry them. */
export function streamInfo(e: StreamEntryView): ApiResponse {
  const s = e.stream;
  return { config: s.config, created: nsToIso(BigInt(s.created.getTime()) * 1_000_000n), state: stateJson(s.store.state(), e.consumers.size) };
}

/** STREAM.CREATE / STREAM.UPDATE. */
export async function createOrUpdate(ctx: ApiContext, name: string, body: Buffer, update: boolean): Promise<ApiResponse> {
  const type = `${T}${update ? "stream_update_response" : "stream_create_response"}`;
  const b = parseBody(body);
  if ("error" in b) return { type, error: b.error };
  if (typeof b.ok["name"] === "string" && b.ok["name"] !== name) return { type, error: jsError("StreamMismatch") };
  const cfg = normalizeStreamConfig({ ...b.ok, name });
  if ("err_code" in cfg) return { type, error: cfg };
  if (update) {
    const r = await ctx.updateStream(cfg);
    return "err_code" in r ? { type, error: r } : { type, ...streamInfo(r) };
  }
  const r = await ctx.createStream(cfg);
  if ("err_code" in r) return { type, error: r };
  // nats-server 2.9.10 answers did_create: true for an idempotent create too.
  return { type, ...streamInfo(r.entry), did_create: true };
}

/** STREAM.INFO. */
export function info(ctx: ApiContext, name: string): ApiResponse {
  const type = `${T}stream_info_response`;
  const e = ctx.streams.get(name);
  if (e === undefined) return { type, error: jsError("StreamNotFound"), total: 0, offset: 0, limit: 0 };
  return { type, total: 0, offset: 0, limit: 0, ...streamInfo(e) };
}

/** STREAM.NAMES (optionally filtered by `subject`) and STREAM.LIST. */
export function names(ctx: ApiContext, body: Buffer, list: boolean): ApiResponse {
  const type = `${T}${list ? "stream_list_response" : "stream_names_response"}`;
  const b = parseBody(body);
  if ("error" in b) return { type, error: b.error };
  const offset = typeof b.ok["offset"] === "number" ? b.ok["offset"] : 0;
  const subject = typeof b.ok["subject"] === "string" ? b.ok["subject"] : "";
  const all = [...ctx.streams.values()].filter((e) => subject === "" || e.stream.covers(subject)).sort((a, c) => (a.stream.name < c.stream.name ? -1 : 1));
  const limit = list ? 256 : 1024;
  const page = all.slice(offset, offset + limit);
  return list
    ? { type, total: all.length, offset, limit, streams: page.map(streamInfo) }
    : { type, total: all.length, offset, limit, streams: page.map((e) => e.stream.name) };
}

/** STREAM.DELETE. */
export async function remove(ctx: ApiContext, name: string): Promise<ApiResponse> {
  const type = `${T}stream_delete_response`;
  return (await ctx.deleteStream(name)) ? { type, success: true } : { type, error: jsError("StreamNotFound") };
}

/** STREAM.PURGE with `filter`, `seq`, `keep` (ADR-10). */
export async function purge(ctx: ApiContext, name: string, body: Buffer): Promise<ApiResponse> {
  const type = `${T}stream_purge_response`;
  const e = ctx.streams.get(name);
  if (e === undefined) return { type, error: jsError("StreamNotFound") };
  if (e.stream.config.sealed) return { type, error: jsError("StreamSealed") };
  if (e.stream.config.deny_purge) return { type, error: jsError("StreamPurgeFailed", { err: "stream purge not permitted" }), purged: 0 };
  const b = parseBody(body);
  if ("error" in b) return { type, error: b.error };
  const req: { filter?: string; seq?: number; keep?: number } = {};
  if (typeof b.ok["filter"] === "string" && b.ok["filter"] !== "") req.filter = b.ok["filter"];
  if (typeof b.ok["seq"] === "number" && b.ok["seq"] > 0) req.seq = b.ok["seq"];
  if (typeof b.ok["keep"] === "number" && b.ok["keep"] > 0) req.keep = b.ok["keep"];
  if (req.seq !== undefined && req.keep !== undefined) return { type, error: jsError("BadRequest") };
  const purged = await ctx.purgeStream(name, req);
  return { type, success: true, purged };
}

/** STREAM.MSG.GET by `seq`, `last_by_subj`, or `next_by_subj` from `seq`. */
export async function msgGet(ctx: ApiContext, name: string, body: Buffer): Promise<ApiResponse> {
  const type = `${T}stream_msg_get_response`;
  const e = ctx.streams.get(name);
  if (e === undefined) return { type, error: jsError("StreamNotFound") };
  const b = parseBody(body);
  if ("error" in b) return { type, error: b.error };
  const seq = typeof b.ok["seq"] === "number" ? b.ok["seq"] : 0;
  const last = typeof b.ok["last_by_subj"] === "string" ? b.ok["last_by_subj"] : "";
  const next = typeof b.ok["next_by_subj"] === "string" ? b.ok["next_by_subj"] : "";
  const store = e.stream.store;
  const m = last !== "" ? await store.loadLast(last) : next !== "" ? await store.loadNext(next, Math.max(1, seq)) : seq > 0 ? await store.load(seq) : null;
  if (last === "" && next === "" && seq <= 0) return { type, error: jsError("BadRequest") };
  if (m === null) return { type, error: jsError("NoMessageFound") };
  const message: Record<string, unknown> = { subject: m.subject, seq: m.seq };
  if (m.headers !== null) message["hdrs"] = m.headers.toString("base64");
  message["data"] = m.data.toString("base64");
  message["time"] = nsToIso(m.timeNs);
  return { type, message };
}

/** STREAM.MSG.DELETE. */
export async function msgDelete(ctx: ApiContext, name: string, body: Buffer): Promise<ApiResponse> {
  const type = `${T}stream_msg_delete_response`;
  const e = ctx.streams.get(name);
  if (e === undefined) return { type, error: jsError("StreamNotFound") };
  if (e.stream.config.sealed) return { type, error: jsError("StreamSealed") };
  if (e.stream.config.deny_delete) return { type, error: jsError("StreamMsgDeleteFailed", { err: "message delete not permitted" }) };
  const b = parseBody(body);
  if ("error" in b) return { type, error: b.error };
  const seq = typeof b.ok["seq"] === "number" ? b.ok["seq"] : 0;
  if (seq > e.stream.store.state().lastSeq) return { type, error: jsError("StreamMsgDeleteFailed", { err: "stream store EOF" }) };
  if (!(await e.stream.store.remove(seq))) return { type, error: jsError("SequenceNotFound", { seq }) };
  return { type, success: true };
}
