import { test } from "node:test";
import assert from "node:assert/strict";
import { scanFlags } from "../../src/config/flags.js";
import { applyFlags } from "../../src/config/apply-flags.js";
import { applyConfig, defaultOptions, type ResolvedOptions } from "../../src/config/options.js";
import { parseConf } from "../../src/config/conf-parser.js";

/**
 * Every flag nats-server 2.9.10 defines (server/opts.go ConfigureOptions), with its kind. Go's
 * flag package takes each with one dash or two; tools that start nats-server (nats.c's test
 * suite: `-config tls.conf`, `-auth testSecret`, `-user ivan -pass secret`) use the single-dash forms.
 */
const NATS_SERVER_2_9_10_FLAGS: Array<[string, "bool" | "int" | "string"]> = [
  ["h", "bool"], ["help", "bool"], ["port", "int"], ["p", "int"], ["n", "string"], ["name", "string"],
  ["server_name", "string"], ["addr", "string"], ["a", "string"], ["net", "string"], ["client_advertise", "string"],
  ["D", "bool"], ["debug", "bool"], ["V", "bool"], ["VV", "bool"], ["trace", "bool"], ["DV", "bool"], ["DVV", "bool"],
  ["T", "bool"], ["logtime", "bool"], ["user", "string"], ["pass", "string"], ["auth", "string"], ["m", "int"],
  ["http_port", "int"], ["ms", "int"], ["https_port", "int"], ["c", "string"], ["config", "string"], ["t", "bool"],
  ["sl", "string"], ["signal", "string"], ["P", "string"], ["pid", "string"], ["ports_file_dir", "string"],
  ["l", "string"], ["log", "string"], ["log_size_limit", "int"], ["s", "bool"], ["syslog", "bool"], ["r", "string"],
  ["remote_syslog", "string"], ["version", "bool"], ["v", "bool"], ["profile", "int"], ["routes", "string"],
  ["cluster", "string"], ["cluster_listen", "string"], ["cluster_advertise", "string"], ["no_advertise", "bool"],
  ["connect_retries", "int"], ["cluster_name", "string"], ["help_tls", "bool"], ["tls", "bool"], ["tlsverify", "bool"],
  ["tlscert", "string"], ["tlskey", "string"], ["tlscacert", "string"], ["max_traced_msg_len", "int"], ["js", "bool"],
  ["jetstream", "bool"], ["sd", "string"], ["store_dir", "string"],
];

test("flags: every nats-server 2.9.10 flag is taken with one dash and with two, its value after a space or '='", () => {
  for (const [name, kind] of NATS_SERVER_2_9_10_FLAGS) {
    for (const dashes of ["-", "--"]) {
      const value = kind === "int" ? "7" : kind === "bool" ? "true" : "x";
      const spaced = kind === "bool" ? [`${dashes}${name}`] : [`${dashes}${name}`, value];
      for (const argv of [spaced, [`${dashes}${name}=${value}`]]) {
        const r = scanFlags(argv);
        const got = name === "c" || name === "config" ? r.config : r.flags[0]?.[1];
        assert.equal(got, value, argv.join(" "));
      }
    }
  }
});

test("flags: nats.c's command lines, single-dash, mean what they mean to nats-server", () => {
  const opts = (argv: string[], conf?: string): ResolvedOptions => {
    const { config, flags } = scanFlags(argv);
    const o = defaultOptions();
    if (conf !== undefined) {
      assert.equal(config, "tls.conf");
      applyConfig(o, parseConf(conf));
    }
    applyFlags(o, flags);
    return o;
  };
  const a = opts(["-p", "1223", "-user", "ivan", "-pass", "secret", "-a", "127.0.0.1", "-l", "server.log"]);
  assert.equal(a.port, 1223);
  assert.equal(a.host, "127.0.0.1");
  assert.deepEqual(a.auth.users, [{ user: "ivan", password: "secret" }]);
  assert.equal(a.logFile, "server.log");
  assert.equal(opts(["-auth", "testSecret", "-p", "8232"]).auth.token, "testSecret");
  const t = opts(["-config", "tls.conf", "-DV"], `port: 4443\ntls { cert_file: "s.pem", key_file: "k.pem", ca_file: "ca.pem", verify: true, timeout: 2 }`);
  assert.deepEqual(t.tls, { certFile: "s.pem", keyFile: "k.pem", caFile: "ca.pem", verify: true });
  assert.equal(t.debug && t.trace, true);
  // The TLS flags replace the file's TLS, as nats-server's overrideTLS does.
  const f = opts(["-tls", "-tlscert", "c.pem", "-tlskey", "k.pem", "-tlscacert", "ca.pem", "-tlsverify"]);
  assert.deepEqual(f.tls, { certFile: "c.pem", keyFile: "k.pem", caFile: "ca.pem", verify: true });
  assert.equal(opts(["-config", "tls.conf", "-tls=false"], `tls { cert_file: a, key_file: b }`).tls, undefined);
  assert.throws(() => opts(["-tls"]), /^Error: TLS Server certificate must be present and valid$/);
  assert.throws(() => opts(["-tls", "-tlscert", "c.pem"]), /^Error: TLS Server private key must be present and valid$/);
});

