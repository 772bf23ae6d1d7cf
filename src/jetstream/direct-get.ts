import { MSG_GET_REQUEST, decodeBody } from "./api/request-schema.js";
import type { Bus } from "./bus.js";
import { nsToIso } from "./json.js";
import type { Stream } from "./stream.js";

const EMPTY = Buffer.alloc(0);
const status = (text: string): Buffer => Buffer.from(`NATS/1.0 ${text}\r\n\r\n`, "latin1");

/**
 * `$JS.API.DIRECT.GET.<stream>` (JSON `seq` / `last_by_subj` / `next_by_subj`) and
 * `$JS.API.DIRECT.GET.<stream>.<subject>` (last on that subject): the stored message itself,
 * with `Nats-Stream`, `Nats-Subject`, `Nats-Sequence` and `Nats-Time-Stamp` headers added, or a
 * 404/408 status, as nats-server's `getDirectRequest` answers. Only on streams with `allow_direct`.
 */
export function handleDirectGet(bus: Bus, stream: Stream, subject: string, reply: string, body: Buffer): void {
  const tokens = subject.split(".");
  let seq = 0;
  let last = "";
  let next = "";
  if (tokens.length > 5) {
    if (body.length !== 0) {
      bus.publish(reply, "", status("408 Bad Request"), EMPTY);
      return;
    }
    last = tokens.slice(5).join(".");
  } else {
    if (body.length === 0) {
      bus.publish(reply, "", status("408 Empty Request"), EMPTY);
      return;
    }
    // Decoded as nats-server unmarshals it (JSON null is an empty request); a wrongly typed or
    // malformed body gets nats-server's fixed status text.
    const d = decodeBody(body, MSG_GET_REQUEST);
    if ("refused" in d) {
      bus.publish(reply, "", status("408 Malformed Request"), EMPTY);
      return;
    }
    seq = d.ok.seq ?? 0;
    last = d.ok.last_by_subj ?? "";
    next = d.ok.next_by_subj ?? "";
    if (seq === 0 && last === "" && next === "") {
      bus.publish(reply, "", status("408 Empty Request"), EMPTY);
      return;
    }
    if ((seq > 0 && last !== "") || (last !== "" && next !== "")) {
      bus.publish(reply, "", status("408 Bad Request"), EMPTY);
      return;
    }
  }
  const store = stream.store;
  const p = next !== "" ? store.loadNext(next, Math.max(1, seq)) : last !== "" ? store.loadLast(last) : store.load(seq);
  p.then(
    (m) => {
      if (m === null) {
        bus.publish(reply, "", status("404 Message Not Found"), EMPTY);
        return;
      }
      const base = m.headers === null ? "NATS/1.0\r\n" : m.headers.subarray(0, m.headers.length - 2).toString("latin1");
      const h = `${base}Nats-Stream: ${stream.name}\r\nNats-Subject: ${m.subject}\r\nNats-Sequence: ${m.seq}\r\nNats-Time-Stamp: ${nsToIso(m.timeNs)}\r\n\r\n`;
      bus.publish(reply, "", Buffer.from(h, "latin1"), m.data);
    },
    () => bus.publish(reply, "", status("404 Message Not Found"), EMPTY),
  );
}
