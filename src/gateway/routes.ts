import type { IncomingMessage, ServerResponse } from "node:http";
import type { HttpIdentity } from "./auth.js";

/** What a route handler gets besides the request and response. */
export interface RouteCall {
  req: IncomingMessage;
  res: ServerResponse;
  /** Path parameters by name, URL-decoded (`/v1/publish/{subject}` → `params.subject`). */
  params: Record<string, string>;
  query: URLSearchParams;
  /** Who is calling (everything allowed when the server has no auth configured). */
  who: HttpIdentity;
}

/** A handler answers the response itself; a thrown (or rejected) HttpError is answered for it. */
export type RouteHandler = (call: RouteCall) => void | Promise<void>;

/** One HTTP route. */
export interface Route {
  method: "GET" | "POST" | "PUT" | "DELETE";
  /** Literal segments and `{name}` segments, e.g. `/v1/streams/{stream}`. */
  path: string;
  handler: RouteHandler;
  /** Checked against the server's users/token; false for the monitoring endpoints (as in nats-server). */
  auth: boolean;
  /** What `/openapi.json` says of this route; every `/v1` route has one (a test checks). */
  doc?: RouteDoc;
}

/** The OpenAPI 3.1 operation object of a route, as much as it needs (path parameters are added from the path). */
export interface RouteDoc {
  summary: string;
  description?: string;
  /** Query parameters: name → description (and whether required). */
  query?: Record<string, { description: string; required?: boolean; type?: "integer" | "string" | "boolean" }>;
  /** Request body: media type → description. */
  body?: Record<string, string>;
  /** Status → description. */
  responses: Record<string, string>;
}

interface Compiled {
  route: Route;
  segments: string[];
  /** Parameter name per segment, "" for a literal one (computed once, not per request). */
  names: string[];
  /**
   * Segments already known to match once the route was found by its group key: 2 for a route
   * whose first two segments are literal (the key holds them), 0 for the others.
   */
  keyed: number;
}

/** What a path's first two segments (or its whole self when shorter) start with: the group key. */
function keyEnd(path: string): number {
  const first = path.indexOf("/", 1);
  if (first < 0) return path.length;
  const second = path.indexOf("/", first + 1);
  return second < 0 ? path.length : second;
}

/**
 * The route table: exact segment matching, `{param}` segments match one non-empty segment.
 * Routes are grouped by their first two literal segments (`/v1/publish`, `/varz`), so a request
 * looks at its own group only, in the order the routes were added, and its path is matched in
 * place (offsets into it, no `split`): this runs once per request, on the HTTP publish hot path
 * (bench/http.ts). A route with a parameter among its first two segments is in every group.
 */
export class RouteTable {
  private readonly compiled: Compiled[] = [];
  /** Group key → its routes, each list in the order routes were added. */
  private readonly groups = new Map<string, Compiled[]>();
  /** Routes with a parameter among their first two segments (the group of a key no route has). */
  private readonly unkeyed: Compiled[] = [];

  add(route: Route): void {
    const segments = route.path.split("/").slice(1);
    const names = segments.map((p) => (p.startsWith("{") ? p.slice(1, -1) : ""));
    const keyedBy = segments.slice(0, 2);
    const keyed = keyedBy.some((p) => p.startsWith("{")) ? 0 : 2;
    const c: Compiled = { route, segments, names, keyed };
    this.compiled.push(c);
    if (keyed === 0) {
      this.unkeyed.push(c);
      for (const g of this.groups.values()) g.push(c);
      return;
    }
    const key = `/${keyedBy.join("/")}`;
    let group = this.groups.get(key);
    if (group === undefined) this.groups.set(key, (group = [...this.unkeyed]));
    group.push(c);
  }

  get routes(): Route[] {
    return this.compiled.map((c) => c.route);
  }

  /**
   * Find the route for a method and path. `allowed` lists the methods of routes whose path matches
   * when none has this method (for a 405).
   */
  match(method: string, pathname: string): { route: Route; params: Record<string, string> } | { allowed: string[] } {
    // Segments are what follows the first "/" (a path without one has none, and matches nothing).
    const slash = pathname.indexOf("/");
    if (slash < 0) return { allowed: [] };
    const path = slash === 0 ? pathname : pathname.slice(slash);
    const end = keyEnd(path);
    const group = this.groups.get(end === path.length ? path : path.slice(0, end)) ?? this.unkeyed;
    let allowed: string[] | null = null;
    for (let i = 0; i < group.length; i++) {
      const c = group[i] as Compiled;
      // A keyed route's first two segments are the key; the rest start after it.
      const start = c.keyed === 0 ? 1 : end + 1;
      if (!segmentsMatch(c.segments, c.keyed, path, start)) continue;
      const params = paramsOf(c.names, c.keyed, path, start);
      if (params === null) continue;
      if (c.route.method === method || (method === "HEAD" && c.route.method === "GET")) return { route: c.route, params };
      (allowed ??= []).push(c.route.method);
    }
    return { allowed: allowed ?? [] };
  }
}

/**
 * Does `path` from offset `start` hold exactly `pattern`'s segments from index `from` on, a
 * literal equal and a `{param}` non-empty? Allocates nothing.
 */
function segmentsMatch(pattern: string[], from: number, path: string, start: number): boolean {
  for (let i = from; i < pattern.length; i++) {
    if (start > path.length) return false;
    let end = path.indexOf("/", start);
    if (end < 0) end = path.length;
    const p = pattern[i] as string;
    if (p.charCodeAt(0) === 123 /* { */) {
      if (end === start) return false;
    } else if (end - start !== p.length || !path.startsWith(p, start)) return false;
    start = end + 1;
  }
  // Every segment used: the last one ended at the end of the path.
  return start === path.length + 1;
}

/** The URL-decoded parameters of a path `segmentsMatch` accepted; null when one does not decode. */
function paramsOf(names: string[], from: number, path: string, start: number): Record<string, string> | null {
  const params: Record<string, string> = {};
  for (let i = from; i < names.length; i++) {
    let end = path.indexOf("/", start);
    if (end < 0) end = path.length;
    const name = names[i] as string;
    if (name !== "") {
      const v = path.slice(start, end);
      let decoded = v;
      if (v.includes("%")) {
        try {
          decoded = decodeURIComponent(v);
        } catch {
          return null;
        }
      }
      params[name] = decoded;
    }
    start = end + 1;
  }
  return params;
}
