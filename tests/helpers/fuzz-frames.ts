/**
 * The fuzzer's frame generator: a seeded, reproducible mix of valid and mutated NATS protocol
 * frames for one connection: CONNECT with random options, PUB/HPUB/SUB/UNSUB/PING/PONG with
 * ordinary and edge-case subjects, sizes and headers, `$JS.API` requests (stream and consumer
 * configs, pulls, purges, gets, deletes) with valid and mutated JSON, acks, and garbage.
 *
 * Replies go to `_R.<conn>.<n>`, which the connection subscribes to first (`subscribeReplies`),
 * so answers come back over the same socket as a client's would. Frames marked `fatal` are
 * protocol errors: the server may close the connection on them, and the driver reconnects.
 */
import type { Rng } from "./fuzz-rng.js";
import {
  FUZZ_DURABLES,
  FUZZ_STREAMS,
  RawJson,
  ackBody,
  bodyText,
  consumerCreate,
  evilValue,
  listRequest,
  msgRequest,
  pullRequest,
  purgeRequest,
  streamConfig,
  toJson,
  type JsonLike,
} from "./fuzz-json.js";

/** One generated frame. */
export interface FuzzFrame {
  bytes: Buffer;
  /** A deliberate protocol error: the server may close the connection. */
  fatal: boolean;
}

/** Largest payload the generator sends in an ordinary frame; a few go up to LARGE_PAYLOAD_BYTES. */
export const MAX_FUZZ_PAYLOAD_BYTES = 8 * 1024;
export const LARGE_PAYLOAD_BYTES = 256 * 1024;

const CRLF = "\r\n";

/** Subjects that probe the edges of validation. */
const EDGE_SUBJECTS = [
  "",
  ".",
  "a..b",
  ".a",
  "a.",
  "*",
  ">",
  "a.>.b",
  "a.*b",
  "a b",
  "a\tb",
  "ü.日本",
  "$JS.API.>",
  "$JS.API.STREAM.INFO",
  "$JS.ACK.FZ0.D0.1.1.1.1.1",
  "_INBOX.>",
  "fz.>",
  "fz.0.>",
  "$SYS.>",
  "x".repeat(1000),
  Array.from({ length: 300 }, () => "t").join("."),
];

const HEADER_NAMES = ["Nats-Msg-Id", "Nats-Expected-Stream", "Nats-Expected-Last-Sequence", "Nats-Expected-Last-Subject-Sequence", "Nats-Expected-Last-Msg-Id", "Nats-Rollup", "X-Fuzz", "Content-Type"];

/** Frame kinds and their weights (per thousand). */
const KIND_WEIGHTS = [
  250, // 0 PUB to a stream subject
  80, // 1 HPUB to a stream subject
  50, // 2 PUB to an edge or random subject
  60, // 3 SUB
  40, // 4 UNSUB
  40, // 5 PING / PONG
  260, // 6 $JS.API request
  60, // 7 ack
  60, // 8 pull request
  10, // 9 CONNECT again
  30, // 10 malformed
];

/**
 * `$JS.API` request kinds and their weights: stream create, update, info, delete, purge, msg get,
 * msg delete, names/lists, direct get, named consumer create, ephemeral create, consumer info,
 * consumer delete, account info, nonsense. Deletes and purges are rare so that streams live long
 * enough (about a second each) to store messages, roll segments and be read after the restart.
 */
const API_WEIGHTS = [18, 4, 8, 0.3, 1, 6, 4, 4, 4, 14, 10, 5, 3, 3, 2];

/** A reproducible frame stream for one connection. */
export class FrameFuzzer {
  private replyN = 0;
  /** The last CONNECT announced headers: HPUB without them closes the connection (as nats-server does). */
  private headers = false;
  private readonly replyPrefix: string;

  /** `conn`: the connection's number (its reply subjects and push inboxes). */
  constructor(
    private readonly rng: Rng,
    readonly conn: number,
  ) {
    this.replyPrefix = `_R.${conn}.`;
  }

