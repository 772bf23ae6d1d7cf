import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { Sublist } from "../../src/subjects/sublist.js";
import { isValidSubject, isValidLiteralSubject, subjectMatches } from "../../src/subjects/validate.js";
import { Limits } from "../../src/protocol/limits.js";

interface S {
  subject: string;
  queue: string;
  id: number;
}

/** Naive reference: token by token, no trie. */
function refMatch(pattern: string, subject: string): boolean {
  const p = pattern.split(".");
  const s = subject.split(".");
  for (let i = 0; i < p.length; i++) {
    if (p[i] === ">") return i < s.length;
    if (i >= s.length) return false;
    if (p[i] !== "*" && p[i] !== s[i]) return false;
  }
  return p.length === s.length;
}

const ids = (xs: S[]): number[] => xs.map((x) => x.id).sort((a, b) => a - b);

test("subject validation follows nats-server's rules", () => {
  for (const ok of ["foo", "foo.bar", "foo.*", "foo.>", "*", ">", "*.*.>", "foo.b*r", "a-b_c.d"]) {
    assert.ok(isValidSubject(ok), ok);
  }
  for (const bad of ["", ".", "foo.", ".foo", "foo..bar", "foo.>.bar", "foo bar", "foo\tbar", ">.foo"]) {
    assert.ok(!isValidSubject(bad), bad);
  }
  assert.ok(isValidLiteralSubject("foo.bar"));
  assert.ok(!isValidLiteralSubject("foo.*"));
  assert.ok(!isValidLiteralSubject("foo.>"));
  assert.ok(!isValidSubject(Array(Limits.maxSubjectTokens + 1).fill("a").join(".")));
});

test("sublist: literal, * and > matches, queue groups, removal and pruning", () => {
  const sl = new Sublist<S>();
  const subs: S[] = [
    { subject: "foo.bar", queue: "", id: 1 },
    { subject: "foo.*", queue: "", id: 2 },
    { subject: "foo.>", queue: "", id: 3 },
    { subject: ">", queue: "", id: 4 },
    { subject: "*.bar", queue: "", id: 5 },
    { subject: "foo.bar", queue: "q1", id: 6 },
    { subject: "foo.bar", queue: "q1", id: 7 },
    { subject: "foo.*", queue: "q2", id: 8 },
  ];
  for (const s of subs) sl.insert(s);
  const r = sl.match("foo.bar");
  assert.deepEqual(ids(r.plain), [1, 2, 3, 4, 5]);
  assert.deepEqual(r.queues.map(ids).sort(), [[6, 7], [8]]);
  assert.deepEqual(ids(sl.match("foo.bar.baz").plain), [3, 4]);
  assert.deepEqual(ids(sl.match("foo").plain), [4]);
  const gen = sl.generation;
  assert.ok(sl.remove(subs[0] as S));
  assert.ok(sl.generation > gen, "generation moves on remove");
  assert.ok(!sl.remove(subs[0] as S), "second remove is a no-op");
  assert.deepEqual(ids(sl.match("foo.bar").plain), [2, 3, 4, 5]);
  for (const s of subs.slice(1)) sl.remove(s);
  assert.equal(sl.count, 0);
  assert.deepEqual(sl.match("foo.bar"), { plain: [], queues: [] });
  assert.deepEqual(sl.all(), []);
});

test("sublist: match cache stays bounded and is invalidated by inserts", () => {
  const sl = new Sublist<S>();
  sl.insert({ subject: "a.*", queue: "", id: 1 });
  for (let i = 0; i < Limits.matchCacheMax * 3; i++) sl.match(`a.${i}`);
  assert.ok(sl.cacheSize <= Limits.matchCacheMax, `cache ${sl.cacheSize}`);
  assert.equal(sl.match("a.x").plain.length, 1);
  sl.insert({ subject: "a.x", queue: "", id: 2 });
  assert.equal(sl.match("a.x").plain.length, 2, "a stale cached result is never served");
});

const token = fc.constantFrom("a", "b", "c", "dd");
const literal = fc.array(token, { minLength: 1, maxLength: 4 }).map((t) => t.join("."));
const pattern = fc
  .array(fc.constantFrom("a", "b", "c", "dd", "*"), { minLength: 1, maxLength: 4 })
  .chain((t) => fc.boolean().map((gt) => (gt ? [...t.slice(0, -1), ">"] : t).join(".")));

test("sublist.match agrees with a naive matcher (property)", () => {
  fc.assert(
    fc.property(fc.array(fc.tuple(pattern, fc.constantFrom("", "q1", "q2")), { maxLength: 30 }), fc.array(literal, { minLength: 1, maxLength: 10 }), fc.array(fc.nat(), { maxLength: 10 }), (patterns, subjects, removals) => {
      const sl = new Sublist<S>();
      let live: S[] = patterns.map(([subject, queue], id) => ({ subject, queue, id }));
      for (const s of live) sl.insert(s);
      for (const subject of subjects) sl.match(subject); // fill the cache before removals
      for (const r of removals) {
        if (live.length === 0) break;
        const victim = live[r % live.length] as S;
        assert.ok(sl.remove(victim));
        live = live.filter((x) => x !== victim);
      }
      for (const subject of subjects) {
        const want = live.filter((s) => refMatch(s.subject, subject));
        const got = sl.match(subject);
        assert.deepEqual(ids(got.plain), ids(want.filter((s) => s.queue === "")));
        const gotQueued = ids(got.queues.flat());
        assert.deepEqual(gotQueued, ids(want.filter((s) => s.queue !== "")));
        assert.equal(subjectMatches("a.>", subject), refMatch("a.>", subject));
      }
      assert.equal(sl.count, live.length);
    }),
    { numRuns: 300 },
  );
});

test("subjectMatches (walking tokens in place) agrees with a split-based matcher (property)", () => {
  const tok = fc.constantFrom("a", "b", "ab", "ba", "dd", "*", ">", "aa");
  const anyPattern = fc.array(tok, { minLength: 1, maxLength: 5 }).map((t) => t.join("."));
  const anySubject = fc.array(fc.constantFrom("a", "b", "ab", "ba", "dd", "aa", "*", ">"), { minLength: 1, maxLength: 5 }).map((t) => t.join("."));
  fc.assert(
    fc.property(anyPattern, anySubject, (p, s) => {
      assert.equal(subjectMatches(p, s), refMatch(p, s), `${p} vs ${s}`);
    }),
    { numRuns: 5000 },
  );
  for (const [p, s, want] of [
    [">", "a", true],
    ["a.>", "a", false],
    ["a.>", "a.b.c", true],
    ["a.*", "a.b.c", false],
    ["*.b", "a.b", true],
    ["a.b", "a.bc", false],
    ["a.bc", "a.b", false],
    ["a", "a.b", false],
    ["a.b", "a", false],
  ] as const) {
    assert.equal(subjectMatches(p, s), want, `${p} vs ${s}`);
  }
});
