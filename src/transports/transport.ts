/**
 * What the server core needs of a byte stream. TCP, WebSocket and the in-memory pair adapt to it;
 * the core never touches sockets directly.
 */
export interface Transport {
  readonly kind: "tcp" | "websocket" | "memory";
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly tls: boolean;
  /** Bytes accepted by write() but not yet handed to the OS. */
  readonly pendingBytes: number;
  write(data: Buffer): void;
  /** Flush what is written, then close. */
  end(): void;
  /** Close now, dropping whatever is not yet written. */
  destroy(): void;
  /** Register the consumer of inbound bytes and of the close; called once. */
  attach(onData: (chunk: Buffer) => void, onClose: () => void): void;
}