  /** The CONNECT that opens a connection: mostly a valid one with headers. */
  connect(): FuzzFrame {
    const rng = this.rng;
    this.headers = rng.chance(0.9);
    const o: Record<string, JsonLike> = { verbose: rng.chance(0.05), pedantic: rng.chance(0.1), headers: this.headers, no_responders: rng.chance(0.5), protocol: 1 };
    if (rng.chance(0.5)) o["name"] = `fuzz-${this.conn}`;
    if (rng.chance(0.3)) o["lang"] = rng.pick(["node", "go", ""]);
    if (rng.chance(0.3)) o["version"] = rng.pick(["3.3.1", "x", ""]);
    if (rng.chance(0.2)) o["echo"] = rng.chance(0.5);
    // Wrong types or protocol versions may be refused (nats-server closes the connection).
    let fatal = false;
    if (rng.chance(0.05)) {
      o[rng.pick(["protocol", "verbose", "headers", "user", "pass", "auth_token", "sig", "jwt", "unknown"])] = evilValue(rng);
      fatal = true;
    }
    if (rng.chance(0.05)) {
      o["protocol"] = rng.pick([0, 2, -1, new RawJson("9223372036854775807")]);
      fatal = true;
    }
    // nats-server refuses no_responders without headers (and closes).
    if (o["no_responders"] === true && o["headers"] !== true) fatal = true;
    if (rng.chance(0.02)) return { bytes: Buffer.from(`CONNECT ${bodyText(rng, o, 1)}${CRLF}`), fatal: true };
    return { bytes: Buffer.from(`CONNECT ${toJson(o)}${CRLF}`), fatal };
  }

  /** SUB to the connection's reply subjects and push inboxes, sent after CONNECT. */
  subscribeReplies(): Buffer {
    return Buffer.from(`SUB ${this.replyPrefix}> 1${CRLF}SUB _R.push.* 2${CRLF}`);
  }

  next(): FuzzFrame {
    const rng = this.rng;
    switch (rng.weighted(KIND_WEIGHTS)) {
      case 0:
        return this.pub(this.streamSubject(), rng.chance(0.5) ? this.reply() : "", this.payload());
      case 1:
        return this.hpub(this.streamSubject(), rng.chance(0.5) ? this.reply() : "");
      case 2:
        return this.pub(rng.chance(0.5) ? rng.pick(EDGE_SUBJECTS) : this.randomSubject(), rng.chance(0.3) ? this.reply() : "", this.payload());
      case 3: {
        const subject = rng.chance(0.3) ? rng.pick(EDGE_SUBJECTS) : rng.chance(0.5) ? this.streamSubject() : `fzd.${rng.int(FUZZ_STREAMS)}.>`;
        const queue = rng.chance(0.2) ? ` ${rng.pick(["q", "q2", "a.b", ""])}` : "";
        return this.line(`SUB ${subject}${queue} ${this.sid()}`, subject === "" || subject.includes(" ") || subject.includes("\t"));
      }
      case 4:
        return this.line(`UNSUB ${this.sid()}${rng.chance(0.3) ? ` ${rng.int(10)}` : ""}`, false);
      case 5:
        return this.line(rng.chance(0.5) ? "PING" : "PONG", false);
      case 6:
        return this.api();
      case 7:
        return this.pub(this.ackSubject(), rng.chance(0.5) ? this.reply() : "", Buffer.from(ackBody(rng), "latin1"));
      case 8:
        return this.pub(`$JS.API.CONSUMER.MSG.NEXT.${this.stream()}.${this.durable()}`, this.reply(), Buffer.from(pullRequest(rng)));
      case 9:
        return this.connect();
      default:
        return this.malformed();
    }
  }

  // ---- pieces -------------------------------------------------------------------------------

  private reply(): string {
    this.replyN = (this.replyN + 1) % 100_000;
    return this.replyPrefix + this.replyN;
  }

