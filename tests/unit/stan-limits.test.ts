import { test } from "node:test";
import assert from "node:assert/strict";
import { parseConf } from "../../src/config/conf-parser.js";
import { applyConfig, defaultOptions, scanFlags } from "../../src/config/options.js";
import { applyFlags } from "../../src/config/apply-flags.js";
import { goDurationMs, natsSize } from "../../src/config/streaming.js";
import { loadOptions } from "../../src/cli/server.js";
import { STAN_DEFAULT_LIMITS, StoreLimits, isValidChannelPattern } from "../../src/stan/limits.js";
import { NSS_LIMITS } from "../fixtures/nss-limits.js";

const exactly = (text: string): ((err: unknown) => boolean) => (err) => err instanceof Error && err.message === text;

function fromConf(text: string): ReturnType<typeof defaultOptions> {
  const o = defaultOptions();
  applyConfig(o, parseConf(text));
  return o;
}

function fromFlags(argv: string[]): ReturnType<typeof defaultOptions> {
  const o = defaultOptions();
  applyFlags(o, scanFlags(argv).flags);
  return o;
}

test("store limits: nats-streaming-server's defaults when none are given", () => {
  const l = new StoreLimits();
  assert.equal(l.maxChannels, 100);
  assert.deepEqual(l.global, { maxMsgs: 1_000_000, maxBytes: 1_024_000_000, maxAgeMs: 0, maxSubs: 1000 });
  assert.deepEqual(l.of("orders"), l.global);
  assert.equal(STAN_DEFAULT_LIMITS.maxChannels, 100);
});

test("store limits: the checks and words of nats-streaming-server's Build", () => {
  // Texts seen from nats-streaming-server 0.25.3 (`Failed to start: ...`).
  assert.throws(() => new StoreLimits({ maxMsgs: -1 }), exactly(NSS_LIMITS.startErrors.negativeMaxMsgs));
  assert.throws(() => new StoreLimits({ maxChannels: -2 }), /^Error: max channels limit cannot be negative \(-2\)$/);
  assert.throws(() => new StoreLimits({ maxSubs: -1 }), /^Error: max subscriptions limit cannot be negative \(-1\)$/);
  assert.throws(() => new StoreLimits({ maxBytes: -1 }), /^Error: max bytes limit cannot be negative \(-1\)$/);
  assert.throws(() => new StoreLimits({ maxAgeMs: -1 }), /^Error: max age limit cannot be negative \(-1\)$/);
  assert.throws(() => new StoreLimits({ maxChannels: 1, channels: { a: { maxMsgs: 2 }, b: {}, "c.*": {} } }), exactly(NSS_LIMITS.startErrors.tooManyDefined));
  assert.throws(() => new StoreLimits({ channels: { "a..b": { maxMsgs: 2 } } }), exactly(NSS_LIMITS.startErrors.invalidChannel));
  // JetStream's floor for max_age.
  assert.throws(() => new StoreLimits({ maxAgeMs: 50 }), /at least 100ms/);
  // A per-channel limit may be above the global one (nats-streaming-server does not check).
  assert.equal(new StoreLimits({ maxMsgs: 10, channels: { big: { maxMsgs: 1000 } } }).of("big").maxMsgs, 1000);
});

test("store limits: per-channel entries inherit from the widest pattern covering them; 0 is unlimited", () => {
  const l = new StoreLimits({
    maxMsgs: 10,
    maxSubs: 7,
    channels: { "foo.bar": { maxBytes: 100 }, "foo.*": { maxSubs: 0 }, "foo.>": { maxMsgs: 5 }, solo: { maxAgeMs: 0, maxMsgs: -1 } },
  });
  const g = { maxBytes: 1_024_000_000, maxAgeMs: 0 };
  assert.deepEqual(l.of("foo.bar"), { ...g, maxMsgs: 5, maxSubs: 0, maxBytes: 100 });
  assert.deepEqual(l.of("foo.baz"), { ...g, maxMsgs: 5, maxSubs: 0 });
  assert.deepEqual(l.of("foo.a.b"), { ...g, maxMsgs: 5, maxSubs: 7 });
  assert.deepEqual(l.of("foo"), { ...g, maxMsgs: 10, maxSubs: 7 });
  assert.deepEqual(l.of("solo"), { ...g, maxMsgs: 0, maxSubs: 7 });
  assert.deepEqual(l.of("other"), l.global);
});

