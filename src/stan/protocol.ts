import { ProtoReader, ProtoWriter, WireType, decodeOneString, encodeFields, intFieldSize, stringFieldSize, uintFieldSize, varintSize } from "./proto-wire.js";

/*
 * The NATS Streaming protocol messages (nats-io/stan.go `pb/protocol.proto`, package `pb`), read
 * and written by hand on proto-wire.ts. Field numbers are the contract with every STAN client;
 * names are the proto's. Each decoder checks its limits before it slices or decodes, skips
 * unknown fields (proto3), and throws nothing but StanProtoError.
 */

export { StanProtoError } from "./proto-wire.js";

/** Longest client id, subject, inbox, guid, queue or durable name taken (a NATS control line is 4 KiB at most). */
export const MAX_STAN_NAME_BYTES = 4096;
/** Longest connection id taken (clients send a 22-byte NUID). */
export const MAX_STAN_CONN_ID_BYTES = 256;
/** Longest payload a PubMsg or MsgProto carries: nats-server's largest max_payload (64 MiB). */
export const MAX_STAN_DATA_BYTES = 64 * 1024 * 1024;

const EMPTY = Buffer.alloc(0);

/** Where a subscription starts (`StartPosition`). */
export const StartPosition = { NewOnly: 0, LastReceived: 1, TimeDeltaStart: 2, SequenceStart: 3, First: 4 } as const;

/** A client publish (`PubMsg`); `data` is a slice of the input. */
export interface PubMsg {
  clientID: string;
  guid: string;
  subject: string;
  reply: string;
  data: Buffer;
  connID: Buffer;
}

/** `ConnectRequest`. Ping interval is in seconds (clients at protocol 1). */
export interface ConnectRequest {
  clientID: string;
  heartbeatInbox: string;
  protocol: number;
  connID: Buffer;
  pingInterval: number;
  pingMaxOut: number;
}

/** `ConnectResponse`. */
export interface ConnectResponse {
  pubPrefix: string;
  subRequests: string;
  unsubRequests: string;
  closeRequests: string;
  error: string;
  subCloseRequests: string;
  pingRequests: string;
  pingInterval: number;
  pingMaxOut: number;
  protocol: number;
}

/** `SubscriptionRequest`; `startTimeDelta` is in nanoseconds. */
export interface SubscriptionRequest {
  clientID: string;
  subject: string;
  qGroup: string;
  inbox: string;
  maxInFlight: number;
  ackWaitInSecs: number;
  durableName: string;
  startPosition: number;
  startSequence: number;
  startTimeDelta: bigint;
}

/** `UnsubscribeRequest` (for unsubscribe and subscription close); `inbox` is the ack inbox. */
export interface UnsubscribeRequest {
  clientID: string;
  subject: string;
  inbox: string;
  durableName: string;
}

/** `MsgProto`, a delivery; `timestamp` in nanoseconds since the epoch. */
export interface MsgProto {
  sequence: number;
  subject: string;
  reply: string;
  data: Buffer;
  timestamp: bigint;
  redelivered: boolean;
  redeliveryCount: number;
  crc32: number;
}

/** `Ack` of a delivered message. */
export interface Ack {
  subject: string;
  sequence: number;
}

/** Decode a `PubMsg` (fields 1-6; `sha256`, 10, is skipped). */
export function decodePubMsg(buf: Buffer): PubMsg {
  const m: PubMsg = { clientID: "", guid: "", subject: "", reply: "", data: EMPTY, connID: EMPTY };
  const r = new ProtoReader(buf, "PubMsg");
  while (r.next()) {
    switch (r.field) {
      case 1: m.clientID = r.string(MAX_STAN_NAME_BYTES); break;
      case 2: m.guid = r.string(MAX_STAN_NAME_BYTES); break;
      case 3: m.subject = r.string(MAX_STAN_NAME_BYTES); break;
      case 4: m.reply = r.string(MAX_STAN_NAME_BYTES); break;
      case 5: m.data = r.bytes(MAX_STAN_DATA_BYTES); break;
      case 6: m.connID = r.bytes(MAX_STAN_CONN_ID_BYTES); break;
      default: r.skip();
    }
  }
  return m;
}