  private sid(): string {
    // Sids 1 and 2 are the reply subscriptions; the rest cycle through a small set, so the
    // number of subscriptions a connection holds stays bounded.
    return String(this.rng.chance(0.02) ? this.rng.pick(["1", "2", "0", "-1", "x", "99999999999999999999"]) : 3 + this.rng.int(64));
  }

  private stream(): string {
    return this.rng.chance(0.03) ? this.rng.pick(["", "NOPE", "a.b", "*", "FZ0.x"]) : `FZ${this.rng.int(FUZZ_STREAMS)}`;
  }

  private durable(): string {
    return this.rng.chance(0.05) ? this.rng.pick(["", "NOPE", "x.y"]) : `D${this.rng.int(FUZZ_DURABLES)}`;
  }

  private streamSubject(): string {
    const rng = this.rng;
    return `fz.${rng.int(FUZZ_STREAMS)}.${rng.pick(["a", "a", "b", "c.d", `k${rng.int(50)}`, `k${rng.int(5000)}`])}`;
  }

  private randomSubject(): string {
    const rng = this.rng;
    const n = 1 + rng.int(6);
    const toks: string[] = [];
    for (let i = 0; i < n; i++) toks.push(rng.pick(["a", "b", "fz", "x", "*", ">", "$JS", "API", String(rng.int(100))]));
    return toks.join(".");
  }

  private ackSubject(): string {
    const rng = this.rng;
    const num = (): string => (rng.chance(0.05) ? rng.pick(["x", "-1", "99999999999999999999", ""]) : String(1 + rng.int(50)));
    return `$JS.ACK.${this.stream()}.${this.durable()}.${num()}.${num()}.${num()}.${1_700_000_000_000 + rng.int(1_000_000_000)}000000.${rng.int(100)}`;
  }

  private payload(): Buffer {
    const rng = this.rng;
    const n = rng.chance(0.0005) ? rng.int(LARGE_PAYLOAD_BYTES) : rng.size(MAX_FUZZ_PAYLOAD_BYTES);
    return rng.chance(0.1) ? rng.bytes(Math.min(n, 512)) : Buffer.alloc(n, 0x61 + rng.int(26));
  }

  private headerBlock(): string {
    const rng = this.rng;
    let h = rng.chance(0.05) ? rng.pick(["NATS/1.0 503", "NATS/2.0", "HTTP/1.1", ""]) : "NATS/1.0";
    h += CRLF;
    for (let i = rng.int(4); i > 0; i--) {
      const name = rng.pick(HEADER_NAMES);
      let value: string;
      if (name === "Nats-Msg-Id") value = `id-${rng.int(200)}`;
      else if (name.startsWith("Nats-Expected-Last")) value = rng.pick(["0", "1", "5", "x", "9223372036854775807"]);
      else if (name === "Nats-Expected-Stream") value = this.stream();
      else if (name === "Nats-Rollup") value = rng.pick(["sub", "all", "bogus"]);
      else value = rng.pick(["v", "", "a:b", "ü"]);
      h += `${name}: ${value}${CRLF}`;
    }
    if (rng.chance(0.03)) h += "no colon here\r\n";
    return `${h}${CRLF}`;
  }

  private pub(subject: string, reply: string, payload: Buffer): FuzzFrame {
    const head = Buffer.from(`PUB ${subject}${reply === "" ? "" : ` ${reply}`} ${payload.length}${CRLF}`);
    return { bytes: Buffer.concat([head, payload, Buffer.from(CRLF)]), fatal: subject === "" || subject.includes(" ") || subject.includes("\t") };
  }

  private hpub(subject: string, reply: string): FuzzFrame {
    const h = Buffer.from(this.headerBlock(), "utf8");
    const p = this.payload();
    const head = Buffer.from(`HPUB ${subject}${reply === "" ? "" : ` ${reply}`} ${h.length} ${h.length + p.length}${CRLF}`);
    return { bytes: Buffer.concat([head, h, p, Buffer.from(CRLF)]), fatal: !this.headers || !h.toString("latin1").startsWith("NATS/1.0") };
  }

