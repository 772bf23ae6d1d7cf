import { Counter, Registry } from "prom-client";
import type { Gateway, GatewayFeature } from "./context.js";
import type { Route } from "./routes.js";

/**
 * `/metrics` in Prometheus text format, one prom-client registry per server (so several servers
 * in one process, as in tests, keep their own counts).
 */
export class GatewayMetrics implements GatewayFeature {
  readonly registry = new Registry();
  readonly routes: Route[];
  private readonly httpRequests: Counter<"route" | "method" | "status">;

  constructor(private readonly g: Gateway) {
    this.httpRequests = new Counter({
      name: "cuebus_http_requests_total",
      help: "HTTP requests answered, by route pattern, method and status",
      labelNames: ["route", "method", "status"],
      registers: [this.registry],
    });
    this.routes = [
      {
        method: "GET",
        path: "/metrics",
        auth: false,
        handler: async ({ res }) => {
          const text = await this.registry.metrics();
          res.writeHead(200, { "content-type": this.registry.contentType });
          res.end(text);
        },
      },
    ];
    void this.g;
  }

  /** Count one answered HTTP request (called by the gateway when the response closes). */
  httpRequest(route: string, method: string, status: number, _startedNs: bigint): void {
    this.httpRequests.inc({ route, method, status: String(status) });
  }
}
