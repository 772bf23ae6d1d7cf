import type { IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { hostname } from "node:os";
import { HttpError } from "./http-util.js";

/**
 * Who may use the HTTP API (`/v1`, `/events`) without credentials, when the server has no users or
 * token configured (`http_api_open_to`). With credentials configured every caller needs them and
 * this is not consulted. The monitoring endpoints are never gated: like nats-server's they are
 * read-only, and readable from other hosts.
 * - `loopback` (the default): callers on this machine only, so `npm start` then `curl localhost`
 *   works while nobody who can merely reach the port publishes, changes streams, reads their
 *   contents or registers a webhook (which would make cuebus send requests into its own network);
 * - `all`: every caller (a trusted private network, or a container whose published port makes
 *   every caller look remote);
 * - `none`: no caller (a reverse proxy on this machine that adds no forwarding headers makes every
 *   request look local).
 */
export type ApiOpenTo = "loopback" | "all" | "none";

/** What the 403 says before its reason: what happened, and the two ways to open it. */
const REFUSED = "the HTTP API takes requests without credentials only from this host (no users or token are configured; http_api_open_to is loopback)";
const HOW = "configure authorization (users or a token) and send them, or set http_api_open_to: all";

const NOT_LOOPBACK = new HttpError(403, `${REFUSED}: this request came from another host; ${HOW}`);
const FORWARDED = new HttpError(403, `${REFUSED}: this request was forwarded by a proxy (it carries Forwarded, X-Forwarded-For or X-Real-IP); ${HOW}`);
const CLOSED = new HttpError(403, `the HTTP API takes no request without credentials (http_api_open_to is none and no users or token are configured); configure authorization, or set http_api_open_to: loopback or all`);

/** The longest Host or Origin value quoted back in a refusal. */
const MAX_QUOTED_CHARS = 100;

/** This machine's own name: `curl $(hostname):8222` on it connects over loopback too. */
const OWN_NAME = hostname().toLowerCase();

/**
 * Throw a 403 unless a request without credentials may use the API under `openTo`. Under
 * `loopback` the request must be the developer's own: from a loopback address, not relayed by a
 * proxy on this machine (which adds `Forwarded`/`X-Forwarded-For`/`X-Real-IP`), not sent by a web
 * page of another site in a browser here (its `Origin` names a host that is not this machine's:
 * a cross-site form POST needs no CORS preflight), and not addressed to a name other than this
 * machine's (`Host`: a page whose domain was rebound to 127.0.0.1 sends its own name, and its
 * same-origin GETs carry no `Origin`). Costs a few header lookups on the accepting path, and
 * allocates nothing there but the parsed header strings Node already holds.
 */
export function checkAnonymous(openTo: ApiOpenTo, req: IncomingMessage): void {
  if (openTo === "all") return;
  if (openTo === "none") throw CLOSED;
  if (!isLoopbackAddress(req.socket.remoteAddress)) throw NOT_LOOPBACK;
  const h = req.headers;
  if (h["x-forwarded-for"] !== undefined || h["forwarded"] !== undefined || h["x-real-ip"] !== undefined) throw FORWARDED;
  const host = h.host;
  if (host !== undefined && !isOwnHost(host, hostEnd(host, 0))) {
    throw new HttpError(403, `${REFUSED}: this request names Host ${quote(host)}, not this machine (a web page whose domain was pointed at 127.0.0.1?); ${HOW}`);
  }
  const origin = h.origin;
  if (origin !== undefined && !isOwnOrigin(origin)) {
    throw new HttpError(403, `${REFUSED}: this request came from another site's web page (Origin ${quote(origin)}); ${HOW}`);
  }
}

/** An address of this machine's loopback interface: 127.0.0.0/8 or ::1, IPv4-mapped or not. */
export function isLoopbackAddress(a: string | undefined): boolean {
  if (a === undefined) return false;
  return a.startsWith("127.") || a === "::1" || a.startsWith("::ffff:127.");
}

/**
 * Where the host name of `s` (from `start`: a Host value, or an origin past its `scheme://`) ends:
 * before `:port`, or after the `]` of an IPv6 literal.
 */
function hostEnd(s: string, start: number): number {
  if (s.charCodeAt(start) === 91 /* [ */) {
    const close = s.indexOf("]", start);
    // Only `:port` may follow the literal: `[::1].example` is one (foreign) name.
    if (close < 0 || (close + 1 < s.length && s.charCodeAt(close + 1) !== 58 /* : */)) return s.length;
    return close + 1;
  }
  const colon = s.indexOf(":", start);
  return colon < 0 ? s.length : colon;
}

/** Does `s.slice(start, end)` equal `name`? Without slicing. */
function spanIs(s: string, start: number, end: number, name: string): boolean {
  return end - start === name.length && s.startsWith(name, start);
}

/**
 * Is the host name `s[start, end)` this machine: `localhost` or a name under it (RFC 6761 keeps
 * them on loopback), a loopback IP literal, the unspecified address (which connects to this
 * machine), or the machine's own host name. Case-insensitive.
 */
function isOwnHost(s: string, end: number, start = 0): boolean {
  if (spanIs(s, start, end, "localhost") || spanIs(s, start, end, "[::1]") || spanIs(s, start, end, "0.0.0.0") || spanIs(s, start, end, "[::]")) return true;
  if (s.startsWith("127.", start) && isDottedQuad(s, start, end)) return true;
  if (s.endsWith(".localhost", end) && end - start > ".localhost".length) return true;
  if (spanIs(s, start, end, OWN_NAME)) return true;
  // Rare: a name typed in capitals, or a trailing dot. Allocates, but only off the usual path.
  const lower = s.slice(start, end).toLowerCase().replace(/\.$/, "");
  if (lower === s.slice(start, end)) return false;
  return isOwnHost(lower, lower.length);
}

/** Is `s[start, end)` four decimal octets? */
function isDottedQuad(s: string, start: number, end: number): boolean {
  let dots = 0;
  let digits = 0;
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c === 46 /* . */) {
      if (digits === 0 || digits > 3) return false;
      dots++;
      digits = 0;
    } else if (c >= 48 && c <= 57) digits++;
    else return false;
  }
  return dots === 3 && digits > 0 && digits <= 3;
}

