import { test } from "node:test";
import assert from "node:assert/strict";
import { NATS_COMPAT_VERSION, startServer, type ServerOptions } from "../../src/index.js";
import { startNatsServer } from "../helpers/nats-server.js";
import { exchange, infoOf, mask, nonceOf, type Step } from "../helpers/raw.js";
import { createUser, type KeyPair } from "@nats-io/nkeys";

/**
 * The same raw exchanges sent to the real nats-server (Debian 2.9.10) and to cuebus; the bytes they
 * send back must be identical once the INFO line (ids, ports, versions) is masked, and both must close
 * (or keep) the connection alike.
 */
interface Case {
  name: string;
  steps: Step[];
}

const C = 'CONNECT {"verbose":false,"pedantic":false}\r\n';
const CH = 'CONNECT {"verbose":false,"pedantic":false,"headers":true,"no_responders":true}\r\n';

const basic: Case[] = [
  { name: "verbose CONNECT gets +OK; PING gets PONG", steps: ['CONNECT {"verbose":true}\r\n', "PING\r\n"] },
  { name: "CONNECT {} means verbose and pedantic", steps: ["CONNECT {}\r\n", "SUB foo 1\r\n", "PUB foo.* 2\r\nhi\r\n", "PING\r\n"] },
  { name: "SUB then PUB with and without reply", steps: [C, "SUB foo 1\r\n", "PUB foo 5\r\nhello\r\n", "PUB foo bar 5\r\nhello\r\n", "PING\r\n"] },
  { name: "lower-case operations", steps: [C, "sub foo 1\r\n", "pub foo 2\r\nhi\r\n", "ping\r\n"] },
  { name: "wildcards * and >", steps: [C, "SUB a.* 1\r\n", "SUB a.> 2\r\n", "PUB a.b 1\r\nx\r\n", "PUB a.b.c 1\r\ny\r\n", "PING\r\n"] },
  { name: "queue subscription", steps: [C, "SUB work q 1\r\n", "PUB work 3\r\njob\r\n", "PING\r\n"] },
  { name: "UNSUB with max", steps: [C, "SUB foo 1\r\n", "UNSUB 1 2\r\n", "PUB foo 1\r\na\r\nPUB foo 1\r\nb\r\nPUB foo 1\r\nc\r\n", "PING\r\n"] },
  { name: "UNSUB stops delivery", steps: [C, "SUB foo 1\r\n", "UNSUB 1\r\n", "PUB foo 1\r\na\r\n", "PING\r\n"] },
  { name: "HPUB delivered as HMSG", steps: [CH, "SUB foo 1\r\n", "HPUB foo 23 28\r\nNATS/1.0\r\nA: bcdefg\r\n\r\nhello\r\n", "PING\r\n"] },
  { name: "HPUB from a client that did not announce headers", steps: [C, "SUB foo 1\r\n", "HPUB foo 12 17\r\nNATS/1.0\r\n\r\nhello\r\n", "PING\r\n"] },
  { name: "no responders: 503 status to the requester", steps: [CH, "SUB _INBOX.x.* 1\r\n", "PUB nobody _INBOX.x.1 0\r\n\r\n", "PING\r\n"] },
  { name: "pedantic: invalid publish subject", steps: ['CONNECT {"verbose":false,"pedantic":true}\r\n', "PUB foo.* 2\r\nhi\r\n", "PING\r\n"] },
  { name: "invalid SUB subject", steps: [C, "SUB foo..bar 1\r\n", "PING\r\n"] },
  // Issue 14: without pedantic checks a subject with an empty token is accepted and matches nobody,
  // not even `>`; a request to it gets no-responders. Wildcards in a PUB subject are delivered.
  { name: "non-pedantic PUB to subjects with empty tokens", steps: [CH, "SUB > 1\r\n", "SUB ht.> 2\r\n", "PUB ht. 1\r\nx\r\n", "PUB ht..x 1\r\nx\r\n", "PUB .a 1\r\nx\r\n", "PUB a.* 1\r\nx\r\n", "PUB ht.ok 1\r\nx\r\n", "PUB ht. _INBOX.r 1\r\nx\r\n", "PING\r\n"] },
  { name: "unknown operation", steps: [C, "FOO bar\r\n"] },
  { name: "oversized control line", steps: [C, `SUB ${"a".repeat(5000)} 1\r\n`] },
  { name: "bad CONNECT JSON", steps: ["CONNECT {bad json}\r\n", "PING\r\n"] },
  { name: "PUB with a non-numeric size", steps: [C, "PUB foo abc\r\nhello\r\n"] },
  { name: "SUB without arguments", steps: [C, "SUB\r\n"] },
  { name: "SUB with a space and no arguments", steps: [C, "SUB \r\n"] },
  { name: "PUB without arguments", steps: [C, "PUB\r\n"] },
  { name: "PUB with too many arguments", steps: [C, "PUB a b c 2\r\nhi\r\n"] },
  { name: "UNSUB of an unknown sid", steps: [C, "UNSUB 99\r\n", "PING\r\n"] },
  { name: "CONNECT with unknown fields", steps: ['CONNECT {"verbose":false,"whatever":1}\r\n', "PING\r\n"] },
  { name: "payload longer than its size", steps: [C, "PUB foo 2\r\nhello\r\n"] },
  { name: "PING before CONNECT", steps: ["PING\r\n"] },
  // CONNECT decoded as Go decodes nats-server's ClientOpts (issue 14): a protocol it does not know
  // is refused with an -ERR; a field of the wrong type closes without one; null keeps a default;
  // keys match without regard to case.
  { name: "CONNECT protocol 2", steps: ['CONNECT {"protocol":2}\r\n', "PING\r\n"] },
  { name: "CONNECT protocol -1", steps: ['CONNECT {"protocol":-1}\r\n', "PING\r\n"] },
  { name: "CONNECT Protocol 2, key in another case", steps: ['CONNECT {"Protocol":2}\r\n', "PING\r\n"] },
  { name: "a second CONNECT with protocol 5", steps: ['CONNECT {"protocol":1,"verbose":false}\r\n', 'CONNECT {"protocol":5}\r\n', "PING\r\n"] },
  { name: "CONNECT protocol as a string", steps: ['CONNECT {"protocol":"1"}\r\n', "PING\r\n"] },
  { name: "CONNECT protocol 1.5", steps: ['CONNECT {"protocol":1.5}\r\n', "PING\r\n"] },
  { name: "CONNECT verbose as a string", steps: ['CONNECT {"verbose":"x"}\r\n', "PING\r\n"] },
  { name: "CONNECT name as a number", steps: ['CONNECT {"name":5}\r\n', "PING\r\n"] },
  { name: "CONNECT import allow as a string", steps: ['CONNECT {"import":{"allow":"a"}}\r\n', "PING\r\n"] },
  { name: "CONNECT with null fields", steps: ['CONNECT {"protocol":null,"echo":null,"import":null,"verbose":false}\r\n', "PING\r\n"] },
  { name: "CONNECT VERBOSE false", steps: ['CONNECT {"VERBOSE":false}\r\n', "PING\r\n"] },
  { name: "CONNECT null", steps: ["CONNECT null\r\n", "PING\r\n"] },
  { name: "CONNECT an array", steps: ["CONNECT []\r\n", "PING\r\n"] },
  { name: "CONNECT no_responders without headers", steps: ['CONNECT {"no_responders":true}\r\n', "PING\r\n"] },
  // Issue 15: before CONNECT a connection has nats-server's default options (verbose and pedantic
  // on), so each SUB, PUB and UNSUB is acknowledged with +OK and a wildcard PUB subject is refused.
  { name: "SUB, PUB and UNSUB before CONNECT are acknowledged", steps: ["SUB foo 1\r\n", "PUB foo 2\r\nhi\r\n", "UNSUB 1\r\n", "PING\r\n"] },
  { name: "pedantic before CONNECT", steps: ["PUB foo.* 2\r\nhi\r\n", "PING\r\n"] },
  { name: "CONNECT after a SUB", steps: ["SUB foo 1\r\n", C, "PUB foo 2\r\nhi\r\n", "PING\r\n"] },
  // Issue 15: every check nats-server 2.9.10's processConnect makes, one by one.
  { name: "CONNECT headers false, no_responders true", steps: ['CONNECT {"verbose":false,"headers":false,"no_responders":true}\r\n', "PING\r\n"] },
  { name: "CONNECT verbose with no_responders and no headers", steps: ['CONNECT {"verbose":true,"no_responders":true}\r\n', "PING\r\n"] },
  { name: "CONNECT with an account", steps: ['CONNECT {"verbose":false,"account":"A"}\r\n', "PING\r\n"] },
  { name: "CONNECT with new_account", steps: ['CONNECT {"verbose":false,"new_account":true}\r\n', "PING\r\n"] },
  { name: "CONNECT with an empty account and new_account false", steps: ['CONNECT {"verbose":false,"account":"","new_account":false}\r\n', "PING\r\n"] },
  { name: "CONNECT with a jwt outside operator mode", steps: ['CONNECT {"verbose":false,"jwt":"eyJhbGciOi.x.y"}\r\n', "PING\r\n"] },
  { name: "CONNECT with an nkey and sig, no nkeys configured", steps: ['CONNECT {"verbose":false,"nkey":"UABC","sig":"abc"}\r\n', "PING\r\n"] },
  { name: "CONNECT with tls_required on a plain server", steps: ['CONNECT {"verbose":false,"tls_required":true}\r\n', "PING\r\n"] },
  { name: "CONNECT with credentials, no auth configured", steps: ['CONNECT {"verbose":false,"user":"a","pass":"b","auth_token":"t"}\r\n', "PING\r\n"] },
  { name: "CONNECT echo false", steps: ['CONNECT {"verbose":false,"echo":false}\r\n', "SUB foo 1\r\n", "PUB foo 2\r\nhi\r\n", "PING\r\n"] },
  { name: "a second CONNECT keeps the fields it leaves out", steps: [CH, "CONNECT {}\r\n", "SUB foo 1\r\n", "SUB _INBOX.x.* 2\r\n", "HPUB foo 12 14\r\nNATS/1.0\r\n\r\nhi\r\n", "PUB nobody _INBOX.x.1 0\r\n\r\n", "PING\r\n"] },
  { name: "a second CONNECT turns no_responders on without headers", steps: [C, 'CONNECT {"no_responders":true}\r\n', "PING\r\n"] },
  { name: "CONNECT over max_control_line", steps: [`CONNECT {"verbose":false,"name":"${"n".repeat(5000)}"}\r\n`, "PING\r\n"] },
  { name: "lower-case connect with a tab", steps: ['connect\t{"verbose":true}\r\n', "PING\r\n"] },
  { name: "CONNECT with an empty argument", steps: ["CONNECT \r\n", "PING\r\n"] },
  { name: "CONNECT with a trailing space after the JSON", steps: ['CONNECT {"verbose":true} \r\n', "PING\r\n"] },
  { name: "a second CONNECT turns headers off under no_responders", steps: [CH, 'CONNECT {"headers":false}\r\n', "PING\r\n"] },
];

