import { test } from "node:test";
import assert from "node:assert/strict";
import { compileTransform } from "../../src/jetstream/subject-transform.js";

/** [src, dest, subject, expected] for transforms nats-server accepts (its newTransform / Match). */
const APPLIED: Array<[string, string, string, string | null]> = [
  [">", "bar.>", "$KV.TEST.foo", "bar.$KV.TEST.foo"],
  ["rp.*.*", "out.{{wildcard(2)}}.$1", "rp.a.b", "out.b.a"],
  ["rp.*.*", "out.{{ Wildcard( 2 ) }}.$1", "rp.x.y", "out.y.x"],
  ["rp.*.*", "out.$2.$1", "rp.a", null],
  ["a.*.>", "b.$1.>", "a.x.y.z", "b.x.y.z"],
  ["a.>", "b.>", "a.x", "b.x"],
  ["a.>", "b.>", "c.x", null],
  // A literal source maps to the destination as written, `$1` included (nothing to take).
  ["rz.a", "lit.$1", "rz.a", "lit.$1"],
  ["rz.a", "lit", "rz.b", null],
  // A `$` token without a number is a literal.
  ["s.*", "t.$x.$1", "s.q", "t.$x.q"],
];

/** Pairs nats-server refuses (ErrBadSubject, wildcard index out of range, unused wildcard, unknown function). */
const REFUSED: Array<[string, string]> = [
  ["rp.*", "out.*"],
  ["rp.>", "out"],
  ["rp.*", "out.>"],
  ["rp.*", "out"],
  ["rp.*", "out.$2"],
  ["rp.*", "out.{{wildcard()}}"],
  ["rp.*", "out.{{wildcard(1,2)}}"],
  ["rp.*", ""],
  ["", "out"],
  ["a..b", "out"],
  ["a.>.b", "out.>"],
  // cuebus does not support nats-server's other mapping functions: refused as invalid. (Nor `$0`,
  // which nats-server 2.9 takes as the subject's first token.)
  ["rp.*", "out.{{partition(3,1)}}"],
];

test("subject transforms map as nats-server's Match does", () => {
  for (const [src, dest, subject, want] of APPLIED) {
    const tr = compileTransform(src, dest);
    assert.ok(tr !== null, `${src} -> ${dest} compiles`);
    assert.equal(tr.apply(subject), want, `${src} -> ${dest} on ${subject}`);
  }
});

test("subject transforms nats-server refuses are refused", () => {
  for (const [src, dest] of REFUSED) assert.equal(compileTransform(src, dest), null, `${src} -> ${dest}`);
});
