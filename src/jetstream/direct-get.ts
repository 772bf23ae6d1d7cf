import type { StoredMsg } from "../stores/types.js";
import { MSG_GET_REQUEST, decodeBody } from "./api/request-schema.js";
import type { Bus } from "./bus.js";
import { nsToIso } from "./json.js";
import type { Stream } from "./stream.js";

const EMPTY = Buffer.alloc(0);
const status = (text: string): Buffer => Buffer.from(`NATS/1.0 ${text}\r\n\r\n`, "latin1");
const NOT_FOUND = status("404 Message Not Found");
const EMPTY_REQUEST = status("408 Empty Request");
const BAD_REQUEST = status("408 Bad Request");
const MALFORMED_REQUEST = status("408 Malformed Request");
const NATS_LINE = Buffer.from("NATS/1.0\r\n", "latin1");

/**
 * Bytes of the buffer an answer's header block is built in, reused from one answer to the next
 * (a publish copies what it delivers); an answer with more header bytes gets a buffer of its own.
 */
export const DIRECT_GET_HEADER_BYTES = 4096;
const headerBuf = Buffer.allocUnsafe(DIRECT_GET_HEADER_BYTES);
/** The header buffer is being published from (an answer delivered to a direct get of its own must not overwrite it). */
let headerBufBusy = false;

/** Dots before the stream name in `$JS.API.DIRECT.GET.<stream>`; one more starts the `.<subject>` form. */
const DOTS_BEFORE_STREAM = 4;

/**
 * `$JS.API.DIRECT.GET.<stream>` (JSON `seq` / `last_by_subj` / `next_by_subj`) and
 * `$JS.API.DIRECT.GET.<stream>.<subject>` (last on that subject): the stored message itself,
 * with `Nats-Stream`, `Nats-Subject`, `Nats-Sequence` and `Nats-Time-Stamp` headers added, or a
 * 404/408 status, as nats-server's `getDirectRequest` answers. Only on streams with `allow_direct`.
 * A get by sequence whose message the store has at hand (see StreamStore.loadNow) is answered
 * before this returns, with no promise.
 */
export function handleDirectGet(bus: Bus, stream: Stream, subject: string, reply: string, body: Buffer): void {
  let seq = 0;
  let last = "";
  let next = "";
  const tail = subjectTail(subject);
  if (tail !== -1) {
    if (body.length !== 0) {
      bus.publish(reply, "", BAD_REQUEST, EMPTY);
      return;
    }
    last = subject.slice(tail);
  } else {
    if (body.length === 0) {
      bus.publish(reply, "", EMPTY_REQUEST, EMPTY);
      return;
    }
    seq = plainSeq(body);
    if (seq === 0) {
      // Decoded as nats-server unmarshals it (JSON null is an empty request); a wrongly typed or
      // malformed body gets nats-server's fixed status text.
      const d = decodeBody(body, MSG_GET_REQUEST);
      if ("refused" in d) {
        bus.publish(reply, "", MALFORMED_REQUEST, EMPTY);
        return;
      }
      seq = d.ok.seq ?? 0;
      last = d.ok.last_by_subj ?? "";
      next = d.ok.next_by_subj ?? "";
      if (seq === 0 && last === "" && next === "") {
        bus.publish(reply, "", EMPTY_REQUEST, EMPTY);
        return;
      }
      if ((seq > 0 && last !== "") || (last !== "" && next !== "")) {
        bus.publish(reply, "", BAD_REQUEST, EMPTY);
        return;
      }
    }
  }
  const store = stream.store;
  if (next === "" && last === "") {
    const m = store.loadNow(seq);
    if (m !== undefined) {
      answer(bus, stream, reply, m);
      return;
    }
  }
  const p = next !== "" ? store.loadNext(next, Math.max(1, seq)) : last !== "" ? store.loadLast(last) : store.load(seq);
  p.then(
    (m) => answer(bus, stream, reply, m),
    () => bus.publish(reply, "", NOT_FOUND, EMPTY),
  );
}

/** The `<stream>` of `$JS.API.DIRECT.GET.<stream>[.<subject>]` (a fifth token: "" when there is none). */
export function directGetStream(subject: string): string {
  let at = -1;
  for (let dots = 0; dots < DOTS_BEFORE_STREAM; dots++) {
    at = subject.indexOf(".", at + 1);
    if (at === -1) return "";
  }
  const end = subject.indexOf(".", at + 1);
  return subject.slice(at + 1, end === -1 ? subject.length : end);
}

/** Where the `<subject>` of `$JS.API.DIRECT.GET.<stream>.<subject>` starts in `subject`, or -1 when it has none. */
function subjectTail(subject: string): number {
  let at = -1;
  for (let dots = 0; dots <= DOTS_BEFORE_STREAM; dots++) {
    at = subject.indexOf(".", at + 1);
    if (at === -1) return -1;
  }
  return at + 1;
}

/** Digits of the largest sequence `plainSeq` reads itself (below 2^53). */
const PLAIN_SEQ_DIGITS = 15;
const OPEN_SEQ = Buffer.from('{"seq":', "latin1");
const ZERO = 0x30;
const NINE = 0x39;
const CLOSE_BRACE = 0x7d;

/**
 * The sequence of a body that is exactly `{"seq":<n>}` with n > 0 and written as JSON writes it
 * (what the clients send for a get by sequence), read without a JSON parse; 0 for any other body
 * (then it is decoded in full, with the same result for this one).
 */
function plainSeq(body: Buffer): number {
  const n = body.length;
  const digits = n - OPEN_SEQ.length - 1;
  if (digits < 1 || digits > PLAIN_SEQ_DIGITS || body[n - 1] !== CLOSE_BRACE) return 0;
  for (let i = 0; i < OPEN_SEQ.length; i++) if (body[i] !== OPEN_SEQ[i]) return 0;
  const first = body[OPEN_SEQ.length] as number;
  if (first <= ZERO || first > NINE) return 0;
  let seq = 0;
  for (let i = OPEN_SEQ.length; i < n - 1; i++) {
    const c = body[i] as number;
    if (c < ZERO || c > NINE) return 0;
    seq = seq * 10 + (c - ZERO);
  }
  return seq;
}

/** Answer with `m` (a 404 when null): its headers with the stream's added, then its data. */
function answer(bus: Bus, stream: Stream, reply: string, m: StoredMsg | null): void {
  if (m === null) {
    bus.publish(reply, "", NOT_FOUND, EMPTY);
    return;
  }
  const added = `Nats-Stream: ${stream.name}\r\nNats-Subject: ${m.subject}\r\nNats-Sequence: ${m.seq}\r\nNats-Time-Stamp: ${nsToIso(m.timeNs)}\r\n\r\n`;
  // The message's own header block without its closing blank line, or a bare status line.
  const base = m.headers === null ? NATS_LINE : m.headers.subarray(0, m.headers.length - 2);
  // Latin-1: subjects are held as strings of their bytes (one char a byte), as the parser reads them.
  const own = headerBufBusy || base.length + added.length > DIRECT_GET_HEADER_BYTES;
  const h = own ? Buffer.allocUnsafe(base.length + added.length) : headerBuf;
  base.copy(h, 0);
  const end = base.length + h.write(added, base.length, "latin1");
  if (own) {
    bus.publish(reply, "", h, m.data);
    return;
  }
  headerBufBusy = true;
  try {
    bus.publish(reply, "", h.subarray(0, end), m.data);
  } finally {
    headerBufBusy = false;
  }
}
