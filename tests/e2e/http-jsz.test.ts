import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { AckPolicy, StorageType, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { startServer } from "../../src/index.js";
import { NATS_SERVER_BIN } from "../helpers/nats-server.js";
import { waitFor } from "../helpers/wait.js";

/** The real nats-server with JetStream and monitoring on random ports: its NATS and HTTP URLs. */
async function realServer(js: boolean): Promise<{ url: string; http: string; stop: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), "real-jsz-"));
  const args = ["-a", "127.0.0.1", "-p", "-1", "-m", "-1", "--ports_file_dir", dir, ...(js ? ["-js", "-sd", join(dir, "store")] : [])];
  const proc = spawn(NATS_SERVER_BIN, args, { stdio: "ignore" });
  const exited = new Promise<void>((r) => proc.once("exit", () => r()));
  let ports: { nats: string[]; monitoring: string[] } | null = null;
  await waitFor(async () => {
    const file = (await readdir(dir)).find((n) => n.endsWith(".ports"));
    if (file === undefined) return false;
    try {
      ports = JSON.parse(await readFile(join(dir, file), "utf8")) as { nats: string[]; monitoring: string[] };
      return true;
    } catch {
      return false;
    }
  }, 10_000, "nats-server ports file");
  const p = ports as unknown as { nats: string[]; monitoring: string[] };
  return {
    url: p.nats[0] as string,
    http: p.monitoring[0] as string,
    async stop() {
      proc.kill("SIGKILL");
      await exited;
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** The same JetStream state on either server: a file stream with a consumer and an unacked message, a memory stream. */
async function populate(nc: NatsConnection): Promise<void> {
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: "ORDERS", subjects: ["orders.>"] });
  await jsm.streams.add({ name: "CACHE", subjects: ["cache.>"], storage: StorageType.Memory });
  await jsm.consumers.add("ORDERS", { durable_name: "worker", ack_policy: AckPolicy.Explicit });
  const js = jetstream(nc);
  for (let i = 0; i < 3; i++) await js.publish(`orders.${i}`, "order");
  await js.publish("cache.a", "cached");
  const m = await (await js.consumers.get("ORDERS", "worker")).next({ expires: 2000 });
  assert.equal(m?.seq, 1);
}

/**
 * Every key path of a JSON value (`a.b[].c`), to compare shapes; an array's paths are those of all
 * its elements (nats-server lists streams in Go map order, so the first one varies).
 */
function paths(v: unknown, prefix = ""): string[] {
  if (Array.isArray(v)) return v.length === 0 ? [`${prefix}[]`] : [...new Set(v.flatMap((x) => paths(x, `${prefix}[]`)))];
  if (typeof v !== "object" || v === null) return [prefix];
  return Object.entries(v).flatMap(([k, x]) => (k === "config" && prefix.endsWith("_detail[]") ? [`${prefix}.config`] : paths(x, `${prefix}.${k}`)));
}

async function jszOf(base: string, query = ""): Promise<Record<string, unknown>> {
  const res = await fetch(`${base}/jsz${query}`);
  assert.equal(res.status, 200, query);
  return (await res.json()) as Record<string, unknown>;
}