const payloadLimit: Case[] = [
  { name: "payload over max_payload", steps: [C, `PUB foo 2000\r\n${"x".repeat(2000)}\r\n`] },
  { name: "payload at max_payload", steps: [C, "SUB foo 1\r\n", `PUB foo 1024\r\n${"x".repeat(1024)}\r\n`, "PING\r\n"] },
];

const authCases: Case[] = [
  { name: "PUB before CONNECT when auth is required", steps: ["PUB foo 2\r\nhi\r\n"] },
  { name: "wrong password", steps: ['CONNECT {"verbose":false,"user":"alice","pass":"nope"}\r\n', "PING\r\n"] },
  { name: "bad protocol without credentials: authentication is checked first", steps: ['CONNECT {"protocol":2}\r\n', "PING\r\n"] },
  { name: "bad protocol with good credentials", steps: ['CONNECT {"protocol":2,"user":"alice","pass":"pw"}\r\n', "PING\r\n"] },
  { name: "publish permission violation", steps: ['CONNECT {"verbose":false,"user":"alice","pass":"pw"}\r\n', "PUB billing.x 2\r\nhi\r\n", "PUB orders.x 2\r\nhi\r\n", "PING\r\n"] },
  { name: "SUB before CONNECT when auth is required", steps: ["SUB foo 1\r\n", "PING\r\n"] },
  { name: "PING before CONNECT when auth is required", steps: ["PING\r\n"] },
  { name: "an account with good credentials", steps: ['CONNECT {"verbose":false,"user":"alice","pass":"pw","account":"A"}\r\n', "PING\r\n"] },
  { name: "an account with wrong credentials", steps: ['CONNECT {"verbose":false,"user":"alice","pass":"no","account":"A"}\r\n', "PING\r\n"] },
  { name: "no_responders without headers, good credentials", steps: ['CONNECT {"verbose":false,"user":"alice","pass":"pw","no_responders":true}\r\n', "PING\r\n"] },
  { name: "no_responders without headers, wrong credentials", steps: ['CONNECT {"verbose":false,"user":"alice","pass":"no","no_responders":true}\r\n', "PING\r\n"] },
  { name: "a second CONNECT without credentials keeps the first ones", steps: ['CONNECT {"verbose":false,"user":"alice","pass":"pw"}\r\n', 'CONNECT {"verbose":true}\r\n', "PUB orders.x 2\r\nhi\r\n", "PING\r\n"] },
  { name: "a second CONNECT with wrong credentials", steps: ['CONNECT {"verbose":false,"user":"alice","pass":"pw"}\r\n', 'CONNECT {"pass":"no"}\r\n', "PING\r\n"] },
  { name: "subscribe permission violation", steps: ['CONNECT {"verbose":false,"user":"alice","pass":"pw"}\r\n', "SUB secret.plans 1\r\n", "SUB orders.> q 2\r\n", "PING\r\n"] },
];

