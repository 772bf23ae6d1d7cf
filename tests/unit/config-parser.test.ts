import { test } from "node:test";
import assert from "node:assert/strict";
import { ConfSyntaxError, parseConf, toBytes, toDurationMs } from "../../src/config/conf-parser.js";
import { applyFlags } from "../../src/config/apply-flags.js";
import { applyConfig, defaultOptions } from "../../src/config/options.js";
import { scanFlags } from "../../src/config/flags.js";

test("config: the three key/value separators, comments, quoted and bare strings, numbers, booleans", () => {
  const c = parseConf(`
    # a comment
    port: 4222
    host = "127.0.0.1"   // trailing comment
    server_name my-server
    debug: true
    trace: off
    ratio: 0.5
    single: 'raw \\n'
    escaped: "a\\tb\\n\\u0041"
    listen: 0.0.0.0:4333
  `);
  assert.equal(c["port"], 4222);
  assert.equal(c["host"], "127.0.0.1");
  assert.equal(c["server_name"], "my-server");
  assert.equal(c["debug"], true);
  assert.equal(c["trace"], false);
  assert.equal(c["ratio"], 0.5);
  assert.equal(c["escaped"], "a\tb\nA");
  assert.equal(c["single"], "raw \\n", "no escapes in single quotes");
  assert.equal(c["listen"], "0.0.0.0:4333");
});

test("config: blocks, arrays (commas or newlines), nested blocks", () => {
  const c = parseConf(`
    authorization {
      users = [
        {user: alice, password: "s3cret", permissions: {publish: ["a.>", "b"], subscribe: {deny: "secret.>"}}}
        {user: bob, password: pw}
      ]
    }
    list: [1, 2, 3]
    jetstream: { store_dir: "/tmp/js" }
  `);
  const a = c["authorization"] as Record<string, unknown>;
  const users = a["users"] as Array<Record<string, unknown>>;
  assert.equal(users.length, 2);
  assert.equal(users[0]?.["user"], "alice");
  assert.deepEqual(c["list"], [1, 2, 3]);
  assert.deepEqual(c["jetstream"], { store_dir: "/tmp/js" });
});

test("config: variables from earlier keys and from the environment; include", () => {
  const files: Record<string, string> = { "auth.conf": "authorization { token: $TOKEN }", "deep.conf": "include auth.conf" };
  const c = parseConf(`TOKEN: "abc"\nmax: $LIMIT\ninclude "deep.conf"\n`, {
    env: { LIMIT: "1024" },
    include: (p) => {
      const f = files[p];
      if (f === undefined) throw new Error(`no ${p}`);
      return f;
    },
  });
  assert.equal(c["max"], 1024);
  assert.deepEqual(c["authorization"], { token: "abc" });
  assert.throws(() => parseConf("a: $MISSING"), /can not be found/);
  assert.throws(
    () => parseConf("include self.conf", { include: () => "include self.conf" }),
    /nested deeper/,
  );
});

test("config: syntax errors name the line", () => {
  assert.throws(() => parseConf("a: 1\nb: {\n c: 2\n"), (e: unknown) => e instanceof ConfSyntaxError && e.line >= 3);
  assert.throws(() => parseConf('a: "open'), ConfSyntaxError);
  assert.throws(() => parseConf("a: [1, 2"), /missing '\]'/);
  assert.throws(() => parseConf('a: "\\q"'), /invalid escape/);
});

test("config: sizes and durations", () => {
  assert.equal(toBytes("1MB", "x"), 1024 * 1024);
  assert.equal(toBytes("1KB", "x"), 1024);
  assert.equal(toBytes("2G", "x"), 2 * 1024 ** 3);
  assert.equal(toBytes(512, "x"), 512);
  assert.throws(() => toBytes("lots", "max_payload"), /max_payload/);
  assert.equal(toDurationMs("2m", "x"), 120_000);
  assert.equal(toDurationMs("500ms", "x"), 500);
  assert.equal(toDurationMs("1h30m", "x"), 5_400_000);
  assert.equal(toDurationMs(10, "x"), 10_000);
  assert.throws(() => toDurationMs("soon", "ping_interval"), /ping_interval/);
});

test("options: config keys map to server options; unknown keys are named, not fatal", () => {
  const o = defaultOptions();
  applyConfig(
    o,
    parseConf(`
      port: -1
      http: "127.0.0.1:-1"
      max_payload: 1KB
      ping_interval: "30s"
      ports_file_dir: "/tmp/p"
      cluster { name: x }
      authorization { users: [{user: u, password: p, permissions: {publish: "a.>", allow_responses: true}}] }
    `),
  );
  assert.equal(o.port, -1);
  assert.equal(o.httpHost, "127.0.0.1");
  assert.equal(o.httpPort, -1);
  assert.equal(o.limits.maxPayloadBytes, 1024);
  assert.equal(o.limits.pingIntervalMs, 30_000);
  assert.equal(o.portsFileDir, "/tmp/p");
  assert.deepEqual(o.unknownKeys, ["cluster"]);
  assert.deepEqual(o.auth.users?.[0]?.permissions, { publish: { allow: ["a.>"] }, allowResponses: { max: 1, expiresMs: 120_000 } });
});

test("flags: nats-server's flags, -p 0 means 4222, -1 random, flags override the file", () => {
  const { config, flags } = scanFlags(["-c", "x.conf", "-p", "0", "-m=8333", "-js", "-sd", "/data", "--user", "a", "--pass", "b", "-DV", "--ports_file_dir", "/tmp"]);
  assert.equal(config, "x.conf");
  const o = defaultOptions();
  o.port = 5000;
  applyFlags(o, flags);
  assert.equal(o.port, 4222);
  assert.equal(o.httpPort, 8333);
  assert.equal(o.jetstream, true);
  assert.equal(o.storeDir, "/data");
  assert.deepEqual(o.auth.users, [{ user: "a", password: "b" }]);
  assert.equal(o.debug && o.trace, true);
  assert.throws(() => scanFlags(["--bogus"]), /^Error: flag provided but not defined: -bogus$/);
  assert.throws(() => scanFlags(["-p"]), /needs an argument/);
});

test("options: jetstream block with store_dir and sync_interval", () => {
  const a = defaultOptions();
  applyConfig(a, parseConf(`jetstream { store_dir: "/tmp/js", sync_interval: "2s" }`));
  assert.equal(a.jetstream, true);
  assert.equal(a.storeDir, "/tmp/js");
  assert.equal(a.syncIntervalMs, 2000);
  const b = defaultOptions();
  applyConfig(b, parseConf(`jetstream { sync_interval: always }`));
  assert.equal(b.syncIntervalMs, "always");
  const c = defaultOptions();
  applyConfig(c, parseConf(`jetstream: enabled`));
  assert.equal(c.jetstream, true);
  assert.equal(c.syncIntervalMs, undefined);
});

test("options: jetstream request_queue_limit is a count of 1 or more", () => {
  const a = defaultOptions();
  applyConfig(a, parseConf(`jetstream { request_queue_limit: 500 }`));
  assert.equal(a.requestQueueLimit, 500);
  assert.equal(defaultOptions().requestQueueLimit, undefined);
  assert.throws(() => applyConfig(defaultOptions(), parseConf(`jetstream { request_queue_limit: 0 }`)), /jetstream.request_queue_limit: expected a number of requests, 1 or more/);
  assert.throws(() => applyConfig(defaultOptions(), parseConf(`jetstream { request_queue_limit: "many" }`)), /jetstream.request_queue_limit: expected a number/);
});
