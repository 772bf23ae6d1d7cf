import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { Parser, type ParserHandler } from "../../src/protocol/parser.js";

/** Records every parser event as a string; payload bytes are read at callback time. */
class Recorder implements ParserHandler {
  events: string[] = [];
  errors = 0;
  onConnect(json: string): void { this.events.push(`CONNECT ${json}`); }
  onPub(subject: string, reply: string, hdr: number, payload: Buffer): void {
    this.events.push(`PUB ${subject} ${reply} ${hdr} ${payload.toString("latin1")}`);
  }
  onSub(subject: string, queue: string, sid: string): void { this.events.push(`SUB ${subject} ${queue} ${sid}`); }
  onUnsub(sid: string, max: number): void { this.events.push(`UNSUB ${sid} ${max}`); }
  onPing(): void { this.events.push("PING"); }
  onPong(): void { this.events.push("PONG"); }
  onOtherOp(op: string): void { this.events.push(`OTHER ${op}`); }
  onParseError(err: string | null): void {
    this.errors++;
    this.events.push(`ERR ${err ?? "(close)"}`);
  }
}

const stream = [
  'CONNECT {"verbose":false,"headers":true}\r\n',
  "PING\r\n",
  "PONG\r\n",
  "SUB foo 1\r\n",
  "SUB bar.* workers 2\r\n",
  "PUB foo 5\r\nhello\r\n",
  "PUB foo reply.1 0\r\n\r\n",
  "pub  foo   11\r\nhello world\r\n",
  "HPUB foo 12 17\r\nNATS/1.0\r\n\r\nhello\r\n",
  "HPUB foo inbox 23 25\r\nNATS/1.0\r\nA: bcdefg\r\n\r\nhi\r\n",
  "UNSUB 1\r\n",
  "UNSUB 2 10\r\n",
  "PUB bin 4\r\n\r\n\r\n\r\n",
  "+OK\r\n",
].join("");

const expected = [
  'CONNECT {"verbose":false,"headers":true}',
  "PING",
  "PONG",
  "SUB foo  1",
  "SUB bar.* workers 2",
  "PUB foo  0 hello",
  "PUB foo reply.1 0 ",
  "PUB foo  0 hello world",
  "PUB foo  12 NATS/1.0\r\n\r\nhello",
  "PUB foo inbox 23 NATS/1.0\r\nA: bcdefg\r\n\r\nhi",
  "UNSUB 1 0",
  "UNSUB 2 10",
  "PUB bin  0 \r\n\r\n",
  "OTHER +OK",
];

function run(chunks: Buffer[]): Recorder {
  const r = new Recorder();
  const p = new Parser(r);
  for (const c of chunks) p.parse(c);
  return r;
}

test("parser: whole input", () => {
  assert.deepEqual(run([Buffer.from(stream, "latin1")]).events, expected);
});

test("parser: byte by byte", () => {
  const b = Buffer.from(stream, "latin1");
  assert.deepEqual(run([...b].map((x) => Buffer.from([x]))).events, expected);
});

test("parser: split in two at every boundary", () => {
  const b = Buffer.from(stream, "latin1");
  for (let i = 0; i <= b.length; i++) {
    assert.deepEqual(run([b.subarray(0, i), b.subarray(i)]).events, expected, `split at ${i}`);
  }
});

test("parser: a reused input buffer does not clobber what was already handed over", () => {
  const b = Buffer.from(stream, "latin1");
  const r = new Recorder();
  const p = new Parser(r);
  const scratch = Buffer.alloc(7);
  for (let i = 0; i < b.length; i += 7) {
    const n = b.copy(scratch, 0, i, Math.min(i + 7, b.length));
    p.parse(scratch.subarray(0, n));
    scratch.fill(0x58); // the caller reuses its buffer
  }
  assert.deepEqual(r.events, expected);
});

test("parser: random splits of the stream give the same events (property)", () => {
  const b = Buffer.from(stream, "latin1");
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 0, max: b.length }), { maxLength: 40 }), (cuts) => {
      const points = [...new Set(cuts)].sort((x, y) => x - y);
      const chunks: Buffer[] = [];
      let prev = 0;
      for (const c of points) {
        chunks.push(b.subarray(prev, c));
        prev = c;
      }
      chunks.push(b.subarray(prev));
      assert.deepEqual(run(chunks).events, expected);
    }),
    { numRuns: 500 },
  );
});

test("parser: random bytes give only protocol errors, never a throw, and stop at the first", () => {
  fc.assert(
    fc.property(fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 20 }), (chunks) => {
      const r = run(chunks.map((c) => Buffer.from(c)));
      assert.ok(r.errors <= 1);
      if (r.errors === 1) assert.match(r.events[r.events.length - 1] ?? "", /^ERR /);
    }),
    { numRuns: 1000 },
  );
  fc.assert(
    fc.property(fc.array(fc.constantFrom("PUB ", "SUB ", "HPUB ", "UNSUB ", "foo", " ", "\r\n", "5", "12", "-1", "*", "hello", "\r", "\n", "CONNECT {"), { maxLength: 30 }), (parts) => {
      const r = run([Buffer.from(parts.join(""), "latin1")]);
      assert.ok(r.errors <= 1);
    }),
    { numRuns: 1000 },
  );
});

test("parser: limits are checked before allocating", () => {
  const r = new Recorder();
  const p = new Parser(r, { maxControlLineBytes: 64, maxPayloadBytes: 16 });
  p.parse(Buffer.from("PUB foo 17\r\n"));
  assert.deepEqual(r.events, ["ERR Maximum Payload Violation"]);
  const r2 = new Recorder();
  const p2 = new Parser(r2, { maxControlLineBytes: 64, maxPayloadBytes: 16 });
  p2.parse(Buffer.from(`SUB ${"a".repeat(40)}`));
  p2.parse(Buffer.from("a".repeat(40)));
  assert.deepEqual(r2.events, ["ERR maximum control line exceeded"], "a control line split across chunks is bounded too");
  const r3 = new Recorder();
  new Parser(r3).parse(Buffer.from("PUB foo 999999999999\r\n"));
  assert.deepEqual(r3.events, ["ERR (close)"], "an absurd size is refused before any allocation");
});
