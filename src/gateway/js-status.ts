import { HttpError } from "./http-util.js";

/**
 * JetStream `err_code`s that report a failure of the server itself (a store that could not write
 * or be created, a delete or purge that failed inside), not of the request: answered 503 over
 * HTTP, since the client may retry once the condition is gone. nats-server gives most of them the
 * code 500; a 500 over HTTP means a bug in cuebus, which these are not.
 */
export const JS_SERVER_FAILURE_STATUS: Readonly<Record<number, number>> = {
  10077: 503, // StreamStoreFailed
  10104: 503, // ConsumerStoreFailed
  10050: 503, // StreamDelete: the stream's removal failed inside
  10051: 503, // StreamGeneralError: a request failed inside (a purge, a handler that threw)
};

/** InvalidJSON: a request body JetStream could not read or whose fields had the wrong type. */
const JS_INVALID_JSON = 10025;

/**
 * The HTTP status of a JetStream API error (`{code, err_code}` of a `$JS.API` reply or a publish
 * ack). JetStream's own `code` is kept when it is a 4xx (400 bad request, 404 not found) or a 503.
 * nats-server answers many refusals of what the client sent with code 500 (StreamCreate 10049,
 * StreamInvalidConfig 10052, StreamUpdate 10069, ConsumerCreate 10012, StreamRollupFailed 10111,
 * ...): over HTTP those are the client's fault, a 400, and only the failures listed in
 * {@link JS_SERVER_FAILURE_STATUS} stay 5xx. No JetStream error is ever answered 500.
 */
export function jsHttpStatus(code: number | undefined, errCode: number | undefined): number {
  if (errCode === JS_INVALID_JSON) return 400;
  if (errCode !== undefined) {
    const failure = JS_SERVER_FAILURE_STATUS[errCode];
    if (failure !== undefined) return failure;
  }
  if (code !== undefined && Number.isInteger(code) && ((code >= 400 && code < 500) || (code > 500 && code < 600))) return code;
  return 400;
}

/** The `error` object of a `$JS.API` reply or publish ack, as far as the gateway reads it. */
export interface JsErrorReply {
  code?: unknown;
  err_code?: unknown;
  description?: unknown;
}

/** A JetStream error as the HttpError the gateway answers: status by {@link jsHttpStatus}, JetStream's description and `err_code` kept. */
export function jsHttpError(e: JsErrorReply, fallbackDescription: string): HttpError {
  const code = typeof e.code === "number" ? e.code : undefined;
  const errCode = typeof e.err_code === "number" ? e.err_code : undefined;
  const description = typeof e.description === "string" && e.description !== "" ? e.description : fallbackDescription;
  return new HttpError(jsHttpStatus(code, errCode), description, errCode);
}
