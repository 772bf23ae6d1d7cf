import { Limits } from "./limits.js";
import { ErrText } from "./errors.js";

/**
 * What the parser hands to its owner. One object per connection; the parser calls these
 * synchronously and never holds on to the buffers it passes (a payload slice is valid only during
 * the call: copy it to keep it).
 */
export interface ParserHandler {
  onConnect(json: string): void;
  /** `hdrBytes` is 0 for PUB; for HPUB it is the size of the header block at the start of `payload`. */
  onPub(subject: string, reply: string, hdrBytes: number, payload: Buffer): void;
  onSub(subject: string, queue: string, sid: string): void;
  onUnsub(sid: string, max: number): void;
  onPing(): void;
  onPong(): void;
  /** Server-to-client ops a client may still send (INFO, +OK, -ERR, MSG); nats-server ignores or rejects them. */
  onOtherOp(op: string): void;
  /**
   * A protocol violation. `errText` is the `-ERR` text to send before closing, or null where
   * nats-server closes the connection without one.
   */
  onParseError(errText: string | null, state: string, snippet: string): void;
}

/** nats-server `server/parser.go` names, kept for the states we have. */
export const ParserState = {
  OP_START: "OP_START",
  CONTROL_LINE: "CONTROL_LINE",
  MSG_PAYLOAD: "MSG_PAYLOAD",
  MSG_END_R: "MSG_END_R",
  MSG_END_N: "MSG_END_N",
  CLOSED: "CLOSED",
} as const;
export type ParserStateName = (typeof ParserState)[keyof typeof ParserState];

const CR = 13;
const LF = 10;

/** Options a parser honours; the server passes its configured limits. */
export interface ParserLimits {
  maxControlLineBytes: number;
  maxPayloadBytes: number;
}

/**
 * Byte state machine for the client side of the NATS protocol (what a client sends to the server).
 * It slices the incoming chunk and copies only when a control line or payload spans chunks.
 */
export class Parser {
  state: ParserStateName = ParserState.OP_START;
  private partialLine: Buffer | null = null;
  // Pending PUB/HPUB while reading its payload.
  private pubSubject = "";
  private pubReply = "";
  private pubHdr = 0;
  private pubSize = 0;
  private payloadBuf: Buffer | null = null;
  private payloadFill = 0;
  private readonly maxControl: number;
  private readonly maxPayload: number;

  constructor(
    private readonly handler: ParserHandler,
    limits: ParserLimits = Limits,
  ) {
    this.maxControl = limits.maxControlLineBytes;
    this.maxPayload = limits.maxPayloadBytes;
  }

  /** Feed one chunk of bytes. */
  parse(chunk: Buffer): void {
    let pos = 0;
    const len = chunk.length;
    while (pos < len && this.state !== ParserState.CLOSED) {
      switch (this.state) {
        case ParserState.OP_START:
        case ParserState.CONTROL_LINE: {
          const nl = chunk.indexOf(LF, pos);
          if (nl === -1) {
            const part = chunk.subarray(pos);
            const have = (this.partialLine?.length ?? 0) + part.length;
            if (have > this.maxControl) {
              this.fail(ErrText.maxControlLine, part);
              return;
            }
            this.partialLine = this.partialLine === null ? Buffer.from(part) : Buffer.concat([this.partialLine, part]);
            this.state = ParserState.CONTROL_LINE;
            return;
          }
          if (this.partialLine === null && this.fastPub(chunk, pos, nl)) {
            pos = nl + 1;
            continue;
          }
          let line: Buffer;
          if (this.partialLine !== null) {
            line = Buffer.concat([this.partialLine, chunk.subarray(pos, nl)]);
            this.partialLine = null;
          } else {
            line = chunk.subarray(pos, nl);
          }
          pos = nl + 1;
          this.state = ParserState.OP_START;
          let end = line.length;
          if (end > 0 && line[end - 1] === CR) end--;
          if (end > this.maxControl) {
            this.fail(ErrText.maxControlLine, line);
            return;
          }
          this.controlLine(line.toString("latin1", 0, end), line);
          break;
        }
        case ParserState.MSG_PAYLOAD: {
          const need = this.pubSize - this.payloadFill;
          if (this.payloadBuf === null && len - pos >= this.pubSize + 2) {
            // Payload and its CRLF are in this chunk: hand over a slice, no copy. (A slice must
            // not outlive this call: the caller may reuse the chunk, so a payload whose CRLF is
            // still to come takes the copying path below.)
            const end = pos + this.pubSize;
            if (chunk[end] !== CR || chunk[end + 1] !== LF) {
              this.fail(ErrText.unknownOp, chunk.subarray(end, end + 32));
              return;
            }
            pos = end + 2;
            this.state = ParserState.OP_START;
            this.handler.onPub(this.pubSubject, this.pubReply, this.pubHdr, chunk.subarray(end - this.pubSize, end));
            break;
          }
          if (this.payloadBuf === null) {
            this.payloadBuf = Buffer.allocUnsafe(this.pubSize);
            this.payloadFill = 0;
          }
          const take = Math.min(need, len - pos);
          chunk.copy(this.payloadBuf, this.payloadFill, pos, pos + take);
          this.payloadFill += take;
          pos += take;
          if (this.payloadFill === this.pubSize) {
            this.pendingPayload = this.payloadBuf;
            this.payloadBuf = null;
            this.state = ParserState.MSG_END_R;
          }
          break;
        }
        case ParserState.MSG_END_R: {
          if (chunk[pos] !== CR) {
            this.fail(ErrText.unknownOp, chunk.subarray(pos, pos + 32));
            return;
          }
          pos++;
          this.state = ParserState.MSG_END_N;
          break;
        }
        case ParserState.MSG_END_N: {
          if (chunk[pos] !== LF) {
            this.fail(ErrText.unknownOp, chunk.subarray(pos, pos + 32));
            return;
          }
          pos++;
          this.state = ParserState.OP_START;
          const payload = this.pendingPayload;
          this.pendingPayload = EMPTY;
          this.handler.onPub(this.pubSubject, this.pubReply, this.pubHdr, payload);
          break;
        }
        default:
          return;
      }
    }
  }

