import { Limits } from "../protocol/limits.js";
import { isValidLiteralSubject, isValidSubject } from "../subjects/validate.js";
import { HttpError } from "./http-util.js";

/**
 * Subjects the HTTP edge takes, checked as the NATS side checks them: the rules of
 * `subjects/validate.ts` (nats-server `sublist.go`: no empty token, no whitespace, wildcards only
 * as whole tokens and `>` last), and no longer than a control line, since no NATS client could
 * publish to or subscribe on a longer one. Each is one scan of the string, with no split or regex:
 * the publish check runs on the HTTP publish hot path (bench/http.ts).
 */

/** Is `subject` longer than `maxBytes` in UTF-8? Counts bytes only when the length alone cannot tell. */
function tooLong(subject: string, maxBytes: number): boolean {
  const n = subject.length;
  if (n > maxBytes) return true;
  return n * 3 > maxBytes && Buffer.byteLength(subject, "utf8") > maxBytes;
}

function refuse(subject: string): HttpError {
  return new HttpError(400, `invalid subject "${subject.slice(0, 200)}"`);
}

/**
 * The subject of a publish or request: literal (no `*` or `>` token), as `PUB` needs it
 * (nats-server answers `-ERR 'Invalid Publish Subject'` otherwise); 400 `invalid subject`.
 */
export function publishSubject(subject: string, maxBytes: number = Limits.maxControlLineBytes): string {
  if (tooLong(subject, maxBytes) || !isValidLiteralSubject(subject)) throw refuse(subject);
  return subject;
}

/**
 * The subject of a subscription (SSE, a webhook filter): wildcards allowed, as `SUB` takes it
 * (nats-server answers `-ERR 'Invalid Subject'` otherwise); 400 `invalid subject`.
 */
export function subscribeSubject(subject: string, maxBytes: number = Limits.maxControlLineBytes): string {
  if (tooLong(subject, maxBytes) || !isValidSubject(subject)) throw refuse(subject);
  return subject;
}

/** Is `subject` one `subscribeSubject` accepts? (For callers that word their own refusal.) */
export function isSubscribeSubject(subject: string, maxBytes: number = Limits.maxControlLineBytes): boolean {
  return !tooLong(subject, maxBytes) && isValidSubject(subject);
}
