import { listenOn } from "../util/listen.js";
import { createServer, type Server as HttpServer, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import { createRequire } from "node:module";
import type { WebSocket, WebSocketServer as WsServer } from "ws";
import type { Transport } from "./transport.js";

/**
 * `ws` is CommonJS; through its ESM wrapper Node first runs its export lexer over it, which cost
 * about as much CPU at start-up as loading `ws` itself. `require` skips that.
 */
const { WebSocketServer } = createRequire(import.meta.url)("ws") as typeof import("ws");

/** Largest WebSocket message accepted; checked by `ws` before it buffers a frame (1 MiB payload + framing room). */
export const MAX_WS_MESSAGE_BYTES = 8 * 1024 * 1024;

/** One WebSocket connection as a transport: binary or text frames in, binary frames out. */
export class WsTransport implements Transport {
  readonly kind = "websocket" as const;

  constructor(
    private readonly ws: WebSocket,
    readonly remoteAddress: string,
    readonly remotePort: number,
    /** Over `wss://`. */
    readonly tls = false,
  ) {}

  get pendingBytes(): number {
    return this.ws.bufferedAmount;
  }

  write(data: Buffer): void {
    if (this.ws.readyState === this.ws.OPEN) this.ws.send(data, { binary: true });
  }

  end(): void {
    this.ws.close();
  }

  destroy(): void {
    this.ws.terminate();
  }

  attach(onData: (chunk: Buffer) => void, onClose: () => void): void {
    this.ws.on("message", (data: Buffer | ArrayBuffer | Buffer[]) => {
      if (Buffer.isBuffer(data)) onData(data);
      else if (Array.isArray(data)) onData(Buffer.concat(data));
      else onData(Buffer.from(data));
    });
    this.ws.on("close", onClose);
    this.ws.on("error", () => {
      // close follows
    });
  }
}

/** PEM certificate and key (contents, not paths) for `wss://` (nats-server's `websocket { tls { ... } }`). */
export interface WsTlsOptions {
  cert: string;
  key: string;
}

/** A WebSocket listener (`ws://`, or `wss://` with TLS options) that hands each connection to `accept`. */
export class WsListener {
  port = 0;
  private http: HttpServer | null = null;
  private wss: WsServer | null = null;

  constructor(
    private readonly accept: (t: Transport) => void,
    private readonly tls?: WsTlsOptions,
  ) {}

  /** `wss` when the listener serves TLS, else `ws`. */
  get scheme(): "ws" | "wss" {
    return this.tls === undefined ? "ws" : "wss";
  }

  async listen(port: number, host: string): Promise<void> {
    const upgradeRequired = (_req: unknown, res: ServerResponse): void => {
      res.writeHead(426, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: { code: 426, description: "websocket upgrade required" } }));
    };
    const tls = this.tls;
    // An https.Server is a tls.Server that speaks HTTP: the upgrade and the frames run inside TLS.
    const http: HttpServer = tls === undefined ? createServer(upgradeRequired) : createHttpsServer({ cert: tls.cert, key: tls.key }, upgradeRequired);
    const wss = new WebSocketServer({ server: http, maxPayload: MAX_WS_MESSAGE_BYTES, perMessageDeflate: false });
    wss.on("connection", (ws, req) => {
      this.accept(new WsTransport(ws, req.socket.remoteAddress ?? "", req.socket.remotePort ?? 0, tls !== undefined));
    });
    this.http = http;
    this.wss = wss;
    this.port = await listenOn(http, port, host);
  }

  async close(): Promise<void> {
    for (const c of this.wss?.clients ?? []) c.terminate();
    this.wss?.close();
    const http = this.http;
    this.http = null;
    if (http !== null) await new Promise<void>((resolve) => http.close(() => resolve()));
  }
}
