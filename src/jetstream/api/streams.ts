import { jsError, type JsApiError } from "../errors.js";
import { nsToIso, stateJson, type StateDetails } from "../json.js";
import { subjectsOverlap } from "../overlap.js";
import { STREAM_CONFIG_FIELDS, hasPathSeparator, normalizeStreamConfig } from "../stream-config.js";
import type { ApiContext, ApiResponse, StreamEntryView } from "./context.js";
import { MSG_DELETE_REQUEST, MSG_GET_REQUEST, PURGE_REQUEST, STREAM_INFO_REQUEST, STREAM_NAMES_REQUEST, decodeApiBody, isEmptyRequest } from "./request-schema.js";

const T = "io.nats.jetstream.api.v1.";
/** Page sizes of STREAM.NAMES and STREAM.LIST (nats-server JSApiNamesLimit / JSApiListLimit). */
export const STREAM_NAMES_PAGE = 1024;
export const STREAM_LIST_PAGE = 256;
/** Subjects per page of `STREAM.INFO` with `subjects_filter` (nats-server JSMaxSubjectDetails). */
export const STREAM_INFO_SUBJECTS_PAGE = 100_000;
/**
 * Most deleted sequences `STREAM.INFO` with `deleted_details` lists (cuebus's own bound; nats-server
 * lists all, however many): past it the list is cut, `num_deleted` still counts them all.
 */
export const STREAM_INFO_MAX_DELETED = 100_000;

/*
 * Each handler follows its nats-server counterpart (`server/jetstream_api.go`) step by step: the
 * body is decoded, field by field, before the stream is looked up or anything changes, so a
 * malformed request is answered `invalid JSON` whether or not the stream exists.
 */

/** `config`, `created` and `state` of a stream, as info responses carry them. */
export function streamInfo(e: StreamEntryView, details: StateDetails = {}): ApiResponse {
  const s = e.stream;
  return { config: s.config, created: nsToIso(BigInt(s.created.getTime()) * 1_000_000n), state: stateJson(s.store.state(), e.consumers.size, details) };
}

/** STREAM.CREATE / STREAM.UPDATE. */
export async function createOrUpdate(ctx: ApiContext, name: string, body: Buffer, update: boolean): Promise<ApiResponse> {
  const type = `${T}${update ? "stream_update_response" : "stream_create_response"}`;
  const d = decodeApiBody(body, STREAM_CONFIG_FIELDS);
  if ("error" in d) return { type, error: d.error };
  const req = d.ok;
  if (update) {
    const cfg = normalizeStreamConfig(req);
    if ("err_code" in cfg) return { type, error: cfg };
    if (cfg.name !== name) return { type, error: jsError("StreamMismatch") };
    // The update's checks against the current config run inside updateStream, under the stream's lock.
    const r = await ctx.updateStream(cfg);
    return "err_code" in r ? { type, error: r } : { type, ...streamInfo(r) };
  }
  if ((req.name ?? "") !== name) return { type, error: jsError("StreamMismatch") };
  if (hasPathSeparator(name)) return { type, error: jsError("StreamNameContainsPathSeparators") };
  if (req.sealed === true) return { type, error: jsError("StreamInvalidConfig", { err: "stream configuration for create can not be sealed" }) };
  if (req.mirror_direct === true && req.mirror === undefined) return { type, error: jsError("StreamInvalidConfig", { err: "stream has no mirror but does have mirror direct" }) };
  const cfg = normalizeStreamConfig(req);
  if ("err_code" in cfg) return { type, error: cfg };
  if (cfg.num_replicas > 1) return { type, error: jsError("StreamReplicasNotSupported") };
  const r = await ctx.createStream(cfg);
  if ("err_code" in r) return { type, error: r };
  // nats-server 2.9.10 answers did_create: true for an idempotent create too.
  return { type, ...streamInfo(r.entry), did_create: true };
}

/**
 * STREAM.INFO, with `deleted_details` (the deleted sequences) and `subjects_filter` (message
 * counts of the subjects matching it, sorted and paged by `offset`), as nats-server 2.9.10's
 * jsStreamInfoRequest: the paging fields stay 0 unless some subject matched.
 */
