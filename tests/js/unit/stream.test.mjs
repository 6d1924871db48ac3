// The shared stream client (inbox/static/inbox/common/stream.js) against a fake WebSocket:
// resume frames, back-off, dedupe by event id, sequence order. Run with `node --test tests/js/unit`.
import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, mock, test } from "node:test";

import {
  EventIds,
  StreamClient,
  backoffDelay,
  businessResume,
  compareSequences,
  maxSequence,
  participantResume,
} from "../../../inbox/static/inbox/common/stream.js";

/** A stand-in for the browser's WebSocket: records what is sent, lets the test play the server. */
class FakeWebSocket {
  static instances = [];

  constructor(url) {
    this.url = url;
    this.readyState = 0;
    this.sent = [];
    this.closed = false;
    FakeWebSocket.instances.push(this);
  }

  send(data) {
    assert.equal(this.readyState, 1, "send on a socket that is not open");
    this.sent.push(JSON.parse(data));
  }

  close() {
    this.closed = true;
    this.readyState = 3;
  }

  // The server's side.
  open() {
    this.readyState = 1;
    this.onopen && this.onopen({});
  }

  receive(frame) {
    this.onmessage && this.onmessage({ data: JSON.stringify(frame) });
  }

  drop(code = 1006) {
    this.readyState = 3;
    this.onclose && this.onclose({ code });
  }
}

function latest() {
  return FakeWebSocket.instances[FakeWebSocket.instances.length - 1];
}

function client(overrides = {}) {
  const calls = { events: [], ready: [], denied: [], status: [], resets: 0 };
  let sequence = "0";
  const stream = new StreamClient({
    WebSocket: FakeWebSocket,
    url: () => "ws://test/ws/inbox/participant/",
    resumeFrame: () => participantResume(sequence),
    onEvent: (event) => {
      calls.events.push(event.id);
      sequence = maxSequence(sequence, event.data.message.sequence);
    },
    onReady: (reconnected) => calls.ready.push(reconnected),
    onReset: async () => {
      calls.resets += 1;
      sequence = "900";
    },
    onDenied: (code) => calls.denied.push(code),
    onStatus: (state, attempt) => calls.status.push([state, attempt]),
    ...overrides,
  });
  return { stream, calls };
}

function event(id, sequence) {
  return { type: "event", event: { id, slug: "message_sent_to_participant", data: { message: { sequence } } } };
}

beforeEach(() => {
  FakeWebSocket.instances = [];
  mock.timers.enable({ apis: ["setTimeout", "setInterval"] });
});

afterEach(() => {
  mock.timers.reset();
});

describe("sequences", () => {
  test("compare as int64 decimal strings, not as numbers or plain strings", () => {
    assert.equal(compareSequences("9", "10"), -1);
    assert.equal(compareSequences("1733000000000001", "1733000000000000"), 1);
    // Beyond Number.MAX_SAFE_INTEGER, where a float comparison would call them equal.
    assert.equal(compareSequences("9007199254740993", "9007199254740992"), 1);
    assert.equal(compareSequences("42", "42"), 0);
    assert.equal(compareSequences(null, "0"), 0);
    assert.equal(compareSequences(undefined, "1"), -1);
  });

  test("max keeps the higher one, as a string", () => {
    assert.equal(maxSequence("99", "100"), "100");
    assert.equal(maxSequence("100", "99"), "100");
    assert.equal(maxSequence(undefined, "5"), "5");
    assert.equal(maxSequence(undefined, undefined), "0");
  });
});

describe("resume frames", () => {
  test("a participant resumes from the last sequence, and from 1 with nothing seen", () => {
    assert.deepEqual(participantResume("1733000000000123"), { type: "resume", sequence: "1733000000000123" });
    assert.deepEqual(participantResume("0"), { type: "resume", sequence: "1" });
  });

  test("a business resume names at most the server's limit; since covers the rest", () => {
    const positions = new Map([
      ["a", "10"],
      ["b", "20"],
      ["c", "30"],
    ]);
    assert.deepEqual(businessResume(positions, "30", 2), {
      type: "resume",
      conversations: { a: "10", b: "20" },
      since: "30",
    });
    assert.deepEqual(businessResume(new Map(), "0", 500), { type: "resume", conversations: {} });
  });
});

