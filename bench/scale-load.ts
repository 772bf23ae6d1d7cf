/**
 * The scale bench's load, run as a child process (never in the server's process or the bench's):
 * raw sockets, `window` requests in flight, each answer answered with a new request. Reads one
 * JSON job from argv, prints one JSON result line; progress goes to stderr.
 * - fill: durable publishes of `size` bytes (PUB with a reply subject, counting the +acks), to one
 *   subject or, `keyed`, to `<subject>.k<n>` (one key each, as KV puts). Stops after `count`
 *   acks, or when the server closes the connection (killed mid-fill).
 * - direct: `$JS.API.DIRECT.GET.<stream>` of random sequences in [1, maxSeq] (a seeded generator,
 *   so both servers get the same sequences) for `seconds`, counting the messages that come back.
 */
import { connect, type Socket } from "node:net";
import { FrameReader, headerStatus } from "./frames.js";
import { seededRandom } from "./scale-report.js";

interface FillJob {
  role: "fill";
  port: number;
  subject: string;
  keyed: boolean;
  size: number;
  count: number;
  window: number;
}

interface DirectJob {
  role: "direct";
  port: number;
  stream: string;
  seconds: number;
  window: number;
  maxSeq: number;
  seed: number;
}

type Job = FillJob | DirectJob;

const job = JSON.parse(process.argv[2] as string) as Job;
const INBOX = "_INBOX.scale";
const PROGRESS_MS = 15_000;
/** `{"error"`: a JetStream API error answer, told from a pub ack (`{"stream"`) by its third byte. */
const ERROR_THIRD_BYTE = 0x65;

function send(msg: object): void {
  process.stdout.write(`${JSON.stringify(msg)}\n`);
}

function open(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(port, "127.0.0.1", () => {
      s.setNoDelay(true);
      s.write(`CONNECT {"verbose":false,"pedantic":false,"headers":true}\r\nSUB ${INBOX} 1\r\n`);
      resolve(s);
    });
    s.once("error", reject);
  });
}

/**
 * Keep `window` requests in flight until `count` answers came back, `seconds` passed (then the
 * answers still due are awaited) or the connection closed: `write(n)` sends the next n requests,
 * `answer` classifies one answer (true: a good one).
 */
async function closedLoop(
  s: Socket,
  count: number,
  forSeconds: number,
  window: number,
  write: (n: number) => void,
  answer: (buf: Buffer, start: number, hdrLen: number, end: number) => boolean,
  label: string,
): Promise<{ done: number; errors: number; seconds: number; firstError: string; closed: boolean }> {
  let done = 0;
  let errors = 0;
  let sent = 0;
  let firstError = "";
  let closed = false;
  const reader = new FrameReader({
    msg(buf, start, hdrLen, end) {
      if (answer(buf, start, hdrLen, end)) done++;
      else {
        errors++;
        if (firstError === "") firstError = buf.toString("latin1", start, Math.min(end, start + 200));
      }
    },
    ping() {
      s.write("PONG\r\n");
    },
    error(line) {
      errors++;
      if (firstError === "") firstError = line;
    },
  });
  const t0 = process.hrtime.bigint();
  const until = Date.now() + forSeconds * 1000;
  const progress = setInterval(() => process.stderr.write(`  ${label}: ${done.toLocaleString("en-US")}${count < Number.MAX_SAFE_INTEGER ? ` of ${count.toLocaleString("en-US")}` : ""}\n`), PROGRESS_MS);
  await new Promise<void>((resolve) => {
    s.on("data", (d: Buffer) => {
      const before = done + errors;
      reader.feed(d);
      if (done + errors >= count) return resolve();
      if (Date.now() >= until) {
        if (done + errors >= sent) resolve();
        return;
      }
      const n = Math.min(done + errors - before, count - sent);
      if (n > 0) {
        write(n);
        sent += n;
      }
    });
    s.on("error", () => {});
    s.on("close", () => {
      closed = true;
      resolve();
    });
    sent = Math.min(window, count);
    write(sent);
  });
  clearInterval(progress);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  s.destroy();
  return { done, errors, seconds, firstError, closed };
}

async function fill(j: FillJob): Promise<void> {
  const s = await open(j.port);
  const payload = "x".repeat(j.size);
  let next = 0;
  let write: (n: number) => void;
  if (j.keyed) {
    write = (n) => {
      let frames = "";
      for (let k = 0; k < n; k++) frames += `PUB ${j.subject}.k${next++} ${INBOX} ${j.size}\r\n${payload}\r\n`;
      s.write(frames);
    };
  } else {
    // Every frame is the same: the first n of `window` copies.
    const frame = Buffer.from(`PUB ${j.subject} ${INBOX} ${j.size}\r\n${payload}\r\n`, "latin1");
    const all = Buffer.concat(Array.from({ length: j.window }, () => frame));
    write = (n) => void s.write(all.subarray(0, n * frame.length));
  }
  const r = await closedLoop(s, j.count, Number.POSITIVE_INFINITY, j.window, write, (buf, start) => buf[start + 2] !== ERROR_THIRD_BYTE, "fill");
  send({ acked: r.done, errors: r.errors, seconds: r.seconds, firstError: r.firstError, closed: r.closed });
}

async function direct(j: DirectJob): Promise<void> {
  const s = await open(j.port);
  const random = seededRandom(j.seed);
  const subject = `$JS.API.DIRECT.GET.${j.stream}`;
  const write = (n: number): void => {
    let frames = "";
    for (let k = 0; k < n; k++) {
      const body = `{"seq":${1 + Math.floor(random() * j.maxSeq)}}`;
      frames += `PUB ${subject} ${INBOX} ${body.length}\r\n${body}\r\n`;
    }
    s.write(frames);
  };
  // A stored message comes back as an HMSG with no status; a missing one as "NATS/1.0 404".
  const r = await closedLoop(s, Number.MAX_SAFE_INTEGER, j.seconds, j.window, write, (buf, start, hdrLen) => hdrLen > 0 && headerStatus(buf, start, hdrLen) === 0, "direct get");
  send({ got: r.done, errors: r.errors, seconds: r.seconds, firstError: r.firstError });
}

(job.role === "fill" ? fill(job) : direct(job)).catch((err: unknown) => {
  send({ error: String(err) });
  process.exit(1);
});
