/**
 * A stream whose disk refuses writes (ENOSPC simulated at the segment writes, so it runs without
 * root; tests/e2e/disk-full.test.ts fills a real tmpfs), through a real server and the official
 * client: publishes are refused with nats-server's store-failure error and never acknowledged,
 * STREAM.INFO counts exactly what can be read, /healthz and /metrics say so while it lasts, and
 * once the disk takes writes again the stream does too, without a restart.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, open, rm, type FileHandle } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect } from "@nats-io/transport-node";
import { JetStreamApiError, jetstream, jetstreamManager, type JetStreamManager } from "@nats-io/jetstream";
import parsePrometheusTextFormat from "parse-prometheus-text-format";
import { startServer, type Server } from "../../src/index.js";
import { waitFor } from "../helpers/wait.js";

type WritevFn = (this: FileHandle, bufs: Buffer[], pos?: number) => Promise<{ bytesWritten: number; buffers: Buffer[] }>;

/** Every message of the stream, read back one by one: `seq|payload`. */
async function readAll(jsm: JetStreamManager, stream: string): Promise<string[]> {
  const info = await jsm.streams.info(stream);
  const out: string[] = [];
  for (let seq = info.state.first_seq; seq <= info.state.last_seq; seq++) {
    const m = await jsm.streams.getMessage(stream, { seq }).catch(() => null);
    if (m !== null) out.push(`${m.seq}|${m.string()}`);
  }
  assert.equal(info.state.messages, out.length, "STREAM.INFO counts exactly the messages that can be read");
  return out;
}

/** One series of `/metrics`, or undefined. */
async function metric(base: string, name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
  const families = parsePrometheusTextFormat(await (await fetch(`${base}/metrics`)).text());
  const m = families.find((f) => f.name === name)?.metrics.find((s) => Object.entries(labels).every(([k, v]) => s.labels?.[k] === v));
  return m?.value === undefined ? undefined : Number(m.value);
}

