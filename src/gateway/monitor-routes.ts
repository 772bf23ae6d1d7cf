import { varz, connz, subsz, httpReqStats } from "../server/monitor.js";
import type { Gateway } from "./context.js";
import type { Route, RouteCall } from "./routes.js";

/**
 * nats-server's monitoring endpoints (`/varz`, `/connz`, `/subsz`, `/healthz`) and the index at `/`.
 * Like nats-server's they take no credentials: bind the HTTP port to a private address.
 */
export function monitorRoutes(g: Gateway): Route[] {
  const json = (path: string, body: (call: RouteCall) => unknown): Route => ({
    method: "GET",
    path,
    auth: false,
    handler: (call) => {
      // Only known routes are counted, so the map stays bounded.
      httpReqStats[path] = (httpReqStats[path] ?? 0) + 1;
      const text = JSON.stringify(body(call), null, 2);
      call.res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
      call.res.end(text);
    },
  });
  return [
    json("/varz", () => varz(g.core, g.port)),
    json("/connz", (c) => connz(g.core, c.query)),
    json("/subsz", (c) => subsz(g.core, c.query)),
    json("/healthz", () => ({ status: "ok" })),
    json("/", () => ({ varz: "/varz", connz: "/connz", subsz: "/subsz", healthz: "/healthz", jsz: "/jsz", metrics: "/metrics", openapi: "/openapi.json", api: "/v1" })),
  ];
}
