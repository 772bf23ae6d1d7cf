import { Duplex } from "node:stream";
import type { Transport } from "./transport.js";

/**
 * An in-memory connection: the server side is a Transport, the client side a Duplex stream that a
 * test (or an in-process client) writes protocol bytes to and reads replies from. No sockets.
 */
export class MemoryTransport implements Transport {
  readonly kind = "memory" as const;
  readonly remoteAddress = "memory";
  readonly remotePort = 0;
  readonly tls = false;
  readonly client: Duplex;
  private onData: ((chunk: Buffer) => void) | null = null;
  private onClose: (() => void) | null = null;
  private closed = false;
  private early: Buffer[] = [];

  constructor() {
    const self = this;
    this.client = new Duplex({
      read(): void {
        // Data is pushed by the server side.
      },
      write(chunk: Buffer, _enc, cb): void {
        // Deliver on a later tick, as a socket would.
        setImmediate(() => {
          if (self.closed) return;
          if (self.onData === null) self.early.push(chunk);
          else self.onData(chunk);
        });
        cb();
      },
      final(cb): void {
        self.finish();
        cb();
      },
    });
    this.client.on("close", () => this.finish());
  }

  get pendingBytes(): number {
    return this.client.readableLength;
  }

  write(data: Buffer): void {
    if (!this.closed) this.client.push(data);
  }

  end(): void {
    this.finish();
  }

  destroy(): void {
    this.finish();
  }

  attach(onData: (chunk: Buffer) => void, onClose: () => void): void {
    this.onData = onData;
    this.onClose = onClose;
    for (const c of this.early) onData(c);
    this.early = [];
  }

  private finish(): void {
    if (this.closed) return;
    this.closed = true;
    this.client.push(null);
    this.onClose?.();
  }
}
