import { ProtoReader, decodeOneString, encodeFields } from "./proto-wire.js";
import { MAX_STAN_DATA_BYTES, MAX_STAN_NAME_BYTES, type Ack, type ConnectRequest, type ConnectResponse, type MsgProto, type PubMsg, type SubscriptionRequest, type UnsubscribeRequest } from "./protocol.js";

/*
 * The client's side of the STAN codec: what clients send, and reading what the server answers.
 * The server does not use it; tests and tools do (they speak the protocol without a STAN client,
 * and compare with the google-protobuf classes node-nats-streaming ships).
 */

const EMPTY = Buffer.alloc(0);

/** Encode a `PubMsg` (what clients send; used by tests and tools). */
export function encodePubMsg(m: Partial<PubMsg>): Buffer {
  return encodeFields([
    [1, m.clientID ?? ""],
    [2, m.guid ?? ""],
    [3, m.subject ?? ""],
    [4, m.reply ?? ""],
    [5, m.data ?? EMPTY],
    [6, m.connID ?? EMPTY],
  ]);
}

/** Decode a `PubAck`. */
export function decodePubAck(buf: Buffer): { guid: string; error: string } {
  const m = { guid: "", error: "" };
  const r = new ProtoReader(buf, "PubAck");
  while (r.next()) {
    if (r.field === 1) m.guid = r.string(MAX_STAN_NAME_BYTES);
    else if (r.field === 2) m.error = r.string(MAX_STAN_NAME_BYTES);
    else r.skip();
  }
  return m;
}

/** Encode a `ConnectRequest` (tests). */
export function encodeConnectRequest(m: Partial<ConnectRequest>): Buffer {
  return encodeFields([
    [1, m.clientID ?? ""],
    [2, m.heartbeatInbox ?? ""],
    [3, BigInt(m.protocol ?? 0)],
    [4, m.connID ?? EMPTY],
    [5, BigInt(m.pingInterval ?? 0)],
    [6, BigInt(m.pingMaxOut ?? 0)],
  ]);
}

/** Decode a `ConnectResponse` (tests). */
export function decodeConnectResponse(buf: Buffer): ConnectResponse {
  const m: ConnectResponse = { pubPrefix: "", subRequests: "", unsubRequests: "", closeRequests: "", error: "", subCloseRequests: "", pingRequests: "", pingInterval: 0, pingMaxOut: 0, protocol: 0 };
  const names = ["pubPrefix", "subRequests", "unsubRequests", "closeRequests", "error", "subCloseRequests", "pingRequests"] as const;
  const r = new ProtoReader(buf, "ConnectResponse");
  while (r.next()) {
    const f = r.field;
    if (f >= 1 && f <= 7) m[names[f - 1] as (typeof names)[number]] = r.string(MAX_STAN_NAME_BYTES);
    else if (f === 8) m.pingInterval = r.int32();
    else if (f === 9) m.pingMaxOut = r.int32();
    else if (f === 10) m.protocol = r.int32();
    else r.skip();
  }
  return m;
}

/** Encode a `SubscriptionRequest` (tests). */
export function encodeSubscriptionRequest(m: Partial<SubscriptionRequest>): Buffer {
  return encodeFields([
    [1, m.clientID ?? ""],
    [2, m.subject ?? ""],
    [3, m.qGroup ?? ""],
    [4, m.inbox ?? ""],
    [5, BigInt(m.maxInFlight ?? 0)],
    [6, BigInt(m.ackWaitInSecs ?? 0)],
    [7, m.durableName ?? ""],
    [10, BigInt(m.startPosition ?? 0)],
    [11, BigInt(m.startSequence ?? 0)],
    [12, m.startTimeDelta ?? 0n],
  ]);
}

/** Decode a `SubscriptionResponse` (tests). */
export function decodeSubscriptionResponse(buf: Buffer): { ackInbox: string; error: string } {
  const m = { ackInbox: "", error: "" };
  const r = new ProtoReader(buf, "SubscriptionResponse");
  while (r.next()) {
    if (r.field === 2) m.ackInbox = r.string(MAX_STAN_NAME_BYTES);
    else if (r.field === 3) m.error = r.string(MAX_STAN_NAME_BYTES);
    else r.skip();
  }
  return m;
}

/** Encode an `UnsubscribeRequest` (tests). */
export function encodeUnsubscribeRequest(m: Partial<UnsubscribeRequest>): Buffer {
  return encodeFields([
    [1, m.clientID ?? ""],
    [2, m.subject ?? ""],
    [3, m.inbox ?? ""],
    [4, m.durableName ?? ""],
  ]);
}

/** Encode a `CloseRequest` (tests). */
export function encodeCloseRequest(clientID: string): Buffer {
  return encodeFields([[1, clientID]]);
}

/** Decode a `CloseResponse` or a `PingResponse` (both one error string, field 1). */
export function decodeErrorResponse(buf: Buffer): { error: string } {
  return { error: decodeOneString(buf, "Response", 1, MAX_STAN_NAME_BYTES) };
}

/** Encode a `Ping` (tests). */
export function encodePing(connID: Buffer): Buffer {
  return encodeFields([[1, connID]]);
}

/** Encode an `Ack` (tests). */
export function encodeAck(subject: string, sequence: number): Buffer {
  return encodeFields([
    [1, subject],
    [2, BigInt(sequence)],
  ]);
}

/** Decode a `MsgProto` (tests, tools). */
export function decodeMsgProto(buf: Buffer): MsgProto {
  const m: MsgProto = { sequence: 0, subject: "", reply: "", data: EMPTY, timestamp: 0n, redelivered: false, redeliveryCount: 0, crc32: 0 };
  const r = new ProtoReader(buf, "MsgProto");
  while (r.next()) {
    switch (r.field) {
      case 1: m.sequence = r.uint(); break;
      case 2: m.subject = r.string(MAX_STAN_NAME_BYTES); break;
      case 3: m.reply = r.string(MAX_STAN_NAME_BYTES); break;
      case 4: m.data = r.bytes(MAX_STAN_DATA_BYTES); break;
      case 5: m.timestamp = r.int64(); break;
      case 6: m.redelivered = r.bool(); break;
      case 7: m.redeliveryCount = r.uint(); break;
      case 10: m.crc32 = r.uint(); break;
      default: r.skip();
    }
  }
  return m;
}