test("/jsz: same fields as nats-server's for the same streams, with accounts, streams, consumers and config detail", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "cuebus-jsz-"));
  const ours = await startServer({ port: 0, httpPort: 0, jetstream: { storeDir: dir } });
  const real = await realServer(true);
  const conns: NatsConnection[] = [];
  t.after(async () => {
    for (const c of conns) await c.close();
    await ours.close();
    await real.stop();
    await rm(dir, { recursive: true, force: true });
  });
  const a = await connect({ servers: ours.url });
  const b = await connect({ servers: real.url });
  conns.push(a, b);
  await populate(a);
  await populate(b);

  for (const q of ["", "?accounts=true", "?streams=true", "?consumers=true", "?streams=1&consumers=1&config=true", "?acc=$G"]) {
    const mine = await jszOf(ours.httpUrl as string, q);
    const theirs = await jszOf(real.http, q);
    // nats-server's timestamps and ids differ; what a client reads is the set of fields.
    assert.deepEqual(new Set(paths(mine)), new Set(paths(theirs)), `field paths of /jsz${q}`);
  }

  const j = await jszOf(ours.httpUrl as string, "?consumers=true");
  assert.equal(j["streams"], 2);
  assert.equal(j["consumers"], 1);
  assert.equal(j["messages"], 4);
  assert.equal(j["accounts"], 1);
  assert.equal((j["config"] as { store_dir: string }).store_dir, join(dir, "jetstream"));
  const real1 = await jszOf(real.http, "?consumers=true");
  // Stored sizes follow nats-server's accounting: same memory and file bytes for the same messages.
  assert.equal(j["memory"], real1["memory"]);
  assert.equal(j["storage"], real1["storage"]);
  assert.equal(j["bytes"], real1["bytes"]);
  const acct = (j["account_details"] as Array<Record<string, unknown>>)[0] as Record<string, unknown>;
  assert.equal(acct["name"], "$G");
  const orders = (acct["stream_detail"] as Array<Record<string, unknown>>).find((s) => s["name"] === "ORDERS") as Record<string, unknown>;
  assert.equal((orders["state"] as { messages: number }).messages, 3);
  const worker = (orders["consumer_detail"] as Array<Record<string, unknown>>)[0] as Record<string, unknown>;
  assert.equal(worker["name"], "worker");
  assert.equal(worker["num_ack_pending"], 1);
  assert.equal(worker["num_pending"], 2);
  assert.equal("config" in worker, false);
  // The exact uint64 nats-server prints for an unlimited reservation.
  const text = await (await fetch(`${ours.httpUrl as string}/jsz?accounts=true`)).text();
  assert.match(text, /"reserved_memory": 18446744073709551615/);

  // API counters are JetStream's own: reading /jsz is not an API request.
  const api1 = (await jszOf(ours.httpUrl as string)).api as { total: number; errors: number };
  const api2 = (await jszOf(ours.httpUrl as string)).api as { total: number; errors: number };
  assert.deepEqual(api2, api1);
  assert.ok(api1.total >= 5);

  // Paging is over accounts, as in nats-server: past the only account there is no detail.
  const paged = await jszOf(ours.httpUrl as string, "?streams=true&offset=1");
  assert.equal("account_details" in paged, false);
  assert.equal("account_details" in (await jszOf(real.http, "?streams=true&offset=1")), false);
  // A negative offset is taken as none, as nats-server does.
  assert.equal("account_details" in (await jszOf(ours.httpUrl as string, "?streams=true&offset=-1")), true);
});

test("/jsz without JetStream answers as nats-server does; bad flags get 400", async (t) => {
  const ours = await startServer({ port: 0, httpPort: 0 });
  const real = await realServer(false);
  t.after(async () => {
    await ours.close();
    await real.stop();
  });
  const mine = await jszOf(ours.httpUrl as string);
  const theirs = await jszOf(real.http);
  assert.deepEqual(new Set(paths(mine)), new Set(paths(theirs)));
  assert.equal(mine["disabled"], true);
  assert.deepEqual(mine["config"], theirs["config"]);
  assert.equal(mine["streams"], 0);

  for (const q of ["?streams=bogus", "?accounts=yes", "?limit=x", "?offset=1.5", "?consumers=maybe"]) {
    const res = await fetch(`${ours.httpUrl as string}/jsz${q}`);
    assert.equal(res.status, 400, q);
    // nats-server refuses these too (with a plain-text reason); ours is the JSON error shape.
    assert.equal((await fetch(`${real.http}/jsz${q}`)).status, 400, `nats-server ${q}`);
    const body = (await res.json()) as { error: { code: number; description: string } };
    assert.equal(body.error.code, 400);
    assert.match(body.error.description, /streams|accounts|limit|offset|consumers/);
  }
});
