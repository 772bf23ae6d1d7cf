/**
 * A file stream deleted while publishes to it are being written: the writes under way finish (or
 * fail) before its directory is renamed aside, so no write lands on a directory that is gone. Found
 * by the 4,000,000-frame fuzz run as a "write failed ... ENOENT" warning (the store then reported
 * itself failing, as a full disk would) for a stream that was only being deleted.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { startJsServer } from "../helpers/js-server.js";

/** Rounds of (publishes in flight, then a delete), and publishes per round. */
const ROUNDS = 20;
const IN_FLIGHT = 500;

test("deleting a file stream with publishes being written logs no write failure", async (t) => {
  const { nc, warnings, api } = await startJsServer(t);

  for (let round = 0; round < ROUNDS; round++) {
    await api("STREAM.CREATE.D", { name: "D", subjects: ["d"] });
    const acks: Array<Promise<unknown>> = [];
    for (let i = 0; i < IN_FLIGHT; i++) acks.push(nc.request("d", "x".repeat(512), { timeout: 10_000 }).catch(() => null));
    // The delete goes out behind the publishes, on the same connection: it arrives while they are written.
    const deleted = await api("STREAM.DELETE.D");
    assert.equal(deleted["success"], true, JSON.stringify(deleted));
    await Promise.all(acks);
  }
  assert.deepEqual(warnings, []);
});