  private pendingPayload: Buffer = EMPTY;

  /**
   * Hot path for the common `PUB <subject> [reply] <size>` line that lies whole in one chunk: reads
   * the arguments straight from the bytes (no line string, no split). Anything unusual (tabs, bad
   * size, limits) returns false and takes the general path, which reports errors.
   */
  private fastPub(chunk: Buffer, start: number, nl: number): boolean {
    let end = nl;
    if (end > start && chunk[end - 1] === CR) end--;
    if (end - start > this.maxControl || end - start < 7) return false;
    if (
      ((chunk[start] as number) | 0x20) !== 0x70 ||
      ((chunk[start + 1] as number) | 0x20) !== 0x75 ||
      ((chunk[start + 2] as number) | 0x20) !== 0x62 ||
      chunk[start + 3] !== 32
    ) {
      return false;
    }
    // Up to three space-separated arguments as byte ranges.
    let a0 = -1, a1 = -1, b0 = -1, b1 = -1, c0 = -1, c1 = -1;
    let n = 0;
    let i = start + 4;
    while (i < end) {
      const c = chunk[i] as number;
      if (c === 32) {
        i++;
        continue;
      }
      if (c === 9) return false;
      const t0 = i;
      while (i < end && chunk[i] !== 32 && chunk[i] !== 9) i++;
      if (n === 0) { a0 = t0; a1 = i; }
      else if (n === 1) { b0 = t0; b1 = i; }
      else if (n === 2) { c0 = t0; c1 = i; }
      else return false;
      n++;
    }
    let s0: number, s1: number;
    if (n === 2) { s0 = b0; s1 = b1; }
    else if (n === 3) { s0 = c0; s1 = c1; }
    else return false;
    if (s1 - s0 > 9) return false;
    let size = 0;
    for (let k = s0; k < s1; k++) {
      const d = (chunk[k] as number) - 48;
      if (d < 0 || d > 9) return false;
      size = size * 10 + d;
    }
    if (size > this.maxPayload) return false;
    this.pubSubject = chunk.toString("latin1", a0, a1);
    this.pubReply = n === 3 ? chunk.toString("latin1", b0, b1) : "";
    this.pubHdr = 0;
    this.pubSize = size;
    this.payloadFill = 0;
    this.payloadBuf = null;
    if (size === 0) {
      this.pendingPayload = EMPTY;
      this.state = ParserState.MSG_END_R;
    } else {
      this.state = ParserState.MSG_PAYLOAD;
    }
    return true;
  }

  /** Stop parsing; later input is ignored. */
  close(): void {
    this.state = ParserState.CLOSED;
  }

  private fail(errText: string | null, snippet: Buffer): void {
    const state = this.state;
    this.state = ParserState.CLOSED;
    this.handler.onParseError(errText, state, snippet.toString("latin1", 0, Math.min(snippet.length, 32)));
  }

