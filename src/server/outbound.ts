import { MAX_DECIMAL_BYTES, writeDecimal } from "../util/decimal.js";

/** Largest buffer size remembered between flushes. */
const OUTBOUND_MAX_HINT_BYTES = 1024 * 1024;

const EMPTY = Buffer.alloc(0);

/** Below this many bytes a byte loop beats Buffer.copy's call overhead. */
const SMALL_COPY_BYTES = 64;

/** First size of a connection's outbound buffer (small: idle connections are many); it doubles as needed. */
export const OUTBOUND_INITIAL_BYTES = 512;

/** Flushes up to this size are copied out (Node pools small buffers) and the buffer is kept for reuse. */
const COPY_OUT_MAX_BYTES = 16 * 1024;

/**
 * Per-connection outbound bytes: frames are encoded straight into one buffer and written once per
 * tick. After a flush the written bytes belong to the socket, so a fresh buffer is started.
 */
export class Outbound {
  /** Empty until something is queued, so idle connections hold no buffer. */
  buf: Buffer = EMPTY;
  len = 0;
  /** Size of the last buffer, reused for the next one so a busy connection does not regrow. */
  private sizeHint = OUTBOUND_INITIAL_BYTES;

  /** Make room for `n` more bytes. */
  reserve(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = Math.max(this.buf.length * 2, this.sizeHint);
    while (size < this.len + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    if (this.len > 0) this.buf.copy(next, 0, 0, this.len);
    this.buf = next;
    this.sizeHint = Math.min(size, OUTBOUND_MAX_HINT_BYTES);
  }

  /**
   * Append a latin1 string (control lines: subjects round-trip byte for byte). Short ones, most
   * subjects, reply inboxes and sids, are copied by a loop: cheaper than the native write's call.
   */
  ascii(s: string): void {
    const n = s.length;
    this.reserve(n);
    if (n <= SMALL_COPY_BYTES) {
      const dst = this.buf;
      let o = this.len;
      for (let i = 0; i < n; i++) dst[o++] = s.charCodeAt(i) & 0xff;
      this.len = o;
    } else this.len += this.buf.write(s, this.len, "latin1");
  }

  /** Append bytes `[start, end)` of `src`; small runs are copied by a loop (cheaper than Buffer.copy). */
  range(src: Buffer, start: number, end: number): void {
    const n = end - start;
    this.reserve(n);
    const dst = this.buf;
    let o = this.len;
    if (n <= SMALL_COPY_BYTES) {
      for (let i = start; i < end; i++) dst[o++] = src[i] as number;
    } else {
      src.copy(dst, o, start, end);
      o += n;
    }
    this.len = o;
  }

  /** Append a non-negative integer in decimal. */
  decimal(v: number): void {
    this.reserve(MAX_DECIMAL_BYTES);
    this.len = writeDecimal(this.buf, this.len, v);
  }

  /** Append one byte. */
  byte(b: number): void {
    this.reserve(1);
    this.buf[this.len++] = b;
  }

  /** Append CR LF. */
  crlf(): void {
    this.reserve(2);
    this.buf[this.len++] = 13;
    this.buf[this.len++] = 10;
  }

  bytes(b: Buffer): void {
    this.reserve(b.length);
    b.copy(this.buf, this.len);
    this.len += b.length;
  }

  /**
   * Hand out what is buffered for the socket, which keeps the bytes until written. A small flush is
   * copied out and the buffer reused; a large one is handed over and a new buffer started later.
   */
  take(): Buffer {
    const n = this.len;
    this.len = 0;
    if (n <= COPY_OUT_MAX_BYTES) {
      const out = Buffer.allocUnsafe(n);
      this.buf.copy(out, 0, 0, n);
      return out;
    }
    const out = this.buf.subarray(0, n);
    this.buf = EMPTY;
    return out;
  }
}
