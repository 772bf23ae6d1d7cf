/**
 * Load generator, run as a child process (never in the server's process). Raw sockets,
 * pre-encoded frames. Reads one JSON job from argv, prints one JSON result line.
 */
import { connect, type Socket } from "node:net";
import { Histogram } from "./histogram.js";

interface Job {
  role: "pub" | "sub" | "requester" | "responder" | "idle" | "jspub";
  /** jspub: publishes awaiting their ack at once. */
  window?: number;
  port: number;
  subject: string;
  size: number;
  seconds: number;
  queue?: string;
  count?: number;
}

const job = JSON.parse(process.argv[2] as string) as Job;
const CONNECT = 'CONNECT {"verbose":false,"pedantic":false,"headers":false}\r\n';

function open(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(port, "127.0.0.1", () => {
      s.setNoDelay(true);
      s.write(CONNECT);
      resolve(s);
    });
    s.on("error", reject);
  });
}

function send(msg: object): void {
  process.stdout.write(`${JSON.stringify(msg)}\n`);
}

/** Count MSG frames in a byte stream by parsing headers and skipping payloads. */
class MsgCounter {
  count = 0;
  private skip = 0;
  private line = "";
  onMsg: ((replyTo: string) => void) | null = null;
  feed(d: Buffer): void {
    let i = 0;
    while (i < d.length) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, d.length - i);
        this.skip -= n;
        i += n;
        continue;
      }
      const nl = d.indexOf(10, i);
      if (nl === -1) {
        this.line += d.toString("latin1", i);
        return;
      }
      const l = this.line + d.toString("latin1", i, nl - 1);
      this.line = "";
      i = nl + 1;
      if (l.startsWith("MSG ")) {
        const parts = l.split(" ");
        this.skip = Number(parts[parts.length - 1]) + 2;
        this.count++;
        if (this.onMsg !== null) this.onMsg(parts.length === 5 ? (parts[3] as string) : "");
      }
    }
  }
}

/**
 * Counts MSG frames from the bytes alone, with no string per frame: the durable-publish
 * generator's ack reader. It answers acks with new publishes, so what it spends per ack is time
 * the servers under test wait for, and CPU they share (2 cores here).
 */
class FrameCounter {
  count = 0;
  private skip = 0;
  /** A control line cut by the end of a read. */
  private carry: Buffer | null = null;
  feed(d: Buffer): void {
    let buf = d;
    if (this.carry !== null) {
      buf = Buffer.concat([this.carry, d]);
      this.carry = null;
    }
    let i = 0;
    while (i < buf.length) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, buf.length - i);
        this.skip -= n;
        i += n;
        continue;
      }
      const nl = buf.indexOf(10, i);
      if (nl === -1) {
        this.carry = Buffer.from(buf.subarray(i));
        return;
      }
      // "MSG <subject> <sid> [reply] <size>\r\n": the size is the digits before the \r.
      if (buf[i] === 0x4d && buf[i + 1] === 0x53 && buf[i + 2] === 0x47 && buf[i + 3] === 0x20) {
        let size = 0;
        let mul = 1;
        for (let j = nl - 2; j > i && buf[j] !== 0x20; j--) {
          size += ((buf[j] as number) - 0x30) * mul;
          mul *= 10;
        }
        this.skip = size + 2;
        this.count++;
      }
      i = nl + 1;
    }
  }
}