export function info(ctx: ApiContext, name: string, body: Buffer): ApiResponse {
  const type = `${T}stream_info_response`;
  let deletedDetails = false;
  let filter = "";
  let offset = 0;
  if (!isEmptyRequest(body)) {
    const d = decodeApiBody(body, STREAM_INFO_REQUEST);
    if ("error" in d) return { type, error: d.error, total: 0, offset: 0, limit: 0 };
    deletedDetails = d.ok.deleted_details ?? false;
    filter = d.ok.subjects_filter ?? "";
    // nats-server 2.9.10 fails on a negative offset (slice bounds); 2.10 takes it as 0.
    offset = Math.max(0, d.ok.offset ?? 0);
  }
  const e = ctx.streams.get(name);
  if (e === undefined) return { type, error: jsError("StreamNotFound"), total: 0, offset: 0, limit: 0 };
  const details: StateDetails = {};
  if (deletedDetails) details.deleted = e.stream.store.deletedSequences(STREAM_INFO_MAX_DELETED);
  const paging = { total: 0, offset: 0, limit: 0 };
  if (filter !== "") {
    // The store keeps a count per subject: this costs the subjects, not the messages.
    const counts = e.stream.store.subjects(filter);
    if (counts.size > 0) {
      const sorted = [...counts.keys()].sort();
      offset = Math.min(offset, sorted.length);
      const page = sorted.slice(offset, offset + STREAM_INFO_SUBJECTS_PAGE);
      // nats-server leaves the map out when the page is empty (offset past the end).
      if (page.length > 0) details.subjects = Object.fromEntries(page.map((s) => [s, counts.get(s) as number]));
      paging.total = counts.size;
      paging.offset = offset;
      paging.limit = STREAM_INFO_SUBJECTS_PAGE;
    }
  }
  return { type, ...paging, ...streamInfo(e, details) };
}

/** STREAM.NAMES (optionally filtered by `subject`) and STREAM.LIST, paged by `offset`. */
export function names(ctx: ApiContext, body: Buffer, list: boolean): ApiResponse {
  const type = `${T}${list ? "stream_list_response" : "stream_names_response"}`;
  let offset = 0;
  let subject = "";
  if (!isEmptyRequest(body)) {
    const d = decodeApiBody(body, STREAM_NAMES_REQUEST);
    // nats-server's paged responses print their paging and (empty) list with an error too.
    if ("error" in d) return { type, error: d.error, total: 0, offset: 0, limit: 0, streams: list ? [] : null };
    // nats-server 2.10 takes a negative offset as 0 (2.9.10 stops answering).
    offset = Math.max(0, d.ok.offset ?? 0);
    subject = d.ok.subject ?? "";
  }
  const all = [...ctx.streams.values()]
    .filter((e) => subject === "" || e.stream.config.subjects.some((s) => subjectsOverlap(subject, s)))
    .sort((a, c) => (a.stream.name < c.stream.name ? -1 : 1));
  offset = Math.min(offset, all.length);
  const limit = list ? STREAM_LIST_PAGE : STREAM_NAMES_PAGE;
  const page = all.slice(offset, offset + limit);
  if (list) return { type, total: all.length, offset, limit, streams: page.map((x) => streamInfo(x)) };
  // nats-server prints an empty page of names as null.
  return { type, total: all.length, offset, limit, streams: page.length === 0 ? null : page.map((e) => e.stream.name) };
}

/** STREAM.DELETE. */
export async function remove(ctx: ApiContext, name: string, body: Buffer): Promise<ApiResponse> {
  const type = `${T}stream_delete_response`;
  if (!isEmptyRequest(body)) return { type, error: jsError("NotEmptyRequest") };
  return (await ctx.deleteStream(name)) ? { type, success: true } : { type, error: jsError("StreamNotFound") };
}

