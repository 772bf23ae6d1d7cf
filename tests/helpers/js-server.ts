import type { test } from "node:test";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { startServer, type Server, type ServerOptions } from "../../src/index.js";

/** An in-process server with JetStream on a temp dir, its log's warnings kept, and a client. */
export interface JsServer {
  server: Server;
  nc: NatsConnection;
  /** The server's warning lines, in order. */
  warnings: string[];
  /** `$JS.API.<subject>` with a JSON body; the answer parsed. */
  api(subject: string, body?: unknown): Promise<Record<string, unknown>>;
}

/** Start one for test `t`; the client, the server and its store directory go when the test ends. */
export async function startJsServer(t: test.TestContext, opts: { httpPort?: number; requestQueueLimit?: number } = {}): Promise<JsServer> {
  const dir = await mkdtemp(join(tmpdir(), "cuebus-js-"));
  let server: Server | undefined;
  let nc: NatsConnection | undefined;
  // One hook, in this order (node:test runs a test's after hooks in the order they were added): the
  // directory goes only once the server has stopped writing into it (consumer state is written behind).
  t.after(async () => {
    await nc?.close();
    await server?.close();
    await rm(dir, { recursive: true, force: true });
  });
  const warnings: string[] = [];
  const o: ServerOptions = { port: 0, jetstream: { storeDir: dir, requestQueueLimit: opts.requestQueueLimit }, logger: { warn: (l) => warnings.push(l) } };
  if (opts.httpPort !== undefined) o.httpPort = opts.httpPort;
  server = await startServer(o);
  nc = await connect({ servers: server.url });
  const client = nc;
  const api = async (subject: string, body: unknown = ""): Promise<Record<string, unknown>> =>
    (await client.request(`$JS.API.${subject}`, typeof body === "string" ? body : JSON.stringify(body), { timeout: 10_000 })).json<Record<string, unknown>>();
  return { server, nc: client, warnings, api };
}
