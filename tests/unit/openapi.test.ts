import { test } from "node:test";
import assert from "node:assert/strict";
import { openapiDocument, pathParams } from "../../src/gateway/openapi.js";
import type { Route } from "../../src/gateway/routes.js";

const noop = (): void => {};

test("openapi: path parameters from {name} segments, query and body from the doc, refusals with the error schema", () => {
  assert.deepEqual(pathParams("/v1/streams/{stream}/consumers/{consumer}/next"), ["stream", "consumer"]);
  assert.deepEqual(pathParams("/varz"), []);
  const routes: Route[] = [
    {
      method: "GET",
      path: "/v1/streams/{stream}/consumers/{consumer}/next",
      auth: true,
      handler: noop,
      doc: { summary: "Next messages", query: { batch: { description: "how many", type: "integer" }, wait_ms: { description: "wait", required: true } }, responses: { "200": "messages", "204": "none", "404": "no consumer" } },
    },
    { method: "POST", path: "/v1/publish/{subject}", auth: true, handler: noop, doc: { summary: "Publish", body: { "application/octet-stream": "the payload" }, responses: { "204": "routed", "413": "too big" } } },
    { method: "GET", path: "/v1/publish/{subject}", auth: true, handler: noop, doc: { summary: "Same path, other method", responses: { "200": "ok" } } },
    { method: "GET", path: "/undocumented", auth: false, handler: noop },
    { method: "GET", path: "/varz", auth: false, handler: noop, doc: { summary: "Varz", responses: { "200": "json" } } },
  ];
  const doc = openapiDocument(routes) as {
    openapi: string;
    paths: Record<string, Record<string, Record<string, unknown>>>;
    components: { schemas: Record<string, unknown> };
  };
  assert.equal(doc.openapi, "3.1.0");
  assert.deepEqual(Object.keys(doc.paths).sort(), ["/v1/publish/{subject}", "/v1/streams/{stream}/consumers/{consumer}/next", "/varz"]);
  assert.deepEqual(Object.keys(doc.paths["/v1/publish/{subject}"] ?? {}).sort(), ["get", "post"]);

  const next = doc.paths["/v1/streams/{stream}/consumers/{consumer}/next"]?.["get"] as Record<string, unknown>;
  assert.deepEqual(next["parameters"], [
    { name: "stream", in: "path", required: true, schema: { type: "string" } },
    { name: "consumer", in: "path", required: true, schema: { type: "string" } },
    { name: "batch", in: "query", required: false, description: "how many", schema: { type: "integer" } },
    { name: "wait_ms", in: "query", required: true, description: "wait", schema: { type: "string" } },
  ]);
  const responses = next["responses"] as Record<string, Record<string, unknown>>;
  assert.deepEqual(responses["200"], { description: "messages" });
  assert.deepEqual(responses["404"], { description: "no consumer", content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } } });
  assert.ok("Error" in doc.components.schemas);
  // Authenticated routes name both schemes, optional (credentials apply only when configured).
  assert.deepEqual(next["security"], [{ bearer: [] }, { basic: [] }, {}]);
  assert.deepEqual(doc.paths["/varz"]?.["get"]?.["security"], []);

  const pub = doc.paths["/v1/publish/{subject}"]?.["post"] as Record<string, unknown>;
  assert.deepEqual(pub["requestBody"], { content: { "application/octet-stream": { schema: { description: "the payload" } } } });
  assert.notEqual(pub["operationId"], doc.paths["/v1/publish/{subject}"]?.["get"]?.["operationId"]);
});
