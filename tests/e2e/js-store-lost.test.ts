/**
 * Damage on disk reaches people: a message whose record went bad is not served, and STREAM.INFO
 * reports it in `state.lost` (nats-server's LostStreamData shape: `{"msgs": [...], "bytes": n}`),
 * with a warning line naming the store, the segment and the sequence.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { startServer, type Server } from "../../src/index.js";
import { RecordType, decodeRecord } from "../../src/stores/file/record.js";

interface Running {
  server: Server;
  nc: NatsConnection;
  api(subject: string, body?: unknown): Promise<Record<string, unknown>>;
}

async function start(dir: string, warnings: string[]): Promise<Running> {
  const server = await startServer({ port: 0, jetstream: { storeDir: dir }, logger: { warn: (l) => warnings.push(l) } });
  const nc = await connect({ servers: server.url });
  const api = async (subject: string, body: unknown = ""): Promise<Record<string, unknown>> =>
    (await nc.request(`$JS.API.${subject}`, typeof body === "string" ? body : JSON.stringify(body), { timeout: 10_000 })).json<Record<string, unknown>>();
  return { server, nc, api };
}

async function stop(r: Running): Promise<void> {
  await r.nc.close();
  await r.server.close();
}

test("a record damaged on disk: not served, reported in STREAM.INFO state.lost and in a warning line", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "cuebus-lost-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const warnings: string[] = [];
  const first = await start(dir, warnings);
  await first.api("STREAM.CREATE.LOST", { name: "LOST", subjects: ["lost.>"], storage: "file" });
  for (let i = 1; i <= 5; i++) {
    const ack = (await first.nc.request(`lost.${i}`, `payload-${i}`, { timeout: 10_000 })).json<Record<string, unknown>>();
    assert.equal(ack["seq"], i);
  }
  await stop(first);
  // Flip a payload byte of message 3's record in its segment.
  const msgsDir = join(dir, "jetstream", "LOST", "msgs");
  const segName = (await readdir(msgsDir)).find((n) => n.endsWith(".seg")) as string;
  const seg = await readFile(join(msgsDir, segName));
  let at = -1;
  for (let pos = 0; pos < seg.length; ) {
    const r = decodeRecord(seg, pos);
    if (typeof r === "string") break;
    if (r.type === RecordType.MSG && r.seq === 3) at = pos + r.size - 6;
    pos += r.size;
  }
  assert.ok(at > 0, "message 3's record found");
  seg[at] = (seg[at] as number) ^ 0x20;
  await writeFile(join(msgsDir, segName), seg);

  const second = await start(dir, warnings);
  t.after(() => stop(second));
  const get = await second.api("STREAM.MSG.GET.LOST", { seq: 3 });
  assert.equal((get["error"] as { code?: number } | undefined)?.code, 404, "the damaged message is not served");
  const info = await second.api("STREAM.INFO.LOST");
  const state = info["state"] as Record<string, unknown>;
  const lost = state["lost"] as { msgs: number[]; bytes: number } | undefined;
  assert.deepEqual(lost?.msgs, [3]);
  assert.ok((lost?.bytes ?? 0) > 0, "the bytes lost are counted");
  assert.deepEqual(Object.keys(lost ?? {}), ["msgs", "bytes"]);
  assert.equal(state["messages"], 4);
  assert.ok(warnings.some((l) => l.includes("message 3 lost") && l.includes(segName) && l.includes("LOST")), warnings.join("\n"));
  // The other messages are served.
  for (const seq of [1, 2, 4, 5]) assert.equal(((await second.api("STREAM.MSG.GET.LOST", { seq }))["message"] as { seq?: number } | undefined)?.seq, seq);
});
