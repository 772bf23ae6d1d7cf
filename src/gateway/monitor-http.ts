import { listenOn } from "../util/listen.js";
import { createServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from "node:http";
import type { NatsCore } from "../server/server.js";
import { varz, connz, subsz, httpReqStats } from "../server/monitor.js";

/** The monitoring endpoints of nats-server (`/varz`, `/connz`, `/subsz`, `/healthz`) on the HTTP port. */
export class MonitorHttp {
  port = 0;
  private srv: HttpServer | null = null;

  constructor(private readonly core: NatsCore) {}

  async listen(port: number, host: string): Promise<void> {
    const srv = createServer((req, res) => this.handle(req, res));
    this.srv = srv;
    this.port = await listenOn(srv, port, host);
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? "/", "http://localhost");
    let body: unknown;
    switch (url.pathname) {
      case "/varz":
        body = varz(this.core, this.port);
        break;
      case "/connz":
        body = connz(this.core, url.searchParams);
        break;
      case "/subsz":
        body = subsz(this.core, url.searchParams);
        break;
      case "/healthz":
        body = { status: "ok" };
        break;
      case "/":
        body = { varz: "/varz", connz: "/connz", subsz: "/subsz", healthz: "/healthz" };
        break;
      default:
        res.writeHead(404, { "content-type": "application/json" });
        res.end(JSON.stringify({ error: { code: 404, description: `no route for ${url.pathname}` } }));
        return;
    }
    // Only known routes are counted, so the map stays bounded.
    httpReqStats[url.pathname] = (httpReqStats[url.pathname] ?? 0) + 1;
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify(body, null, 2));
  }

  async close(): Promise<void> {
    const srv = this.srv;
    this.srv = null;
    if (srv === null) return;
    srv.closeAllConnections();
    await new Promise<void>((resolve) => srv.close(() => resolve()));
  }
}
