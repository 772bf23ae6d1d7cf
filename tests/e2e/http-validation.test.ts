import { test } from "node:test";
import assert from "node:assert/strict";
import { connect } from "@nats-io/transport-node";
import type { Msg } from "@nats-io/nats-core";
import { CE_JSON, call, ce, jsServer, refused, snapshot } from "../helpers/http.js";
import { waitFor } from "../helpers/wait.js";

/**
 * Issue 14, defect 8: the HTTP edge validates as strictly as the NATS side: subjects as PUB and
 * SUB take them, base64 as RFC 4648 writes it, CloudEvents attributes, credentials and tokens.
 */

/** Subjects NATS refuses as a publish subject (`-ERR 'Invalid Publish Subject'`) and, all but the wildcards, as a subscription. */
const MALFORMED = ["ht.", ".ht", "ht..x", "ht. x", "ht.\tx", "ht.x\r", " ", "a.b."];

test("defect 8: a malformed subject is refused by publish, request, SSE, long poll, webhook filter and the subject queries, and nothing is stored", async (t) => {
  const server = await jsServer(t);
  assert.equal((await call(server, "POST", "/v1/streams", JSON.stringify({ name: "HT", subjects: ["ht.>"] }))).status, 201);
  assert.equal((await call(server, "POST", "/v1/streams/HT/consumers", JSON.stringify({ durable_name: "C", ack_policy: "explicit" }))).status, 201);
  const nc = await connect({ servers: server.url });
  t.after(() => nc.close());
  const seen: Msg[] = [];
  nc.subscribe(">", { callback: (_e, m) => void (m.subject.startsWith("ht") && seen.push(m)) });
  await nc.flush();
  const before = await snapshot(server, "HT");
  const long = `ht.${"x".repeat(4096)}`; // past the control line: no NATS client can publish or subscribe to it
  const enc = encodeURIComponent;
  for (const s of [...MALFORMED, long]) {
    refused(await call(server, "POST", `/v1/publish/${enc(s)}`, "x"), 400, /^invalid subject/, `publish ${JSON.stringify(s.slice(0, 20))}`);
    refused(await call(server, "POST", `/v1/request/${enc(s)}`, "x"), 400, /^invalid subject/, `request ${JSON.stringify(s.slice(0, 20))}`);
    refused(await call(server, "GET", `/v1/subscribe/${enc(s)}`), 400, /^invalid subject/, `SSE ${JSON.stringify(s.slice(0, 20))}`);
    const hook = await call(server, "POST", "/v1/webhooks", JSON.stringify({ url: "http://127.0.0.1:9/x", stream: "HT", filter_subject: s }));
    refused(hook, 400, /filter_subject [\s\S]* is not a valid subject/, `webhook filter ${JSON.stringify(s.slice(0, 20))}`);
    refused(await call(server, "GET", `/v1/streams?subject=${enc(s)}`), 400, /^invalid subject/, `stream list ${JSON.stringify(s.slice(0, 20))}`);
    refused(await call(server, "GET", `/v1/streams/HT/messages/last?subject=${enc(s)}`), 400, /^invalid subject/, `last message ${JSON.stringify(s.slice(0, 20))}`);
  }
  // A publish subject is literal: wildcard tokens are refused as nats-server refuses them on PUB.
  for (const s of ["ht.*", "ht.>", "*", ">"]) refused(await call(server, "POST", `/v1/publish/${enc(s)}`, "x"), 400, /^invalid subject/, `publish ${s}`);
  // Long poll: stream and consumer are names, one token each.
  for (const [st, co] of [["ht.", "C"], ["HT", "C."], ["HT", "*"], ["H T", "C"]]) {
    refused(await call(server, "GET", `/v1/streams/${enc(st as string)}/consumers/${enc(co as string)}/next?wait_ms=0`), 400, /invalid (stream|consumer) name/, `long poll ${st}/${co}`);
  }
  // What NATS itself accepts is accepted: wildcards inside a longer token, and the longest subject a control line holds.
  assert.equal((await call(server, "POST", "/v1/publish/ht.a*b", "x")).status, 200);
  assert.equal((await call(server, "POST", `/v1/publish/ht.${"y".repeat(4093 - 3)}`, "x")).status, 200);
  const after = JSON.parse(await snapshot(server, "HT")) as { messages: number };
  assert.equal(after.messages, (JSON.parse(before) as { messages: number }).messages + 2, "only the two valid publishes stored");
  await waitFor(() => seen.length === 2, 2000, "the two valid messages");
  assert.deepEqual(seen.map((m) => m.subject.slice(0, 6)), ["ht.a*b", "ht.yyy"]);
});

