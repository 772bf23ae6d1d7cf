import { normalizeConsumerConfig } from "../consumer-config.js";
import { jsError } from "../errors.js";
import type { ApiContext, ApiResponse, ConsumerAction } from "./context.js";
import { parseBody } from "./streams.js";

const T = "io.nats.jetstream.api.v1.";
/** Page sizes of CONSUMER.NAMES and CONSUMER.LIST (nats-server JSApiNamesLimit / JSApiListLimit). */
export const CONSUMER_NAMES_PAGE = 1024;
export const CONSUMER_LIST_PAGE = 256;

/**
 * CONSUMER.CREATE.<stream> (ephemeral), CONSUMER.CREATE.<stream>.<name>[.<filter>] and
 * CONSUMER.DURABLE.CREATE.<stream>.<durable>, with nats-server's checks between subject and body.
 * `t` are the subject's tokens after `$JS.API.`.
 */
export async function create(ctx: ApiContext, t: string[], body: Buffer): Promise<ApiResponse> {
  const type = `${T}consumer_create_response`;
  const b = parseBody(body);
  if ("error" in b) return { type, error: b.error };
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
  const req = b.ok;
  if (req["stream_name"] !== streamName) return { type, error: jsError("StreamMismatch") };
  const raw = req["config"];
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) return { type, error: jsError("ConsumerConfigRequired") };
  const cfgIn = { ...(raw as Record<string, unknown>) };
  if (consumerName !== "" && /[\\/]/.test(consumerName)) return { type, error: jsError("ConsumerNameContainsPathSeparators") };
  const durable = typeof cfgIn["durable_name"] === "string" && cfgIn["durable_name"] !== "" ? cfgIn["durable_name"] : "";
  if (kind === "durable") {
    if (durable === "") return { type, error: jsError("ConsumerDurableNameNotSet") };
    if (durable !== consumerName) return { type, error: jsError("ConsumerDurableNameNotMatchSubject") };
  } else if (kind === "named") {
    if (durable !== "" && durable !== consumerName) return { type, error: jsError("ConsumerDurableNameNotMatchSubject") };
    cfgIn["name"] = consumerName;
  } else if (durable !== "") return { type, error: jsError("ConsumerEphemeralWithDurableName") };
  if (filter !== "" && cfgIn["filter_subject"] !== filter) return { type, error: jsError("ConsumerCreateFilterSubjectMismatch") };
  if (typeof cfgIn["num_replicas"] === "number" && cfgIn["num_replicas"] > 1) return { type, error: jsError("StreamReplicasNotSupported") };
  const entry = ctx.streams.get(streamName);
  if (entry === undefined) return { type, error: jsError("StreamNotFound") };
  const cfg = normalizeConsumerConfig(cfgIn, entry.stream.config);
  if ("err_code" in cfg) return { type, error: cfg };
  const action: ConsumerAction = req["action"] === "create" || req["action"] === "update" ? req["action"] : "";
  const r = await ctx.createConsumer(streamName, cfg, action);
  if ("err_code" in r) return { type, error: r };
  return { type, ...r.info() };
}

/** CONSUMER.INFO.<stream>.<consumer>. */
export function info(ctx: ApiContext, stream: string, name: string): ApiResponse {
  const type = `${T}consumer_info_response`;
  const e = ctx.streams.get(stream);
  if (e === undefined) return { type, error: jsError("StreamNotFound") };
  const c = e.consumers.get(name);
  if (c === undefined) return { type, error: jsError("ConsumerNotFound") };
  return { type, ...c.info() };
}

/** CONSUMER.NAMES.<stream> and CONSUMER.LIST.<stream>, paged by `offset`. */
export function names(ctx: ApiContext, stream: string, body: Buffer, list: boolean): ApiResponse {
  const type = `${T}${list ? "consumer_list_response" : "consumer_names_response"}`;
  const b = parseBody(body);
  if ("error" in b) return { type, error: b.error };
  const e = ctx.streams.get(stream);
  if (e === undefined) return { type, error: jsError("StreamNotFound") };
  const all = [...e.consumers.keys()].sort();
  const offset = Math.min(typeof b.ok["offset"] === "number" && b.ok["offset"] > 0 ? b.ok["offset"] : 0, all.length);
  const limit = list ? CONSUMER_LIST_PAGE : CONSUMER_NAMES_PAGE;
  const page = all.slice(offset, offset + limit);
  return list
    ? { type, total: all.length, offset, limit, consumers: page.map((n) => e.consumers.get(n)?.info()) }
    : { type, total: all.length, offset, limit, consumers: page };
}

/** CONSUMER.DELETE.<stream>.<consumer>. */
export async function remove(ctx: ApiContext, stream: string, name: string): Promise<ApiResponse> {
  const type = `${T}consumer_delete_response`;
  if (!ctx.streams.has(stream)) return { type, error: jsError("StreamNotFound") };
  return (await ctx.deleteConsumer(stream, name)) ? { type, success: true } : { type, error: jsError("ConsumerNotFound") };
}
