/**
 * JetStream API errors with nats-server's HTTP-like `code`, numeric `err_code` and description
 * (`server/errors.json`). Clients match on `err_code`, so the numbers are the contract. One table;
 * `tests/unit/jetstream-errors.test.ts` checks each entry is well formed and unique.
 * Descriptions with `{name}` placeholders are filled by `jsError()`.
 */
export const JsErrors = {
  BadRequest: { code: 400, err_code: 10003, description: "bad request" },
  InvalidJSON: { code: 400, err_code: 10025, description: "invalid JSON: {err}" },
  NotEmptyRequest: { code: 400, err_code: 10038, description: "expected an empty request payload" },
  NotEnabled: { code: 503, err_code: 10076, description: "JetStream not enabled" },
  StreamNotFound: { code: 404, err_code: 10059, description: "stream not found" },
  StreamNameExist: { code: 400, err_code: 10058, description: "stream name already in use with a different configuration" },
  StreamMismatch: { code: 400, err_code: 10056, description: "stream name in subject does not match request" },
  StreamSubjectOverlap: { code: 400, err_code: 10065, description: "subjects overlap with an existing stream" },
  StreamWrongLastSequence: { code: 400, err_code: 10071, description: "wrong last sequence: {seq}" },
  StreamWrongLastMsgID: { code: 400, err_code: 10070, description: "wrong last msg ID: {id}" },
  StreamNotMatch: { code: 400, err_code: 10060, description: "expected stream does not match" },
  StreamMessageExceedsMaximum: { code: 400, err_code: 10054, description: "message size exceeds maximum allowed" },
  StreamLimits: { code: 500, err_code: 10053, description: "{err}" },
  StreamCreate: { code: 500, err_code: 10049, description: "{err}" },
  StreamUpdate: { code: 500, err_code: 10069, description: "{err}" },
  StreamDelete: { code: 500, err_code: 10050, description: "{err}" },
  SequenceNotFound: { code: 400, err_code: 10043, description: "sequence {seq} not found" },
  NoMessageFound: { code: 404, err_code: 10037, description: "no message found" },
  StreamStoreFailed: { code: 503, err_code: 10077, description: "{err}" },
  StreamInvalidConfig: { code: 500, err_code: 10052, description: "{err}" },
  StreamSealed: { code: 400, err_code: 10109, description: "invalid operation on sealed stream" },
  StreamMsgDeleteFailed: { code: 500, err_code: 10057, description: "{err}" },
  StreamPurgeFailed: { code: 500, err_code: 10110, description: "{err}" },
  StreamRollupFailed: { code: 500, err_code: 10111, description: "{err}" },
  ConsumerNotFound: { code: 404, err_code: 10014, description: "consumer not found" },
  ConsumerNameExist: { code: 400, err_code: 10013, description: "consumer name already in use" },
  ConsumerCreate: { code: 500, err_code: 10012, description: "{err}" },
  ConsumerDurableNameNotSet: { code: 400, err_code: 10018, description: "consumer expected to be durable but a durable name was not set" },
  ConsumerDurableNameNotInSubject: { code: 400, err_code: 10016, description: "consumer expected to be durable but no durable name set in subject" },
  ConsumerDurableNameNotMatchSubject: { code: 400, err_code: 10017, description: "consumer name in subject does not match durable name in request" },
  ConsumerEphemeralWithDurableName: { code: 400, err_code: 10020, description: "consumer expected to be ephemeral but a durable name was set in request" },
  MaximumConsumersLimit: { code: 400, err_code: 10026, description: "maximum consumers limit reached" },
  MaximumStreamsLimit: { code: 400, err_code: 10027, description: "maximum number of streams reached" },
  InsufficientResources: { code: 503, err_code: 10023, description: "insufficient resources" },
  StorageResourcesExceeded: { code: 500, err_code: 10047, description: "insufficient storage resources available" },
  MemoryResourcesExceeded: { code: 500, err_code: 10028, description: "insufficient memory resources available" },
} as const;

/** Name of an entry of the table. */
export type JsErrorName = keyof typeof JsErrors;

/** The `error` object of a `$JS.API` response. */
export interface JsApiError {
  code: number;
  err_code: number;
  description: string;
}

/** Build an API error, filling `{placeholders}` from `args`. */
export function jsError(name: JsErrorName, args: Record<string, string | number> = {}): JsApiError {
  const e = JsErrors[name];
  const description = e.description.replace(/\{(\w+)\}/g, (_m, k: string) => String(args[k] ?? `{${k}}`));
  return { code: e.code, err_code: e.err_code, description };
}