/** Encode a `PubAck`: on the publish path, so sized and written without the generic field list. */
export function encodePubAck(guid: string, error: string): Buffer {
  const guidBytes = Buffer.byteLength(guid);
  const errorBytes = error === "" ? 0 : Buffer.byteLength(error);
  const w = new ProtoWriter(Buffer.allocUnsafe(stringFieldSize(1, guidBytes) + stringFieldSize(2, errorBytes)));
  if (guidBytes !== 0) {
    w.key(1, WireType.LEN);
    w.string(guid, guidBytes);
  }
  if (errorBytes !== 0) {
    w.key(2, WireType.LEN);
    w.string(error, errorBytes);
  }
  return w.buf;
}

/** Decode a `ConnectRequest`. */
export function decodeConnectRequest(buf: Buffer): ConnectRequest {
  const m: ConnectRequest = { clientID: "", heartbeatInbox: "", protocol: 0, connID: EMPTY, pingInterval: 0, pingMaxOut: 0 };
  const r = new ProtoReader(buf, "ConnectRequest");
  while (r.next()) {
    switch (r.field) {
      case 1: m.clientID = r.string(MAX_STAN_NAME_BYTES); break;
      case 2: m.heartbeatInbox = r.string(MAX_STAN_NAME_BYTES); break;
      case 3: m.protocol = r.int32(); break;
      case 4: m.connID = r.bytes(MAX_STAN_CONN_ID_BYTES); break;
      case 5: m.pingInterval = r.int32(); break;
      case 6: m.pingMaxOut = r.int32(); break;
      default: r.skip();
    }
  }
  return m;
}

/** Encode a `ConnectResponse`. */
export function encodeConnectResponse(m: Partial<ConnectResponse>): Buffer {
  return encodeFields([
    [1, m.pubPrefix ?? ""],
    [2, m.subRequests ?? ""],
    [3, m.unsubRequests ?? ""],
    [4, m.closeRequests ?? ""],
    [5, m.error ?? ""],
    [6, m.subCloseRequests ?? ""],
    [7, m.pingRequests ?? ""],
    [8, BigInt(m.pingInterval ?? 0)],
    [9, BigInt(m.pingMaxOut ?? 0)],
    [10, BigInt(m.protocol ?? 0)],
  ]);
}

/** Decode a `SubscriptionRequest`. */
export function decodeSubscriptionRequest(buf: Buffer): SubscriptionRequest {
  const m: SubscriptionRequest = { clientID: "", subject: "", qGroup: "", inbox: "", maxInFlight: 0, ackWaitInSecs: 0, durableName: "", startPosition: 0, startSequence: 0, startTimeDelta: 0n };
  const r = new ProtoReader(buf, "SubscriptionRequest");
  while (r.next()) {
    switch (r.field) {
      case 1: m.clientID = r.string(MAX_STAN_NAME_BYTES); break;
      case 2: m.subject = r.string(MAX_STAN_NAME_BYTES); break;
      case 3: m.qGroup = r.string(MAX_STAN_NAME_BYTES); break;
      case 4: m.inbox = r.string(MAX_STAN_NAME_BYTES); break;
      case 5: m.maxInFlight = r.int32(); break;
      case 6: m.ackWaitInSecs = r.int32(); break;
      case 7: m.durableName = r.string(MAX_STAN_NAME_BYTES); break;
      case 10: m.startPosition = r.int32(); break;
      case 11: m.startSequence = r.uint(); break;
      case 12: m.startTimeDelta = r.int64(); break;
      default: r.skip();
    }
  }
  return m;
}

/** Encode a `SubscriptionResponse` (field 2 the ack inbox, 3 the error). */
export function encodeSubscriptionResponse(ackInbox: string, error: string): Buffer {
  return encodeFields([
    [2, ackInbox],
    [3, error],
  ]);
}