/** STREAM.PURGE with `filter`, `seq`, `keep` (ADR-10). nats-server prints `purged` with an error too. */
export async function purge(ctx: ApiContext, name: string, body: Buffer): Promise<ApiResponse> {
  const type = `${T}stream_purge_response`;
  const refuse = (error: JsApiError): ApiResponse => ({ type, error, purged: 0 });
  const req: { filter?: string; seq?: number; keep?: number } = {};
  if (!isEmptyRequest(body)) {
    const d = decodeApiBody(body, PURGE_REQUEST);
    if ("error" in d) return refuse(d.error);
    const { filter = "", seq = 0, keep = 0 } = d.ok;
    if (seq > 0 && keep > 0) return refuse(jsError("BadRequest"));
    if (filter !== "") req.filter = filter;
    if (seq > 0) req.seq = seq;
    if (keep > 0) req.keep = keep;
  }
  const e = ctx.streams.get(name);
  if (e === undefined) return refuse(jsError("StreamNotFound"));
  if (e.stream.config.sealed) return refuse(jsError("StreamSealed"));
  if (e.stream.config.deny_purge) return refuse(jsError("StreamPurgeFailed", { err: "stream purge not permitted" }));
  const purged = await ctx.purgeStream(name, req);
  return { type, success: true, purged };
}

/** STREAM.MSG.GET by `seq`, `last_by_subj`, or `next_by_subj` from `seq`. */
export async function msgGet(ctx: ApiContext, name: string, body: Buffer): Promise<ApiResponse> {
  const type = `${T}stream_msg_get_response`;
  if (isEmptyRequest(body)) return { type, error: jsError("BadRequest") };
  const d = decodeApiBody(body, MSG_GET_REQUEST);
  if ("error" in d) return { type, error: d.error };
  const { seq = 0, last_by_subj: last = "", next_by_subj: next = "" } = d.ok;
  if ((seq > 0 && last !== "") || (seq === 0 && last === "" && next === "")) return { type, error: jsError("BadRequest") };
  if (last !== "" && next !== "") return { type, error: jsError("BadRequest") };
  const e = ctx.streams.get(name);
  if (e === undefined) return { type, error: jsError("StreamNotFound") };
  const store = e.stream.store;
  const m = next !== "" ? await store.loadNext(next, Math.max(1, seq)) : seq > 0 ? await store.load(seq) : await store.loadLast(last);
  if (m === null) return { type, error: jsError("NoMessageFound") };
  const message: Record<string, unknown> = { subject: m.subject, seq: m.seq };
  if (m.headers !== null) message["hdrs"] = m.headers.toString("base64");
  // nats-server's StoredMsg has `data,omitempty`: a KV delete marker's reply has no `data`.
  if (m.data.length > 0) message["data"] = m.data.toString("base64");
  message["time"] = nsToIso(m.timeNs);
  return { type, message };
}

/** STREAM.MSG.DELETE (`no_erase` is accepted; cuebus removes without overwriting either way). */
export async function msgDelete(ctx: ApiContext, name: string, body: Buffer): Promise<ApiResponse> {
  const type = `${T}stream_msg_delete_response`;
  if (isEmptyRequest(body)) return { type, error: jsError("BadRequest") };
  const d = decodeApiBody(body, MSG_DELETE_REQUEST);
  if ("error" in d) return { type, error: d.error };
  const seq = d.ok.seq ?? 0;
  const e = ctx.streams.get(name);
  if (e === undefined) return { type, error: jsError("StreamNotFound") };
  if (e.stream.config.sealed) return { type, error: jsError("StreamSealed") };
  if (e.stream.config.deny_delete) return { type, error: jsError("StreamMsgDeleteFailed", { err: "message delete not permitted" }) };
  // A sequence that is not there is answered as nats-server 2.9.10's stores answer it: its memory
  // store always with 10043 "sequence N not found"; its file store so only inside first..last, and
  // otherwise with "no message found" (0, below the first) or "stream store EOF" (past the last).
  if (e.stream.config.storage === "file") {
    const st = e.stream.store.state();
    if (seq === 0 || (seq < st.firstSeq && seq <= st.lastSeq)) return { type, error: jsError("StreamMsgDeleteFailed", { err: "no message found" }) };
    if (seq > st.lastSeq) return { type, error: jsError("StreamMsgDeleteFailed", { err: "stream store EOF" }) };
  }
  if (seq === 0 || !(await e.stream.store.remove(seq))) return { type, error: jsError("SequenceNotFound", { seq }) };
  return { type, success: true };
}
