import { test } from "node:test";
import assert from "node:assert/strict";
import { parseConf } from "../../src/config/conf-parser.js";
import { applyConfig, defaultOptions, scanFlags } from "../../src/config/options.js";
import { applyFlags } from "../../src/config/apply-flags.js";

function fromConf(text: string): ReturnType<typeof defaultOptions> {
  const o = defaultOptions();
  applyConfig(o, parseConf(text));
  return o;
}

test("streaming {} block: cluster id, store, heartbeats, enabled; unknown keys reported", () => {
  const o = fromConf('jetstream: true\nstreaming { cluster_id: "ticketing", store: "MEMORY", hb_interval: "2s", hb_timeout: "500ms", hb_fail_count: 3, max_channels: 10 }');
  assert.deepEqual(o.streaming, { clusterId: "ticketing", store: "memory", hbIntervalMs: 2000, hbTimeoutMs: 500, hbFailCount: 3 });
  assert.deepEqual(o.unknownKeys, ["streaming.max_channels"]);
  assert.deepEqual(fromConf("streaming { enabled: false }").streaming, { enabled: false });
  assert.deepEqual(fromConf("streaming: false").streaming, { enabled: false });
  assert.equal(fromConf("jetstream: true").streaming, undefined);
});

test("streaming {} refuses a bad cluster id or store", () => {
  assert.throws(() => fromConf('streaming { cluster_id: "a.b" }'), /invalid cluster id/);
  assert.throws(() => fromConf('streaming { store: "sql" }'), /expected file or memory/);
  assert.throws(() => fromConf("streaming { hb_fail_count: 0 }"), /above 0/);
});

test("-cid and --cluster_id set the cluster id over the file's", () => {
  for (const argv of [["-js", "-cid", "ticketing"], ["--cluster_id=ticketing", "-js"]]) {
    const o = fromConf('streaming { cluster_id: "other", store: "memory" }');
    applyFlags(o, scanFlags(argv).flags);
    assert.deepEqual(o.streaming, { clusterId: "ticketing", store: "memory" });
    assert.equal(o.jetstream, true);
  }
  const o = defaultOptions();
  assert.throws(() => applyFlags(o, scanFlags(["-cid", "bad id"]).flags), /invalid cluster id/);
});
