/**
 * `$JS.API` requests past the in-flight limit are dropped unanswered, as nats-server drops what
 * passes its `request_queue_limit`, and the operator sees it: counted in `/jsz` (`api.dropped`)
 * and `/metrics` (`cuebus_jetstream_api_dropped_total`), and said once in the log. With the limit
 * at 1, a burst of file-stream creates (each waits for its fsync) in one socket write has all but
 * the first dropped while that one is written.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { createInbox } from "@nats-io/transport-node";
import { startJsServer } from "../helpers/js-server.js";
import { waitFor } from "../helpers/wait.js";

const BURST = 50;

test("API requests past request_queue_limit are dropped, counted in /jsz and /metrics, and logged", async (t) => {
  const { server, nc, warnings } = await startJsServer(t, { httpPort: 0, requestQueueLimit: 1 });

  const inbox = createInbox();
  let answered = 0;
  const sub = nc.subscribe(inbox, {
    callback: () => {
      answered++;
    },
  });
  await nc.flush();
  for (let i = 0; i < BURST; i++) nc.publish(`$JS.API.STREAM.CREATE.Q${i}`, JSON.stringify({ name: `Q${i}`, subjects: [`q${i}`] }), { reply: inbox });
  await nc.flush();

  const jsz = async (): Promise<{ total: number; errors: number; dropped: number }> =>
    ((await (await fetch(`${server.httpUrl}/jsz`)).json()) as { api: { total: number; errors: number; dropped: number } }).api;
  // Every request is either answered or dropped; none is left waiting.
  await waitFor(async () => {
    const api = await jsz();
    return api.total + api.dropped === BURST && answered === api.total;
  }, 10_000, "every request answered or dropped");
  const api = await jsz();
  assert.ok(api.dropped > 0, `some requests dropped (${JSON.stringify(api)})`);
  assert.ok(api.total >= 1, "the first request was answered");
  assert.equal(server.jetstream?.streams.size, api.total, "only the answered creates made streams");
  sub.unsubscribe();

  const metrics = await (await fetch(`${server.httpUrl}/metrics`)).text();
  const line = metrics.split("\n").find((l) => l.startsWith("cuebus_jetstream_api_dropped_total "));
  assert.equal(line, `cuebus_jetstream_api_dropped_total ${api.dropped}`);
  const logged = warnings.filter((l) => l.includes("JetStream API queue limit reached"));
  assert.equal(logged.length, 1, `one warning for the burst: ${JSON.stringify(warnings)}`);
  assert.match(logged[0] ?? "", /\(1 requests, \d+ bytes in flight\), dropping requests/);

  // Once the burst is through, requests are answered again.
  const info = await nc.request("$JS.API.INFO", "", { timeout: 5000 });
  assert.equal((info.json<{ streams: number }>()).streams, api.total);
});
