import { normalizeConsumerConfig } from "../consumer-config.js";
import { jsError } from "../errors.js";
import type { ApiContext, ApiResponse, ConsumerAction } from "./context.js";
import { CONSUMER_NAMES_REQUEST, CREATE_CONSUMER_REQUEST, decodeApiBody, isEmptyRequest } from "./request-schema.js";

const T = "io.nats.jetstream.api.v1.";
/** Page sizes of CONSUMER.NAMES and CONSUMER.LIST (nats-server JSApiNamesLimit / JSApiListLimit). */
export const CONSUMER_NAMES_PAGE = 1024;
export const CONSUMER_LIST_PAGE = 256;

/**
 * CONSUMER.CREATE.<stream> (ephemeral), CONSUMER.CREATE.<stream>.<name>[.<filter>] and
 * CONSUMER.DURABLE.CREATE.<stream>.<durable>, with nats-server's checks between subject and body,
 * in its order (`jsConsumerCreateRequest`): the whole body is decoded first. `t` are the
 * subject's tokens after `$JS.API.`.
 */
export async function create(ctx: ApiContext, t: string[], body: Buffer): Promise<ApiResponse> {
  const type = `${T}consumer_create_response`;
  const d = decodeApiBody(body, CREATE_CONSUMER_REQUEST);
  if ("error" in d) return { type, error: d.error };
  let streamName: string;
  let consumerName = "";
  let filter = "";
  let kind: "ephemeral" | "durable" | "named";
  if (t[1] === "DURABLE") {
    kind = "durable";
    if (t.length !== 5) return { type, error: jsError("ConsumerDurableNameNotInSubject") };
    streamName = t[3] as string;
    consumerName = t[4] as string;
  } else if (t.length === 3) {
    kind = "ephemeral";
    streamName = t[2] as string;
  } else {
    kind = "named";
    streamName = t[2] as string;
    consumerName = t[3] as string;
    if (t.length > 4) filter = t.slice(4).join(".");
  }
  const req = d.ok;
  if ((req.stream_name ?? "") !== streamName) return { type, error: jsError("StreamMismatch") };
  // A missing or null config is Go's zero ConsumerConfig: an ephemeral with every default.
  const cfgIn = { ...(req.config ?? {}) };
  if (consumerName !== "" && /[\\/]/.test(consumerName)) return { type, error: jsError("ConsumerNameContainsPathSeparators") };
  const durable = cfgIn.durable_name ?? "";
  if (kind === "durable") {
    if (durable === "") return { type, error: jsError("ConsumerDurableNameNotSet") };
    if (durable !== consumerName) return { type, error: jsError("ConsumerDurableNameNotMatchSubject") };
  } else if (kind === "named") {
    if (durable !== "" && durable !== consumerName) return { type, error: jsError("ConsumerDurableNameNotMatchSubject") };
    cfgIn.name = consumerName;
  } else if (durable !== "") return { type, error: jsError("ConsumerEphemeralWithDurableName") };
  if (filter !== "" && cfgIn.filter_subject !== filter) return { type, error: jsError("ConsumerCreateFilterSubjectMismatch") };
  if ((cfgIn.num_replicas ?? 0) > 1) return { type, error: jsError("StreamReplicasNotSupported") };
  const entry = ctx.streams.get(streamName);
  if (entry === undefined) return { type, error: jsError("StreamNotFound") };
  // An update of a durable consumer by name without its durable_name keeps it durable. nats-server
  // 2.9.10 takes the config as sent and prints it without durable_name, but keeps the consumer's
  // files; taken as sent here, the update made it ephemeral (a 5 s inactive_threshold) and its
  // files were no longer those of a durable at the next start, so it was not loaded.
  if (kind === "named" && durable === "" && entry.consumers.get(consumerName)?.config.durable_name === consumerName) cfgIn.durable_name = consumerName;
  const cfg = normalizeConsumerConfig(cfgIn, entry.stream.config);
  if ("err_code" in cfg) return { type, error: cfg };
  const action: ConsumerAction = req.action ?? "";
  const r = await ctx.createConsumer(streamName, cfg, action);
  if ("err_code" in r) return { type, error: r };
  return { type, ...r.info() };
}

/** CONSUMER.INFO.<stream>.<consumer>: nats-server wants no body. */
export function info(ctx: ApiContext, stream: string, name: string, body: Buffer): ApiResponse {
  const type = `${T}consumer_info_response`;
  if (!isEmptyRequest(body)) return { type, error: jsError("NotEmptyRequest") };
  const e = ctx.streams.get(stream);
  if (e === undefined) return { type, error: jsError("StreamNotFound") };
  const c = e.consumers.get(name);
  if (c === undefined) return { type, error: jsError("ConsumerNotFound") };
  return { type, ...c.info() };
}

/** CONSUMER.NAMES.<stream> and CONSUMER.LIST.<stream>, paged by `offset`. */
export function names(ctx: ApiContext, stream: string, body: Buffer, list: boolean): ApiResponse {
  const type = `${T}${list ? "consumer_list_response" : "consumer_names_response"}`;
  let offset = 0;
  if (!isEmptyRequest(body)) {
    const d = decodeApiBody(body, CONSUMER_NAMES_REQUEST);
    // nats-server's paged responses print their paging and (empty) list with an error too.
    if ("error" in d) return { type, error: d.error, total: 0, offset: 0, limit: 0, consumers: [] };
    // nats-server 2.10 takes a negative offset as 0.
    offset = Math.max(0, d.ok.offset ?? 0);
  }
  const e = ctx.streams.get(stream);
  if (e === undefined) return { type, error: jsError("StreamNotFound"), total: 0, offset: 0, limit: 0, consumers: [] };
  const all = [...e.consumers.keys()].sort();
  offset = Math.min(offset, all.length);
  const limit = list ? CONSUMER_LIST_PAGE : CONSUMER_NAMES_PAGE;
  const page = all.slice(offset, offset + limit);
  return list
    ? { type, total: all.length, offset, limit, consumers: page.map((n) => e.consumers.get(n)?.info()) }
    : { type, total: all.length, offset, limit, consumers: page };
}

/** CONSUMER.DELETE.<stream>.<consumer>: nats-server wants no body. */
export async function remove(ctx: ApiContext, stream: string, name: string, body: Buffer): Promise<ApiResponse> {
  const type = `${T}consumer_delete_response`;
  if (!isEmptyRequest(body)) return { type, error: jsError("NotEmptyRequest") };
  if (!ctx.streams.has(stream)) return { type, error: jsError("StreamNotFound") };
  return (await ctx.deleteConsumer(stream, name)) ? { type, success: true } : { type, error: jsError("ConsumerNotFound") };
}