test("defect 8: CloudEvents data_base64 is strict RFC 4648 base64; bad attributes are a 400 naming them; text attributes keep their UTF-8", async (t) => {
  const server = await jsServer(t);
  assert.equal((await call(server, "POST", "/v1/streams", JSON.stringify({ name: "HT", subjects: ["ht.>"] }))).status, 201);
  const before = await snapshot(server, "HT");
  const bad: Array<[Record<string, unknown>, RegExp]> = [
    [{ data_base64: "!!!" }, /"data_base64" is not base64/],
    [{ data_base64: "aGk" }, /"data_base64" is not base64/], // padding missing
    [{ data_base64: "aGk=\n" }, /"data_base64" is not base64/], // a line break
    [{ data_base64: "aG k=" }, /"data_base64" is not base64/], // whitespace
    [{ data_base64: "-_8=" }, /"data_base64" is not base64/], // the URL-safe alphabet
    [{ data_base64: "aGl=" }, /"data_base64" is not base64/], // bits past the last byte set
    [{ data_base64: "aGk=aGk=" }, /"data_base64" is not base64/], // padding inside
    [{ data_base64: 5 }, /"data_base64" is not base64/],
    [{ datacontenttype: 5, data: "x" }, /"datacontenttype" must be a non-empty string/],
    [{ datacontenttype: "text/plain\r\nx: y", data: "x" }, /"datacontenttype" holds a line break/],
  ];
  for (const [extra, why] of bad) refused(await call(server, "POST", "/v1/publish/ht.ce", ce(extra), CE_JSON), 400, why, JSON.stringify(extra));
  // Binary mode (ce-specversion present) is checked as a structured event is.
  const binaryBad: Array<[Record<string, string>, RegExp]> = [
    [{ "ce-specversion": "1.0", "ce-source": "/t", "ce-type": "t" }, /"ce-id" is required/],
    [{ "ce-specversion": "2.0", "ce-id": "1", "ce-source": "/t", "ce-type": "t" }, /ce-specversion "2.0" is not supported/],
    [{ "ce-specversion": "1.0", "ce-id": "1", "ce-source": "/t", "ce-type": "t", "ce-Bad_Name": "x" }, /"ce-bad_name" does not name an attribute/],
  ];
  for (const [h, why] of binaryBad) refused(await call(server, "POST", "/v1/publish/ht.ce", "x", h), 400, why, JSON.stringify(h));
  assert.equal(await snapshot(server, "HT"), before, "nothing stored");

  // Valid ones go through: the payload decoded, a non-Latin-1 attribute stored as its UTF-8 bytes.
  const nc = await connect({ servers: server.url });
  t.after(() => nc.close());
  const got: Msg[] = [];
  nc.subscribe("ht.ce", { callback: (_e, m) => void got.push(m) });
  await nc.flush();
  assert.equal((await call(server, "POST", "/v1/publish/ht.ce", ce({ data_base64: "aGk=", region: "Zürich 東京" }), CE_JSON)).status, 200);
  assert.equal((await call(server, "POST", "/v1/publish/ht.ce", ce({ id: "e-2", data_base64: "" }), CE_JSON)).status, 200);
  await waitFor(() => got.length === 2, 2000, "the events");
  assert.equal(got[0]?.string(), "hi");
  assert.equal(got[0]?.headers?.get("ce-region"), "Zürich 東京");
  assert.equal(got[1]?.data.length, 0);
  // And back out as a structured event, the attribute as sent.
  const res = await fetch(`${server.httpUrl}/v1/streams/HT/messages/1`, { headers: { accept: "application/cloudevents+json" } });
  const ev = (await res.json()) as Record<string, unknown>;
  assert.equal(ev["region"], "Zürich 東京");
  assert.equal(ev["data_base64"], "aGk=");
  // The JSON of SSE and long polls reads header bytes as UTF-8 too (it showed "ZÃ¼rich").
  assert.equal((await call(server, "POST", "/v1/streams/HT/consumers", JSON.stringify({ durable_name: "C", ack_policy: "none" }))).status, 201);
  const polled = await call(server, "GET", "/v1/streams/HT/consumers/C/next?batch=1&wait_ms=2000");
  const first = (polled.json["messages"] as Array<{ headers: Record<string, string> }>)[0];
  assert.equal(first?.headers["ce-region"], "Zürich 東京");
});

