import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect, createInbox, type NatsConnection } from "@nats-io/transport-node";
import { startServer } from "../../src/index.js";
import { DEAD_LETTER_REPLAY_PREFIX } from "../../src/jetstream/dead-letter.js";
import { apiTable, directGetTable, dlqReplayTable, pullTable, type TableRow } from "../helpers/jsapi-type-table.js";

/**
 * Issue 14's table: every JetStream request type gets a wrongly typed value for each field it
 * takes (string, boolean, float, array, object, out of range), and each is refused with 400 /
 * 10025 `invalid JSON: <field> ...` while nothing changes: the stream list, the stream's config
 * and state, the consumers and the durable consumer's config are read again after every row.
 * tests/e2e/jsapi-compare.test.ts sends the same table to nats-server, whose answers are the
 * reference (it refuses every row the oracle knows the field of).
 */

async function api(nc: NatsConnection, subject: string, body: string): Promise<Record<string, unknown>> {
  const r = await nc.request(subject.startsWith("$") ? subject : `$JS.API.${subject}`, body, { timeout: 5000 });
  return r.json<Record<string, unknown>>();
}

/** One inbox message for a raw request: its status line and payload. */
async function statusOf(nc: NatsConnection, subject: string, body: string): Promise<{ status: string; data: number }> {
  const inbox = createInbox();
  const sub = nc.subscribe(inbox, { max: 1 });
  nc.publish(subject, body, { reply: inbox });
  for await (const m of sub) return { status: `${m.headers?.code ?? 0} ${m.headers?.description ?? ""}`, data: m.data.length };
  throw new Error("no answer");
}

test("every field of every JetStream request, wrongly typed: 400 / 10025 naming the field, and nothing changes", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "cuebus-typetable-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const server = await startServer({ port: 0, host: "127.0.0.1", jetstream: { storeDir: dir } });
  t.after(() => server.close());
  const nc = await connect({ port: server.port });
  t.after(() => nc.close());

  await api(nc, "STREAM.CREATE.S", JSON.stringify({ name: "S", subjects: ["s.>"], allow_direct: true }));
  for (const s of ["s.a", "s.b", "s.a"]) await nc.request(s, "x");
  await api(nc, "CONSUMER.DURABLE.CREATE.S.d", JSON.stringify({ stream_name: "S", config: { durable_name: "d", ack_policy: "explicit" } }));
  const snapshot = async (watch: TableRow["watch"]): Promise<unknown> => {
    if (watch === "streams") return (await api(nc, "STREAM.NAMES", ""))["streams"];
    if (watch === "stream") return await api(nc, "STREAM.INFO.S", "");
    if (watch === "consumers") return [(await api(nc, "CONSUMER.NAMES.S", ""))["consumers"], (await api(nc, "CONSUMER.INFO.S.d", ""))["config"]];
    return null;
  };
  const before = { streams: await snapshot("streams"), stream: await snapshot("stream"), consumers: await snapshot("consumers"), none: null };

  const rows = apiTable();
  assert.ok(rows.length > 600, `${rows.length} rows`);
  for (const row of rows) {
    const what = `${row.subject} ${row.body}`;
    const res = await api(nc, row.subject, row.body);
    const e = res["error"] as { code: number; err_code: number; description: string } | undefined;
    assert.ok(e !== undefined, `${what}: accepted: ${JSON.stringify(res).slice(0, 300)}`);
    assert.equal(e.code, 400, what);
    assert.equal(e.err_code, 10025, what);
    assert.ok(e.description.startsWith(`invalid JSON: ${row.field}`), `${what}: ${e.description}`);
    assert.deepEqual(await snapshot(row.watch), before[row.watch], `${what} changed something`);
  }

  for (const body of pullTable()) {
    const r = await statusOf(nc, "$JS.API.CONSUMER.MSG.NEXT.S.d", body);
    assert.match(r.status, /^400 Bad Request - /, body);
    assert.equal(r.data, 0, body);
  }
  const ci = await api(nc, "CONSUMER.INFO.S.d", "");
  assert.equal(ci["num_ack_pending"], 0, "no pull request was served");
  assert.equal(ci["num_pending"], 3);

  for (const body of directGetTable()) assert.equal((await statusOf(nc, "$JS.API.DIRECT.GET.S", body)).status, "408 Malformed Request", body);

  for (const body of dlqReplayTable()) {
    const res = await api(nc, `${DEAD_LETTER_REPLAY_PREFIX}S`, body);
    assert.equal((res["error"] as { err_code?: number } | undefined)?.err_code, 10025, body);
  }
  assert.deepEqual(await snapshot("stream"), before.stream, "the replays changed nothing");
});
