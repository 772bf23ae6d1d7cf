/**
 * Server-to-client NATS frames read from a raw socket's bytes, for the scale bench's load
 * generators and probes: MSG and HMSG with their payloads, PING (answered with PONG by the
 * caller), -ERR. No string per message: a frame is handed over as offsets into the buffer.
 */

/** What a reader reports; `buf` is only valid during the call. */
export interface FrameHandler {
  /** A MSG (`hdrLen` 0) or HMSG: the headers are buf[start, start + hdrLen), the payload follows up to `end`. */
  msg(buf: Buffer, start: number, hdrLen: number, end: number): void;
  ping(): void;
  error(line: string): void;
}

const CR = 0x0d;
const LF = 0x0a;
const SPACE = 0x20;

/** Is line [i, nl) the control line of a MSG ("MSG ") or HMSG ("HMSG ")? 0, or the length of the verb and its space. */
function verbLength(buf: Buffer, i: number): number {
  if (buf[i] === 0x4d && buf[i + 1] === 0x53 && buf[i + 2] === 0x47 && buf[i + 3] === SPACE) return 4;
  if (buf[i] === 0x48 && buf[i + 1] === 0x4d && buf[i + 2] === 0x53 && buf[i + 3] === 0x47 && buf[i + 4] === SPACE) return 5;
  return 0;
}

/** The decimal number that ends just before `end` (exclusive) and where it starts, reading backwards to a space. */
function numberBefore(buf: Buffer, end: number, floor: number): { value: number; start: number } {
  let value = 0;
  let mul = 1;
  let j = end - 1;
  for (; j > floor && buf[j] !== SPACE; j--) {
    value += ((buf[j] as number) - 0x30) * mul;
    mul *= 10;
  }
  return { value, start: j };
}

/** Feeds socket chunks in; calls the handler once per whole frame. A frame cut by a read waits for the next chunk. */
export class FrameReader {
  /** Bytes of a frame not yet whole. */
  private carry: Buffer | null = null;

  constructor(private readonly handler: FrameHandler) {}

  feed(chunk: Buffer): void {
    let buf = chunk;
    if (this.carry !== null) {
      buf = Buffer.concat([this.carry, chunk]);
      this.carry = null;
    }
    let i = 0;
    while (i < buf.length) {
      const nl = buf.indexOf(LF, i);
      if (nl === -1) break;
      const lineEnd = buf[nl - 1] === CR ? nl - 1 : nl;
      const verb = verbLength(buf, i);
      if (verb > 0) {
        // "MSG <subject> <sid> [reply] <size>" or "HMSG <subject> <sid> [reply] <hdr> <total>".
        const total = numberBefore(buf, lineEnd, i);
        const hdrLen = verb === 5 ? numberBefore(buf, total.start, i).value : 0;
        const start = nl + 1;
        const end = start + total.value;
        if (end + 2 > buf.length) break;
        this.handler.msg(buf, start, hdrLen, end);
        i = end + 2;
        continue;
      }
      if (buf[i] === 0x50 && buf[i + 1] === 0x49) this.handler.ping();
      else if (buf[i] === 0x2d) this.handler.error(buf.toString("latin1", i, lineEnd));
      i = nl + 1;
    }
    if (i < buf.length) this.carry = Buffer.from(buf.subarray(i));
  }
}

/** The status code of an HMSG's header block ("NATS/1.0 404 ..."), or 0 when it has none. */
export function headerStatus(buf: Buffer, start: number, hdrLen: number): number {
  // "NATS/1.0" is 8 bytes; a status follows after one space.
  if (hdrLen < 12 || buf[start + 8] !== SPACE) return 0;
  return ((buf[start + 9] as number) - 0x30) * 100 + ((buf[start + 10] as number) - 0x30) * 10 + ((buf[start + 11] as number) - 0x30);
}
