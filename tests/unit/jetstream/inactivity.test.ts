import { test } from "node:test";
import assert from "node:assert/strict";
import { InactivityCheck } from "../../../src/jetstream/inactivity.js";
import { ManualClock } from "../../helpers/manual-clock.js";

const MS = 1_000_000;

test("inactivity, pull: removed once unused for the threshold with no request waiting; use and waiting requests put it off", () => {
  const clock = new ManualClock();
  let removed = 0;
  let waiting = 0;
  const check = new InactivityCheck(clock, { thresholdNs: () => 1000 * MS, isClosed: () => false, pushUnusedTwice: null, pullsWaiting: () => waiting, inactive: () => removed++ });
  check.arm();
  clock.advance(600);
  check.touch(); // an ack or a pull request
  clock.advance(500);
  assert.equal(removed, 0, "checked at 1000 ms, used 500 ms before");
  waiting = 1;
  clock.advance(2000);
  assert.equal(removed, 0, "a request is waiting");
  waiting = 0;
  clock.advance(1000);
  assert.equal(removed, 1);
});

test("inactivity, push: checked every half threshold; the second check in a row without a subscriber removes it", () => {
  const clock = new ManualClock();
  const checks: number[] = [];
  let subscribed = false;
  let unused = 0;
  let removed = 0;
  const check = new InactivityCheck(clock, {
    thresholdNs: () => 1000 * MS,
    isClosed: () => false,
    pushUnusedTwice: () => {
      checks.push(clock.now());
      unused = subscribed ? 0 : unused + 1;
      return unused >= 2;
    },
    pullsWaiting: () => 0,
    inactive: () => removed++,
  });
  const t0 = clock.now();
  check.arm();
  clock.advance(500);
  subscribed = true; // a client reconnects between two checks
  clock.advance(500);
  subscribed = false;
  clock.advance(999);
  assert.equal(removed, 0);
  clock.advance(1);
  assert.equal(removed, 1);
  assert.deepEqual(
    checks.map((at) => at - t0),
    [500, 1000, 1500, 2000],
  );
  clock.advance(10_000);
  assert.equal(checks.length, 4, "no check after the removal");
});

test("inactivity: no threshold, or a stopped consumer, is never removed", () => {
  const clock = new ManualClock();
  let removed = 0;
  const none = new InactivityCheck(clock, { thresholdNs: () => 0, isClosed: () => false, pushUnusedTwice: null, pullsWaiting: () => 0, inactive: () => removed++ });
  none.arm();
  const stopped = new InactivityCheck(clock, { thresholdNs: () => 10 * MS, isClosed: () => false, pushUnusedTwice: null, pullsWaiting: () => 0, inactive: () => removed++ });
  stopped.arm();
  stopped.stop();
  clock.advance(60_000);
  assert.equal(removed, 0);
  assert.equal(clock.pendingTimers, 0);
});