  private controlLine(line: string, raw: Buffer): void {
    // Split op from arguments on the first space or tab.
    let i = 0;
    const n = line.length;
    while (i < n && line.charCodeAt(i) !== 32 && line.charCodeAt(i) !== 9) i++;
    const op = line.slice(0, i).toUpperCase();
    const rest = line.slice(i);
    if (rest === "" && (op === "PUB" || op === "HPUB" || op === "SUB" || op === "UNSUB" || op === "CONNECT")) {
      // nats-server's state machine needs a space after these ops; without one it is an unknown op.
      return this.fail(ErrText.unknownOp, raw);
    }
    switch (op) {
      case "PUB":
        return this.pubArgs(rest, false, raw);
      case "HPUB":
        return this.pubArgs(rest, true, raw);
      case "SUB":
        return this.subArgs(rest, raw);
      case "UNSUB":
        return this.unsubArgs(rest, raw);
      case "PING":
        if (rest.trim() !== "") return this.fail(ErrText.unknownOp, raw);
        return this.handler.onPing();
      case "PONG":
        if (rest.trim() !== "") return this.fail(ErrText.unknownOp, raw);
        return this.handler.onPong();
      case "CONNECT":
        return this.handler.onConnect(rest.trim());
      case "INFO":
      case "+OK":
      case "-ERR":
        return this.handler.onOtherOp(op);
      default:
        if (op === "" && rest.trim() === "") {
          // nats-server treats a bare CRLF as an unknown op.
          return this.fail(ErrText.unknownOp, raw);
        }
        return this.fail(ErrText.unknownOp, raw);
    }
  }

  private pubArgs(rest: string, headers: boolean, raw: Buffer): void {
    const args = splitArgs(rest);
    let subject: string | undefined;
    let reply = "";
    let hdr = 0;
    let size: number;
    if (headers) {
      if (args.length === 3) {
        subject = args[0];
        hdr = parseSize(args[1]);
        size = parseSize(args[2]);
      } else if (args.length === 4) {
        subject = args[0];
        reply = args[1] ?? "";
        hdr = parseSize(args[2]);
        size = parseSize(args[3]);
      } else {
        return this.fail(null, raw);
      }
      if (hdr < 0 || size < 0 || hdr > size) return this.fail(null, raw);
    } else {
      if (args.length === 2) {
        subject = args[0];
        size = parseSize(args[1]);
      } else if (args.length === 3) {
        subject = args[0];
        reply = args[1] ?? "";
        size = parseSize(args[2]);
      } else {
        return this.fail(null, raw);
      }
      if (size < 0) return this.fail(null, raw);
    }
    if (size > this.maxPayload) {
      return this.fail(ErrText.maxPayload, raw);
    }
    this.pubSubject = subject ?? "";
    this.pubReply = reply;
    this.pubHdr = hdr;
    this.pubSize = size;
    this.payloadFill = 0;
    this.payloadBuf = null;
    this.state = size === 0 ? ParserState.MSG_END_R : ParserState.MSG_PAYLOAD;
    if (size === 0) this.pendingPayload = EMPTY;
  }

  private subArgs(rest: string, raw: Buffer): void {
    const args = splitArgs(rest);
    if (args.length === 2) return this.handler.onSub(args[0] ?? "", "", args[1] ?? "");
    if (args.length === 3) return this.handler.onSub(args[0] ?? "", args[1] ?? "", args[2] ?? "");
    return this.fail(null, raw);
  }

  private unsubArgs(rest: string, raw: Buffer): void {
    const args = splitArgs(rest);
    if (args.length === 1) return this.handler.onUnsub(args[0] ?? "", 0);
    if (args.length === 2) {
      const max = parseSize(args[1]);
      if (max < 0) return this.fail(null, raw);
      return this.handler.onUnsub(args[0] ?? "", max);
    }
    return this.fail(null, raw);
  }
}

const EMPTY = Buffer.alloc(0);

/** Split on runs of spaces and tabs. */
export function splitArgs(s: string): string[] {
  const out: string[] = [];
  let start = -1;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 32 || c === 9) {
      if (start >= 0) {
        out.push(s.slice(start, i));
        start = -1;
      }
    } else if (start < 0) {
      start = i;
    }
  }
  if (start >= 0) out.push(s.slice(start));
  return out;
}

/** nats-server parseSize: decimal digits only, -1 on anything else or overflow. */
export function parseSize(s: string | undefined): number {
  if (s === undefined || s.length === 0 || s.length > 9) return -1;
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const d = s.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}
