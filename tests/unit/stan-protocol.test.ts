import { test } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import fc from "fast-check";
import {
  MAX_STAN_NAME_BYTES,
  StanProtoError,
  StartPosition,
  decodeAck,
  decodeCloseRequest,
  decodeConnectRequest,
  decodePing,
  decodePubMsg,
  decodeSubscriptionRequest,
  decodeUnsubscribeRequest,
  encodeCloseResponse,
  encodeConnectResponse,
  encodeMsgProto,
  encodePingResponse,
  encodePubAck,
  encodeSubscriptionResponse,
} from "../../src/stan/protocol.js";
import {
  decodeConnectResponse,
  decodeErrorResponse,
  decodeMsgProto,
  decodePubAck,
  decodeSubscriptionResponse,
  encodeAck,
  encodeCloseRequest,
  encodeConnectRequest,
  encodePing,
  encodePubMsg,
  encodeSubscriptionRequest,
  encodeUnsubscribeRequest,
} from "../../src/stan/protocol-client.js";

/*
 * The codec against the google-protobuf classes node-nats-streaming@0.3.2 ships (its own
 * lib/pb/protocol_pb.js): what they encode we decode, what we encode they decode, field by field.
 */

/** A generated message: setters and getters by name, and the binary form. */
interface PbMessage {
  serializeBinary(): Uint8Array;
  [method: string]: unknown;
}
interface PbClass {
  new (): PbMessage;
  deserializeBinary(b: Uint8Array): PbMessage;
}
const pb = (createRequire(import.meta.url)("node-nats-streaming/lib/pb/protocol_pb.js") as { pb: Record<string, PbClass> }).pb;

function make(name: string, fields: Record<string, unknown>): Buffer {
  const Cls = pb[name] as PbClass;
  const m = new Cls();
  for (const [k, v] of Object.entries(fields)) (m[`set${k}`] as (v: unknown) => void).call(m, v);
  return Buffer.from(m.serializeBinary());
}

function read(name: string, buf: Buffer, getter: string): unknown {
  const m = (pb[name] as PbClass).deserializeBinary(new Uint8Array(buf));
  return (m[`get${getter}`] as () => unknown).call(m);
}

const bytes = (s: string): Uint8Array => new Uint8Array(Buffer.from(s));

test("PubMsg from the client's classes decodes field by field, data as sent", () => {
  const data = Buffer.from(JSON.stringify({ id: "t1", title: "concert", price: 20 }));
  const buf = make("PubMsg", { ClientId: "orders-1", Guid: "abc123", Subject: "ticket:created", Data: new Uint8Array(data), ConnId: bytes("conn-xyz") });
  const m = decodePubMsg(buf);
  assert.equal(m.clientID, "orders-1");
  assert.equal(m.guid, "abc123");
  assert.equal(m.subject, "ticket:created");
  assert.deepEqual(m.data, data);
  assert.equal(m.connID.toString(), "conn-xyz");
});

test("PubMsg we encode is read by the client's classes; empty fields are left out as protoc does", () => {
  const ours = encodePubMsg({ clientID: "c", guid: "g", subject: "s.t", data: Buffer.from("x"), connID: Buffer.from("id") });
  assert.deepEqual(ours, make("PubMsg", { ClientId: "c", Guid: "g", Subject: "s.t", Data: bytes("x"), ConnId: bytes("id") }));
  assert.equal(encodePubMsg({}).length, 0);
});

test("PubAck both ways", () => {
  assert.deepEqual(encodePubAck("g1", ""), make("PubAck", { Guid: "g1" }));
  assert.deepEqual(encodePubAck("g1", "stan: invalid publish request"), make("PubAck", { Guid: "g1", Error: "stan: invalid publish request" }));
  assert.equal(read("PubAck", encodePubAck("g2", "boom"), "Error"), "boom");
  assert.deepEqual(decodePubAck(make("PubAck", { Guid: "g3", Error: "e" })), { guid: "g3", error: "e" });
});

test("ConnectRequest as node-nats-streaming sends it (protocol 1, ping settings in seconds)", () => {
  const buf = make("ConnectRequest", { ClientId: "svc", HeartbeatInbox: "_INBOX.hb", Protocol: 1, ConnId: bytes("nuid"), PingInterval: 5, PingMaxOut: 3 });
  const r = decodeConnectRequest(buf);
  assert.deepEqual({ ...r, connID: r.connID.toString() }, { clientID: "svc", heartbeatInbox: "_INBOX.hb", protocol: 1, connID: "nuid", pingInterval: 5, pingMaxOut: 3 });
  assert.deepEqual(encodeConnectRequest({ ...r }), buf);
});

