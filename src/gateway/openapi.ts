import { CUEBUS_VERSION } from "../server/version.js";
import type { Gateway } from "./context.js";
import type { Route, RouteDoc } from "./routes.js";

/** The error body every route answers a refusal with (http-util.ts sendError). */
const ERROR_SCHEMA = {
  type: "object",
  required: ["error"],
  properties: {
    error: {
      type: "object",
      required: ["code", "description"],
      properties: {
        code: { type: "integer", description: "The HTTP status" },
        description: { type: "string", description: "What was wrong, for a person" },
        err_code: { type: "integer", description: "The JetStream API err_code, when the refusal came from $JS.API" },
      },
    },
  },
} as const;

/** Path parameters of a route, in order: its `{name}` segments. */
export function pathParams(path: string): string[] {
  return path
    .split("/")
    .filter((s) => s.startsWith("{") && s.endsWith("}"))
    .map((s) => s.slice(1, -1));
}

function operationId(r: Route): string {
  const words = r.path
    .split("/")
    .filter((s) => s !== "")
    .map((s) => (s.startsWith("{") ? `by_${s.slice(1, -1)}` : s).replace(/[^A-Za-z0-9]+/g, "_"));
  return [r.method.toLowerCase(), ...words].join("_") || r.method.toLowerCase();
}

/** The 403 every API route can answer (access.ts). */
const NOT_THIS_MACHINE = "a caller without credentials that is not on this machine, while the server has none configured (http_api_open_to)";

function operation(r: Route, doc: RouteDoc): Record<string, unknown> {
  const parameters: Array<Record<string, unknown>> = pathParams(r.path).map((name) => ({ name, in: "path", required: true, schema: { type: "string" } }));
  for (const [name, q] of Object.entries(doc.query ?? {})) {
    parameters.push({ name, in: "query", required: q.required === true, description: q.description, schema: { type: q.type ?? "string" } });
  }
  const given = { ...doc.responses };
  if (r.auth) {
    // Every API route may refuse who calls it, before it looks at the request (gateway.ts, access.ts).
    given["401"] ??= "Credentials missing or wrong (the server has users or a token)";
    given["403"] = given["403"] === undefined ? `Refused: ${NOT_THIS_MACHINE}` : `${given["403"]}; or ${NOT_THIS_MACHINE}`;
  }
  const responses: Record<string, unknown> = {};
  for (const [status, description] of Object.entries(given)) {
    const code = Number(status);
    // Refusals share one documented shape; successes vary by route and are described in words.
    responses[status] = code >= 400 ? { description, content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } } } : { description };
  }
  const op: Record<string, unknown> = { operationId: operationId(r), summary: doc.summary };
  if (doc.description !== undefined) op["description"] = doc.description;
  if (parameters.length > 0) op["parameters"] = parameters;
  if (doc.body !== undefined) {
    const content: Record<string, unknown> = {};
    for (const [type, description] of Object.entries(doc.body)) content[type] = { schema: { description } };
    op["requestBody"] = { content };
  }
  op["responses"] = responses;
  op["tags"] = [r.path.startsWith("/v1") || r.path === "/events" ? "api" : "monitoring"];
  // Credentials are checked only when the server has users or a token configured.
  op["security"] = r.auth ? [{ bearer: [] }, { basic: [] }, {}] : [];
  return op;
}

/**
 * The OpenAPI 3.1 document of a route table: every route that carries a `doc` (every `/v1` route
 * must), path parameters from its `{name}` segments, refusals with the shared error schema.
 */
export function openapiDocument(routes: readonly Route[]): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes) {
    if (r.doc === undefined) continue;
    const item = (paths[r.path] ??= {});
    item[r.method.toLowerCase()] = operation(r, r.doc);
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "cuebus HTTP API",
      version: CUEBUS_VERSION,
      description: "Publish, request, server-sent events, long polling, webhooks, streams and consumers over HTTP, plus nats-server's monitoring endpoints and Prometheus metrics.",
    },
    tags: [
      { name: "api", description: "The /v1 HTTP edge (and the plain HTTP event bus at /events)" },
      { name: "monitoring", description: "Monitoring endpoints; no credentials, like nats-server's" },
    ],
    paths,
    components: {
      schemas: { Error: ERROR_SCHEMA },
      securitySchemes: {
        bearer: { type: "http", scheme: "bearer", description: "A token or user password configured on the server" },
        basic: { type: "http", scheme: "basic", description: "A configured user and password" },
      },
    },
  };
}

/** `GET /openapi.json`: the document of the gateway's own route table, built once on first request. */
export function openapiRoutes(g: Gateway): Route[] {
  let text: string | null = null;
  return [
    {
      method: "GET",
      path: "/openapi.json",
      auth: false,
      doc: { summary: "This OpenAPI 3.1 document", responses: { "200": "OpenAPI 3.1 JSON" } },
      handler: ({ res }) => {
        // The table is complete once the gateway's constructor returns, before any request.
        text ??= JSON.stringify(openapiDocument(g.table.routes));
        res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
        res.end(text);
      },
    },
  ];
}