async function compare(cases: Case[], conf: string, opts: ServerOptions, t: test.TestContext): Promise<void> {
  const real = await startNatsServer(conf);
  t.after(() => real.stop());
  const ours = await startServer({ port: 0, ...opts });
  t.after(() => ours.close());
  for (const c of cases) {
    await t.test(c.name, async () => {
      const [a, b] = await Promise.all([exchange(real.port, c.steps), exchange(ours.port, c.steps)]);
      assert.equal(mask(b.text), mask(a.text), `bytes differ\n nats-server: ${JSON.stringify(a.text)}\n cuebus:      ${JSON.stringify(b.text)}`);
      assert.equal(b.closed, a.closed, `nats-server ${a.closed ? "closed" : "kept"} the connection`);
    });
  }
}

test("raw protocol: the same exchanges give the same bytes as nats-server", (t) => compare(basic, "", {}, t));

test("raw protocol: max_payload", (t) => compare(payloadLimit, "max_payload: 1024", { limits: { maxPayloadBytes: 1024 } }, t));

test("raw protocol: authorization and permissions", (t) =>
  compare(
    authCases,
    `authorization { users: [ { user: alice, password: pw, permissions: { publish: { allow: ["orders.>"] }, subscribe: { allow: ["orders.>", "secret.>"], deny: ["secret.>"] } } } ] }`,
    { auth: { users: [{ user: "alice", password: "pw", permissions: { publish: { allow: ["orders.>"] }, subscribe: { allow: ["orders.>", "secret.>"], deny: ["secret.>"] } } }] } },
    t,
  ));

