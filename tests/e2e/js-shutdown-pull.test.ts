import { test } from "node:test";
import assert from "node:assert/strict";
import { connect as tcpConnect, type Socket } from "node:net";
import { join } from "node:path";
import { connect } from "@nats-io/transport-node";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { SERVER_PROGRAMS, spawnServer, type SpawnedServer } from "../helpers/spawn-server.js";
import { waitFor } from "../helpers/wait.js";

/**
 * A clean shutdown (SIGTERM) answers every waiting pull request with `409 Server Shutdown` and
 * what it still wanted, before the connection closes: nats-server 2.9.10 does it first thing in
 * `Server.Shutdown` (`signalPullConsumers`, R1 consumers). Both servers are started with the same
 * command line and the same raw exchange is run against each; the bytes must match.
 */

function start(cmd: string): Promise<SpawnedServer> {
  return spawnServer(cmd, (dir) => ["-js", "-sd", join(dir, "js"), "-a", "127.0.0.1", "-p", "-1"]);
}

/** A raw connection: everything received, and whether the server closed it. */
function rawConn(port: number): { sock: Socket; got: () => string; closed: () => boolean } {
  const sock = tcpConnect(port, "127.0.0.1");
  let text = "";
  let closed = false;
  sock.on("data", (d: Buffer) => (text += d.toString("latin1")));
  sock.on("close", () => (closed = true));
  sock.on("error", () => {});
  return { sock, got: () => text, closed: () => closed };
}

async function shutdownExchange(s: SpawnedServer): Promise<string> {
  const c = rawConn(s.port);
  await waitFor(() => c.got().includes("\r\n"), 5000, "INFO");
  const api = (subject: string, body: object, sid: number): string => {
    const p = JSON.stringify(body);
    return `SUB _R.${sid} ${sid}\r\nPUB ${subject} _R.${sid} ${Buffer.byteLength(p)}\r\n${p}\r\n`;
  };
  c.sock.write(`CONNECT {"verbose":false,"headers":true,"no_responders":true}\r\n`);
  c.sock.write(api("$JS.API.STREAM.CREATE.S", { name: "S", subjects: ["s.>"] }, 1));
  await waitFor(() => c.got().includes("MSG _R.1 "), 5000, "stream created");
  c.sock.write(api("$JS.API.CONSUMER.CREATE.S.C", { stream_name: "S", config: { durable_name: "C", ack_policy: "explicit" } }, 2));
  await waitFor(() => c.got().includes("MSG _R.2 "), 5000, "consumer created");
  // Two requests on one inbox (as nats.js consume() sends them), one on another.
  const next = (reply: string, body: object): string => {
    const p = JSON.stringify(body);
    return `PUB $JS.API.CONSUMER.MSG.NEXT.S.C ${reply} ${p.length}\r\n${p}\r\n`;
  };
  c.sock.write(`SUB inbox.a 10\r\nSUB inbox.b 11\r\n`);
  c.sock.write(next("inbox.a", { batch: 5, expires: 60_000_000_000 }));
  c.sock.write(next("inbox.a", { batch: 3, expires: 60_000_000_000, max_bytes: 1000 }));
  c.sock.write(next("inbox.b", { batch: 7, expires: 60_000_000_000 }));
  // PING/PONG: the server has read (and queued) the requests.
  c.sock.write("PING\r\n");
  await waitFor(() => c.got().includes("PONG\r\n"), 5000, "PONG");
  const before = c.got().length;
  s.proc.kill("SIGTERM");
  await waitFor(c.closed, 10_000, "the server closes the connection");
  return c.got().slice(before);
}

test("SIGTERM: waiting pull requests get 409 Server Shutdown before the close, as from nats-server", async (t) => {
  const seen: Record<string, string[]> = {};
  for (const { name, cmd } of SERVER_PROGRAMS) {
    const s = await start(cmd);
    t.after(() => s.stop());
    const after = await shutdownExchange(s);
    // One status per reply subject; the order between subjects is a Go map's, so it is sorted.
    // nats-server 2.9.10 writes the empty reply of its internal messages as a second space
    // (`HMSG inbox.a 10  84 84`); clients read both alike, so the spaces are collapsed.
    seen[name] = after.split(/(?=HMSG )/).filter((m) => m.startsWith("HMSG ")).map((m) => m.replace(/^(HMSG \S+ \d+) +/, "$1 ")).sort();
  }
  const hmsg = (subject: string, sid: number, n: number, b: number): string => {
    const h = `NATS/1.0 409 Server Shutdown\r\nNats-Pending-Messages: ${n}\r\nNats-Pending-Bytes: ${b}\r\n\r\n`;
    return `HMSG ${subject} ${sid} ${h.length} ${h.length}\r\n${h}\r\n`;
  };
  // inbox.a: the last request's counts (nats-server keys the waiting requests by reply subject).
  const expected = [hmsg("inbox.a", 10, 3, 1000), hmsg("inbox.b", 11, 7, 0)];
  assert.deepEqual(seen["nats-server"], expected, "nats-server's own answer (the oracle)");
  assert.deepEqual(seen["cuebus"], expected);
});

test("server.close(): the official client's pending next() ends with the shutdown status, not a hang", async (t) => {
  // cuebus only: the in-process server, closed as an embedding program closes it.
  const { mkdtemp, rm } = await import("node:fs/promises");
  const { tmpdir } = await import("node:os");
  const { startServer } = await import("../../src/index.js");
  const dir = await mkdtemp(join(tmpdir(), "cuebus-shutdown-pull-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const server = await startServer({ port: 0, host: "127.0.0.1", jetstream: { storeDir: dir } });
  let serverClosed = false;
  t.after(async () => {
    if (!serverClosed) await server.close();
  });
  const nc = await connect({ port: server.port, reconnect: false });
  t.after(() => nc.close().catch(() => {}));
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: "S", subjects: ["s.>"] });
  await jsm.consumers.add("S", { durable_name: "C", ack_policy: "explicit" as never });
  const consumer = await jetstream(nc).consumers.get("S", "C");
  const outcome = consumer.next({ expires: 60_000 }).then(
    (m) => `message ${m === null ? "null" : m.subject}`,
    (e: unknown) => `error ${(e as Error).message}`,
  );
  await waitFor(async () => (await jsm.consumers.info("S", "C")).num_waiting === 1, 5000, "the pull is waiting");
  await server.close();
  serverClosed = true;
  // Without the status the client sees only the closed connection; with it, nats.js ends the
  // pull with the server's reason.
  const got = await outcome;
  assert.match(got, /server shutdown/i);
});