/** Is an `Origin` (`scheme://host[:port]`) a page served from this machine? `null` (opaque) is not. */
function isOwnOrigin(origin: string): boolean {
  const sep = origin.indexOf("://");
  if (sep < 0) return false;
  const start = sep + 3;
  return isOwnHost(origin, hostEnd(origin, start), start);
}

function quote(v: string): string {
  return JSON.stringify(v.length > MAX_QUOTED_CHARS ? `${v.slice(0, MAX_QUOTED_CHARS)}...` : v);
}

/** Who may call the API without credentials when the configuration does not say (`http_api_open_to`). */
export const DEFAULT_API_OPEN_TO: ApiOpenTo = "loopback";

/** A bound address as the summary names it: `host:port`, `[v6]:port`. */
export function addressText(a: AddressInfo | string | null | undefined): string {
  return a === null || a === undefined || typeof a === "string" ? String(a) : a.family === "IPv6" ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`;
}

/**
 * One start-up line saying what the HTTP edge on `address` lets callers from where do, and whether
 * it deserves a warning (the API open to every host without credentials).
 */
export function accessSummary(address: string, authConfigured: boolean, openTo: ApiOpenTo): { level: "INF" | "WRN"; text: string } {
  const host = address.startsWith("[") ? address.slice(1, address.lastIndexOf("]")) : address.slice(0, address.lastIndexOf(":"));
  const onlyHere = isLoopbackAddress(host) || host === "localhost";
  const where = onlyHere ? "this host only (bound to loopback)" : "every host";
  const prefix = `HTTP edge on ${address}: monitoring open to ${where}; API (/v1, /events)`;
  if (authConfigured) return { level: "INF", text: `${prefix} needs credentials (the users or token configured)` };
  if (openTo === "none") return { level: "INF", text: `${prefix} refused without credentials (http_api_open_to: none; no users or token configured)` };
  if (openTo === "loopback" || onlyHere) {
    return { level: "INF", text: `${prefix} without credentials only from this host (no users or token configured${onlyHere ? "" : "; http_api_open_to: all opens it to others"})` };
  }
  return {
    level: "WRN",
    text: `HTTP edge on ${address}: monitoring and API (/v1, /events) open to every host without credentials (http_api_open_to: all; no users or token configured): anyone who reaches this port can publish, change streams and register webhooks`,
  };
}