test("ConnectResponse we encode reads back in the client's classes", () => {
  const ours = encodeConnectResponse({ pubPrefix: "_STAN.pub.x", subRequests: "_STAN.sub.x", unsubRequests: "_STAN.unsub.x", closeRequests: "_STAN.close.x", subCloseRequests: "_STAN.subclose.x", pingRequests: "_STAN.discover.c.pings", pingInterval: 5, pingMaxOut: 3, protocol: 1 });
  assert.equal(read("ConnectResponse", ours, "PubPrefix"), "_STAN.pub.x");
  assert.equal(read("ConnectResponse", ours, "SubCloseRequests"), "_STAN.subclose.x");
  assert.equal(read("ConnectResponse", ours, "PingRequests"), "_STAN.discover.c.pings");
  assert.equal(read("ConnectResponse", ours, "PingInterval"), 5);
  assert.equal(read("ConnectResponse", ours, "PingMaxOut"), 3);
  assert.equal(read("ConnectResponse", ours, "Protocol"), 1);
  assert.equal(read("ConnectResponse", ours, "Error"), "");
  assert.deepEqual(decodeConnectResponse(ours).pubPrefix, "_STAN.pub.x");
  assert.equal(read("ConnectResponse", encodeConnectResponse({ error: "stan: clientID already registered" }), "Error"), "stan: clientID already registered");
});

test("SubscriptionRequest of the Listener pattern, and every start position", () => {
  const buf = make("SubscriptionRequest", { ClientId: "c", Subject: "ticket:created", QGroup: "orders-svc", Inbox: "_INBOX.i", MaxInFlight: 16384, AckWaitInSecs: 5, DurableName: "orders-svc", StartPosition: StartPosition.First });
  const r = decodeSubscriptionRequest(buf);
  assert.deepEqual(r, { clientID: "c", subject: "ticket:created", qGroup: "orders-svc", inbox: "_INBOX.i", maxInFlight: 16384, ackWaitInSecs: 5, durableName: "orders-svc", startPosition: 4, startSequence: 0, startTimeDelta: 0n });
  assert.deepEqual(encodeSubscriptionRequest(r), buf);
  const seq = decodeSubscriptionRequest(make("SubscriptionRequest", { ClientId: "c", StartPosition: StartPosition.SequenceStart, StartSequence: 42 }));
  assert.equal(seq.startSequence, 42);
  const delta = decodeSubscriptionRequest(make("SubscriptionRequest", { ClientId: "c", StartPosition: StartPosition.TimeDeltaStart, StartTimeDelta: 30_000_000_000 }));
  assert.equal(delta.startTimeDelta, 30_000_000_000n);
  // A negative int32 is ten bytes on the wire (sign-extended): read back as the negative number.
  const neg = decodeSubscriptionRequest(make("SubscriptionRequest", { ClientId: "c", AckWaitInSecs: -1, MaxInFlight: -5 }));
  assert.equal(neg.ackWaitInSecs, -1);
  assert.equal(neg.maxInFlight, -5);
  assert.deepEqual(encodeSubscriptionRequest(neg), make("SubscriptionRequest", { ClientId: "c", AckWaitInSecs: -1, MaxInFlight: -5 }));
});

test("SubscriptionResponse, UnsubscribeRequest, CloseRequest/Response, Ping/PingResponse, Ack", () => {
  assert.deepEqual(encodeSubscriptionResponse("_STAN.ack.x.1", ""), make("SubscriptionResponse", { AckInbox: "_STAN.ack.x.1" }));
  assert.equal(read("SubscriptionResponse", encodeSubscriptionResponse("", "stan: invalid subject"), "Error"), "stan: invalid subject");
  assert.deepEqual(decodeSubscriptionResponse(encodeSubscriptionResponse("a", "b")), { ackInbox: "a", error: "b" });
  const u = make("UnsubscribeRequest", { ClientId: "c", Subject: "s", Inbox: "_STAN.ack.x.1", DurableName: "d" });
  assert.deepEqual(decodeUnsubscribeRequest(u), { clientID: "c", subject: "s", inbox: "_STAN.ack.x.1", durableName: "d" });
  assert.deepEqual(encodeUnsubscribeRequest(decodeUnsubscribeRequest(u)), u);
  assert.deepEqual(decodeCloseRequest(make("CloseRequest", { ClientId: "c9" })), { clientID: "c9" });
  assert.deepEqual(encodeCloseRequest("c9"), make("CloseRequest", { ClientId: "c9" }));
  assert.equal(read("CloseResponse", encodeCloseResponse("stan: unknown clientID"), "Error"), "stan: unknown clientID");
  assert.equal(decodeErrorResponse(encodeCloseResponse("x")).error, "x");
  assert.equal(decodePing(make("Ping", { ConnId: bytes("cid") })).connID.toString(), "cid");
  assert.deepEqual(encodePing(Buffer.from("cid")), make("Ping", { ConnId: bytes("cid") }));
  assert.equal(read("PingResponse", encodePingResponse("client has been replaced or is no longer registered"), "Error"), "client has been replaced or is no longer registered");
  assert.equal(encodePingResponse("").length, 0);
  assert.deepEqual(decodeAck(make("Ack", { Subject: "ticket:created", Sequence: 7 })), { subject: "ticket:created", sequence: 7 });
  assert.deepEqual(encodeAck("ticket:created", 7), make("Ack", { Subject: "ticket:created", Sequence: 7 }));
});

