import { test } from "node:test";
import assert from "node:assert/strict";
import { SubjectMap } from "../../src/subjects/subject-map.js";
import { jsDomainMappings } from "../../src/jetstream/domain.js";

test("subject map: a JetStream domain's table, as nats-server's generateJSMappingTable maps", () => {
  const m = new SubjectMap();
  for (const [from, to] of jsDomainMappings("ABC")) m.add(from, to);
  assert.equal(m.map("$JS.ABC.API.INFO"), "$JS.API.INFO");
  assert.equal(m.map("$JS.ABC.API.STREAM.INFO.ORDERS"), "$JS.API.STREAM.INFO.ORDERS");
  assert.equal(m.map("$JS.ABC.API.CONSUMER.MSG.NEXT.ORDERS.worker"), "$JS.API.CONSUMER.MSG.NEXT.ORDERS.worker");
  assert.equal(m.map("$JS.ABC.API.DIRECT.GET.KV_b.$KV.b.k"), "$JS.API.DIRECT.GET.KV_b.$KV.b.k");
  assert.equal(m.map("$JS.ABC.API.$KV.settings.color"), "$KV.settings.color");
  assert.equal(m.map("$JS.ABC.API.$OBJ.files.x"), "$OBJ.files.x");
  // Not in the table: left as published (nobody answers it, as with nats-server).
  for (const s of ["$JS.ABC.API.FOO", "$JS.ABC.API.STREAM", "$JS.ABC.API.INFO.x", "$JS.DEF.API.INFO", "$JS.API.INFO", "orders.1", "$JS.ABC.API.$KV"]) assert.equal(m.map(s), s);
  assert.throws(() => m.add("a.>", "b"), /both or neither/);
});
