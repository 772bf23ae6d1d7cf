import { test } from "node:test";
import assert from "node:assert/strict";
import { request } from "node:http";
import fc from "fast-check";
import { connect } from "@nats-io/transport-node";
import type { Msg } from "@nats-io/nats-core";
import { startServer } from "../../src/index.js";
import { RouteTable, type Route } from "../../src/gateway/routes.js";
import { waitFor } from "../helpers/wait.js";

/** The table's matching as it was written first: split the path, compare every route in order. */
function referenceMatch(routes: Route[], method: string, pathname: string): { route: Route; params: Record<string, string> } | { allowed: string[] } {
  const parts = pathname.split("/").slice(1);
  const allowed: string[] = [];
  for (const route of routes) {
    const segs = route.path.split("/").slice(1);
    if (segs.length !== parts.length) continue;
    const params: Record<string, string> = {};
    let ok = true;
    for (let i = 0; i < segs.length && ok; i++) {
      const s = segs[i] as string;
      const p = parts[i] as string;
      if (!s.startsWith("{")) ok = s === p;
      else if (p === "") ok = false;
      else {
        try {
          params[s.slice(1, -1)] = decodeURIComponent(p);
        } catch {
          ok = false;
        }
      }
    }
    if (!ok) continue;
    if (route.method === method || (method === "HEAD" && route.method === "GET")) return { route, params };
    allowed.push(route.method);
  }
  return { allowed };
}

test("the route table matches as a naive split-and-compare over every route would (in order, 405 methods, decoded params)", async (t) => {
  const server = await startServer({ port: 0, httpPort: 0 });
  t.after(() => server.close());
  // The gateway's own routes, plus some with a parameter among the first two segments (those are in every group).
  const routes: Route[] = [...(server.gateway?.table.routes ?? [])];
  assert.ok(routes.length > 10);
  const handler = (): void => {};
  routes.splice(3, 0, { method: "GET", path: "/{a}", auth: false, handler });
  routes.push({ method: "POST", path: "/{a}/publish/{b}", auth: false, handler }, { method: "PUT", path: "/v1/{x}", auth: false, handler }, { method: "GET", path: "/", auth: false, handler });
  const table = new RouteTable();
  for (const r of routes) table.add(r);

  const literals = [...new Set(routes.flatMap((r) => r.path.split("/")).filter((s) => !s.startsWith("{")))];
  const segment = fc.oneof(fc.constantFrom(...literals), fc.constantFrom("", "%", "%41", "a%2Fb", "x", "b.c"), fc.string({ maxLength: 4 }));
  const anyPath = fc.tuple(fc.constantFrom("", "/", "//", "x/"), fc.array(segment, { maxLength: 6 }), fc.constantFrom("", "/")).map(([a, s, b]) => a + s.join("/") + b);
  const routePath = fc.constantFrom(...routes.map((r) => r.path)).chain((p) =>
    fc.array(fc.oneof(fc.constantFrom("a", "b.c", "", "%zz", "%41"), fc.string({ maxLength: 3 })), { minLength: 4, maxLength: 4 }).map((vals) => {
      let i = 0;
      return p.replace(/\{[^}]+\}/g, () => vals[i++] as string);
    }),
  );
  const shape = (m: ReturnType<typeof referenceMatch>): unknown => ("route" in m ? { route: m.route, params: { ...m.params } } : m);
  fc.assert(
    fc.property(fc.oneof(anyPath, routePath), fc.constantFrom("GET", "POST", "PUT", "DELETE", "HEAD", "PATCH"), (path, method) => {
      assert.deepEqual(shape(table.match(method, path)), shape(referenceMatch(routes, method, path)), `${method} ${path}`);
    }),
    { numRuns: 20_000 },
  );
});

test("HTTP publish: a percent-encoded subject is decoded, header names match in any case, a trailing slash or an unknown path is a 404, a wrong method a 405 with Allow", async (t) => {
  const server = await startServer({ port: 0, httpPort: 0 });
  t.after(() => server.close());
  const nc = await connect({ servers: server.url });
  t.after(() => nc.close());
  const got: Msg[] = [];
  nc.subscribe("route.>", { callback: (_e, m) => void got.push(m) });
  await nc.flush();

  let res = await fetch(`${server.httpUrl}/v1/publish/route%2Eone`, { method: "POST", headers: { "NATS-MSG-ID": "id-1", "Content-TYPE": "text/plain", TraceParent: "tp", "CE-Source": "s" }, body: "x" });
  assert.equal(res.status, 204);
  await waitFor(() => got.length === 1, 2000, "the message");
  const m = got[0] as Msg;
  assert.equal(m.subject, "route.one");
  assert.equal(m.headers?.get("Nats-Msg-Id"), "id-1");
  assert.equal(m.headers?.get("content-type"), "text/plain");
  assert.equal(m.headers?.get("traceparent"), "tp");
  assert.equal(m.headers?.get("ce-source"), "s");

  res = await fetch(`${server.httpUrl}/v1/publish/route.one/`, { method: "POST", body: "x" });
  assert.equal(res.status, 404);
  assert.equal(((await res.json()) as { error: { code: number } }).error.code, 404);
  res = await fetch(`${server.httpUrl}/v1/nowhere/route.one`, { method: "POST", body: "x" });
  assert.equal(res.status, 404);
  res = await fetch(`${server.httpUrl}/v1/publish/route.one`, { method: "PUT", body: "x" });
  assert.equal(res.status, 405);
  assert.equal(res.headers.get("allow"), "POST");
  res = await fetch(`${server.httpUrl}/v1/publish/route.two?timeout_ms=abc`, { method: "POST", body: "x" });
  assert.equal(res.status, 400);

  // An absolute-form target (as a proxy sends it) is routed by its path.
  const status = await new Promise<number>((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port: server.httpPort, method: "POST", path: `http://127.0.0.1:${server.httpPort}/v1/publish/route.abs` }, (r) => {
      r.resume();
      resolve(r.statusCode ?? 0);
    });
    req.on("error", reject);
    req.end("x");
  });
  assert.equal(status, 204);
  await waitFor(() => got.length === 2, 2000, "the absolute-form publish");
  assert.equal(got[1]?.subject, "route.abs");
  assert.equal(got.length, 2, "nothing else was published");
});