test("raw protocol: allow_responses without a publish block allows no other publish", (t) =>
  compare(
    [{ name: "responder publishing elsewhere", steps: ['CONNECT {"verbose":false,"user":"svc","pass":"pw"}\r\n', "PUB foo 2\r\nhi\r\n", "SUB foo 1\r\n", "PUB foo.bar 2\r\nhi\r\n", "PING\r\n"] }],
    `authorization { users: [ { user: svc, password: pw, permissions: { allow_responses: true } } ] }`,
    { auth: { users: [{ user: "svc", password: "pw", permissions: { allowResponses: { max: 1, expiresMs: 120_000 } } }] } },
    t,
  ));

// nkey users (issue 15): INFO carries a nonce, CONNECT names the public key and signs the nonce.
const alice = createUser();
const mallory = createUser();
const ALICE = alice.getPublicKey();
const nkeyPerms = `permissions: { publish: { allow: ["orders.>"] }, subscribe: { allow: ["orders.>"] } }`;

/** A CONNECT step naming `nkey` and signing `signed(nonce)` with `kp`, the signature in `encoding`. */
function nkeyConnect(kp: KeyPair, nkey = kp.getPublicKey(), encoding: "base64url" | "base64" = "base64url", signed = (n: string): string => n): Step {
  return (received) => {
    const sig = Buffer.from(kp.sign(Buffer.from(signed(nonceOf(received))))).toString(encoding);
    return `CONNECT ${JSON.stringify({ verbose: false, nkey, sig })}\r\n`;
  };
}