test("flags: Go's flag rules: booleans take a value only after '=', '--' and the first non-flag end them", () => {
  assert.deepEqual(scanFlags(["-js=false", "-D", "-T=0"]).flags, [["jetstream", "false"], ["debug", "true"], ["logtime", "false"]]);
  // A value may start with a dash: -p -1 is the random port.
  assert.deepEqual(scanFlags(["-p", "-1"]).flags, [["port", "-1"]]);
  assert.deepEqual(scanFlags(["-p", "0x10"]).flags, [["port", "16"]]);
  assert.deepEqual(scanFlags(["-D", "--"]).flags, [["debug", "true"]]);
  assert.throws(() => scanFlags(["--", "-p", "1"]), /^Error: unrecognized command: "-p"$/, "as nats-server 2.9.10 answers");
  assert.equal(scanFlags(["-js", "version"]).command, "version");
  assert.equal(scanFlags(["help"]).command, "help");
  // The error texts are nats-server's (Go's flag package), seen with nats-server 2.9.10.
  assert.throws(() => scanFlags(["--bogus"]), /^Error: flag provided but not defined: -bogus$/);
  assert.throws(() => scanFlags(["-p", "abc"]), /^Error: invalid value "abc" for flag -p: parse error$/);
  assert.throws(() => scanFlags(["-js=maybe"]), /^Error: invalid boolean value "maybe" for -js: parse error$/);
  assert.throws(() => scanFlags(["-p", "-1", "bogus"]), /^Error: unrecognized command: "bogus"$/);
  assert.throws(() => scanFlags(["-user"]), /^Error: flag needs an argument: -user$/);
  assert.throws(() => scanFlags(["---p", "1"]), /^Error: bad flag syntax: ---p$/);
  // A boolean does not take the next argument: "false" is then a command nats-server does not know.
  assert.throws(() => scanFlags(["-js", "false"]), /unrecognized command: "false"/);
});

test("flags: cluster flags are refused (cuebus has no routes), the rest it cannot honour are accepted with a warning", () => {
  const apply = (argv: string[]): ResolvedOptions => {
    const o = defaultOptions();
    applyFlags(o, scanFlags(argv).flags);
    return o;
  };
  assert.throws(() => apply(["-cluster", "nats://127.0.0.1:6222"]), /-cluster: routes between servers \(clustering\) are not supported/);
  assert.throws(() => apply(["-routes", "nats://127.0.0.1:6222"]), /-routes: /);
  assert.throws(() => apply(["-ms", "8443"]), /-https_port: monitoring over HTTPS is not supported/);
  // nats-server too: an empty --cluster turns clustering off.
  assert.deepEqual(apply(["-cluster", ""]).warnings, []);
  const w = apply(["-cluster_name", "abc", "-no_advertise", "-s", "--profile", "6060"]).warnings;
  assert.equal(w.length, 4);
  assert.match(w[0] ?? "", /^flag -cluster_name is accepted and ignored: /);
  const o = apply(["-P", "/tmp/x.pid", "-T=false", "-n", "srv", "-VV"]);
  assert.equal(o.pidFile, "/tmp/x.pid");
  assert.equal(o.logtime, false);
  assert.equal(o.serverName, "srv");
  assert.equal(o.trace, true);
});

