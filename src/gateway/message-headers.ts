import { validateHeaderName, validateHeaderValue, type IncomingMessage, type OutgoingHttpHeaders } from "node:http";
import type { HeaderBlock } from "../protocol/headers.js";
import { CE_HEADER_PREFIX } from "./cloudevents.js";

/**
 * Which HTTP request headers become NATS message headers on publish and request:
 * - `Nats-*` (JetStream's own: `Nats-Msg-Id`, `Nats-Expected-*`, `Nats-Rollup`, ...), written in
 *   the canonical casing JetStream and the clients use;
 * - `ce-*` (CloudEvents binary mode) and `Content-Type`, lower case as the NATS CloudEvents binding has them;
 * - W3C trace context (`traceparent`, `tracestate`), so traces cross the bus.
 * Everything else (Host, Authorization, cookies, ...) stays on the HTTP side.
 */
export const FORWARDED_PLAIN_HEADERS = ["content-type", "traceparent", "tracestate"] as const;
/** Most message headers an HTTP request may carry (nats-server has no count limit; max_payload covers the bytes). */
export const MAX_FORWARDED_HEADERS = 64;

/** `nats-msg-id` → `Nats-Msg-Id`. */
function canonical(name: string): string {
  return name.replace(/(^|-)([a-z])/g, (_m, dash: string, c: string) => dash + c.toUpperCase());
}

/**
 * Does the header name `name` (as the client wrote it) equal `lower` (lower case), ignoring case?
 * Header names are HTTP tokens (llhttp refuses anything else), so ASCII case folding is exactly
 * what `toLowerCase` would do, without a new string per header.
 */
function headerNameIs(name: string, lower: string): boolean {
  return name.length === lower.length && headerNameStartsWith(name, lower);
}

/** Does the header name `name` start with `lower` (lower case), ignoring case? */
function headerNameStartsWith(name: string, lower: string): boolean {
  const n = lower.length;
  if (name.length < n) return false;
  for (let i = 0; i < n; i++) {
    const c = name.charCodeAt(i);
    const l = lower.charCodeAt(i);
    if (c !== l && !(c >= 65 && c <= 90 && c + 32 === l)) return false;
  }
  return true;
}

/** The message headers an HTTP request carries (see FORWARDED_PLAIN_HEADERS). */
export function forwardedHeaders(req: IncomingMessage): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const rawName = raw[i] as string;
    // Names are compared in place; only a forwarded one is lower-cased.
    if (headerNameStartsWith(rawName, "nats-")) out.push([canonical(rawName.toLowerCase()), raw[i + 1] as string]);
    else if (headerNameStartsWith(rawName, CE_HEADER_PREFIX) || isForwardedPlain(rawName)) out.push([rawName.toLowerCase(), raw[i + 1] as string]);
  }
  return out;
}

function isForwardedPlain(name: string): boolean {
  for (let i = 0; i < FORWARDED_PLAIN_HEADERS.length; i++) if (headerNameIs(name, FORWARDED_PLAIN_HEADERS[i] as string)) return true;
  return false;
}

/** Headers that frame the HTTP response itself: never copied from a message. */
const FRAMING_HEADERS = new Set(["content-length", "transfer-encoding", "connection", "keep-alive", "upgrade", "trailer", "te"]);

/**
 * A NATS message's headers as HTTP response headers: every header whose name and value HTTP
 * can carry (a repeated key becomes a list); the rest are left out.
 */
export function httpHeadersOf(h: HeaderBlock | null): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  if (h === null) return out;
  for (const [k, v] of h.entries) {
    if (FRAMING_HEADERS.has(k.toLowerCase())) continue;
    try {
      validateHeaderName(k);
      validateHeaderValue(k, v);
    } catch {
      continue;
    }
    const prev = out[k];
    if (prev === undefined) out[k] = v;
    else out[k] = Array.isArray(prev) ? [...prev, v] : [String(prev), v];
  }
  return out;
}

/** A NATS message's headers as a JSON object (a repeated key becomes a list), for JSON bodies. */
export function headersJson(h: HeaderBlock | null): Record<string, string | string[]> | undefined {
  if (h === null || h.entries.length === 0) return undefined;
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of h.entries) {
    const prev = out[k];
    if (prev === undefined) out[k] = v;
    else out[k] = Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  return out;
}
