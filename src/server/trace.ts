import type { ConnectOptions } from "../protocol/connect.js";

/**
 * nats-server's protocol trace (`-V`) for one connection, line for line as 2.9.10 prints it
 * (server/client.go traceInOp, traceOutOp, traceMsg, String):
 *
 *   127.0.0.1:35198 - cid:4 - <<- [CONNECT {"verbose":false,"pass":"[REDACTED]"}]
 *   127.0.0.1:35198 - cid:4 - "v3.3.1:nats.js:me" - <<- [PUB foo 5]
 *   127.0.0.1:35198 - cid:4 - "v3.3.1:nats.js:me" - <<- MSG_PAYLOAD: ["hello"]
 *   127.0.0.1:35198 - cid:4 - "v3.3.1:nats.js:me" - ->> [MSG foo 1 5]
 *   127.0.0.1:35198 - cid:4 - "v3.3.1:nats.js:me" - <-> [DELSUB 1]
 *
 * The logger adds `[pid] time [TRC] `. An operation's arguments are written with single spaces
 * (nats-server echoes the client's own spacing). Built only when tracing is on: a connection
 * without it pays one null check per operation.
 */
export class ClientTrace {
  private desc: string;

  constructor(
    private readonly log: (line: string) => void,
    kind: "tcp" | "websocket" | "memory",
    remoteAddress: string,
    remotePort: number,
    cid: number,
  ) {
    const host = remoteAddress.replace(/^::ffff:/, "");
    const addr = host.includes(":") ? `[${host}]:${remotePort}` : `${host}:${remotePort}`;
    // nats-server names a WebSocket client `wid`, a TCP one `cid`.
    this.desc = `${addr} - ${kind === "websocket" ? "wid" : "cid"}:${cid}`;
  }

  /** After CONNECT: the client's version, language and name join the description (`"v1.0:node:me"`). */
  named(o: ConnectOptions): void {
    const parts: string[] = [];
    if (o.version !== "") parts.push(`v${o.version}`);
    if (o.lang !== "") parts.push(o.lang);
    if (o.name !== "") parts.push(o.name);
    // As nats-server does, a second CONNECT that names the client appends again.
    if (parts.length > 0) this.desc += ` - ${goQuote(Buffer.from(parts.join(":"), "utf8"))}`;
  }

  /** An operation from the client: `<<- [OP arg]`. */
  in(op: string, arg = ""): void {
    this.log(`${this.desc} - <<- [${arg === "" ? op : `${op} ${arg}`}]`);
  }

  /** An operation to the client: `->> [OP arg]`. */
  out(op: string, arg = ""): void {
    this.log(`${this.desc} - ->> [${arg === "" ? op : `${op} ${arg}`}]`);
  }

  /** A PUB or HPUB from the client, then its bytes. */
  pub(subject: string, reply: string, hdrBytes: number, payload: Buffer): void {
    const to = reply === "" ? subject : `${subject} ${reply}`;
    if (hdrBytes > 0) this.in("HPUB", `${to} ${hdrBytes} ${payload.length}`);
    else this.in("PUB", `${to} ${payload.length}`);
    this.payload(payload);
  }

  /** A SUB from the client. */
  sub(subject: string, queue: string, sid: string): void {
    this.in("SUB", queue === "" ? `${subject} ${sid}` : `${subject} ${queue} ${sid}`);
  }

  /** An UNSUB from the client (`max` 0: none). */
  unsub(sid: string, max: number): void {
    this.in("UNSUB", max > 0 ? `${sid} ${max}` : sid);
  }

  /** A MSG or HMSG to the client, `total` bytes with the header block. */
  msg(subject: string, sid: string, reply: string, hdrBytes: number, total: number): void {
    this.out(`${hdrBytes > 0 ? "HMSG" : "MSG"} ${subject} ${sid}${reply === "" ? "" : ` ${reply}`}${hdrBytes > 0 ? ` ${hdrBytes}` : ""} ${total}`);
  }

  /** A published message's bytes (header block included), quoted as Go's %q quotes them. */
  payload(bytes: Buffer): void {
    this.log(`${this.desc} - <<- MSG_PAYLOAD: [${goQuote(bytes)}]`);
  }

  /** A subscription removed (UNSUB, its max reached, or the connection closed). */
  delSub(sid: string): void {
    this.log(`${this.desc} - <-> [DELSUB ${sid}]`);
  }
}

/**
 * Secrets in a CONNECT, as newer nats-server finds them (server/client.go prefixAuthPat and
 * exactAuthPat): `pass...` and `auth_token...` fields, and exactly `nkey` and `sig`. 2.9.10 redacts
 * only the password; a token or signature left in a log is worse than a trace line that differs.
 */
const PREFIX_SECRET = /("?\s*(?:auth_token\S*?|pass\S*?)"?\s*[:=]\s*"?)[^",\r\n}]*/g;
const EXACT_SECRET = /((?:^|[^A-Za-z0-9_])"?\s*(?:nkey|sig)"?\s*[:=]\s*"?)[^",\r\n}]*/g;

/** CONNECT's JSON as nats-server traces it: passwords, tokens, nkeys and signatures replaced by `[REDACTED]`. */
export function redactConnect(json: string): string {
  return json.replace(PREFIX_SECRET, "$1[REDACTED]").replace(EXACT_SECRET, "$1[REDACTED]");
}

const GO_PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u;

const GO_ESCAPES: Record<number, string> = { 7: "\\a", 8: "\\b", 9: "\\t", 10: "\\n", 11: "\\v", 12: "\\f", 13: "\\r", 34: '\\"', 92: "\\\\" };

/**
 * `bytes` quoted as Go's `%q` (strconv.Quote) quotes a string: printable ASCII as is, the C
 * escapes, other control bytes and bytes that are not valid UTF-8 as `\xNN`, printable runes kept,
 * the others as `\uNNNN`.
 */
export function goQuote(bytes: Buffer): string {
  let s = '"';
  for (let i = 0; i < bytes.length; ) {
    const b = bytes[i] as number;
    if (b < 0x80) {
      const esc = GO_ESCAPES[b];
      if (esc !== undefined) s += esc;
      else if (b < 0x20 || b === 0x7f) s += `\\x${b.toString(16).padStart(2, "0")}`;
      else s += String.fromCharCode(b);
      i++;
      continue;
    }
    const n = b >= 0xf0 && b < 0xf8 ? 4 : b >= 0xe0 ? 3 : b >= 0xc2 && b < 0xe0 ? 2 : 0;
    const seq = n === 0 || i + n > bytes.length ? null : bytes.subarray(i, i + n);
    const text = seq === null ? "" : seq.toString("utf8");
    if (seq !== null && !text.includes("\uFFFD") && Buffer.byteLength(text) === n) {
      // Go's unicode.IsPrint: letters, marks, numbers, punctuation, symbols; any other rune is escaped.
      const cp = text.codePointAt(0) as number;
      if (GO_PRINTABLE.test(text)) s += text;
      else s += cp > 0xffff ? `\\U${cp.toString(16).padStart(8, "0")}` : `\\u${cp.toString(16).padStart(4, "0")}`;
      i += n;
    } else {
      s += `\\x${b.toString(16).padStart(2, "0")}`;
      i++;
    }
  }
  return `${s}"`;
}
