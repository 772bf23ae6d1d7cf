import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startServer } from "../../src/index.js";

interface Operation {
  operationId: string;
  summary: string;
  parameters?: Array<{ name: string; in: string; required: boolean; schema: { type: string } }>;
  responses: Record<string, { description: string; content?: Record<string, { schema: { $ref?: string } }> }>;
}
interface OpenApi {
  openapi: string;
  info: { title: string; version: string };
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: { Error: { properties: { error: { required: string[]; properties: Record<string, unknown> } } } } };
}

test("/openapi.json: an OpenAPI 3.1 document with every /v1 route (and /events) of the route table", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "cuebus-openapi-"));
  const server = await startServer({ port: 0, httpPort: 0, jetstream: { storeDir: dir } });
  t.after(async () => {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });
  const base = server.httpUrl as string;
  const res = await fetch(`${base}/openapi.json`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type") ?? "", /^application\/json/);
  const doc = (await res.json()) as OpenApi;
  assert.equal(doc.openapi, "3.1.0");
  assert.equal(doc.info.title, "cuebus HTTP API");
  assert.match(doc.info.version, /^\d+\.\d+\.\d+/);
  assert.equal(typeof doc.paths, "object");
  const err = doc.components.schemas.Error.properties.error;
  assert.deepEqual(err.required, ["code", "description"]);
  assert.deepEqual(Object.keys(err.properties).sort(), ["code", "description", "err_code"]);

  // The index links here.
  const index = (await (await fetch(`${base}/`)).json()) as Record<string, string>;
  assert.equal(index["openapi"], "/openapi.json");

  const routes = server.gateway?.table.routes ?? [];
  const api = routes.filter((r) => r.path.startsWith("/v1") || r.path === "/events");
  for (const r of api) {
    const where = `${r.method} ${r.path}`;
    assert.ok(r.doc !== undefined, `${where} has no doc (RouteDoc)`);
    const op = doc.paths[r.path]?.[r.method.toLowerCase()];
    assert.ok(op !== undefined, `${where} is missing from /openapi.json`);
    assert.ok(op.summary.length > 0, `${where} summary`);
    assert.ok(Object.keys(op.responses).length > 0, `${where} responses`);
  }
  // Monitoring endpoints are documented too.
  for (const p of ["/varz", "/connz", "/subsz", "/jsz", "/healthz", "/metrics", "/openapi.json"]) assert.ok(doc.paths[p]?.["get"] !== undefined, `GET ${p}`);

  const ids = new Set<string>();
  for (const [path, item] of Object.entries(doc.paths)) {
    const segments = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
    for (const [method, op] of Object.entries(item)) {
      assert.ok(["get", "post", "put", "delete"].includes(method), `${method} ${path}`);
      assert.ok(!ids.has(op.operationId), `operationId ${op.operationId} is unique`);
      ids.add(op.operationId);
      // Path parameters come from the {name} segments, each required.
      const inPath = (op.parameters ?? []).filter((p) => p.in === "path");
      assert.deepEqual(inPath.map((p) => p.name), segments, `${method} ${path} path parameters`);
      for (const p of inPath) assert.equal(p.required, true);
      for (const [status, r] of Object.entries(op.responses)) {
        assert.match(status, /^[1-5]\d\d$/, `${method} ${path} status ${status}`);
        if (Number(status) >= 400) assert.equal(r.content?.["application/json"]?.schema.$ref, "#/components/schemas/Error");
      }
    }
  }
  const jsz = doc.paths["/jsz"]?.["get"];
  assert.deepEqual(
    (jsz?.parameters ?? []).map((p) => p.name).sort(),
    ["acc", "accounts", "config", "consumers", "limit", "offset", "streams"],
  );

  // Refusals have the documented shape.
  const missing = await fetch(`${base}/v1/no-such-route`);
  assert.equal(missing.status, 404);
  const body = (await missing.json()) as { error: { code: number; description: string } };
  assert.equal(body.error.code, 404);
  assert.equal(typeof body.error.description, "string");
});
