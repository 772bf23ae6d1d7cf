import { test } from "node:test";
import assert from "node:assert/strict";
import { Agent, createServer, request } from "node:http";
import type { LookupAddress } from "node:dns";
import { TargetAllowList } from "../../src/gateway/webhooks/allow-list.js";

type LookupResult = { err: NodeJS.ErrnoException | null; address: string | LookupAddress[] };

function resolveThrough(list: TargetAllowList, host: string, all: boolean): Promise<LookupResult> {
  return new Promise((resolve) => list.connectLookup(host, { all }, (err, address) => resolve({ err, address })));
}

/** POST through an agent that resolves with the list's connect-time lookup, as webhook deliveries do. */
function postThrough(list: TargetAllowList, port: number): Promise<number | string> {
  const agent = new Agent({ lookup: list.connectLookup });
  return new Promise((resolve) => {
    // IPv4 only: the server below listens on 127.0.0.1, whatever else localhost resolves to here.
    const req = request({ host: "localhost", family: 4, port, method: "POST", path: "/hook", agent }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
    });
    req.on("error", (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
    req.end("x");
  }).finally(() => agent.destroy()) as Promise<number | string>;
}

test("connect-time lookup: a name allowed only by IP entries is checked against what it resolves to when connecting", async (t) => {
  const elsewhere = new TargetAllowList(["10.0.0.0/8"]);
  const r1 = await resolveThrough(elsewhere, "localhost", false);
  assert.equal(r1.err?.code, "EACCES");
  assert.match(r1.err?.message ?? "", /localhost resolves to (127\.0\.0\.1|::1), outside the allow-list/);
  assert.equal((await resolveThrough(elsewhere, "localhost", true)).err?.code, "EACCES");
  await assert.rejects(elsewhere.check(new URL("http://localhost:1/")), /not in the allow-list/);

  const loopback = new TargetAllowList(["127.0.0.0/8", "::1"]);
  const r2 = await resolveThrough(loopback, "localhost", false);
  assert.equal(r2.err, null);
  assert.ok(r2.address === "127.0.0.1" || r2.address === "::1", String(r2.address));
  const r3 = await resolveThrough(loopback, "localhost", true);
  assert.ok(Array.isArray(r3.address) && r3.address.length > 0);

  // A name entry is trusted whatever it resolves to.
  const byName = new TargetAllowList(["localhost"]);
  assert.equal((await resolveThrough(byName, "localhost", false)).err, null);

  // Through a real HTTP client and server, as deliveries connect.
  const srv = createServer((req, res) => {
    req.resume();
    res.writeHead(204).end();
  });
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  t.after(() => srv.close());
  const port = (srv.address() as { port: number }).port;
  assert.equal(await postThrough(new TargetAllowList(["127.0.0.0/8"]), port), 204);
  assert.equal(await postThrough(elsewhere, port), "EACCES");
});
