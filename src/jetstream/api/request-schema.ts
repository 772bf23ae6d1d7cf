import { CONSUMER_CONFIG_FIELDS } from "../consumer-config.js";
import { jsError, type JsApiError } from "../errors.js";
import { parseJsonExact } from "./exact-json.js";
import { GoTypeError, bool, decodeStruct, duration, int, oneOf, str, struct, type Decoded, type Schema } from "./go-decode.js";

/**
 * The body of every `$JS.API` request cuebus reads, as nats-server's Go structs declare it
 * (`server/jetstream_api.go`; the stream and consumer configs live beside their normalizers).
 * Each handler decodes its body with one of these before it looks anything up or changes anything.
 */

/** CONSUMER.CREATE and CONSUMER.DURABLE.CREATE (CreateConsumerRequest; `action` is nats-server 2.10's). */
export const CREATE_CONSUMER_REQUEST = {
  stream_name: str,
  config: struct(CONSUMER_CONFIG_FIELDS),
  action: oneOf(["create", "update", ""] as const),
} as const satisfies Schema;

/** STREAM.PURGE (JSApiStreamPurgeRequest, ADR-10). */
export const PURGE_REQUEST = { seq: int("uint64"), filter: str, keep: int("uint64") } as const satisfies Schema;

/** STREAM.MSG.GET and DIRECT.GET (JSApiMsgGetRequest). */
export const MSG_GET_REQUEST = { seq: int("uint64"), last_by_subj: str, next_by_subj: str } as const satisfies Schema;

/** STREAM.MSG.DELETE (JSApiMsgDeleteRequest). */
export const MSG_DELETE_REQUEST = { seq: int("uint64"), no_erase: bool } as const satisfies Schema;

/** STREAM.NAMES and STREAM.LIST (JSApiStreamNamesRequest). */
export const STREAM_NAMES_REQUEST = { offset: int("int"), subject: str } as const satisfies Schema;

/** STREAM.INFO (JSApiStreamInfoRequest). */
export const STREAM_INFO_REQUEST = { offset: int("int"), deleted_details: bool, subjects_filter: str } as const satisfies Schema;

/** CONSUMER.NAMES and CONSUMER.LIST (JSApiConsumersRequest). */
export const CONSUMER_NAMES_REQUEST = { offset: int("int") } as const satisfies Schema;

/** CONSUMER.MSG.NEXT with a JSON body (JSApiConsumerGetNextRequest). */
export const PULL_REQUEST = { expires: duration, batch: int("int"), max_bytes: int("int"), no_wait: bool, idle_heartbeat: duration } as const satisfies Schema;

/** The JSON form of a `-NAK` delay (ConsumerNakOptions). */
export const NAK_REQUEST = { delay: duration } as const satisfies Schema;

/** cuebus's `$CUEBUS.API.DLQ.REPLAY.<stream>`: replay one dead letter (`seq`) or all, optionally deleting them. */
export const DLQ_REPLAY_REQUEST = { seq: int("uint64"), delete: bool } as const satisfies Schema;

/** A decoded request, or the reason it is refused (already worded for an `invalid JSON` answer). */
export type DecodeResult<S extends Schema> = { ok: Decoded<S> } | { refused: string };

/**
 * Decode a request body as nats-server unmarshals it into a struct: JSON `null` is the zero
 * struct; anything but an object is refused; so is an empty body (Go: unexpected end of JSON
 * input), for the handlers that do not first ask `isEmptyRequest`.
 */
export function decodeBody<S extends Schema>(body: Uint8Array, fields: S): DecodeResult<S> {
  const parsed = parseJsonExact(body);
  if (!parsed.ok) return { refused: body.length === 0 ? "empty request body" : parsed.reason };
  if (parsed.value === null) return { ok: {} };
  try {
    return { ok: decodeStruct(parsed.value, fields, "") };
  } catch (err) {
    if (err instanceof GoTypeError) return { refused: err.message };
    throw err;
  }
}

/** `decodeBody`, with a refusal as nats-server's 400 / 10025 `invalid JSON: <why>` answer. */
export function decodeApiBody<S extends Schema>(body: Uint8Array, fields: S): { ok: Decoded<S> } | { error: JsApiError } {
  const r = decodeBody(body, fields);
  return "refused" in r ? { error: jsError("InvalidJSON", { err: r.refused }) } : r;
}

const isJsonSpace = (c: number | undefined): boolean => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;

/**
 * nats-server's `isEmptyRequest`: no bytes, or a JSON object with no members (`{}`, `{ }`).
 * Handlers that take an optional body skip decoding then; those that need one answer `bad request`.
 */
export function isEmptyRequest(body: Uint8Array): boolean {
  let i = 0;
  const skip = (): void => {
    while (isJsonSpace(body[i])) i++;
  };
  if (body.length === 0) return true;
  skip();
  if (body[i++] !== 0x7b) return false; // {
  skip();
  if (body[i++] !== 0x7d) return false; // }
  skip();
  return i === body.length;
}
