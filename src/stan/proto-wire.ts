/**
 * The protobuf wire format (proto3), as much of it as the NATS Streaming messages use: varints
 * (int32, uint32, int64, uint64, bool, enum; wire type 0) and length-delimited fields (string,
 * bytes; wire type 2). Fixed 32/64-bit fields (wire types 5 and 1) are skipped when unknown; groups
 * (3, 4) are refused, as proto3 has none. Written from the encoding's description
 * (protobuf.dev/programming-guides/encoding), not from a library.
 *
 * Reading never throws anything but a StanProtoError, and checks every length against the bytes
 * left before it slices or decodes.
 */

/** Wire types. */
export const WireType = { VARINT: 0, I64: 1, LEN: 2, SGROUP: 3, EGROUP: 4, I32: 5 } as const;

/** A varint is at most 10 bytes (64 bits, 7 per byte). */
export const MAX_VARINT_BYTES = 10;
/** Field numbers are 29 bits. */
export const MAX_FIELD_NUMBER = 0x1fffffff;

/** A message that is not valid protobuf, or not the message it was read as. */
export class StanProtoError extends Error {
  constructor(
    /** What was being read: `PubMsg.data`, `SubscriptionRequest`, ... */
    readonly where: string,
    reason: string,
  ) {
    super(`${where}: ${reason}`);
    this.name = "StanProtoError";
  }
}

/**
 * Reads fields one after another from a buffer. `next()` gives the next field's number and wire
 * type (false at the end); then exactly one of the read or skip methods takes its value.
 */
export class ProtoReader {
  private pos = 0;
  field = 0;
  wire = 0;

  constructor(
    private readonly buf: Buffer,
    /** The message's name, for errors. */
    private readonly what: string,
  ) {}

  next(): boolean {
    if (this.pos >= this.buf.length) return false;
    const key = this.varint();
    const field = Math.floor(key / 8);
    if (field === 0 || field > MAX_FIELD_NUMBER) throw new StanProtoError(this.what, `invalid field number ${field}`);
    this.field = field;
    this.wire = key % 8;
    return true;
  }

  /** A varint as a number; one beyond 2^53 is refused (no STAN sequence or count reaches it). */
  uint(): number {
    this.expect(WireType.VARINT);
    return this.varint();
  }

  /** A varint as int32 (a negative int32 is written as ten bytes, sign-extended to 64 bits). */
  int32(): number {
    this.expect(WireType.VARINT);
    const v = this.bigVarint();
    return Number(BigInt.asIntN(32, v));
  }

  /** A varint as int64 (nanosecond times and durations need the whole range). */
  int64(): bigint {
    this.expect(WireType.VARINT);
    return BigInt.asIntN(64, this.bigVarint());
  }

  bool(): boolean {
    this.expect(WireType.VARINT);
    return this.bigVarint() !== 0n;
  }

  /** A length-delimited field as a slice of the input (not a copy). */
  bytes(maxBytes: number): Buffer {
    this.expect(WireType.LEN);
    const len = this.varint();
    if (len > maxBytes) throw new StanProtoError(this.what, `field ${this.field} is ${len} bytes, more than ${maxBytes}`);
    if (len > this.buf.length - this.pos) throw new StanProtoError(this.what, `field ${this.field} is cut short`);
    const out = this.buf.subarray(this.pos, this.pos + len);
    this.pos += len;
    return out;
  }

  string(maxBytes: number): string {
    return this.bytes(maxBytes).toString("utf8");
  }

  /** Skip a field this reader does not know (proto3: unknown fields are ignored). */
  skip(): void {
    switch (this.wire) {
      case WireType.VARINT:
        this.bigVarint();
        return;
      case WireType.I64:
        this.advance(8);
        return;
      case WireType.I32:
        this.advance(4);
        return;
      case WireType.LEN:
        this.advance(this.varint());
        return;
      default:
        throw new StanProtoError(this.what, `unsupported wire type ${this.wire} (field ${this.field})`);
    }
  }

  private advance(n: number): void {
    if (n > this.buf.length - this.pos) throw new StanProtoError(this.what, `field ${this.field} is cut short`);
    this.pos += n;
  }

  private expect(wire: number): void {
    if (this.wire !== wire) throw new StanProtoError(this.what, `field ${this.field} has wire type ${this.wire}, expected ${wire}`);
  }

  /** A varint that fits a safe integer (the common case: lengths, keys, sequences). */
  private varint(): number {
    const buf = this.buf;
    let result = 0;
    let mul = 1;
    for (let i = 0; i < MAX_VARINT_BYTES; i++) {
      if (this.pos >= buf.length) throw new StanProtoError(this.what, "a varint is cut short");
      const b = buf[this.pos++] as number;
      result += (b & 0x7f) * mul;
      if (b < 0x80) {
        if (!Number.isSafeInteger(result)) throw new StanProtoError(this.what, `a number is too large (field ${this.field})`);
        return result;
      }
      mul *= 128;
    }
    throw new StanProtoError(this.what, "a varint is longer than 10 bytes");
  }

