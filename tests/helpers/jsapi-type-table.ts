import type { Kind, Schema } from "../../src/jetstream/api/go-decode.js";
import {
  CONSUMER_NAMES_REQUEST,
  CREATE_CONSUMER_REQUEST,
  DLQ_REPLAY_REQUEST,
  MSG_DELETE_REQUEST,
  MSG_GET_REQUEST,
  PULL_REQUEST,
  PURGE_REQUEST,
  STREAM_INFO_REQUEST,
  STREAM_NAMES_REQUEST,
} from "../../src/jetstream/api/request-schema.js";
import { CONSUMER_CONFIG_FIELDS } from "../../src/jetstream/consumer-config.js";
import { STREAM_CONFIG_FIELDS } from "../../src/jetstream/stream-config.js";

/**
 * The wrongly typed values of issue 14's table: for every field of every JetStream request, a
 * string, a boolean, a float, an array, an object and an out-of-range number, as far as each is
 * wrong for the field's Go type. Generated from the request schemas themselves, so no field is
 * left out; the comparison suite sends the same table to nats-server, which catches a schema
 * that calls a field by the wrong type.
 */
export function wrongValues(kind: Kind): string[] {
  switch (kind.kind) {
    case "string":
      return ["5", "true", "1.5", '["x"]', '{"x":1}'];
    case "bool":
      return ['"true"', "1", "1.5", "[true]", "{}"];
    case "int": {
      const out = ['"1"', "true", "1.5", "1e3", "[1]", "{}"];
      if (kind.type === "uint64") out.push("-1", "18446744073709551616");
      else if (kind.type === "int32") out.push("2147483648");
      else out.push("9223372036854775808");
      return out;
    }
    case "enum":
      return ['"bogus"', "5", "true", '["x"]', "{}", "null"];
    case "time":
      return ['"yesterday"', "5", "true", '["x"]', "{}"];
    case "array":
      return ['"x"', "5", "true", "{}", `[${wrongValues(kind.of)[0] as string}]`];
    case "map":
      return ['"x"', "5", "true", "[]", '{"k":5}'];
    case "struct":
      return ['"x"', "5", "true", "1.5", "[]"];
  }
}

/** Fields nats-server 2.9.10 (the oracle on this machine) does not know: it ignores them; we follow 2.10. */
export const NEWER_THAN_ORACLE = new Set(["metadata", "filter_subjects", "action"]);

/** One row: a request whose body has one wrongly typed field. */
export interface TableRow {
  /** Subject after `$JS.API.` (or a full subject for cuebus's own API). */
  subject: string;
  body: string;
  field: string;
  /** What must not change: re-read before and after. */
  watch: "streams" | "stream" | "consumers" | "none";
  /** nats-server 2.9.10 knows the field, so it can be asked too. */
  oracle: boolean;
}

const splice = (prefix: string, field: string, value: string): string => `${prefix}${prefix.endsWith("{") ? "" : ","}${JSON.stringify(field)}:${value}}`;

function rows(fields: Schema, subject: string, prefix: string, watch: TableRow["watch"], path = "", oracle = true): TableRow[] {
  const out: TableRow[] = [];
  for (const [field, kind] of Object.entries(fields)) {
    for (const v of wrongValues(kind)) {
      out.push({ subject, body: splice(prefix, field, v), field: `${path}${field}`, watch, oracle: oracle && !NEWER_THAN_ORACLE.has(field) });
    }
  }
  return out;
}

/**
 * Every `$JS.API` request that takes a JSON body, each field wrongly typed in turn. Expects a
 * stream `S` (subjects `s.>`, some messages) and a durable pull consumer `d` on it (explicit acks).
 * A consumer config body closes both braces: `{"stream_name":"S","config":{...}}`.
 */
export function apiTable(): TableRow[] {
  const consumer = (subject: string, prefix: string): TableRow[] =>
    rows(CONSUMER_CONFIG_FIELDS, subject, prefix, "consumers", "config.").map((r) => ({ ...r, body: `${r.body}}` }));
  return [
    ...rows(STREAM_CONFIG_FIELDS, "STREAM.CREATE.T", '{"name":"T","subjects":["t.>"]', "streams"),
    ...rows(STREAM_CONFIG_FIELDS, "STREAM.UPDATE.S", '{"name":"S","subjects":["s.>"]', "stream"),
    ...rows(PURGE_REQUEST, "STREAM.PURGE.S", "{", "stream"),
    ...rows(MSG_GET_REQUEST, "STREAM.MSG.GET.S", "{", "stream"),
    ...rows(MSG_DELETE_REQUEST, "STREAM.MSG.DELETE.S", '{"seq":1', "stream"),
    ...rows(STREAM_NAMES_REQUEST, "STREAM.NAMES", "{", "none"),
    ...rows(STREAM_NAMES_REQUEST, "STREAM.LIST", "{", "none"),
    ...rows(STREAM_INFO_REQUEST, "STREAM.INFO.S", "{", "none"),
    ...rows(CREATE_CONSUMER_REQUEST, "CONSUMER.CREATE.S", '{"stream_name":"S","config":{}', "consumers"),
    ...consumer("CONSUMER.CREATE.S", '{"stream_name":"S","config":{'),
    ...consumer("CONSUMER.CREATE.S.n", '{"stream_name":"S","config":{"name":"n"'),
    ...consumer("CONSUMER.DURABLE.CREATE.S.d", '{"stream_name":"S","config":{"durable_name":"d","ack_policy":"explicit"'),
    ...rows(CONSUMER_NAMES_REQUEST, "CONSUMER.NAMES.S", "{", "none"),
    ...rows(CONSUMER_NAMES_REQUEST, "CONSUMER.LIST.S", "{", "none"),
  ];
}

/** Pull requests (`CONSUMER.MSG.NEXT.S.d`): answered by a `400 Bad Request - ...` status, nothing delivered. */
export function pullTable(): string[] {
  return Object.entries(PULL_REQUEST).flatMap(([field, kind]) => wrongValues(kind).map((v) => `{${JSON.stringify(field)}:${v}}`));
}

/** Direct gets (`DIRECT.GET.S`): answered by nats-server's `408 Malformed Request`. */
export function directGetTable(): string[] {
  return Object.entries(MSG_GET_REQUEST).flatMap(([field, kind]) => wrongValues(kind).map((v) => `{${JSON.stringify(field)}:${v}}`));
}

/** cuebus's dead-letter replay request. */
export function dlqReplayTable(): string[] {
  return Object.entries(DLQ_REPLAY_REQUEST).flatMap(([field, kind]) => wrongValues(kind).map((v) => `{${JSON.stringify(field)}:${v}}`));
}
