import { test } from "node:test";
import assert from "node:assert/strict";
import { connect, createInbox, headers } from "@nats-io/transport-node";
import { jetStreamPair } from "../helpers/js-pair.js";

/**
 * Direct gets (`$JS.API.DIRECT.GET.<stream>`) answered by the real nats-server (2.9.10) and by
 * cuebus, compared whole: status, every header but the time stamp (checked for Go's format
 * instead), data. The bodies sit on either side of the plain `{"seq":<n>}` cuebus reads without a
 * JSON parse, and the messages include a non-ASCII subject and one with headers of its own.
 */
const BODIES = [
  '{"seq":1}',
  '{"seq":2}',
  '{"seq":3}',
  '{"seq":4}',
  '{"seq":99}',
  '{"seq":0}',
  '{"seq":01}',
  '{"seq": 2}',
  '{"seq":2 }',
  ' {"seq":2}',
  '{"seq":2.0}',
  '{"seq":2e0}',
  '{"seq":-2}',
  '{"seq":+2}',
  '{"seq":"2"}',
  '{"seq":2,"seq":3}',
  '{"seq":123456789012345}',
  '{"seq":9007199254740993}',
  '{"seq":18446744073709551616}',
  '{"Seq":2}',
  '{"seq":2}x',
  '{"seq":2',
  '{"seq":1,"last_by_subj":"s.a"}',
  '{"last_by_subj":"s.a"}',
  '{"next_by_subj":"s.b","seq":1}',
];

const TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$/;

async function answers(port: number): Promise<string[]> {
  const nc = await connect({ port });
  try {
    await nc.request("$JS.API.STREAM.CREATE.S", JSON.stringify({ name: "S", subjects: ["s.>"], storage: "file", allow_direct: true }));
    const h = headers();
    h.set("K", "v");
    await nc.request("s.a", "one");
    await nc.request("s.b", "two", { headers: h, timeout: 2000 });
    await nc.request("s.ü.x", "three");
    await nc.request("s.a", "four");
    const out: string[] = [];
    const ask = async (subject: string, body: string): Promise<string> => {
      const inbox = createInbox();
      const sub = nc.subscribe(inbox, { max: 1 });
      nc.publish(subject, body, { reply: inbox });
      for await (const m of sub) {
        const shown: string[] = [];
        for (const k of m.headers?.keys() ?? []) {
          const v = m.headers?.get(k) ?? "";
          if (k === "Nats-Time-Stamp") assert.match(v, TIME, `${body}: time stamp ${v}`);
          else shown.push(`${k}=${v}`);
        }
        return `${m.headers?.code ?? 0} ${m.headers?.description ?? ""} [${shown.join(" ")}] ${m.string()}`;
      }
      return "none";
    };
    for (const body of BODIES) out.push(`${body} -> ${await ask("$JS.API.DIRECT.GET.S", body)}`);
    out.push(`last s.a -> ${await ask("$JS.API.DIRECT.GET.S.s.a", "")}`);
    out.push(`last s.ü.x -> ${await ask("$JS.API.DIRECT.GET.S.s.ü.x", "")}`);
    out.push(`last s.none -> ${await ask("$JS.API.DIRECT.GET.S.s.none", "")}`);
    return out;
  } finally {
    await nc.close();
  }
}

test("direct gets match nats-server -js: plain and not-so-plain bodies, headers, a non-ASCII subject", async (t) => {
  const { realPort, ourPort } = await jetStreamPair(t);
  const [a, b] = await Promise.all([answers(realPort), answers(ourPort)]);
  assert.deepEqual(b, a);
  // Not equal by both failing: the plain bodies found their messages.
  assert.match(a[2] as string, /Nats-Subject=s\.ü\.x .*three$/);
  assert.match(a[1] as string, /K=v .*Nats-Sequence=2\] two$/);
});
