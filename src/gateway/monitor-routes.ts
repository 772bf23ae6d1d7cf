import { varz, connz, subsz, healthz, httpReqStats } from "../server/monitor.js";
import type { Gateway } from "./context.js";
import { jsz } from "./jsz.js";
import type { Route, RouteCall, RouteDoc } from "./routes.js";

const PAGING: RouteDoc["query"] = {
  offset: { description: "Skip this many entries", type: "integer" },
  limit: { description: "Return at most this many entries (default 1024)", type: "integer" },
};

/**
 * nats-server's monitoring endpoints (`/varz`, `/connz`, `/subsz`, `/jsz`, `/healthz`) and the
 * index at `/`. Like nats-server's they take no credentials and answer every host (`auth: false`);
 * they are read-only and show no message contents, unlike the API routes (see access.ts).
 */
export function monitorRoutes(g: Gateway): Route[] {
  const json = <T>(path: string, doc: RouteDoc, body: (call: RouteCall) => T, statusOf: (value: T) => number = () => 200): Route => ({
    method: "GET",
    path,
    auth: false,
    doc,
    handler: (call) => {
      const value = body(call);
      // Only known routes are counted, so the map stays bounded.
      httpReqStats[path] = (httpReqStats[path] ?? 0) + 1;
      const text = typeof value === "string" ? value : JSON.stringify(value, null, 2);
      call.res.writeHead(statusOf(value), { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
      call.res.end(text);
    },
  });
  const ok = (what: string): RouteDoc["responses"] => ({ "200": what });
  return [
    json("/varz", { summary: "Server information and counters (nats-server's /varz)", responses: ok("Varz JSON") }, () => varz(g.core, g.port)),
    json(
      "/connz",
      { summary: "Client connections (nats-server's /connz)", query: { subs: { description: "true/1 lists subjects, detail lists subscriptions", type: "string" }, cid: { description: "Only this connection id", type: "integer" }, ...PAGING }, responses: ok("Connz JSON") },
      (c) => connz(g.core, c.query),
    ),
    json(
      "/subsz",
      { summary: "Subscription index statistics (nats-server's /subsz)", query: { subs: { description: "true/1 lists the subscriptions", type: "string" }, ...PAGING }, responses: ok("Subsz JSON") },
      (c) => subsz(g.core, c.query),
    ),
    json(
      "/jsz",
      {
        summary: "JetStream usage, limits and API counters (nats-server's /jsz)",
        query: {
          accounts: { description: "Include account_details", type: "boolean" },
          streams: { description: "Include stream_detail (implies accounts)", type: "boolean" },
          consumers: { description: "Include consumer_detail (implies streams)", type: "boolean" },
          config: { description: "Include stream and consumer configs in the detail", type: "boolean" },
          acc: { description: "Account to detail (cuebus has one, $G)", type: "string" },
          ...PAGING,
        },
        responses: { "200": "JSInfo JSON (disabled: true without JetStream)", "400": "A flag is not a boolean or offset/limit not an integer" },
      },
      (c) => jsz(g.core, c.query),
    ),
    json(
      "/healthz",
      { summary: "Health (nats-server's /healthz)", responses: { "200": '{"status":"ok"}', "503": '{"status":"unavailable","error":"..."}: a stream\'s store cannot write (a full disk, say)' } },
      () => healthz(g.core),
      (h) => (h.status === "ok" ? 200 : 503),
    ),
    json("/", { summary: "Index of the monitoring endpoints and the API", responses: ok("Links") }, () => ({ varz: "/varz", connz: "/connz", subsz: "/subsz", healthz: "/healthz", jsz: "/jsz", ...(g.opts.streaming !== undefined ? { streaming: "/streaming" } : {}), metrics: "/metrics", openapi: "/openapi.json", api: "/v1" })),
  ];
}