describe("back-off", () => {
  test("doubles from the base up to the cap, between half and all of it", () => {
    assert.equal(backoffDelay(0, 500, 30000, () => 0), 250);
    assert.equal(backoffDelay(0, 500, 30000, () => 1), 500);
    assert.equal(backoffDelay(3, 500, 30000, () => 1), 4000);
    assert.equal(backoffDelay(20, 500, 30000, () => 1), 30000);
    assert.equal(backoffDelay(20, 500, 30000, () => 0), 15000);
  });
});

describe("event ids", () => {
  test("each id passes once, and only the most recent ones are remembered", () => {
    const ids = new EventIds(2);
    assert.equal(ids.add("a"), true);
    assert.equal(ids.add("a"), false);
    ids.add("b");
    ids.add("c"); // "a" is forgotten
    assert.equal(ids.add("b"), false);
    assert.equal(ids.add("a"), true);
  });
});

describe("StreamClient", () => {
  test("sends the resume frame on open and goes live on ready", () => {
    const { stream, calls } = client();
    stream.start();
    const socket = latest();
    assert.equal(socket.url, "ws://test/ws/inbox/participant/");
    socket.open();
    assert.deepEqual(socket.sent, [{ type: "resume", sequence: "1" }]);
    socket.receive({ type: "ready", replayed: 0 });
    assert.deepEqual(calls.ready, [false]);
    assert.deepEqual(calls.status.at(-1), ["live", 0]);
  });

  test("hands each event on once, whether it came live or in a replay", () => {
    const { stream, calls } = client();
    stream.start();
    const socket = latest();
    socket.open();
    socket.receive(event("e1", "100"));
    socket.receive(event("e2", "200"));
    socket.receive(event("e1", "100"));
    socket.receive({ type: "event", event: { slug: "message_sent_to_participant" } }); // no id
    assert.deepEqual(calls.events, ["e1", "e2"]);
  });

  test("ignores frames that are not JSON", () => {
    const { stream, calls } = client();
    stream.start();
    latest().open();
    latest().onmessage({ data: "not json" });
    assert.deepEqual(calls.events, []);
  });

  test("after a drop reconnects with growing back-off and resumes from the last event", (t) => {
    t.mock.method(Math, "random", () => 1);
    const { stream, calls } = client();
    stream.start();
    latest().open();
    latest().receive({ type: "ready" });
    latest().receive(event("e1", "1733000000000005"));

    latest().drop();
    assert.equal(FakeWebSocket.instances.length, 1);
    assert.deepEqual(calls.status.at(-1), ["reconnecting", 1]);
    mock.timers.tick(499);
    assert.equal(FakeWebSocket.instances.length, 1);
    mock.timers.tick(1);
    assert.equal(FakeWebSocket.instances.length, 2);

    latest().drop(); // refused again: the next wait is twice as long
    mock.timers.tick(999);
    assert.equal(FakeWebSocket.instances.length, 2);
    mock.timers.tick(1);
    assert.equal(FakeWebSocket.instances.length, 3);

    latest().open();
    assert.deepEqual(latest().sent, [{ type: "resume", sequence: "1733000000000005" }]);
    latest().receive({ type: "ready" });
    assert.deepEqual(calls.ready, [false, true]);
    // A healthy connection starts the back-off over.
    latest().drop();
    mock.timers.tick(500);
    assert.equal(FakeWebSocket.instances.length, 4);
  });

  test("a reset frame refetches, then resumes again on the same socket", async () => {
    const { stream, calls } = client();
    stream.start();
    const socket = latest();
    socket.open();
    socket.receive({ type: "reset", reason: "TOO_MANY" });
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(calls.resets, 1);
    assert.deepEqual(socket.sent, [
      { type: "resume", sequence: "1" },
      { type: "resume", sequence: "900" },
    ]);
  });

  test("4401 and 4403 stop the client: no reconnect", () => {
    for (const code of [4401, 4403]) {
      FakeWebSocket.instances = [];
      const { stream, calls } = client();
      stream.start();
      latest().open();
      latest().drop(code);
      mock.timers.tick(60000);
      assert.equal(FakeWebSocket.instances.length, 1);
      assert.deepEqual(calls.denied, [code]);
    }
  });

  test("a ping left unanswered replaces the socket", () => {
    const { stream } = client();
    stream.start();
    const first = latest();
    first.open();
    first.receive({ type: "ready" });
    mock.timers.tick(25000);
    assert.deepEqual(first.sent.at(-1), { type: "ping" });
    first.receive({ type: "pong" }); // answered: nothing happens
    mock.timers.tick(10000);
    assert.equal(FakeWebSocket.instances.length, 1);
    mock.timers.tick(15000);
    mock.timers.tick(10000); // this ping is not answered
    assert.equal(first.closed, true);
    assert.equal(FakeWebSocket.instances.length, 2);
  });

  test("accepts the server's greeting: nothing is handed on, and pings follow its heartbeat", () => {
    const { stream, calls } = client();
    stream.start();
    const socket = latest();
    socket.open();
    socket.receive({
      type: "hello",
      protocol: 1,
      stream: "participant",
      heartbeatSeconds: 12,
      next: "resume",
      resumeWaitSeconds: 3,
      hint: "Send resume",
    });
    assert.deepEqual(calls.events, []);
    assert.deepEqual(calls.ready, []);
    assert.deepEqual(socket.sent, [{ type: "resume", sequence: "1" }]);
    socket.receive({ type: "ready", replayed: 0 });
    mock.timers.tick(11999);
    assert.equal(socket.sent.length, 1);
    mock.timers.tick(1);
    assert.deepEqual(socket.sent.at(-1), { type: "ping" });
  });

  test("a greeting's heartbeat is kept within bounds, and a bad one is ignored", () => {
    for (const [heartbeatSeconds, expected] of [
      [0.001, 5000],
      [3600, 120000],
      ["soon", 25000],
      [-1, 25000],
    ]) {
      const { stream } = client();
      stream.start();
      latest().open();
      latest().receive({ type: "hello", protocol: 1, heartbeatSeconds });
      assert.equal(stream.pingEveryMs, expected, `heartbeatSeconds ${heartbeatSeconds}`);
      stream.stop();
    }
  });

  test("a socket the server put live without a resume is live, events first", () => {
    const { stream, calls } = client();
    stream.start();
    const socket = latest();
    socket.open();
    socket.receive({ type: "hello", protocol: 1, heartbeatSeconds: 25 });
    socket.receive(event("e1", "100"));
    socket.receive({ type: "ready", replayed: 0, resumed: false });
    assert.deepEqual(calls.events, ["e1"]);
    assert.deepEqual(calls.ready, [false]);
    assert.deepEqual(calls.status.at(-1), ["live", 0]);
  });

  test("checkNow reconnects at once instead of waiting out the back-off", () => {
    const { stream } = client();
    stream.start();
    latest().drop();
    assert.equal(FakeWebSocket.instances.length, 1);
    stream.checkNow();
    assert.equal(FakeWebSocket.instances.length, 2);
    mock.timers.tick(60000); // the pending back-off timer was cancelled
    assert.equal(FakeWebSocket.instances.length, 2);
  });

  test("stop closes without reconnecting; start opens one socket only", () => {
    const { stream } = client();
    stream.start();
    stream.start();
    assert.equal(FakeWebSocket.instances.length, 1);
    latest().open();
    stream.stop();
    assert.equal(latest().closed, true);
    mock.timers.tick(60000);
    assert.equal(FakeWebSocket.instances.length, 1);
    stream.checkNow();
    assert.equal(FakeWebSocket.instances.length, 1);
  });
});