  private line(text: string, fatal: boolean): FuzzFrame {
    return { bytes: Buffer.from(text + CRLF), fatal };
  }

  /** A `$JS.API` request with a body for its kind. */
  private api(): FuzzFrame {
    const rng = this.rng;
    const k = rng.int(FUZZ_STREAMS);
    const s = rng.chance(0.97) ? `FZ${k}` : this.stream();
    let subject: string;
    let body = "";
    switch (rng.weighted(API_WEIGHTS)) {
      case 0:
        subject = `STREAM.CREATE.${s}`;
        body = bodyText(rng, streamConfig(rng, k));
        break;
      case 1:
        subject = `STREAM.UPDATE.${s}`;
        body = bodyText(rng, streamConfig(rng, k));
        break;
      case 2:
        subject = `STREAM.INFO.${s}`;
        break;
      case 3:
        subject = `STREAM.DELETE.${s}`;
        break;
      case 4:
        subject = `STREAM.PURGE.${s}`;
        body = purgeRequest(rng, k);
        break;
      case 5:
        subject = `STREAM.MSG.GET.${s}`;
        body = msgRequest(rng, k);
        break;
      case 6:
        subject = `STREAM.MSG.DELETE.${s}`;
        body = msgRequest(rng, k);
        break;
      case 7:
        subject = rng.pick(["STREAM.NAMES", "STREAM.LIST", `CONSUMER.NAMES.${s}`, `CONSUMER.LIST.${s}`]);
        body = listRequest(rng);
        break;
      case 8:
        subject = `DIRECT.GET.${s}`;
        body = msgRequest(rng, k);
        break;
      case 9: {
        const d = this.durable();
        subject = rng.chance(0.5) ? `CONSUMER.DURABLE.CREATE.${s}.${d}` : `CONSUMER.CREATE.${s}.${d}`;
        body = bodyText(rng, consumerCreate(rng, k, d));
        break;
      }
      case 10:
        subject = `CONSUMER.CREATE.${s}`;
        body = bodyText(rng, consumerCreate(rng, k, null));
        break;
      case 11:
        subject = `CONSUMER.INFO.${s}.${this.durable()}`;
        break;
      case 12:
        subject = `CONSUMER.DELETE.${s}.${this.durable()}`;
        break;
      case 13:
        subject = "INFO";
        break;
      default:
        subject = rng.pick(["STREAM", "STREAM.CREATE", "CONSUMER.CREATE", "BOGUS.X", `STREAM.INFO.${s}.extra`, ""]);
        body = bodyText(rng, evilValue(rng), 0.3);
    }
    return this.pub(`$JS.API.${subject}`, rng.chance(0.95) ? this.reply() : "", Buffer.from(body));
  }

  /** Frames the parser must refuse (or, for some, accept as nats-server does). */
  private malformed(): FuzzFrame {
    const rng = this.rng;
    const pick = rng.int(16);
    const text = [
      "PUB fz.0.a 5\r\nhelloEXTRA\r\n",
      "PUB fz.0.a x\r\nhello\r\n",
      "PUB\r\n",
      "SUB\r\n",
      "SUB a\r\n",
      "UNSUB\r\n",
      "HPUB fz.0.a 10 5\r\nNATS/1.0\r\n\r\n\r\n",
      "HPUB fz.0.a 3 3\r\nabc\r\n",
      `PUB ${"x".repeat(5000)} 1\r\nx\r\n`,
      "PUB fz.0.a 2000000\r\n",
      "MSG fz.0.a 1 1\r\nx\r\n",
      "INFO {}\r\n",
      "\r\n",
      "pub fz.0.a 1\r\nx\r\n",
      `PUB fz.0.a -1\r\n`,
      "",
    ][pick] as string;
    if (pick === 15) return { bytes: rng.bytes(1 + rng.int(200)), fatal: true };
    return { bytes: Buffer.from(text, "latin1"), fatal: pick !== 13 };
  }
}
