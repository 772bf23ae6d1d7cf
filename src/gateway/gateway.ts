import { ServerResponse, createServer, type IncomingMessage, type Server as HttpServer } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { performance } from "node:perf_hooks";
import { listenOn } from "../util/listen.js";
import type { NatsCore } from "../server/server.js";
import { httpIdentity } from "./auth.js";
import { DEFAULT_API_OPEN_TO, accessSummary, addressText, type ApiOpenTo } from "./access.js";
import { authRequired } from "../auth/users.js";
import { GatewayBus } from "./bus-client.js";
import { HttpError, NO_QUERY, answerError, sendError } from "./http-util.js";
import { RouteTable, type Route } from "./routes.js";
import { GatewayMetrics } from "./metrics.js";
import { monitorRoutes } from "./monitor-routes.js";
import { streamingRoutes } from "./streaming-monitor.js";
import { publishRoutes } from "./publish.js";
import { streamsRoutes } from "./streams-api.js";
import { SseFeature } from "./sse.js";
import { LongPollFeature } from "./long-poll.js";
import { WebhooksFeature } from "./webhooks/webhooks.js";
import type { Gateway as GatewayContext, GatewayFeature, GatewayOptions } from "./context.js";

export type { GatewayFeature, GatewayOptions } from "./context.js";
import { eventsCompatRoutes } from "./events-compat.js";
import { openapiRoutes } from "./openapi.js";

/**
 * The gateway's responses carry what the request counter needs in fields every response has from
 * construction, so all responses keep one shape (a property added per request would change it
 * and slow Node's own code that handles them).
 */
class MeteredResponse<Req extends IncomingMessage = IncomingMessage> extends ServerResponse<Req> {
  meterGateway: Gateway | null = null;
  meterRoute = "";
  meterStarted = 0;
}

function onResponseClose(this: MeteredResponse): void {
  const g = this.meterGateway;
  if (g !== null) g.recordRequest(this, this.meterRoute, this.meterStarted);
}

/** Auth configuration of the routes that take none (the monitoring endpoints). */
const NO_AUTH = {};

/**
 * An absolute-form request target (`http://host/path`, as proxies send) split through `URL`.
 * Null when it cannot be parsed. (An origin-form target, `/path?query`, is split in `handle`
 * without a `URL` object, which costs about a microsecond a request.)
 */
function splitAbsolute(target: string): { pathname: string; query: URLSearchParams } | null {
  try {
    const url = new URL(target);
    return { pathname: url.pathname, query: url.searchParams };
  } catch {
    return null;
  }
}

/**
 * The HTTP edge on the monitoring port: nats-server's monitoring endpoints, `/metrics`, `/jsz`,
 * and the `/v1` API (publish, request, SSE, long polling, webhooks, streams), every one an
 * internal client of the same router and `$JS.API` handlers NATS connections reach.
 */
export class Gateway implements GatewayContext {
  port = 0;
  readonly bus: GatewayBus;
  readonly metrics: GatewayMetrics;
  /** Webhooks: `list()` gives each one's delivery counters (for `/metrics`). */
  readonly webhooks: WebhooksFeature;
  readonly table = new RouteTable();
  private readonly features: GatewayFeature[] = [];
  private srv: HttpServer | null = null;
  private readonly sockets = new Set<Socket>();
  /** The address of a port bound elsewhere (serveConnections). */
  private bound: AddressInfo | null = null;
  /** Who may use the API without credentials when the server has none configured. */
  private readonly apiOpenTo: ApiOpenTo;

  constructor(
    readonly core: NatsCore,
    readonly opts: GatewayOptions = {},
  ) {
    this.apiOpenTo = opts.apiOpenTo ?? DEFAULT_API_OPEN_TO;
    this.bus = new GatewayBus(core.internalClient());
    this.metrics = new GatewayMetrics(this);
    this.webhooks = new WebhooksFeature(this);
    this.features.push(
      { routes: monitorRoutes(this) },
      this.metrics,
      { routes: publishRoutes(this) },
      { routes: streamsRoutes(this) },
      new SseFeature(this),
      new LongPollFeature(this),
      this.webhooks,
      { routes: eventsCompatRoutes(this) },
      { routes: openapiRoutes(this) },
    );
    if (opts.streaming !== undefined) this.features.push({ routes: streamingRoutes(opts.streaming) });
    for (const f of this.features) for (const r of f.routes) this.table.add(r);
  }

