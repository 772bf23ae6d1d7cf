/**
 * JetStream API errors with nats-server's HTTP-like `code`, numeric `err_code` and description
 * (`server/errors.json`). Clients match on `err_code`, so the numbers are the contract. One table;
 * `tests/unit/jetstream-errors.test.ts` checks each entry is well formed, unique, and produced
 * somewhere in src/ (entries nobody produces are removed rather than kept "just in case").
 * Descriptions with `{name}` placeholders are filled by `jsError()`.
 */
export const JsErrors = {
  BadRequest: { code: 400, err_code: 10003, description: "bad request" },
  NotEnabledForAccount: { code: 503, err_code: 10039, description: "JetStream not enabled for account" },
  ClusterRequired: { code: 503, err_code: 10010, description: "JetStream clustering support required" },
  /** nats-server 2.10 wording; 2.9 says only "invalid JSON". `{err}` names the field and what it must be. */
  InvalidJSON: { code: 400, err_code: 10025, description: "invalid JSON: {err}" },
  NotEmptyRequest: { code: 400, err_code: 10038, description: "expected an empty request payload" },
  StreamNotFound: { code: 404, err_code: 10059, description: "stream not found" },
  StreamNameExist: { code: 400, err_code: 10058, description: "stream name already in use with a different configuration" },
  StreamMismatch: { code: 400, err_code: 10056, description: "stream name in subject does not match request" },
  StreamSubjectOverlap: { code: 400, err_code: 10065, description: "subjects overlap with an existing stream" },
  StreamWrongLastSequence: { code: 400, err_code: 10071, description: "wrong last sequence: {seq}" },
  StreamWrongLastMsgID: { code: 400, err_code: 10070, description: "wrong last msg ID: {id}" },
  StreamNotMatch: { code: 400, err_code: 10060, description: "expected stream does not match" },
  StreamMessageExceedsMaximum: { code: 400, err_code: 10054, description: "message size exceeds maximum allowed" },
  StreamNameContainsPathSeparators: { code: 400, err_code: 10128, description: "Stream name can not contain path separators" },
  StreamCreate: { code: 500, err_code: 10049, description: "{err}" },
  StreamDelete: { code: 500, err_code: 10050, description: "{err}" },
  StreamGeneralError: { code: 500, err_code: 10051, description: "{err}" },
  StreamUpdate: { code: 500, err_code: 10069, description: "{err}" },
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
  ConsumerInvalidPolicy: { code: 400, err_code: 10094, description: "{err}" },
  ConsumerInvalidSampling: { code: 400, err_code: 10095, description: "failed to parse consumer sampling configuration: {err}" },
  ConsumerMetadataLength: { code: 400, err_code: 10135, description: "consumer metadata exceeds maximum size of {limit}" },
  ReplicasCountCannotBeNegative: { code: 400, err_code: 10133, description: "replicas count cannot be negative" },
  ConsumerReplicasExceedsStream: { code: 400, err_code: 10126, description: "consumer config replica count exceeds parent stream" },
  ConsumerMaxDeliverBackoff: { code: 400, err_code: 10116, description: "max deliver is required to be > length of backoff values" },
  ConsumerDescriptionTooLong: { code: 400, err_code: 10107, description: "consumer description is too long, maximum allowed is {max}" },
  ConsumerDeliverToWildcards: { code: 400, err_code: 10079, description: "consumer deliver subject has wildcards" },
  ConsumerInvalidDeliverSubject: { code: 400, err_code: 10112, description: "invalid push consumer deliver subject" },
  ConsumerDeliverCycle: { code: 400, err_code: 10081, description: "consumer deliver subject forms a cycle" },
  ConsumerPushMaxWaiting: { code: 400, err_code: 10080, description: "consumer in push mode can not set max waiting" },
  ConsumerMaxPendingAckPolicyRequired: { code: 400, err_code: 10082, description: "consumer requires ack policy for max ack pending" },
  ConsumerSmallHeartbeat: { code: 400, err_code: 10083, description: "consumer idle heartbeat needs to be >= 100ms" },
  ConsumerPullRequiresAck: { code: 400, err_code: 10084, description: "consumer in pull mode requires ack policy" },
  ConsumerPullWithRateLimit: { code: 400, err_code: 10086, description: "consumer in pull mode can not have rate limit set" },
  ConsumerMaxWaitingNegative: { code: 400, err_code: 10087, description: "consumer max waiting needs to be positive" },
  ConsumerHBRequiresPush: { code: 400, err_code: 10088, description: "consumer idle heartbeat requires a push based consumer" },
  ConsumerFCRequiresPush: { code: 400, err_code: 10089, description: "consumer flow control requires a push based consumer" },
  ConsumerMaxRequestBatchNegative: { code: 400, err_code: 10114, description: "consumer max request batch needs to be > 0" },
  ConsumerMaxRequestExpiresToSmall: { code: 400, err_code: 10115, description: "consumer max request expires needs to be >= 1ms" },
  ConsumerFilterNotSubset: { code: 400, err_code: 10093, description: "consumer filter subject is not a valid subset of the interest subjects" },
  ConsumerWithFlowControlNeedsHeartbeats: { code: 400, err_code: 10108, description: "consumer with flow control also needs heartbeats" },
  ConsumerCreateDurableAndNameMismatch: { code: 400, err_code: 10132, description: "Consumer Durable and Name have to be equal if both are provided" },
  ConsumerNameTooLong: { code: 400, err_code: 10102, description: "consumer name is too long, maximum allowed is {max}" },
  ConsumerBadDurableName: { code: 400, err_code: 10103, description: "durable name can not contain '.', '*', '>'" },
  ConsumerWQRequiresExplicitAck: { code: 400, err_code: 10098, description: "workqueue stream requires explicit ack" },
  ConsumerWQMultipleUnfiltered: { code: 400, err_code: 10099, description: "multiple non-filtered consumers not allowed on workqueue stream" },
  ConsumerWQConsumerNotUnique: { code: 400, err_code: 10100, description: "filtered consumer not unique on workqueue stream" },
  ConsumerWQConsumerNotDeliverAll: { code: 400, err_code: 10101, description: "consumer must be deliver all on workqueue stream" },
  ConsumerNameContainsPathSeparators: { code: 400, err_code: 10127, description: "Consumer name can not contain path separators" },
  ConsumerCreateFilterSubjectMismatch: { code: 400, err_code: 10131, description: "Consumer create request did not match filtered subject from create subject" },
  ConsumerStoreFailed: { code: 500, err_code: 10104, description: "error creating store for consumer: {err}" },
  ConsumerDuplicateFilterSubjects: { code: 400, err_code: 10136, description: "consumer cannot have both FilterSubject and FilterSubjects specified" },
  ConsumerOverlappingSubjectFilters: { code: 400, err_code: 10138, description: "consumer subject filters cannot overlap" },
  ConsumerAlreadyExists: { code: 400, err_code: 10148, description: "consumer already exists" },
  ConsumerDoesNotExist: { code: 400, err_code: 10149, description: "consumer does not exist" },
  StreamReplicasNotSupported: { code: 500, err_code: 10074, description: "replicas > 1 not supported in non-clustered mode" },
  MaximumConsumersLimit: { code: 400, err_code: 10026, description: "maximum consumers limit reached" },
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
