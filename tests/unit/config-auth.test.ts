import { test } from "node:test";
import assert from "node:assert/strict";
import { createUser } from "@nats-io/nkeys";
import { parseConf } from "../../src/config/conf-parser.js";
import { applyConfig, defaultOptions } from "../../src/config/options.js";

const load = (text: string): ReturnType<typeof defaultOptions> => {
  const o = defaultOptions();
  applyConfig(o, parseConf(text));
  return o;
};

test("config: nkey users beside password users, each with its permissions", () => {
  const nk = createUser().getPublicKey();
  const o = load(`authorization { users: [ { nkey: ${nk}, permissions: { publish: ["orders.>"], subscribe: { deny: "secret.>" } } }, { user: bob, password: pw } ] }`);
  assert.deepEqual(o.auth.nkeys, [{ nkey: nk, permissions: { publish: { allow: ["orders.>"] }, subscribe: { deny: ["secret.>"] } } }]);
  assert.deepEqual(o.auth.users, [{ user: "bob", password: "pw" }]);
});

test("config: an nkey user is refused with nats-server's texts when the key is not a user key or has a password", () => {
  const account = "A" + createUser().getPublicKey().slice(1);
  assert.throws(() => load(`authorization { users: [ { nkey: ${account} } ] }`), /Not a valid public nkey for a user/);
  assert.throws(() => load(`authorization { users: [ { nkey: ${createUser().getPublicKey()}, password: x } ] }`), /Nkey users do not take usernames or passwords/);
});

test("config: websocket with tls files, with no_tls, and with neither (refused as nats-server refuses it)", () => {
  assert.deepEqual(load(`websocket { port: 8443, tls { cert_file: "c.pem", key_file: "k.pem" } }`).websocket, { port: 8443, tls: { certFile: "c.pem", keyFile: "k.pem" } });
  assert.deepEqual(load(`websocket { port: 8080, no_tls: true }`).websocket, { port: 8080 });
  assert.throws(() => load(`websocket { port: 8080 }`), /websocket requires TLS configuration/);
  assert.throws(() => load(`websocket { port: 8443, tls { cert_file: "c.pem" } }`), /cert_file and key_file are required/);
});