test("config: jetstream { domain } is read and checked as nats-server checks it; log_file, pid_file, logtime", () => {
  const o = defaultOptions();
  applyConfig(o, parseConf(`jetstream { domain: ABC }\nlog_file: "/tmp/s.log"\npid_file: "/tmp/s.pid"\nlogtime: false`));
  assert.equal(o.jetstream, true, "a jetstream block turns JetStream on");
  assert.equal(o.jsDomain, "ABC");
  assert.equal(o.logFile, "/tmp/s.log");
  assert.equal(o.pidFile, "/tmp/s.pid");
  assert.equal(o.logtime, false);
  assert.deepEqual(o.unknownKeys, []);
  assert.throws(() => applyConfig(defaultOptions(), parseConf(`jetstream { domain: "a.b" }`)), /^Error: invalid domain name: may not contain \., \* or >$/);
  assert.throws(() => applyConfig(defaultOptions(), parseConf(`jetstream { domain: "a b" }`)), /^Error: invalid domain name: derived "\$JS\.a b\.API\.>" is not a valid subject$/);
  assert.throws(() => applyConfig(defaultOptions(), parseConf(`tls { cert_file: a, key_file: b, verify_and_map: true }`)), /verify_and_map: mapping client certificates to users is not supported/);
});

// nats.c's JetStreamContext configures `accounts { NOJS { users: [...] } }`: each account's users
// name their account, JetStream is for the accounts that enable it, and what cuebus cannot do
// (imports, exports, mappings) is refused with the reason rather than ignored.
test("config: accounts give their users an account; jetstream per account; no_auth_user; refusals with nats-server's texts", () => {
  const o = defaultOptions();
  applyConfig(o, parseConf(`authorization { users: [ {user: g, password: g} ] }
accounts {
  A { users: [ {user: a, password: a}, {nkey: UDXU4RCSJNZOIQHZNWXHXORDPRTGNJAHAHFRGZNEEJCPQTT2M7NLCNF4} ], jetstream: enabled }
  NOJS { users: [ {user: ivan, pass: pwd} ], default_permissions { publish: "x.>" } }
  L { jetstream { max_mem: 1G } }
}
no_auth_user: ivan`));
  assert.deepEqual(o.accounts, [{ name: "A", jetstream: true }, { name: "NOJS", jetstream: false }, { name: "L", jetstream: true }]);
  assert.deepEqual(o.auth.users?.map((u) => [u.user, u.account]), [["g", undefined], ["a", "A"], ["ivan", "NOJS"]]);
  assert.deepEqual(o.auth.nkeys?.map((u) => u.account), ["A"]);
  assert.deepEqual(o.auth.users?.[2]?.permissions, { publish: { allow: ["x.>"] } });
  assert.equal(o.auth.noAuthUser, "ivan");
  assert.match(o.warnings.join("\n"), /accounts\.L\.jetstream: account JetStream limits are not enforced/);
  assert.deepEqual(o.unknownKeys, []);
  const refused = (conf: string, re: RegExp): void => assert.throws(() => applyConfig(defaultOptions(), parseConf(conf)), re, conf);
  refused(`accounts { A { exports: [ {stream: x} ] } }`, /^Error: accounts\.A\.exports: exporting to other accounts is not supported by cuebus yet$/);
  refused(`accounts { A { mappings: { a: b } } }`, /subject mappings are not supported/);
  refused(`accounts { A { jetstream: maybe } }`, /Expected 'enabled' or 'disabled' for string value, got 'maybe'/);
  refused(`authorization { users: [ {user: a, password: a} ] }\naccounts { A { users: [ {user: a, password: b} ] } }`, /^Error: Duplicate user "a" detected$/);
  refused(`authorization { user: u, password: p }\naccounts { A { users: [ {user: a, password: b} ] } }`, /^Error: Can not have a single user\/pass and accounts$/);
  refused(`authorization { token: t }\naccounts { A { users: [ {user: a, password: b} ] } }`, /^Error: Can not have a token and accounts$/);
  refused(`no_auth_user: z`, /^Error: no_auth_user: "z" present, but users are not defined$/);
  refused(`accounts { "$G" { } }`, /the global account's name/);
});