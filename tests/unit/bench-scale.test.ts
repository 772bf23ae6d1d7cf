import { test } from "node:test";
import assert from "node:assert/strict";
import { FrameReader, headerStatus } from "../../bench/frames.js";
import { markdownTable, parseCount, seededRandom, type ScaleRow } from "../../bench/scale-report.js";

test("bench scale: counts are read as people write them", () => {
  assert.equal(parseCount("X", undefined, 7), 7);
  assert.equal(parseCount("X", " ", 7), 7);
  for (const v of ["10000000", "10_000_000", "10,000,000", "1e7", "10M", "10m", "10000k"]) assert.equal(parseCount("X", v, 0), 10_000_000, v);
  assert.equal(parseCount("X", "200k", 0), 200_000);
  assert.equal(parseCount("X", "1.5M", 0), 1_500_000);
  assert.equal(parseCount("X", "0", 5), 0);
  for (const v of ["ten", "-5", "1.5", "10G", "1e400", "0x10"]) assert.throws(() => parseCount("BENCH_SCALE_MSGS", v, 0), /BENCH_SCALE_MSGS=/, v);
});

test("bench scale: the seeded sequence repeats for a seed and stays in [0, 1)", () => {
  const a = seededRandom(16);
  const b = seededRandom(16);
  const c = seededRandom(17);
  const xs = Array.from({ length: 1000 }, () => a());
  assert.deepEqual(
    xs,
    Array.from({ length: 1000 }, () => b()),
  );
  assert.notDeepEqual(
    xs.slice(0, 10),
    Array.from({ length: 10 }, () => c()),
  );
  assert.ok(xs.every((x) => x >= 0 && x < 1));
  // Spread over the range: each tenth gets some.
  const tenths = new Set(xs.map((x) => Math.floor(x * 10)));
  assert.equal(tenths.size, 10);
});

test("bench scale: the table gives both figures, the ratio and the target", () => {
  const rows: ScaleRow[] = [
    { measure: "rss", unit: "bytes", nats: 6_000_000, cuebus: 1_460_000_000, perItem: 10_000_000, target: { text: "<= 2 B/msg", met: false } },
    { measure: "restart", unit: "ms", nats: 40.2, cuebus: 24_964, target: { text: "<= 300 ms", met: false } },
    { measure: "floor", unit: "ms", nats: Number.NaN, cuebus: 57.6 },
    { measure: "gets", unit: "msgs/s", nats: 100_000, cuebus: 115_000, target: { text: ">= 1.0x", met: true } },
  ];
  const lines = markdownTable(rows).split("\n");
  assert.equal(lines.length, 6);
  assert.equal(lines[2], "| rss | 6 MB (0.6 B each) | 1,460 MB (146.0 B each) | 243.33x | <= 2 B/msg: MISSED |");
  assert.equal(lines[3], "| restart | 40 ms | 24,964 ms | 621.00x | <= 300 ms: MISSED |");
  assert.equal(lines[4], "| floor | - | 58 ms | - | - |");
  assert.equal(lines[5], "| gets | 100,000 msgs/s | 115,000 msgs/s | 1.15x | >= 1.0x: met |");
});

/** Frames as a server sends them, with what a reader must report for each. */
const STREAM = Buffer.from(
  "INFO {\"server_id\":\"x\"}\r\n" +
    "MSG _INBOX.a 1 26\r\n{\"stream\":\"SCALE\",\"seq\":1}\r\n" +
    "PING\r\n" +
    "HMSG _INBOX.a 1 12 14\r\nNATS/1.0\r\n\r\nhi\r\n" +
    "HMSG _INBOX.a 1 reply.x 34 34\r\nNATS/1.0 404 Message Not Found\r\n\r\n\r\n" +
    "MSG _INBOX.a 1 0\r\n\r\n" +
    "-ERR 'Maximum Payload Violation'\r\n",
  "latin1",
);

function read(chunks: Buffer[]): string[] {
  const seen: string[] = [];
  const reader = new FrameReader({
    msg(buf, start, hdrLen, end) {
      seen.push(`msg status=${hdrLen > 0 ? headerStatus(buf, start, hdrLen) : "-"} hdr=${hdrLen} payload=${buf.toString("latin1", start + hdrLen, end)}`);
    },
    ping() {
      seen.push("ping");
    },
    error(line) {
      seen.push(`error ${line}`);
    },
  });
  for (const c of chunks) reader.feed(c);
  return seen;
}

test("bench scale: frames are read whole, byte by byte and split at every boundary", () => {
  const whole = read([STREAM]);
  assert.deepEqual(whole, [
    'msg status=- hdr=0 payload={"stream":"SCALE","seq":1}',
    "ping",
    "msg status=0 hdr=12 payload=hi",
    "msg status=404 hdr=34 payload=",
    "msg status=- hdr=0 payload=",
    "error -ERR 'Maximum Payload Violation'",
  ]);
  assert.deepEqual(read(Array.from(STREAM, (b) => Buffer.from([b]))), whole);
  for (let cut = 0; cut <= STREAM.length; cut++) {
    assert.deepEqual(read([STREAM.subarray(0, cut), STREAM.subarray(cut)]), whole, `cut at ${cut}`);
  }
});