test("defect 8: lenient decodes elsewhere: Basic credentials and ack tokens must be exact base64, a message sequence a safe integer, a consumer config an object", async (t) => {
  const server = await jsServer(t, { auth: { users: [{ user: "u", password: "p" }] } });
  const basic = (s: string): Record<string, string> => ({ authorization: `Basic ${s}` });
  const good = Buffer.from("u:p").toString("base64"); // dTpw
  assert.equal((await call(server, "GET", "/v1/streams", undefined, basic(good))).status, 200);
  // Buffer.from(.., "base64") would read each of these as "u:p".
  for (const s of [`${good}!!`, "dTpw=", "d Tpw", "dT-w"]) refused(await call(server, "GET", "/v1/streams", undefined, basic(s)), 401, /authorization violation/, `Basic ${JSON.stringify(s)}`);
  const auth = basic(good);
  assert.equal((await call(server, "POST", "/v1/streams", JSON.stringify({ name: "HT", subjects: ["ht.>"] }), auth)).status, 201);
  const token = Buffer.from("$JS.ACK.HT.C.1.1.1.1.0").toString("base64url");
  // Each of these decodes leniently to the same bytes as the token (padding cuebus never writes, bits past the last byte set).
  const B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  const lastValue = B64URL.indexOf(token.slice(-1));
  assert.equal(token.length % 4, 2, "the token's last character carries 4 bits past the last byte");
  const strayBits = `${token.slice(0, -1)}${B64URL[lastValue | 1] as string}`;
  assert.equal(Buffer.from(strayBits, "base64url").toString(), Buffer.from(token, "base64url").toString());
  for (const tk of [`${token}==`, strayBits, `${token.slice(0, -1)}~`]) refused(await call(server, "POST", `/v1/ack/${tk}`, undefined, auth), 400, /ack token must be base64url/, `ack ${tk}`);
  refused(await call(server, "GET", "/v1/streams/HT/messages/9999999999999999", undefined, auth), 400, /message sequence must be a positive integer/, "an unsafe sequence");
  for (const body of [`{"config":"x"}`, `{"config":null}`, `{"config":[1]}`]) refused(await call(server, "POST", "/v1/streams/HT/consumers", body, auth), 400, /config must be a JSON object/, body);
  refused(await call(server, "POST", "/v1/streams/HT/consumers", `{"durable_name":5}`, auth), 400, /durable_name must be a string/, "durable_name 5");
  refused(await call(server, "POST", "/v1/streams/HT/consumers", `{"stream_name":"X","config":{"durable_name":"C"}}`, auth), 400, /stream_name in the body does not match/, "stream_name");
  const list = await call(server, "GET", "/v1/streams/HT/consumers", undefined, auth);
  assert.equal(list.json["total"], 0, "no consumer made");
});

test("an HTTP stream or consumer body goes to JetStream as sent: int64-max durations are taken as over NATS, not rounded past Go's range by a re-serialization", async (t) => {
  const server = await jsServer(t);
  const INT64_MAX = "9223372036854775807";
  const created = await call(server, "POST", "/v1/streams", `{"name":"BIG","subjects":["big.>"],"max_age":${INT64_MAX},"duplicate_window":1000000000}`);
  assert.equal(created.status, 201, JSON.stringify(created.json));
  const nc = await connect({ servers: server.url });
  t.after(() => nc.close());
  const overNats = async (subject: string, body: string): Promise<Record<string, unknown>> => JSON.parse(new TextDecoder().decode((await nc.request(subject, body)).data)) as Record<string, unknown>;
  const info = await overNats("$JS.API.STREAM.INFO.BIG", "");
  assert.deepEqual((created.json["config"] as Record<string, unknown>)["max_age"], (info["config"] as Record<string, unknown>)["max_age"]);
  // Update without a name in the body: the path's name is put in front, the rest goes as sent.
  const updated = await call(server, "PUT", "/v1/streams/BIG", `{"subjects":["big.>"],"max_age":${INT64_MAX},"duplicate_window":1000000000,"max_msgs":7}`);
  assert.equal(updated.status, 200, JSON.stringify(updated.json));
  assert.equal((updated.json["config"] as Record<string, unknown>)["max_msgs"], 7);
  // A consumer config alone, and a whole CONSUMER.CREATE request without stream_name.
  const c1 = await call(server, "POST", "/v1/streams/BIG/consumers", `{"durable_name":"C1","ack_policy":"explicit","ack_wait":${INT64_MAX}}`);
  assert.equal(c1.status, 201, JSON.stringify(c1.json));
  const c2 = await call(server, "POST", "/v1/streams/BIG/consumers", `{"config":{"durable_name":"C2","ack_policy":"explicit","ack_wait":${INT64_MAX}},"action":"create"}`);
  assert.equal(c2.status, 201, JSON.stringify(c2.json));
  const viaNats = await overNats("$JS.API.CONSUMER.INFO.BIG.C1", "");
  assert.equal((c1.json["config"] as Record<string, unknown>)["ack_wait"], (viaNats["config"] as Record<string, unknown>)["ack_wait"]);
  // Purge with a body: judged by JetStream as sent.
  refused(await call(server, "POST", "/v1/streams/BIG/purge", `{"seq":"x"}`), 400, /^invalid JSON/, "purge with a string seq");
});