async function healthz(base: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${base}/healthz`);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

test("JetStream on a full disk: publishes refused with 10077, state equals what can be read, /healthz 503 and /metrics while it lasts; then stored again without a restart, retried ids included", { timeout: 60_000 }, async (t) => {
  const storeDir = await mkdtemp(join(tmpdir(), "cuebus-storefail-"));
  t.after(() => rm(storeDir, { recursive: true, force: true }));
  // JetStream's warnings go to stderr (`cuebus: ...`) when an embedded server is given no logger: keep the store's.
  const logLines: string[] = [];
  const stderrWrite = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string | Uint8Array, ...rest: unknown[]): boolean => {
    const text = typeof chunk === "string" ? chunk : Buffer.from(chunk).toString();
    if (text.includes("JetStream store")) {
      logLines.push(text);
      return true;
    }
    return (stderrWrite as (c: string | Uint8Array, ...r: unknown[]) => boolean)(chunk, ...rest);
  }) as typeof process.stderr.write;
  t.after(() => {
    process.stderr.write = stderrWrite;
  });
  // ENOSPC at every segment write (they name their offset) while `full`.
  const probe = await open(join(storeDir, "probe"), "w");
  const proto = Object.getPrototypeOf(probe) as { writev: WritevFn };
  await probe.close();
  const writev = proto.writev;
  let full = false;
  proto.writev = function (this: FileHandle, bufs: Buffer[], pos?: number) {
    if (full && typeof pos === "number") return Promise.reject(Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" }));
    return writev.call(this, bufs, pos);
  };
  t.after(() => {
    proto.writev = writev;
  });

  let server: Server = await startServer({ port: 0, httpPort: 0, jetstream: { storeDir } });
  t.after(() => server.close());
  let nc = await connect({ servers: server.url });
  t.after(() => nc.close());
  let base = `http://127.0.0.1:${server.httpPort}`;
  let jsm = await jetstreamManager(nc);
  let js = jetstream(nc);
  await jsm.streams.add({ name: "FULL", subjects: ["full.>"] });
  for (let i = 0; i < 20; i++) assert.equal((await js.publish(`full.${i % 3}`, `ok-${i}`, { msgID: `ok-${i}` })).seq, i + 1);
  assert.deepEqual(await healthz(base), { status: 200, body: { status: "ok" } });

  full = true;
  const refused = await Promise.allSettled(Array.from({ length: 30 }, (_, i) => js.publish(`full.${i % 4}`, `r-${i}`, { msgID: `r-${i}` })));
  for (const r of refused) {
    assert.equal(r.status, "rejected", "nothing acknowledged while the disk is full");
    const err = (r as PromiseRejectedResult).reason as unknown;
    // nats-server answers a store error with JSStreamStoreFailedError: 503, err_code 10077, the error's text.
    assert.ok(err instanceof JetStreamApiError, String(err));
    assert.deepEqual([err.code, err.status], [10077, 503]);
    assert.match(err.message, /ENOSPC/);
  }
  const stored = await readAll(jsm, "FULL");
  assert.deepEqual(stored, Array.from({ length: 20 }, (_, i) => `${i + 1}|ok-${i}`), "what was acknowledged, and nothing else");
  const info = await jsm.streams.info("FULL", { subjects_filter: ">" });
  assert.deepEqual([info.state.first_seq, info.state.last_seq, info.state.num_subjects], [1, 20, 3], "the last sequence did not move for messages not stored");
  const h = await healthz(base);
  assert.equal(h.status, 503);
  assert.equal(h.body["status"], "unavailable");
  assert.match(String(h.body["error"]), /^JetStream stream '\$G > FULL' cannot write to its store: ENOSPC/);
  assert.equal(await metric(base, "cuebus_jetstream_streams_store_failing"), 1);
  assert.ok(((await metric(base, "cuebus_stream_store_write_failures_total", { stream: "FULL" })) ?? 0) >= 1);
  assert.equal(logLines.length, 1);
  assert.match(logLines[0] as string, /^cuebus: JetStream store .*FULL.*: write failed.*ENOSPC/);

  // Space again: the store retries on its own, and a publisher re-sending a refused message (same
  // Nats-Msg-Id) has it stored, not called a duplicate of a message that was never stored.
  full = false;
  let first: { seq: number; duplicate: boolean } | null = null;
  await waitFor(
    async () => {
      first = await js.publish("full.0", "r-0", { msgID: "r-0" }).catch(() => null);
      return first !== null;
    },
    20_000,
    "a publish accepted again",
  );
  assert.deepEqual(first, { stream: "FULL", seq: 21, duplicate: false });
  for (let i = 1; i < 30; i++) {
    const ack = await js.publish(`full.${i % 4}`, `r-${i}`, { msgID: `r-${i}` });
    assert.deepEqual([ack.seq, ack.duplicate], [21 + i, false]);
  }
  assert.deepEqual(await healthz(base), { status: 200, body: { status: "ok" } });
  assert.equal(await metric(base, "cuebus_jetstream_streams_store_failing"), 0);
  assert.equal(logLines.length, 2);
  assert.match(logLines[1] as string, /^cuebus: JetStream store .*FULL.*: writes succeed again/);
  const expected = [...Array.from({ length: 20 }, (_, i) => `${i + 1}|ok-${i}`), ...Array.from({ length: 30 }, (_, i) => `${21 + i}|r-${i}`)];
  assert.deepEqual(await readAll(jsm, "FULL"), expected);

  // After a restart: everything acknowledged, once, in order; a re-sent id is a duplicate now.
  await nc.close();
  await server.close();
  server = await startServer({ port: 0, httpPort: 0, jetstream: { storeDir } });
  nc = await connect({ servers: server.url });
  base = `http://127.0.0.1:${server.httpPort}`;
  jsm = await jetstreamManager(nc);
  js = jetstream(nc);
  assert.deepEqual(await readAll(jsm, "FULL"), expected);
  const again = await js.publish("full.1", "r-5", { msgID: "r-5" });
  assert.deepEqual([again.seq, again.duplicate], [26, true]);
  assert.deepEqual(await healthz(base), { status: 200, body: { status: "ok" } });
});
