import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startServer, type Server } from "../../src/index.js";

/** Helpers of the HTTP bad-input tests (issue 14): a JetStream server, a request, a refusal, a snapshot of what must not change. */

export type Ctx = { after: (fn: () => unknown) => void };
export type ErrorBody = { error?: { code: number; description: string; err_code?: number } };

export async function jsServer(t: Ctx, extra: Parameters<typeof startServer>[0] = {}): Promise<Server> {
  const dir = mkdtempSync(join(tmpdir(), "cuebus-http-bad-"));
  // Registered first: after-hooks run in order, so the directory goes once the server is closed.
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const server = await startServer({ port: 0, httpPort: 0, jetstream: { storeDir: dir }, ...extra });
  t.after(() => server.close());
  return server;
}

/** Send a request and read the answer: status and JSON body (an error must be the JSON error shape). */
export async function call(server: Server, method: string, path: string, body?: string, headers: Record<string, string> = {}): Promise<{ status: number; json: ErrorBody & Record<string, unknown> }> {
  const res = await fetch(`${server.httpUrl}${path}`, { method, headers, ...(body === undefined ? {} : { body }) });
  const text = await res.text();
  let json: ErrorBody & Record<string, unknown> = {};
  if (text !== "") {
    assert.match(res.headers.get("content-type") ?? "", /application\/json/, `${method} ${path}: ${res.status} ${text.slice(0, 200)}`);
    json = JSON.parse(text) as typeof json;
  }
  return { status: res.status, json };
}

/** Assert a refusal: the status, the JSON error shape with that code, a description matching `why`. */
export function refused(r: { status: number; json: ErrorBody }, status: number, why: RegExp, what: string): void {
  assert.equal(r.status, status, `${what}: ${JSON.stringify(r.json).slice(0, 300)}`);
  const e = r.json.error;
  assert.ok(e !== undefined, `${what}: a JSON error body`);
  assert.equal(e.code, status, `${what}: error.code`);
  assert.equal(typeof e.description, "string");
  assert.match(e.description, why, what);
}

/** What must not change: the stream's config and state, its consumers, and the streams that exist. */
export async function snapshot(server: Server, stream: string): Promise<string> {
  const info = await call(server, "GET", `/v1/streams/${stream}`);
  assert.equal(info.status, 200);
  const state = info.json["state"] as Record<string, unknown>;
  const consumers = await call(server, "GET", `/v1/streams/${stream}/consumers`);
  const streams = await call(server, "GET", "/v1/streams");
  const names = ((streams.json["streams"] as Array<{ config: { name: string } }> | null) ?? []).map((s) => s.config.name).sort();
  const webhooks = await call(server, "GET", "/v1/webhooks");
  return JSON.stringify({
    config: info.json["config"],
    messages: state["messages"],
    last_seq: state["last_seq"],
    consumers: consumers.json["total"],
    names,
    webhooks: (webhooks.json["webhooks"] as unknown[]).length,
  });
}

export const deep = (levels: number): string => "[".repeat(levels) + "]".repeat(levels);
export const ce = (extra: Record<string, unknown>): string => JSON.stringify({ specversion: "1.0", id: "e-1", source: "/t", type: "t.happened", ...extra });
export const CE_JSON = { "content-type": "application/cloudevents+json" };
