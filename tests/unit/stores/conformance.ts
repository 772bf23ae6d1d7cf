import { test } from "node:test";
import assert from "node:assert/strict";
import { NoLimits, StoreLimitError, type StoreLimits, type StreamStore } from "../../../src/stores/types.js";

/** Makes a fresh, empty store with the given limits; `reopen` (when the backend persists) reopens it. */
export interface StoreFactory {
  create(limits?: StoreLimits): Promise<StreamStore>;
  /** Close and reopen the same store (persistent backends); undefined for memory. */
  reopen?: (store: StreamStore, limits?: StoreLimits) => Promise<StreamStore>;
}

const b = (s: string): Buffer => Buffer.from(s);
const limits = (l: Partial<StoreLimits>): StoreLimits => ({ ...NoLimits, ...l });

/** The suite every store backend passes. */
export function storeConformance(name: string, factory: StoreFactory): void {
  const withStore = async (l: Partial<StoreLimits>, fn: (s: StreamStore) => Promise<void>): Promise<void> => {
    const s = await factory.create(limits(l));
    try {
      await fn(s);
    } finally {
      await s.close();
    }
  };

  test(`${name}: append assigns sequences; load returns what was stored`, () =>
    withStore({}, async (s) => {
      const hdr = b("NATS/1.0\r\nX: 1\r\n\r\n");
      assert.equal(await s.append("orders.new", null, b("one")), 1);
      assert.equal(await s.append("orders.paid", hdr, b("two")), 2);
      const m = await s.load(2);
      assert.ok(m);
      assert.equal(m.subject, "orders.paid");
      assert.deepEqual(m.headers, hdr);
      assert.deepEqual(m.data, b("two"));
      assert.ok(m.timeNs > 0n);
      assert.equal(await s.load(3), null);
      assert.equal(await s.load(0), null);
      const st = s.state();
      assert.equal(st.messages, 2);
      assert.equal(st.firstSeq, 1);
      assert.equal(st.lastSeq, 2);
      assert.equal(st.numSubjects, 2);
      assert.ok(st.bytes > 0);
    }));

  test(`${name}: a store that writes reports it can (writeState)`, () =>
    withStore({}, async (s) => {
      await s.append("w", null, b("1"));
      assert.deepEqual(s.writeState(), { error: null, failingSinceMs: 0, failedWrites: 0 });
    }));

  test(`${name}: the store keeps its own copy of the caller's bytes`, () =>
    withStore({}, async (s) => {
      const hdr = b("NATS/1.0\r\nA: 1\r\n\r\n");
      const data = b("original");
      const p = s.append("x", hdr, data);
      // The caller's buffers are reused (as a socket read buffer is) before the append resolves.
      data.fill(0x21);
      hdr.fill(0x21);
      await p;
      const m = await s.load(1);
      assert.equal(m?.data.toString(), "original");
      assert.equal(m?.headers?.toString(), "NATS/1.0\r\nA: 1\r\n\r\n");
    }));

  test(`${name}: loadNext and loadLast honour filters and wildcards`, () =>
    withStore({}, async (s) => {
      for (const subj of ["a.1", "b.1", "a.2", "b.2", "a.1"]) await s.append(subj, null, b(subj));
      assert.equal((await s.loadNext("a.1", 1))?.seq, 1);
      assert.equal((await s.loadNext("a.1", 2))?.seq, 5);
      assert.equal((await s.loadNext("b.*", 3))?.seq, 4);
      assert.equal((await s.loadNext(">", 3))?.seq, 3);
      assert.equal(await s.loadNext("c.>", 1), null);
      assert.equal((await s.loadLast("a.*"))?.seq, 5);
      assert.equal((await s.loadLast("b.1"))?.seq, 2);
      assert.equal(s.numPending("a.>", 1), 3);
      assert.equal(s.numPending("a.>", 4), 1);
      assert.deepEqual([...s.subjects("a.*")].sort(), [["a.1", 2], ["a.2", 1]]);
    }));

  test(`${name}: loadNextNow gives loadNext's answer wherever it answers, holes and filters included`, () =>
    withStore({}, async (s) => {
      for (let i = 1; i <= 40; i++) await s.append(`k.${i % 4}.${i % 3}`, i % 5 === 0 ? b(`NATS/1.0\r\nN: ${i}\r\n\r\n`) : null, b(`v${i}`));
      for (const seq of [3, 4, 17, 40]) await s.remove(seq);
      let answered = 0;
      for (const filter of ["", ">", "k.1.*", "k.*.2", "k.3.0", "k.9.>"]) {
        for (let from = 0; from <= 42; from++) {
          const now = s.loadNextNow(filter, from);
          const later = await s.loadNext(filter, from);
          if (now === undefined) continue;
          answered++;
          const show = (m: typeof later): string => (m === null ? "none" : `${m.seq} ${m.subject} ${m.headers?.toString() ?? ""} ${m.data.toString()}`);
          assert.equal(show(now), show(later), `${filter} from ${from}`);
        }
      }
      // The newest messages are at hand in every store (the file store's tail cache).
      assert.ok(answered > 0, "answered without waiting at least for the newest messages");
      assert.equal(s.loadNextNow("k.9.>", 1), null);
      assert.equal(s.loadNextNow("", 41), null);
    }));

  test(`${name}: remove leaves a hole; state counts deleted`, () =>
    withStore({}, async (s) => {
      for (let i = 0; i < 5; i++) await s.append("x", null, b(String(i)));
      assert.equal(await s.remove(3), true);
      assert.equal(await s.remove(3), false);
      assert.equal(await s.load(3), null);
      assert.equal((await s.loadNext("x", 3))?.seq, 4);
      const st = s.state();
      assert.equal(st.messages, 4);
      assert.equal(st.numDeleted, 1);
      assert.equal(await s.remove(1), true);
      assert.equal(s.state().firstSeq, 2);
    }));

  test(`${name}: scan visits every stored message from a sequence, in order, skipping deleted ones`, () =>
    withStore({}, async (s) => {
      for (let i = 1; i <= 8; i++) await s.append(`scan.${i % 2}`, i === 4 ? b("NATS/1.0\r\nNats-Msg-Id: four\r\n\r\n") : null, b(`m${i}`));
      await s.remove(5);
      const seen: string[] = [];
      await s.scan(3, (m) => void seen.push(`${m.seq}:${m.subject}:${m.data.toString()}:${m.headers?.toString().includes("four") === true}`));
      assert.deepEqual(seen, ["3:scan.1:m3:false", "4:scan.0:m4:true", "6:scan.0:m6:false", "7:scan.1:m7:false", "8:scan.0:m8:false"]);
      const all: number[] = [];
      await s.scan(0, (m) => void all.push(m.seq));
      assert.deepEqual(all, [1, 2, 3, 4, 6, 7, 8]);
    }));

  test(`${name}: purge all, by subject, up to a sequence, keep N`, () =>
    withStore({}, async (s) => {
      for (let i = 1; i <= 10; i++) await s.append(i % 2 === 0 ? "even" : "odd", null, b(String(i)));
      assert.equal(await s.purge({ filter: "even", keep: 2 }), 3);
      assert.equal(s.subjects("even").get("even"), 2);
      assert.equal(await s.purge({ seq: 5 }), 2); // odd 1, 3
      assert.equal((await s.loadNext(">", 1))?.seq, 5);
      const removed = await s.purge();
      assert.equal(removed, 5); // 5, 7, 8, 9, 10 were left
      const st = s.state();
      assert.equal(st.messages, 0);
      assert.equal(st.firstSeq, 11, "first moves past the last after a full purge");
      assert.equal(st.lastSeq, 10);
      assert.equal(await s.append("odd", null, b("11")), 11, "sequences continue");
    }));

  test(`${name}: max_msgs and max_bytes with discard old drop the oldest`, () =>
    withStore({ maxMsgs: 3 }, async (s) => {
      for (let i = 1; i <= 5; i++) await s.append("x", null, b(String(i)));
      const st = s.state();
      assert.equal(st.messages, 3);
      assert.equal(st.firstSeq, 3);
      assert.equal(st.lastSeq, 5);
    }));

  test(`${name}: discard new refuses appends past the limit`, () =>
    withStore({ maxMsgs: 2, discard: "new" }, async (s) => {
      await s.append("x", null, b("1"));
      await s.append("x", null, b("2"));
      await assert.rejects(s.append("x", null, b("3")), StoreLimitError);
      assert.equal(s.state().lastSeq, 2);
    }));

  test(`${name}: max_bytes keeps the total under the limit`, () =>
    withStore({ maxBytes: 200 }, async (s) => {
      for (let i = 0; i < 20; i++) await s.append("x", null, Buffer.alloc(40));
      const st = s.state();
      assert.ok(st.bytes <= 200, `bytes ${st.bytes}`);
      assert.ok(st.messages >= 1);
      assert.equal(st.lastSeq, 20);
    }));

  test(`${name}: max_msgs_per_subject keeps the newest per subject`, () =>
    withStore({ maxMsgsPerSubject: 1 }, async (s) => {
      await s.append("k.a", null, b("1"));
      await s.append("k.b", null, b("1"));
      await s.append("k.a", null, b("2"));
      assert.equal(s.state().messages, 2);
      assert.deepEqual((await s.loadLast("k.a"))?.data, b("2"));
      assert.equal(await s.load(1), null);
    }));

  test(`${name}: max_age expires old messages; seqForTime finds the first at or after a time`, () =>
    withStore({ maxAgeMs: 1000 }, async (s) => {
      const t0 = 1_000_000_000_000_000_000n;
      await s.append("x", null, b("old"), t0);
      await s.append("x", null, b("new"), t0 + 2_000_000_000n);
      assert.equal(await s.seqForTime(t0 + 1n), 2);
      assert.equal(await s.expire(t0 + 2_500_000_000n), 1);
      assert.equal(s.state().firstSeq, 2);
    }));

  test(`${name}: setLimits applies tighter limits to what is stored`, () =>
    withStore({}, async (s) => {
      for (let i = 0; i < 10; i++) await s.append("x", null, b(String(i)));
      await s.setLimits(limits({ maxMsgs: 4 }));
      assert.equal(s.state().messages, 4);
      assert.equal(s.state().firstSeq, 7);
    }));

  test(`${name}: a long run of limit drops (past the index's compaction points) keeps every answer right`, () =>
    withStore({ maxMsgs: 1500 }, async (s) => {
      // 6000 appends, three of four on one subject; the oldest are dropped one at a time.
      const subj = (q: number): string => (q % 4 === 0 ? "lim.b" : "lim.a");
      for (let q = 1; q <= 6000; q++) s.appendNoWait(subj(q), null, b(`m${q}`), BigInt(q) * 1_000_000n);
      await s.append("lim.a", null, b("m6001"), 6001n * 1_000_000n);
      const deleted = [4600, 5001, 5002, 6001];
      for (const q of deleted) assert.equal(await s.remove(q), true);
      const kept = Array.from({ length: 1500 }, (_, i) => 4502 + i).filter((q) => !deleted.includes(q));
      const st = s.state();
      assert.equal(st.messages, kept.length);
      assert.equal(st.firstSeq, 4502);
      assert.equal(st.lastSeq, 6001);
      assert.equal(st.numDeleted, deleted.length);
      const seen: number[] = [];
      for (let m = await s.loadNext("lim.a", 1); m !== null; m = await s.loadNext("lim.a", m.seq + 1)) seen.push(m.seq);
      assert.deepEqual(seen, kept.filter((q) => subj(q) === "lim.a"));
      assert.equal((await s.loadNext(">", 1))?.seq, 4502);
      assert.equal((await s.loadLast("lim.a"))?.seq, 5999);
      assert.equal((await s.loadLast("lim.b"))?.seq, 6000);
      assert.equal(s.numPending("lim.b", 5500), kept.filter((q) => q >= 5500 && subj(q) === "lim.b").length);
      assert.deepEqual([...s.subjects(">")].sort(), [
        ["lim.a", kept.filter((q) => subj(q) === "lim.a").length],
        ["lim.b", kept.filter((q) => subj(q) === "lim.b").length],
      ]);
      assert.equal(await s.seqForTime(4000n * 1_000_000n), 4502);
      assert.equal(await s.purge({ filter: "lim.b", keep: 10 }), kept.filter((q) => subj(q) === "lim.b").length - 10);
      assert.equal((await s.loadNext("lim.b", 1))?.seq, 5964);
      const left = s.state().messages;
      assert.equal(await s.purge(), left);
      assert.equal(s.state().firstSeq, 6002);
      assert.equal(await s.append("lim.a", null, b("after")), 6002);
      assert.equal((await s.loadNext(">", 1))?.data.toString(), "after");
    }));

  test(`${name}: numPending agrees with counting loadNext, as subjects come and go and holes appear`, () =>
    withStore({ maxMsgsPerSubject: 2 }, async (s) => {
      const brute = async (filter: string, from: number): Promise<number> => {
        let n = 0;
        for (let m = await s.loadNext(filter, from); m !== null; m = await s.loadNext(filter, m.seq + 1)) n++;
        return n;
      };
      const filters = ["", ">", "kv.>", "kv.*", "kv.k1", "kv.k1.x", "other.>", "*.k2"];
      const check = async (when: string): Promise<void> => {
        const { firstSeq: first, lastSeq: last } = s.state();
        for (const f of filters) {
          for (const from of [0, 1, 3, first, first + 1, first + 2, Math.floor((first + last) / 2), Math.floor(last / 2), last - 1, last, last + 1]) {
            assert.equal(s.numPending(f, from), await brute(f, from), `${when}: numPending(${JSON.stringify(f)}, ${from})`);
          }
        }
      };
      await check("empty");
      // A KV-like run: each key keeps its newest two values, so older ones leave holes.
      for (let i = 0; i < 60; i++) await s.append(`kv.k${i % 7}`, null, b(`v${i}`));
      await check("kv only");
      await s.append("other.x", null, b("o"));
      await check("a subject outside kv.>");
      for (let i = 0; i < 3; i++) await s.append(`kv.k${i}`, null, b(`w${i}`));
      await check("more kv");
      assert.equal(await s.purge({ filter: "other.>" }), 1);
      await check("the outside subject gone");
      await s.remove(s.state().lastSeq);
      await check("the last removed");
    }));

  test(`${name}: deletedSequences lists the holes from the first message to the last sequence; lastSequenceOf a subject's newest`, () =>
    withStore({}, async (s) => {
      assert.deepEqual(s.deletedSequences(10), []);
      for (let i = 1; i <= 8; i++) await s.append(`d.${i % 2}`, null, b(`m${i}`));
      assert.equal(s.lastSequenceOf("d.0"), 8);
      assert.equal(s.lastSequenceOf("d.1"), 7);
      assert.equal(s.lastSequenceOf("d.9"), 0);
      for (const seq of [1, 3, 4, 8]) await s.remove(seq);
      // 1 is below the first message now (2): not a hole; 8, the last sequence, is one.
      assert.deepEqual(s.deletedSequences(10), [3, 4, 8]);
      assert.equal(s.state().numDeleted, 3);
      assert.deepEqual(s.deletedSequences(2), [3, 4]);
      assert.equal(s.lastSequenceOf("d.0"), 6);
      await s.purge();
      assert.deepEqual(s.deletedSequences(10), []);
      assert.equal(s.lastSequenceOf("d.0"), 0);
    }));

  test(`${name}: discardNewPerSubject refuses an append past max_msgs_per_subject on that subject only`, () =>
    withStore({ discard: "new", maxMsgsPerSubject: 2, discardNewPerSubject: true }, async (s) => {
      await s.append("a", null, b("1"));
      await s.append("a", null, b("2"));
      await assert.rejects(s.append("a", null, b("3")), (e: unknown) => e instanceof StoreLimitError && e.message === "maximum messages per subject exceeded");
      assert.equal(await s.append("b", null, b("1")), 3);
      assert.equal(s.state().messages, 3);
    }));

  if (factory.reopen !== undefined) {
    const reopen = factory.reopen;
    test(`${name}: everything survives a reopen, deletes included`, async () => {
      let s = await factory.create(limits({}));
      for (let i = 1; i <= 6; i++) await s.append(`s.${i % 3}`, i === 2 ? b("NATS/1.0\r\nA: b\r\n\r\n") : null, b(`m${i}`));
      await s.remove(4);
      s = await reopen(s);
      try {
        const st = s.state();
        assert.equal(st.messages, 5);
        assert.equal(st.lastSeq, 6);
        assert.equal(await s.load(4), null);
        assert.deepEqual((await s.load(2))?.headers, b("NATS/1.0\r\nA: b\r\n\r\n"));
        assert.deepEqual((await s.load(6))?.data, b("m6"));
        assert.equal(await s.append("s.0", null, b("m7")), 7);
      } finally {
        await s.close();
      }
    });
  }
}