  /** Does JetStream serve the HTTP edge's account (the server's services' account)? */
  get jetstream(): boolean {
    return this.core.jetstream !== null;
  }

  async listen(port: number, host: string): Promise<void> {
    this.port = await listenOn(this.httpServer(), port, host);
  }

  /**
   * Serve connections accepted on a port bound elsewhere (startServer binds it before this module
   * has loaded): returns what to hand each one to.
   */
  serveConnections(bound: AddressInfo): (socket: Socket) => void {
    const srv = this.httpServer();
    this.port = bound.port;
    this.bound = bound;
    return (socket) => void srv.emit("connection", socket);
  }

  private httpServer(): HttpServer {
    const srv = createServer({ ServerResponse: MeteredResponse }, (req, res) => this.handle(req, res as MeteredResponse));
    srv.on("connection", (s: Socket) => {
      this.sockets.add(s);
      s.once("close", () => this.sockets.delete(s));
    });
    this.srv = srv;
    return srv;
  }

  /**
   * What the edge lets callers from where do, for the start-up log: one line, a warning when the
   * API is open to every host without credentials.
   */
  accessSummary(): { level: "INF" | "WRN"; text: string } {
    return accessSummary(addressText(this.bound ?? this.srv?.address()), authRequired(this.core.auth), this.apiOpenTo);
  }

  /** Start the features that run on their own (webhook deliveries). Call once JetStream is up. */
  async start(): Promise<void> {
    for (const f of this.features) await f.start?.();
  }

  private handle(req: IncomingMessage, res: MeteredResponse): void {
    const started = performance.now();
    const target = req.url ?? "/";
    let pathname = target;
    let query = NO_QUERY;
    if (target.charCodeAt(0) === 47 /* / */) {
      const q = target.indexOf("?");
      if (q >= 0) {
        pathname = target.slice(0, q);
        query = new URLSearchParams(target.slice(q + 1));
      }
    } else {
      const split = splitAbsolute(target);
      if (split === null) {
        this.finish(res, "unmatched", started);
        sendError(res, new HttpError(400, "malformed request URL"));
        return;
      }
      ({ pathname, query } = split);
    }
    const m = this.table.match(req.method ?? "GET", pathname);
    if (!("route" in m)) {
      this.finish(res, "unmatched", started);
      if (m.allowed.length > 0) sendError(res, new HttpError(405, `${req.method} is not allowed on ${pathname}`, undefined, { allow: m.allowed.join(", ") }));
      else sendError(res, new HttpError(404, `no route for ${req.method} ${pathname}`));
      return;
    }
    const { route, params } = m;
    this.finish(res, route.path, started);
    try {
      // The API routes: credentials when the server has any, else a caller `apiOpenTo` admits.
      const who = route.auth ? httpIdentity(this.core.auth, req, this.apiOpenTo, this.bus.client.account.name) : httpIdentity(NO_AUTH, req);
      const r = route.handler({ req, res, params, query, who });
      if (r !== undefined) r.catch((err: unknown) => this.fail(res, err));
    } catch (err) {
      this.fail(res, err);
    }
  }

  /**
   * Count the request by route and status once its response closes. The listener is one shared
   * function reading what it needs off the response, so a request adds no closure.
   */
  private finish(res: MeteredResponse, route: string, started: number): void {
    res.meterGateway = this;
    res.meterRoute = route;
    res.meterStarted = started;
    // `on`, not `once`: a response closes once, and `once` would wrap the listener per request.
    res.on("close", onResponseClose);
  }

  /** Called by the shared close listener. */
  recordRequest(res: ServerResponse, route: string, started: number): void {
    this.metrics.httpRequest(route, res.req.method ?? "GET", res.statusCode, (performance.now() - started) / 1000);
  }

  private fail(res: ServerResponse, err: unknown): void {
    answerError(res, err, this.core.debug);
  }

  async close(): Promise<void> {
    for (const f of this.features) await f.close?.();
    this.bus.close();
    const srv = this.srv;
    this.srv = null;
    if (srv === null) return;
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => srv.close(() => resolve()));
  }
}