/** Decode an `UnsubscribeRequest`. */
export function decodeUnsubscribeRequest(buf: Buffer): UnsubscribeRequest {
  const m: UnsubscribeRequest = { clientID: "", subject: "", inbox: "", durableName: "" };
  const r = new ProtoReader(buf, "UnsubscribeRequest");
  while (r.next()) {
    switch (r.field) {
      case 1: m.clientID = r.string(MAX_STAN_NAME_BYTES); break;
      case 2: m.subject = r.string(MAX_STAN_NAME_BYTES); break;
      case 3: m.inbox = r.string(MAX_STAN_NAME_BYTES); break;
      case 4: m.durableName = r.string(MAX_STAN_NAME_BYTES); break;
      default: r.skip();
    }
  }
  return m;
}

/** Decode a `CloseRequest`: the client id. */
export function decodeCloseRequest(buf: Buffer): { clientID: string } {
  return { clientID: decodeOneString(buf, "CloseRequest", 1, MAX_STAN_NAME_BYTES) };
}

/** Encode a `CloseResponse`. */
export function encodeCloseResponse(error: string): Buffer {
  return encodeFields([[1, error]]);
}

/** Decode a `Ping`: the connection id. */
export function decodePing(buf: Buffer): { connID: Buffer } {
  let connID: Buffer = EMPTY;
  const r = new ProtoReader(buf, "Ping");
  while (r.next()) {
    if (r.field === 1) connID = r.bytes(MAX_STAN_CONN_ID_BYTES);
    else r.skip();
  }
  return { connID };
}

/** Encode a `PingResponse`. */
export function encodePingResponse(error: string): Buffer {
  return encodeFields([[1, error]]);
}

/** Decode an `Ack`. */
export function decodeAck(buf: Buffer): Ack {
  const m: Ack = { subject: "", sequence: 0 };
  const r = new ProtoReader(buf, "Ack");
  while (r.next()) {
    if (r.field === 1) m.subject = r.string(MAX_STAN_NAME_BYTES);
    else if (r.field === 2) m.sequence = r.uint();
    else r.skip();
  }
  return m;
}

/**
 * Encode a `MsgProto` delivery: the delivery path's one allocation per message (sized first).
 * `subjectBytes` is Buffer.byteLength(subject), which the caller keeps per channel.
 */
export function encodeMsgProto(sequence: number, subject: string, subjectBytes: number, reply: string, data: Buffer, timestamp: bigint, redeliveryCount: number): Buffer {
  const replyBytes = reply === "" ? 0 : Buffer.byteLength(reply);
  const size =
    uintFieldSize(1, sequence) +
    stringFieldSize(2, subjectBytes) +
    stringFieldSize(3, replyBytes) +
    (data.length === 0 ? 0 : 1 + varintSize(data.length) + data.length) +
    intFieldSize(5, timestamp) +
    (redeliveryCount > 0 ? 2 + uintFieldSize(7, redeliveryCount) : 0);
  const w = new ProtoWriter(Buffer.allocUnsafe(size));
  if (sequence !== 0) {
    w.key(1, WireType.VARINT);
    w.varint(sequence);
  }
  if (subjectBytes !== 0) {
    w.key(2, WireType.LEN);
    w.string(subject, subjectBytes);
  }
  if (replyBytes !== 0) {
    w.key(3, WireType.LEN);
    w.string(reply, replyBytes);
  }
  if (data.length !== 0) {
    w.key(4, WireType.LEN);
    w.bytes(data);
  }
  if (timestamp !== 0n) {
    w.key(5, WireType.VARINT);
    w.bigVarint(timestamp);
  }
  if (redeliveryCount > 0) {
    w.key(6, WireType.VARINT);
    w.varint(1);
    w.key(7, WireType.VARINT);
    w.varint(redeliveryCount);
  }
  return w.buf;
}
