import { test } from "node:test";
import assert from "node:assert/strict";
import { connect, createInbox, type NatsConnection } from "@nats-io/transport-node";
import { jetStreamPair } from "../helpers/js-pair.js";

/**
 * Pull requests (`CONSUMER.MSG.NEXT`) and acks sent raw to nats-server -js and to cuebus: what
 * comes back on the inbox (status code, description, pending headers, payloads, ack replies)
 * must be the same. Subjects and ack reply tokens are compared by shape, not by time stamps.
 */
interface Seen {
  status: string;
  pending: string;
  data: string;
  reply: string;
}

/** Raw ack subjects of the last collect(), to ack with. */
let lastReplies: string[] = [];

async function collect(nc: NatsConnection, subject: string, body: string, waitMs: number): Promise<Seen[]> {
  const inbox = createInbox();
  const out: Seen[] = [];
  lastReplies = [];
  const sub = nc.subscribe(inbox, {
    callback: (_e, m) => {
      const h = m.headers;
      if (m.reply !== undefined && m.reply !== "") lastReplies.push(m.reply);
      out.push({
        status: h !== undefined && h.code !== 0 ? `${h.code} ${h.description}` : "",
        pending: h?.get("Nats-Pending-Messages") !== undefined && h.get("Nats-Pending-Messages") !== "" ? `${h.get("Nats-Pending-Messages")}/${h.get("Nats-Pending-Bytes")}` : "",
        data: m.string(),
        // $JS.ACK.<stream>.<consumer>.<dc>.<sseq>.<dseq>.<ts>.<pending>: keep all but the time.
        reply: m.reply === undefined || m.reply === "" ? "" : m.reply.split(".").map((t, i) => (i === 7 ? "<ts>" : t)).join("."),
      });
    },
  });
  nc.publish(subject, body, { reply: inbox });
  await new Promise((r) => setTimeout(r, waitMs));
  sub.unsubscribe();
  return out;
}

async function scenario(port: number): Promise<unknown[]> {
  const nc = await connect({ port });
  const r = (s: string, b: unknown): Promise<unknown> => nc.request(s, JSON.stringify(b)).then((m) => m.json());
  const out: unknown[] = [];
  try {
    await r("$JS.API.STREAM.CREATE.S", { name: "S", subjects: ["s.>"] });
    await r("$JS.API.CONSUMER.DURABLE.CREATE.S.c", { stream_name: "S", config: { durable_name: "c", ack_policy: "explicit", max_batch: 5 } });
    await r("$JS.API.CONSUMER.DURABLE.CREATE.S.p", { stream_name: "S", config: { durable_name: "p", deliver_subject: "push.here" } });
    const next = "$JS.API.CONSUMER.MSG.NEXT.S.c";
    out.push(await collect(nc, next, JSON.stringify({ batch: 1, no_wait: true }), 150));
    out.push(await collect(nc, "$JS.API.CONSUMER.MSG.NEXT.S.p", "", 150));
    out.push(await collect(nc, next, JSON.stringify({ batch: 9 }), 150));
    for (const s of ["s.a", "s.b"]) await nc.request(s, "0123456789");
    out.push(await collect(nc, next, JSON.stringify({ batch: 3, expires: 200_000_000 }), 400));
    out.push(await collect(nc, next, JSON.stringify({ batch: 2, expires: 200_000_000, max_bytes: 5 }), 400));
    await nc.request("s.c", "x");
    out.push(await collect(nc, next, "", 150));
    // Nak what the last fetch got, acked with a reply: the reply is an empty message. A delay
    // nats-server cannot decode (here 1.5e9: not an integer literal) makes a plain NAK, so the
    // message is redelivered at once (cuebus took it as a 1.5 s delay before issue 14).
    const pending = [...lastReplies];
    const naks = ['-NAK {"delay":1.5e9}', '-NAK {"delay":"5s"}', "-NAK"];
    for (const [i, ack] of pending.entries()) out.push(await collect(nc, ack, naks[i % naks.length] as string, 100));
    // Redeliveries come first, with their delivery count in the ack subject.
    out.push(await collect(nc, next, JSON.stringify({ batch: 2, no_wait: true }), 200));
    const redelivered = [...lastReplies];
    for (const ack of redelivered) out.push(await collect(nc, ack, "+ACK", 100));
    // +NXT acks and asks for the next message on the same reply.
    out.push(await collect(nc, next, "", 150));
    for (const ack of [...lastReplies]) out.push(await collect(nc, ack, "+NXT", 200));
    await nc.request("s.d", "y");
    out.push(await collect(nc, next, JSON.stringify({ batch: 4, no_wait: true, expires: 150_000_000 }), 400));
  } finally {
    await nc.close();
  }
  return out;
}

test("pull request statuses and deliveries match nats-server -js", async (t) => {
  const { realPort, ourPort } = await jetStreamPair(t);
  const a = await scenario(realPort);
  const b = await scenario(ourPort);
  t.diagnostic(JSON.stringify(a));
  for (let i = 0; i < a.length; i++) assert.deepEqual(b[i], a[i], `case ${i}:\n nats-server ${JSON.stringify(a[i])}\n cuebus      ${JSON.stringify(b[i])}`);
});