test("MsgProto we encode is what the client reads: sequence, subject, data, ns timestamp, redelivered and count", () => {
  // A time a double holds exactly: google-protobuf reads and writes int64 through JS numbers.
  const ts = 1_765_000_000_123_456_768n;
  const data = Buffer.from("héllo");
  const ours = encodeMsgProto(12345, "ticket:created", Buffer.byteLength("ticket:created"), "", data, ts, 2);
  assert.deepEqual(ours, make("MsgProto", { Sequence: 12345, Subject: "ticket:created", Data: new Uint8Array(data), Timestamp: ts.toString(), Redelivered: true, RedeliveryCount: 2 }));
  assert.equal(read("MsgProto", ours, "Sequence"), 12345);
  assert.equal(read("MsgProto", ours, "Redelivered"), true);
  assert.equal(read("MsgProto", ours, "RedeliveryCount"), 2);
  assert.equal(BigInt(read("MsgProto", ours, "Timestamp") as number), ts);
  const first = encodeMsgProto(1, "s", 1, "", Buffer.alloc(0), ts, 0);
  assert.equal(read("MsgProto", first, "Redelivered"), false);
  const back = decodeMsgProto(ours);
  assert.equal(back.timestamp, ts);
  assert.equal(back.redeliveryCount, 2);
  assert.deepEqual(back.data, data);
});

test("unknown fields of every wire type are skipped (proto3)", () => {
  // PubMsg with sha256 (field 10), a fixed64 field 20, a fixed32 field 21 and a varint field 22.
  const extra = Buffer.from([0x52, 0x02, 0xaa, 0xbb, 0xa1, 0x01, 1, 2, 3, 4, 5, 6, 7, 8, 0xad, 0x01, 1, 2, 3, 4, 0xb0, 0x01, 0x96, 0x01]);
  const m = decodePubMsg(Buffer.concat([encodePubMsg({ guid: "g" }), extra, encodePubMsg({ subject: "s" })]));
  assert.equal(m.guid, "g");
  assert.equal(m.subject, "s");
});

test("malformed input gives a StanProtoError, never another throw", () => {
  const cases: Array<[string, Buffer]> = [
    ["cut varint", Buffer.from([0x08, 0x80])],
    ["length past the end", Buffer.from([0x12, 0x05, 0x61])],
    ["group wire type", Buffer.from([0x0b])],
    ["field number 0", Buffer.from([0x02, 0x00])],
    ["eleven-byte varint", Buffer.from([0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01])],
    ["wrong wire type for a string", Buffer.from([0x08, 0x01])],
  ];
  for (const [what, buf] of cases) assert.throws(() => decodePubMsg(buf), StanProtoError, what);
  // A name longer than the limit is refused before it is decoded.
  const long = encodePubMsg({ guid: "x".repeat(MAX_STAN_NAME_BYTES + 1) });
  assert.throws(() => decodePubMsg(long), /more than 4096/);
  const decoders = [decodePubMsg, decodeConnectRequest, decodeSubscriptionRequest, decodeUnsubscribeRequest, decodeCloseRequest, decodePing, decodeAck, decodeMsgProto, decodeConnectResponse];
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 64 }), (arr) => {
      for (const d of decoders) {
        try {
          d(Buffer.from(arr));
        } catch (err) {
          if (!(err instanceof StanProtoError)) throw err;
        }
      }
    }),
    { numRuns: 2000 },
  );
});

test("every prefix of a valid message decodes or fails with a StanProtoError", () => {
  const full = make("SubscriptionRequest", { ClientId: "c", Subject: "ticket:created", QGroup: "q", Inbox: "_INBOX.i", MaxInFlight: 100, AckWaitInSecs: 30, DurableName: "d", StartPosition: 2, StartTimeDelta: 1_000_000_000 });
  for (let i = 0; i <= full.length; i++) {
    try {
      decodeSubscriptionRequest(full.subarray(0, i));
    } catch (err) {
      assert.ok(err instanceof StanProtoError, `prefix ${i}: ${String(err)}`);
    }
  }
});