async function main(): Promise<void> {
  const payload = Buffer.alloc(job.size, 120);
  if (job.role === "idle") {
    const socks: Socket[] = [];
    for (let i = 0; i < (job.count ?? 0); i++) socks.push(await open(job.port));
    send({ ready: true, opened: socks.length });
    await new Promise((r) => setTimeout(r, job.seconds * 1000));
    for (const s of socks) s.destroy();
    send({ done: true });
    return;
  }
  const s = await open(job.port);
  if (job.role === "sub") {
    const c = new MsgCounter();
    s.on("data", (d: Buffer) => c.feed(d));
    s.write(`SUB ${job.subject} ${job.queue ?? ""} 1\r\nPING\r\n`.replace("  ", " "));
    send({ ready: true });
    process.on("message", () => send({ received: c.count }));
    process.stdin.on("data", () => send({ received: c.count }));
    return;
  }
  if (job.role === "responder") {
    const c = new MsgCounter();
    c.onMsg = (reply) => s.write(`PUB ${reply} ${job.size}\r\n${payload.toString("latin1")}\r\n`);
    s.on("data", (d: Buffer) => c.feed(d));
    s.write(`SUB ${job.subject} 1\r\nPING\r\n`);
    send({ ready: true });
    return;
  }
  if (job.role === "jspub") {
    // Durable publish: each PUB carries a reply inbox and counts once its ack (a MSG) arrives;
    // `window` stay in flight. Stops after `count` acks, or after `seconds`.
    // The generator's own cost per message is kept small (acks counted from bytes, publishes
    // written as slices of one pre-built buffer, no copy): both servers wait for it alike.
    const c = new FrameCounter();
    const window = job.window ?? 256;
    const limit = job.count ?? Number.MAX_SAFE_INTEGER;
    const frames = Array.from({ length: window }, (_, i) => Buffer.from(`PUB ${job.subject} _INBOX.jsb.${i} ${job.size}\r\n${payload.toString("latin1")}\r\n`, "latin1"));
    const all = Buffer.concat(frames);
    const offsets = [0];
    for (const f of frames) offsets.push((offsets[offsets.length - 1] as number) + f.length);
    /** Write frames a, a+1, ... (n of them, n <= window, wrapping around) as slices of `all`. */
    const writeFrames = (a: number, n: number): void => {
      const end = Math.min(window, a + n);
      s.write(all.subarray(offsets[a] as number, offsets[end] as number));
      if (a + n > window) s.write(all.subarray(0, offsets[a + n - window] as number));
    };
    let sent = 0;
    const until = Date.now() + job.seconds * 1000;
    const start = Date.now();
    await new Promise<void>((resolve) => {
      // Acks that arrive in one read are answered with one write of that many new publishes.
      s.on("data", (d: Buffer) => {
        const before = c.count;
        c.feed(d);
        if (c.count >= limit || Date.now() >= until) {
          if (c.count >= sent || c.count >= limit) resolve();
          return;
        }
        const n = Math.min(c.count - before, limit - sent);
        if (n <= 0) return;
        writeFrames(sent % window, n);
        sent += n;
      });
      s.write("SUB _INBOX.jsb.* 1\r\nPING\r\n");
      setTimeout(() => {
        const first = Math.min(window, limit);
        writeFrames(0, first);
        sent = first;
      }, 50);
    });
    send({ acked: c.count, seconds: (Date.now() - start) / 1000 });
    s.destroy();
    return;
  }
  if (job.role === "pub") {
    const frame = Buffer.from(`PUB ${job.subject} ${job.size}\r\n${payload.toString("latin1")}\r\n`.repeat(256), "latin1");
    let sent = 0;
    const until = Date.now() + job.seconds * 1000;
    // Flow control: a PING every batch, at most 8 batches outstanding.
    let outstanding = 0;
    let buf = "";
    s.on("data", (d: Buffer) => {
      buf += d.toString("latin1");
      let k: number;
      while ((k = buf.indexOf("PONG\r\n")) !== -1) {
        outstanding--;
        buf = buf.slice(k + 6);
      }
    });
    const start = Date.now();
    while (Date.now() < until) {
      if (outstanding < 8) {
        for (let b = 0; b < 16; b++) {
          s.write(frame);
          sent += 256;
        }
        s.write("PING\r\n");
        outstanding++;
      } else {
        await new Promise((r) => setImmediate(r));
      }
    }
    while (outstanding > 0) await new Promise((r) => setTimeout(r, 1));
    send({ sent, seconds: (Date.now() - start) / 1000 });
    s.destroy();
    return;
  }
  // requester: `count` connections in this process, each with one request in flight.
  s.destroy();
  const h = new Histogram();
  const until = Date.now() + job.seconds * 1000;
  let done = 0;
  const conns = job.count ?? 1;
  await Promise.all(
    Array.from({ length: conns }, async (_, n) => {
      const sock = await open(job.port);
      const inbox = `_INBOX.${process.pid}.${n}`;
      const c = new MsgCounter();
      sock.write(`SUB ${inbox} 1\r\nPING\r\n`);
      const req = Buffer.from(`PUB ${job.subject} ${inbox} ${job.size}\r\n${payload.toString("latin1")}\r\n`, "latin1");
      let t0 = 0n;
      await new Promise<void>((resolve) => {
        c.onMsg = () => {
          h.record(Number(process.hrtime.bigint() - t0));
          done++;
          if (Date.now() >= until) return resolve();
          t0 = process.hrtime.bigint();
          sock.write(req);
        };
        sock.on("data", (d: Buffer) => c.feed(d));
        setTimeout(() => {
          t0 = process.hrtime.bigint();
          sock.write(req);
        }, 100);
      });
      sock.destroy();
    }),
  );
  send({ done, hist: h.toArray() });
}

main().catch((err: unknown) => {
  send({ error: String(err) });
  process.exit(1);
});