  private bigVarint(): bigint {
    const buf = this.buf;
    let result = 0n;
    let shift = 0n;
    for (let i = 0; i < MAX_VARINT_BYTES; i++) {
      if (this.pos >= buf.length) throw new StanProtoError(this.what, "a varint is cut short");
      const b = buf[this.pos++] as number;
      result |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) return BigInt.asUintN(64, result);
      shift += 7n;
    }
    throw new StanProtoError(this.what, "a varint is longer than 10 bytes");
  }
}

/** Bytes a varint of `v` (0 <= v < 2^53) takes. */
export function varintSize(v: number): number {
  let n = 1;
  while (v >= 128) {
    v = Math.floor(v / 128);
    n++;
  }
  return n;
}

/** Bytes a 64-bit two's complement varint of `v` takes. */
export function bigVarintSize(v: bigint): number {
  let u = BigInt.asUintN(64, v);
  let n = 1;
  while (u >= 128n) {
    u >>= 7n;
    n++;
  }
  return n;
}

/**
 * Writes fields into a buffer sized beforehand (the encoders add up `*Size` first, so a message
 * is one allocation). Fields equal to their proto3 default are left out, as protoc's encoders do.
 */
export class ProtoWriter {
  pos = 0;
  constructor(readonly buf: Buffer) {}

  /** A key: field number and wire type. */
  key(field: number, wire: number): void {
    this.varint(field * 8 + wire);
  }

  varint(v: number): void {
    const buf = this.buf;
    while (v >= 128) {
      buf[this.pos++] = (v % 128) | 0x80;
      v = Math.floor(v / 128);
    }
    buf[this.pos++] = v;
  }

  bigVarint(v: bigint): void {
    let u = BigInt.asUintN(64, v);
    const buf = this.buf;
    while (u >= 128n) {
      buf[this.pos++] = Number(u & 0x7fn) | 0x80;
      u >>= 7n;
    }
    buf[this.pos++] = Number(u);
  }

  bytes(b: Buffer): void {
    this.varint(b.length);
    b.copy(this.buf, this.pos);
    this.pos += b.length;
  }

  string(s: string, byteLength: number): void {
    this.varint(byteLength);
    this.pos += this.buf.write(s, this.pos, "utf8");
  }
}

/** Size of a string field (key + length + bytes), 0 when empty (left out). */
export function stringFieldSize(field: number, byteLength: number): number {
  return byteLength === 0 ? 0 : varintSize(field * 8) + varintSize(byteLength) + byteLength;
}

/** Size of an unsigned varint field, 0 when zero. */
export function uintFieldSize(field: number, v: number): number {
  return v === 0 ? 0 : varintSize(field * 8) + varintSize(v);
}

/** Size of a signed (int32/int64) varint field, 0 when zero. */
export function intFieldSize(field: number, v: bigint): number {
  return v === 0n ? 0 : varintSize(field * 8) + bigVarintSize(v);
}

/** One field to encode: string and Buffer are length-delimited, bigint a signed varint. */
export type Field = [number, string | Buffer | bigint];

/** Encode fields in order, leaving out those at their default (proto3). One allocation. */
export function encodeFields(fields: Field[]): Buffer {
  let size = 0;
  const lens: number[] = [];
  for (const [no, v] of fields) {
    if (typeof v === "string") {
      const n = Buffer.byteLength(v);
      lens.push(n);
      size += stringFieldSize(no, n);
    } else if (Buffer.isBuffer(v)) {
      lens.push(v.length);
      size += stringFieldSize(no, v.length);
    } else {
      lens.push(0);
      size += intFieldSize(no, v);
    }
  }
  const w = new ProtoWriter(Buffer.allocUnsafe(size));
  fields.forEach(([no, v], i) => {
    if (typeof v === "string") {
      if (v === "") return;
      w.key(no, WireType.LEN);
      w.string(v, lens[i] as number);
    } else if (Buffer.isBuffer(v)) {
      if (v.length === 0) return;
      w.key(no, WireType.LEN);
      w.bytes(v);
    } else if (v !== 0n) {
      w.key(no, WireType.VARINT);
      w.bigVarint(v);
    }
  });
  return w.buf;
}

/** Read the one string field `field` of a message (the responses that carry only an error, a request only a client id). */
export function decodeOneString(buf: Buffer, what: string, field: number, maxBytes: number): string {
  let s = "";
  const r = new ProtoReader(buf, what);
  while (r.next()) {
    if (r.field === field) s = r.string(maxBytes);
    else r.skip();
  }
  return s;
}