test("channel patterns: * and > whole tokens, > last", () => {
  for (const p of ["a", "a.b", "a.*", "*.b", ">", "a.>", "*.*.>"]) assert.equal(isValidChannelPattern(p), true, p);
  for (const p of ["", "a..b", ".a", "a.", "a.>.b", "a*", "a b", "a/b"]) assert.equal(isValidChannelPattern(p), false, p);
});

test("sizes and durations as nats-streaming-server reads them", () => {
  assert.equal(natsSize("1GB"), 1024 ** 3);
  assert.equal(natsSize("1G"), 1e9);
  assert.equal(natsSize("1K"), 1000);
  assert.equal(natsSize("1KB"), 1024);
  assert.equal(natsSize("2MiB"), 2 * 1024 ** 2);
  assert.equal(natsSize(512), 512);
  assert.equal(natsSize("xyz"), undefined);
  assert.equal(goDurationMs("24h"), 86_400_000);
  assert.equal(goDurationMs("1h30m"), 5_400_000);
  assert.equal(goDurationMs("1.5s"), 1500);
  assert.equal(goDurationMs("0"), 0);
  assert.equal(goDurationMs("5"), undefined);
  assert.equal(goDurationMs("xx"), undefined);
});

test("streaming { store_limits {} }: nats-streaming-server's keys and aliases", () => {
  const o = fromConf(`streaming {
    store_limits {
      max_channels: 10
      max_msgs: 1000
      max_bytes: 1GB
      max_age: "24h"
      max_subscriptions: 20
      channels {
        "orders.*": { max_msgs: 0, max_age: 1h }
        audit: { mb: 512MB, msu: 3 }
      }
    }
  }`);
  assert.deepEqual(o.streaming?.limits, {
    maxChannels: 10,
    maxMsgs: 1000,
    maxBytes: 1024 ** 3,
    maxAgeMs: 86_400_000,
    maxSubs: 20,
    channels: { "orders.*": { maxMsgs: 0, maxAgeMs: 3_600_000 }, audit: { maxBytes: 512 * 1024 ** 2, maxSubs: 3 } },
  });
  assert.deepEqual(o.unknownKeys, []);
  // Aliases: limits, mc, mm, per_channel, MaxMsgs in any case.
  const a = fromConf("streaming { limits { MC: 2, mm: 5, per_channel { x: { MaxMsgs: 1 } } } }");
  assert.deepEqual(a.streaming?.limits, { maxChannels: 2, maxMsgs: 5, channels: { x: { maxMsgs: 1 } } });
  // max_inactivity is not applied: named in the start-up warning.
  assert.deepEqual(fromConf('streaming { store_limits { max_inactivity: "1h" } }').unknownKeys, ["streaming.store_limits.max_inactivity"]);
  // nats-streaming-server's other names in the streaming block.
  const b = fromConf('streaming { id: "tk", store_type: "file", dir: "/var/stan", hbi: "2s" }');
  assert.deepEqual(b.streaming, { clusterId: "tk", store: "file", hbIntervalMs: 2000 });
  assert.equal(b.storeDir, "/var/stan");
});

test("streaming { store_limits {} } refuses bad values with the key named", () => {
  assert.throws(() => fromConf('streaming { store_limits { max_age: "tomorrow" } }'), /^Error: streaming\.store_limits\.max_age: expected a duration like "24h" or "90s", got "tomorrow"$/);
  assert.throws(() => fromConf('streaming { store_limits { max_bytes: "lots" } }'), /^Error: streaming\.store_limits\.max_bytes: expected a size/);
  assert.throws(() => fromConf("streaming { store_limits { max_msgs: true } }"), /^Error: streaming\.store_limits\.max_msgs: expected a whole number, got true$/);
  assert.throws(() => fromConf("streaming { store_limits { channels: 5 } }"), /streaming\.store_limits\.channels: expected a block of channels/);
  assert.throws(() => fromConf("streaming { store_limits { channels { a: 1 } } }"), /streaming\.store_limits\.channels\.a: expected a block of limits/);
  assert.throws(() => fromConf("streaming { store_limits: 3 }"), /streaming\.store_limits: expected a block/);
});

