import { test } from "node:test";
import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { AckPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import { SERVER_PROGRAMS, spawnServer } from "../helpers/spawn-server.js";

/** A request's answer: its JSON body, or "no responders" / "timeout". */
async function ask(nc: NatsConnection, subject: string, body = ""): Promise<Record<string, unknown> | string> {
  try {
    const m = await nc.request(subject, body, { timeout: 2000 });
    return m.json<Record<string, unknown>>();
  } catch (err) {
    return /no responders/i.test(String(err)) ? "no responders" : /timeout/i.test(String(err)) ? "timeout" : String(err);
  }
}

/** The fields of an account info that do not change between servers or runs. */
function accountInfo(r: Record<string, unknown> | string): unknown {
  if (typeof r === "string") return r;
  return { type: r["type"], domain: r["domain"], keys: Object.keys(r) };
}

// nats.c's JetStreamContextDomain and the KV/consumer tests with a domain start nats-server with
// `jetstream { domain: ABC }`: clients told the domain send to `$JS.ABC.API.>`, which nats-server
// maps to its own `$JS.API.>`. cuebus ignored the key: those requests had no responders.
test("JetStream domain: $JS.<domain>.API reaches the API, KV and pull consumers, the domain is in INFO, $JS.API.INFO and /jsz, as with nats-server", async (t) => {
  const seen: Record<string, unknown> = {};
  for (const { name, cmd } of SERVER_PROGRAMS) {
    const s = await spawnServer(cmd, (dir) => {
      const conf = join(dir, "domain.conf");
      void writeFile(conf, `jetstream { domain: ABC, store_dir: "${join(dir, "js")}" }\n`);
      return ["-c", conf, "-a", "127.0.0.1", "-p", "-1", "-m", "-1"];
    });
    t.after(() => s.stop());
    const nc = await connect({ servers: `127.0.0.1:${s.port}` });
    t.after(() => nc.close());
    // A plain subscriber on the domain prefix: nats-server maps the subject before routing, so it sees nothing.
    let sawDomainSubject = 0;
    const spy = nc.subscribe("$JS.ABC.API.>", { callback: () => void sawDomainSubject++ });
    await nc.flush();

    const out: Record<string, unknown> = {
      infoDomain: (nc.info as { domain?: string } | undefined)?.domain,
      apiInfo: accountInfo(await ask(nc, "$JS.API.INFO")),
      domainInfo: accountInfo(await ask(nc, "$JS.ABC.API.INFO")),
      otherDomain: await ask(nc, "$JS.DEF.API.INFO"),
      unmapped: await ask(nc, "$JS.ABC.API.FOO"),
      kvNoBucket: await ask(nc, "$JS.ABC.API.$KV.nobucket.k", "x"),
    };

    // The official clients with the domain: a stream, a pull consumer, and a KV bucket.
    const jsm = await jetstreamManager(nc, { domain: "ABC" });
    await jsm.streams.add({ name: "ORDERS", subjects: ["orders.>"] });
    const js = jetstream(nc, { domain: "ABC" });
    const ack = await js.publish("orders.1", "first");
    await jsm.consumers.add("ORDERS", { durable_name: "worker", ack_policy: AckPolicy.Explicit });
    const c = await js.consumers.get("ORDERS", "worker");
    const m = await c.next({ expires: 2000 });
    m?.ack();
    const kv = await new Kvm(js).create("settings");
    await kv.put("color", "blue");
    out["publishAckDomain"] = ack.domain;
    // The ack's bytes, nats-server's spacing included.
    out["rawAck"] = (await nc.request("orders.2", "second", { timeout: 2000 })).string();
    out["pulled"] = m?.string();
    out["kvGet"] = (await kv.get("color"))?.string();
    out["kvBucketsSeenWithoutDomain"] = (await (await jetstreamManager(nc)).streams.names().next()).sort();

    const jsz = (await (await fetch(`http://127.0.0.1:${s.httpPort}/jsz`)).json()) as { config?: { domain?: string } };
    out["jszDomain"] = jsz.config?.domain;
    await nc.flush();
    out["sawDomainSubject"] = sawDomainSubject;
    spy.unsubscribe();
    seen[name] = out;
  }
  assert.deepEqual((seen["nats-server"] as Record<string, unknown>)["domainInfo"], {
    type: "io.nats.jetstream.api.v1.account_info_response",
    domain: "ABC",
    keys: ["type", "memory", "storage", "streams", "consumers", "limits", "domain", "api"],
  });
  assert.deepEqual(seen["cuebus"], seen["nats-server"]);
  assert.equal((seen["cuebus"] as Record<string, unknown>)["kvGet"], "blue");
});
