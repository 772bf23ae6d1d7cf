import type { Socket } from "node:net";
import type { Transport } from "./transport.js";

/** A TCP (or TLS) socket as a transport. */
export class TcpTransport implements Transport {
  readonly kind = "tcp" as const;
  readonly remoteAddress: string;
  readonly remotePort: number;

  constructor(
    private readonly socket: Socket,
    readonly tls = false,
  ) {
    this.remoteAddress = socket.remoteAddress ?? "";
    this.remotePort = socket.remotePort ?? 0;
    socket.setNoDelay(true);
  }

  get pendingBytes(): number {
    return this.socket.writableLength;
  }

  write(data: Buffer): void {
    if (!this.socket.destroyed) this.socket.write(data);
  }

  end(): void {
    this.socket.end();
  }

  destroy(): void {
    this.socket.destroy();
  }

  attach(onData: (chunk: Buffer) => void, onClose: () => void): void {
    this.socket.on("data", onData);
    this.socket.on("close", onClose);
    this.socket.on("error", () => {
      // The close event follows; nothing else to do.
    });
  }
}