test("limit flags: -mc -msu -mm -mb -ma and their long names, over the file's", () => {
  const o = fromConf("streaming { store_limits { max_msgs: 9, max_channels: 4 } }");
  applyFlags(o, scanFlags(["-mc", "2", "--max_subs", "3", "-mm=7", "-mb", "1KB", "-ma", "1h30m"]).flags);
  assert.deepEqual(o.streaming?.limits, { maxChannels: 2, maxSubs: 3, maxMsgs: 7, maxBytes: 1024, maxAgeMs: 5_400_000 });
  assert.deepEqual(fromFlags(["--max_channels", "0", "--max_bytes=1G", "--max_age=0"]).streaming?.limits, { maxChannels: 0, maxBytes: 1e9, maxAgeMs: 0 });
  assert.deepEqual(fromFlags(["-hbi", "2s", "-hbt", "500ms", "-hbf", "3", "-st", "MEMORY"]).streaming, { hbIntervalMs: 2000, hbTimeoutMs: 500, hbFailCount: 3, store: "memory" });
  assert.equal(fromFlags(["-dir", "/tmp/x"]).storeDir, "/tmp/x");
});

test("limit flags: bad values get nats-streaming-server's words", () => {
  // As nats-streaming-server 0.25.3 printed them.
  assert.throws(() => scanFlags(["-ma", "5"]), exactly(NSS_LIMITS.flagErrors.maBare));
  assert.throws(() => scanFlags(["-ma", "xx"]), /^Error: invalid value "xx" for flag -ma: parse error$/);
  assert.throws(() => scanFlags(["-mc", "x"]), exactly(NSS_LIMITS.flagErrors.mcBad));
  assert.throws(() => scanFlags(["-mb", "xyz"]), exactly(NSS_LIMITS.flagErrors.mbBad));
  assert.throws(() => fromFlags(["-st", "bogus"]), exactly(NSS_LIMITS.startErrors.badStore));
  assert.throws(() => fromFlags(["-st", "sql"]), /SQL store is not supported by cuebus/);
  assert.throws(() => fromFlags(["-hbi", "0"]), /-hbi: expected a value above 0/);
  // Negative limits pass the flags and are refused when NATS Streaming starts (StoreLimits).
  assert.throws(() => new StoreLimits(fromFlags(["-mm", "-3"]).streaming?.limits), /^Error: max messages limit cannot be negative \(-3\)$/);
});

test("flags cuebus cannot honour: a warning each, or a refusal", () => {
  assert.match(fromFlags(["-mi", "1h"]).warnings.join("\n"), /flag -max_inactivity is accepted and ignored: cuebus does not remove a channel that has been idle/);
  assert.match(fromFlags(["--file_sync=false"]).warnings.join("\n"), /file_sync=false is accepted and ignored/);
  assert.deepEqual(fromFlags(["--file_sync"]).warnings, []);
  assert.throws(() => fromFlags(["-ns", "nats://elsewhere:4222"]), /-nats_server: cuebus is the NATS server/);
  assert.throws(() => fromFlags(["--clustered"]), /-clustered: NATS Streaming clustering is not supported/);
  assert.deepEqual(fromFlags(["--clustered=false"]).warnings, []);
  const d = fromFlags(["-SDV"]);
  assert.equal(d.debug && d.trace, true);
});

test("started as nats-streaming-server: JetStream on, memory store in a directory of its own unless -st FILE -dir", () => {
  const m = loadOptions(["-cid", "ticketing", "-mm", "3"], "nats-streaming-server");
  assert.equal(m.jetstream, true);
  assert.deepEqual(m.streaming, { store: "memory", clusterId: "ticketing", limits: { maxMsgs: 3 } });
  assert.equal(m.storeDirTemporary, true);
  const f = loadOptions(["-st", "FILE", "-dir", "/tmp/stan-data"], "nats-streaming-server");
  assert.equal(f.streaming?.store, "file");
  assert.equal(f.storeDir, "/tmp/stan-data");
  assert.equal(f.storeDirTemporary, undefined);
  // nats-streaming-server 0.25.3's words.
  assert.throws(() => loadOptions(["-st", "file"], "nats-streaming-server"), exactly(NSS_LIMITS.startErrors.fileNeedsDir));
  // As cuebus: nothing changes unless asked.
  const c = loadOptions(["-mm", "3"]);
  assert.equal(c.jetstream, false);
  assert.deepEqual(c.streaming, { limits: { maxMsgs: 3 } });
});

test("-sc names the config file as -c does; both naming different files is refused", () => {
  assert.equal(scanFlags(["-sc", "stan.conf"]).config, "stan.conf");
  assert.equal(scanFlags(["--stan_config=stan.conf", "-c", "stan.conf"]).config, "stan.conf");
  assert.throws(() => scanFlags(["-c", "a.conf", "-sc", "b.conf"]), /cuebus reads one configuration file/);
});
