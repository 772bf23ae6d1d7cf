import { createServer, type AddressInfo, type Server, type Socket } from "node:net";
import { listenOn } from "../util/listen.js";

/**
 * Most connections a WaitingListener keeps waiting while start-up goes on; past it they are
 * closed (a launcher makes a handful; nothing should pile up for the ~100 ms it lasts).
 */
export const MAX_WAITING_CONNECTIONS = 1024;

/**
 * A TCP port bound before the code that serves it has loaded (startServer binds the HTTP port
 * while the HTTP edge's modules load): connections wait, unread, until `serveWith` names what
 * serves them, then go to it in the order they came, and every later one at once.
 */
export class WaitingListener {
  port = 0;
  private readonly server: Server;
  private waiting: Socket[] | null = [];
  private serve: ((socket: Socket) => void) | null = null;

  constructor() {
    this.server = createServer((socket) => this.connection(socket));
  }

  async listen(port: number, host: string): Promise<void> {
    this.port = await listenOn(this.server, port, host);
  }

  /** The bound address (after `listen`). */
  address(): AddressInfo {
    return this.server.address() as AddressInfo;
  }

  private connection(socket: Socket): void {
    if (this.serve !== null) {
      this.serve(socket);
      return;
    }
    const waiting = this.waiting;
    if (waiting === null || waiting.length >= MAX_WAITING_CONNECTIONS) {
      socket.destroy();
      return;
    }
    // A reset while it waits must not become an uncaught 'error'.
    socket.on("error", () => {});
    waiting.push(socket);
  }

  /** From now on connections go to `serve`, those that waited first. */
  serveWith(serve: (socket: Socket) => void): void {
    this.serve = serve;
    const waiting = this.waiting ?? [];
    this.waiting = null;
    for (const socket of waiting) if (!socket.destroyed) serve(socket);
  }

  /**
   * Stop listening at once and close the connections still waiting; resolves once every
   * connection handed over has closed too (close their server meanwhile).
   */
  close(): Promise<void> {
    for (const socket of this.waiting ?? []) socket.destroy();
    this.waiting = null;
    this.serve = null;
    return new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