const nkeyCases: Case[] = [
  { name: "nkey with a good signature; its permissions apply", steps: [nkeyConnect(alice), "SUB orders.> 1\r\n", "PUB orders.x 2\r\nhi\r\n", "PUB billing.x 2\r\nhi\r\n", "SUB secret.x 2\r\n", "PING\r\n"] },
  { name: "nkey signature in padded standard base64", steps: [nkeyConnect(alice, ALICE, "base64"), "PING\r\n"] },
  { name: "nkey without a signature", steps: [`CONNECT {"verbose":false,"nkey":"${ALICE}"}\r\n`, "PING\r\n"] },
  { name: "nkey with an empty signature", steps: [`CONNECT {"verbose":false,"nkey":"${ALICE}","sig":""}\r\n`, "PING\r\n"] },
  { name: "nkey with a signature that is not base64", steps: [`CONNECT {"verbose":false,"nkey":"${ALICE}","sig":"not base64!"}\r\n`, "PING\r\n"] },
  { name: "nkey signed by another key", steps: [nkeyConnect(mallory, ALICE), "PING\r\n"] },
  { name: "nkey signing something else than the nonce", steps: [nkeyConnect(alice, ALICE, "base64url", (n) => `${n}x`), "PING\r\n"] },
  { name: "nkey with a truncated signature", steps: [(r) => (nkeyConnect(alice) as (x: string) => string)(r).replace(/","sig":"(.{20})[^"]*"/, '","sig":"$1"'), "PING\r\n"] },
  { name: "an nkey the server does not know", steps: [nkeyConnect(mallory), "PING\r\n"] },
  { name: "an invalid nkey", steps: ['CONNECT {"verbose":false,"nkey":"UNOTAKEY","sig":"abc"}\r\n', "PING\r\n"] },
  { name: "no credentials", steps: ['CONNECT {"verbose":false}\r\n', "PING\r\n"] },
  { name: "PUB before CONNECT", steps: ["PUB orders.x 2\r\nhi\r\n"] },
  { name: "a password user beside the nkey users", steps: ['CONNECT {"verbose":false,"user":"bob","pass":"pw"}\r\n', "PUB billing.x 2\r\nhi\r\n", "PING\r\n"] },
  { name: "a password user naming a wrong nkey: the nkey decides", steps: [`CONNECT {"verbose":false,"user":"bob","pass":"pw","nkey":"${ALICE}","sig":"AAAA"}\r\n`, "PING\r\n"] },
  { name: "a good nkey with a bad password: the nkey decides", steps: [(r) => (nkeyConnect(alice) as (x: string) => string)(r).replace('{"verbose"', '{"user":"bob","pass":"no","verbose"'), "PING\r\n"] },
];

test("raw protocol: nkey users (nonce in INFO, signature checked)", async (t) => {
  await compare(
    nkeyCases,
    `authorization { users: [ { nkey: ${ALICE}, ${nkeyPerms} }, { user: bob, password: pw } ] }`,
    { auth: { nkeys: [{ nkey: ALICE, permissions: { publish: { allow: ["orders.>"] }, subscribe: { allow: ["orders.>"] } } }], users: [{ user: "bob", password: "pw" }] } },
    t,
  );
});

test("INFO carries a fresh 15-character nonce per connection when nkey users are configured, as nats-server does", async (t) => {
  const real = await startNatsServer(`authorization { users: [ { nkey: ${ALICE} } ] }`);
  t.after(() => real.stop());
  const ours = await startServer({ port: 0, auth: { nkeys: [{ nkey: ALICE }] } });
  t.after(() => ours.close());
  for (const port of [real.port, ours.port]) {
    const [a, b] = await Promise.all([exchange(port, []), exchange(port, [])]);
    const [ia, ib] = [infoOf(a.text), infoOf(b.text)];
    assert.match(String(ia["nonce"]), /^[A-Za-z0-9_-]{15}$/);
    assert.notEqual(ia["nonce"], ib["nonce"]);
    assert.equal(ia["auth_required"], true);
  }
  // Without nkey users there is no nonce.
  const open = await startServer({ port: 0 });
  t.after(() => open.close());
  assert.equal(infoOf((await exchange(open.port, [])).text)["nonce"], undefined);
});

test("INFO carries the fields clients check, with nats-server's names", async (t) => {
  const real = await startNatsServer("");
  t.after(() => real.stop());
  const ours = await startServer({ port: 0 });
  t.after(() => ours.close());
  const [a, b] = await Promise.all([exchange(real.port, []), exchange(ours.port, [])]);
  const ia = infoOf(a.text);
  const ib = infoOf(b.text);
  for (const k of Object.keys(ia)) if (k !== "git_commit") assert.ok(k in ib, `INFO lacks ${k}`);
  // cuebus announces 2.10.0 on purpose (src/server/version.ts); the oracle is 2.9.x.
  assert.match(String(ia["version"]), /^2\.9\./);
  assert.equal(ib["version"], NATS_COMPAT_VERSION);
  assert.equal(ib["proto"], ia["proto"]);
  assert.equal(ib["headers"], true);
  assert.equal(ib["max_payload"], ia["max_payload"]);
  assert.equal(ib["port"], ours.port);
});
