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
}

/** The route table: exact segment matching, `{param}` segments match one non-empty segment. */
export class RouteTable {
  private readonly compiled: Compiled[] = [];

  add(route: Route): void {
    const segments = route.path.split("/").slice(1);
    this.compiled.push({ route, segments, names: segments.map((p) => (p.startsWith("{") ? p.slice(1, -1) : "")) });
  }

  get routes(): Route[] {
    return this.compiled.map((c) => c.route);
  }

  /**
   * Find the route for a method and path. `allowed` lists the methods of routes whose path matches
   * when none has this method (for a 405).
   */
  match(method: string, pathname: string): { route: Route; params: Record<string, string> } | { allowed: string[] } {
    const parts = pathname.split("/").slice(1);
    const allowed: string[] = [];
    for (const c of this.compiled) {
      const params = matchSegments(c.segments, c.names, parts);
      if (params === null) continue;
      if (c.route.method === method || (method === "HEAD" && c.route.method === "GET")) return { route: c.route, params };
      allowed.push(c.route.method);
    }
    return { allowed };
  }
}

function matchSegments(pattern: string[], names: string[], parts: string[]): Record<string, string> | null {
  if (pattern.length !== parts.length) return null;
  // Literals first, so a route that does not match allocates nothing.
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i] as string;
    if (p.charCodeAt(0) === 123 /* { */) {
      if ((parts[i] as string) === "") return null;
    } else if (p !== parts[i]) return null;
  }
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    const name = names[i] as string;
    if (name === "") continue;
    const v = parts[i] as string;
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
  return params;
}
