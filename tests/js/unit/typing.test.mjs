// Typing indicators (inbox/static/inbox/common/typing.js): when the typist's frames go out, and
// when a receiver's indicators go away, on a fake clock. Run with `node --test tests/js/unit`.
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import {
  DROP_AFTER_MS,
  Indicators,
  START_EVERY_MS,
  STOP_AFTER_IDLE_MS,
  TypingSender,
  every,
} from "../../../inbox/static/inbox/common/typing.js";

/** A clock whose time moves only when the test says so, firing the timers due. */
class FakeClock {
  constructor() {
    this.time = 0;
    this.timers = new Map();
    this.nextId = 1;
  }
  now() {
    return this.time;
  }
  setTimeout(fn, ms) {
    const id = this.nextId++;
    this.timers.set(id, { fn, at: this.time + ms });
    return id;
  }
  clearTimeout(id) {
    this.timers.delete(id);
  }
  advance(ms) {
    const end = this.time + ms;
    for (;;) {
      let due = null;
      for (const [id, timer] of this.timers) {
        if (timer.at <= end && (!due || timer.at < due[1].at)) due = [id, timer];
      }
      if (!due) break;
      this.timers.delete(due[0]);
      this.time = due[1].at;
      due[1].fn();
    }
    this.time = end;
  }
}

const REPLY = { key: "c1:reply" };
const NOTE = { key: "c1:note" };

function sender() {
  const clock = new FakeClock();
  const sent = [];
  const typing = new TypingSender((op, target) => sent.push([clock.now(), op, target.key]), clock);
  return { clock, sent, typing };
}

describe("TypingSender", () => {
  test("start at once, at most every 10 s while typing, stop after 5 s idle", () => {
    const { clock, sent, typing } = sender();
    for (let t = 0; t < 25000; t += 1000) {
      typing.activity(REPLY);
      clock.advance(1000);
    }
    clock.advance(STOP_AFTER_IDLE_MS);
    assert.deepEqual(sent, [
      [0, "start", REPLY.key],
      [START_EVERY_MS, "start", REPLY.key],
      [2 * START_EVERY_MS, "start", REPLY.key],
      [24000 + STOP_AFTER_IDLE_MS, "stop", REPLY.key],
    ]);
  });

  test("switching from a reply to a note stops the one and starts the other", () => {
    const { sent, typing } = sender();
    typing.activity(REPLY);
    typing.activity(NOTE);
    assert.deepEqual(
      sent.map(([, op, key]) => [op, key]),
      [
        ["start", REPLY.key],
        ["stop", REPLY.key],
        ["start", NOTE.key],
      ]
    );
  });

  test("sending stops at once, once; a stop without typing sends nothing", () => {
    const { clock, sent, typing } = sender();
    typing.stop();
    assert.deepEqual(sent, []);
    typing.activity(REPLY);
    typing.stop();
    clock.advance(STOP_AFTER_IDLE_MS * 2);
    assert.deepEqual(
      sent.map(([, op]) => op),
      ["start", "stop"]
    );
  });
});

describe("Indicators", () => {
  test("a start shows until its stop, or 15 s after the last start", () => {
    const clock = new FakeClock();
    let changes = 0;
    const shown = new Indicators(() => changes++, clock);
    shown.update("start", "kim", { name: "Kim" });
    assert.deepEqual(shown.active(), [{ name: "Kim" }]);
    clock.advance(START_EVERY_MS);
    shown.update("start", "kim", { name: "Kim" }); // the repeat re-arms it
    clock.advance(DROP_AFTER_MS - 1);
    assert.equal(shown.active().length, 1);
    clock.advance(1);
    assert.deepEqual(shown.active(), []);

    shown.update("start", "sam", { name: "Sam" });
    shown.update("stop", "sam");
    assert.deepEqual(shown.active(), []);
    // A stop for nobody changes nothing.
    const before = changes;
    shown.update("stop", "nobody");
    assert.equal(changes, before);
  });

  test("clear drops every indicator", () => {
    const clock = new FakeClock();
    const shown = new Indicators(() => {}, clock);
    shown.update("start", "a", 1);
    shown.update("start", "b", 2);
    assert.deepEqual(shown.active(), [1, 2]);
    shown.clear();
    assert.deepEqual(shown.active(), []);
    assert.equal(clock.timers.size, 0);
  });
});

test("every repeats at the start interval until stopped", () => {
  const clock = new FakeClock();
  const ticks = [];
  const stop = every(() => ticks.push(clock.now()), clock);
  clock.advance(START_EVERY_MS * 2 + 1);
  stop();
  clock.advance(START_EVERY_MS * 3);
  assert.deepEqual(ticks, [0, START_EVERY_MS, 2 * START_EVERY_MS]);
});
