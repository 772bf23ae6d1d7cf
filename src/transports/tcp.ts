import type { Socket } from "node:net";
import type { SecureContext } from "node:tls";
import type { Transport } from "./transport.js";

/** The first byte of a TLS handshake record (a ClientHello): how a mixed port tells TLS from NATS. */
const TLS_HANDSHAKE_RECORD = 0x16;

/**
 * A TCP socket as a transport. With a TLS context it behaves as nats-server does for clients: the
 * first write (INFO, with `tls_required`) goes out in plain text, then the socket is wrapped and
 * everything after it, both ways, is TLS. With `allowNonTls` (nats-server `allow_non_tls`, INFO
 * says `tls_available`), the client chooses: its first bytes are a TLS handshake, and the socket
 * is wrapped, or they are NATS protocol, read as plain text (nats-server's createClient peeks).
 */
export class TcpTransport implements Transport {
  readonly kind = "tcp" as const;
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** "either" until a client on an allow_non_tls port has sent its first bytes. */
  private mode: "plain" | "tls" | "either";
  private out: Socket;
  private onData: ((chunk: Buffer) => void) | null = null;

  constructor(
    private readonly socket: Socket,
    private readonly secureContext: SecureContext | null = null,
    /** Require a client certificate the context's CA signed (nats-server `tls { verify: true }`). */
    private readonly verifyClient = false,
    /** Told why a TLS handshake failed (the socket is then closed). */
    private readonly onTlsError: ((t: TcpTransport, err: Error) => void) | null = null,
    /** Plain clients are served too (nats-server `allow_non_tls`). */
    allowNonTls = false,
  ) {
    this.remoteAddress = socket.remoteAddress ?? "";
    this.remotePort = socket.remotePort ?? 0;
    this.mode = secureContext === null ? "plain" : allowNonTls ? "either" : "tls";
    this.out = socket;
    socket.setNoDelay(true);
  }

  /** TLS is (or will be, once INFO is out) spoken on this connection. */
  get tls(): boolean {
    return this.mode === "tls";
  }

  /** Nothing is pending on a destroyed socket: its buffers are dropped. */
  get pendingBytes(): number {
    return this.out.destroyed ? 0 : this.out.writableLength;
  }

  write(data: Buffer): void {
    if (this.out.destroyed) return;
    this.out.write(data);
    if (this.mode === "tls" && this.secureContext !== null && this.out === this.socket) this.upgrade(this.secureContext);
  }

  /** allow_non_tls: the client's first bytes say whether it speaks TLS (a handshake record) or NATS. */
  private choose(first: Buffer): void {
    if (first[0] === TLS_HANDSHAKE_RECORD && this.secureContext !== null) {
      this.mode = "tls";
      // Paused and put back: the TLS socket reads what the net socket holds before its own reads.
      this.socket.pause();
      this.socket.unshift(first);
      this.upgrade(this.secureContext);
      return;
    }
    this.mode = "plain";
    if (this.onData === null) return;
    this.socket.on("data", this.onData);
    this.onData(first);
  }

  private upgrade(secureContext: SecureContext): void {
    // With verifyClient, OpenSSL fails the handshake of a client without a valid certificate (an
    // alert; nothing reaches the parser), as Go's RequireAndVerifyClientCert does for nats-server.
    // node:tls is loaded here, not imported: a server without TLS never loads it (start-up, issue 15).
    const tls = new (process.getBuiltinModule("node:tls").TLSSocket)(this.socket, { isServer: true, secureContext, requestCert: this.verifyClient, rejectUnauthorized: this.verifyClient });
    this.out = tls;
    let secure = false;
    tls.once("secure", () => (secure = true));
    tls.on("error", (err: Error) => {
      if (!secure) this.onTlsError?.(this, err);
      // After the written TLS alert, so the client learns why (destroy now would reset the
      // connection under it: the client reads ECONNRESET instead of the alert).
      this.socket.destroySoon();
    });
    if (this.onData !== null) tls.on("data", this.onData);
  }

  end(): void {
    this.out.end();
  }

  /**
   * Close now and drop what is unsent: the bytes Node still buffers and, by a reset instead of a
   * FIN, those in the kernel's send buffer, which a peer that does not read would otherwise keep
   * allocated until TCP gives up on it.
   */
  destroy(): void {
    if (this.out !== this.socket) this.out.destroy();
    if (!this.socket.destroyed) this.socket.resetAndDestroy();
  }

  attach(onData: (chunk: Buffer) => void, onClose: () => void): void {
    this.onData = onData;
    // Under TLS nothing is read until the socket is wrapped: the client's first bytes are its handshake.
    if (this.mode === "plain") this.socket.on("data", onData);
    else if (this.mode === "either") this.socket.once("data", (first: Buffer) => this.choose(first));
    this.socket.on("close", onClose);
    this.socket.on("error", () => {
      // The close event follows; nothing else to do.
    });
  }
}
