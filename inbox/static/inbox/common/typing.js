/*
 * Typing indicators both ways, after Zulip's typing protocol: stateless on the server, so the
 * clients keep the clock. A typist sends "start" at most every START_EVERY_MS while it types
 * and "stop" after STOP_AFTER_IDLE_MS without a keystroke (or when it sends, or switches to
 * another target); a receiver drops an indicator DROP_AFTER_MS after its last "start", so a
 * lost "stop" (a closed tab) cannot leave it on. Pure logic: the caller sends the frames and
 * draws the indicators; the clock and timers are injectable for tests/js/unit.
 */

export const START_EVERY_MS = 10000;
export const STOP_AFTER_IDLE_MS = 5000;
export const DROP_AFTER_MS = 15000;

const defaultClock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (id) => clearTimeout(id),
};

/**
 * The typist's side. ``send(op, target)`` is called with "start" / "stop"; a target is anything
 * with a stable ``key`` (a conversation, and whether it is a note).
 */
export class TypingSender {
  constructor(send, clock = defaultClock) {
    this.send = send;
    this.clock = clock;
    this.target = null;
    this.lastStart = -Infinity;
    this.idleTimer = null;
  }

  /** A keystroke (or any edit) for ``target``. */
  activity(target) {
    if (this.target && this.target.key !== target.key) this.stop();
    if (!this.target) {
      this.target = target;
      this.lastStart = -Infinity;
    }
    const now = this.clock.now();
    if (now - this.lastStart >= START_EVERY_MS) {
      this.lastStart = now;
      this.send("start", target);
    }
    this.clock.clearTimeout(this.idleTimer);
    this.idleTimer = this.clock.setTimeout(() => this.stop(), STOP_AFTER_IDLE_MS);
  }

  /** Stopped typing (idle, sent, or left): one "stop", if a "start" went out. */
  stop() {
    this.clock.clearTimeout(this.idleTimer);
    this.idleTimer = null;
    const target = this.target;
    this.target = null;
    if (target) this.send("stop", target);
  }
}

/**
 * The receiver's side: who is typing (or viewing) now. ``onChange()`` is called whenever the
 * set changes, expiries included.
 */
export class Indicators {
  constructor(onChange, clock = defaultClock) {
    this.onChange = onChange;
    this.clock = clock;
    this.entries = new Map(); // key -> {info, timer}
  }

  /** Apply one event: "start" (re)arms the key's indicator, "stop" drops it. */
  update(op, key, info) {
    const entry = this.entries.get(key);
    if (entry) this.clock.clearTimeout(entry.timer);
    if (op === "start") {
      const timer = this.clock.setTimeout(() => this.drop(key), DROP_AFTER_MS);
      this.entries.set(key, { info, timer });
    } else if (entry) {
      this.entries.delete(key);
    } else {
      return;
    }
    this.onChange();
  }

  drop(key) {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.clock.clearTimeout(entry.timer);
    this.entries.delete(key);
    this.onChange();
  }

  clear() {
    this.entries.forEach((entry) => this.clock.clearTimeout(entry.timer));
    const had = this.entries.size > 0;
    this.entries.clear();
    if (had) this.onChange();
  }

  /** The infos of the indicators shown now, oldest first. */
  active() {
    return Array.from(this.entries.values(), (entry) => entry.info);
  }
}

/** Repeat ``fn`` every START_EVERY_MS until the returned function is called (viewing). */
export function every(fn, clock = defaultClock) {
  let timer = null;
  let stopped = false;
  const tick = () => {
    if (stopped) return;
    fn();
    timer = clock.setTimeout(tick, START_EVERY_MS);
  };
  tick();
  return () => {
    stopped = true;
    clock.clearTimeout(timer);
  };
}
