/*
 * The stream client of both surfaces (docs/events.md): connect, resume from the sequences seen,
 * reconnect with jittered back-off, keep the connection checked with pings (as often as the
 * server's greeting asks), and hand each event on once (events are deduplicated by id: a replay after a resume may repeat what arrived live).
 *
 * What an event does is the surface's business (its ``onEvent``); what it resumes from is its
 * ``resumeFrame``, built with ``participantResume`` or ``businessResume``.
 */

export const CLOSE_UNAUTHENTICATED = 4401;
export const CLOSE_FORBIDDEN = 4403;

const OPEN = 1;
const BACKOFF_BASE_MS = 500;
const BACKOFF_MAX_MS = 30000;
const PING_EVERY_MS = 25000;
// Bounds on the heartbeat a greeting may ask for: the server's frame limit is 30 per 10 s.
const PING_MIN_MS = 5000;
const PING_MAX_MS = 120000;
const PONG_TIMEOUT_MS = 10000;
const REMEMBERED_EVENTS = 5000;

/** Sequences are int64 decimal strings (no leading zeros): by length, then lexically. */
export function compareSequences(a, b) {
  a = String(a || "0");
  b = String(b || "0");
  if (a.length !== b.length) return a.length < b.length ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

export function maxSequence(a, b) {
  return compareSequences(a, b) >= 0 ? String(a || "0") : String(b || "0");
}

/** Exponential back-off with jitter, so that a restarted server is not hit by every page at the
 * same instant: between half and all of min(cap, base·2^attempt). */
export function backoffDelay(attempt, base = BACKOFF_BASE_MS, cap = BACKOFF_MAX_MS, random = Math.random) {
  const ceiling = Math.min(cap, base * Math.pow(2, attempt));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

/** A participant's resume: one conversation, from the highest sequence seen. */
export function participantResume(sequence) {
  // "1" rather than "0": with nothing seen yet, replay everything (sequences are far above 1).
  return { type: "resume", sequence: maxSequence(sequence, "1") };
}

/**
 * A business resume: the position of each conversation the page knows, at most ``limit`` of
 * them (the server's SOCKET_MAX_RESUME_CONVERSATIONS); the rest are covered by ``since``.
 */
export function businessResume(positions, since, limit) {
  const conversations = {};
  let named = 0;
  for (const [id, sequence] of positions) {
    if (named >= limit) break;
    conversations[id] = sequence;
    named += 1;
  }
  const frame = { type: "resume", conversations };
  if (compareSequences(since, "0") > 0) frame.since = String(since);
  return frame;
}

/** Remembers the last ``size`` event ids. */
export class EventIds {
  constructor(size = REMEMBERED_EVENTS) {
    this.size = size;
    this.ids = new Set();
  }

  /** True the first time an id is seen. */
  add(id) {
    if (this.ids.has(id)) return false;
    this.ids.add(id);
    if (this.ids.size > this.size) this.ids.delete(this.ids.values().next().value);
    return true;
  }
}

/**
 * Options: ``url()`` (asked at every connect), ``resumeFrame()``, ``onEvent(event)``,
 * ``onReady(reconnected)``, ``onReset()`` (may return a promise: the resume is sent again when it
 * settles), ``onDenied(code)`` (4401 / 4403: the client stops), ``onStatus(state, attempt)`` with
 * state "connecting", "reconnecting" or "live"; ``WebSocket`` (a test passes its own).
 */
export class StreamClient {
  constructor(options) {
    this.options = options;
    this.WebSocket = options.WebSocket || globalThis.WebSocket;
    this.events = new EventIds();
    this.socket = null;
    this.attempt = 0;
    this.reconnectTimer = null;
    this.pingTimer = null;
    this.pongTimer = null;
    this.running = false;
    this.hasConnected = false;
    this.pingEveryMs = PING_EVERY_MS;
    this.greeting = null;
  }

  /** Connect unless a socket is open or on its way. */
  start() {
    this.running = true;
    if (this.socket || this.reconnectTimer || !this.WebSocket) return;
    this.connect();
  }

  /** Close for good (until the next start), without reconnecting. */
  stop() {
    this.running = false;
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    this.drop();
  }

  /** Back from sleep or offline: reconnect now rather than after the back-off, or check an open
   * socket with a ping (the browser may not have noticed that it died). */
  checkNow() {
    if (!this.running) return;
    if (!this.socket) {
      clearTimeout(this.reconnectTimer);
      this.reconnectTimer = null;
      this.attempt = 0;
      this.connect();
    } else if (this.socket.readyState === OPEN) {
      this.ping(5000);
    }
  }

  send(frame) {
    if (this.socket && this.socket.readyState === OPEN) this.socket.send(JSON.stringify(frame));
  }

  connect() {
    this.reconnectTimer = null;
    this.status(this.hasConnected ? "reconnecting" : "connecting");
    let socket;
    try {
      socket = new this.WebSocket(this.options.url());
    } catch (error) {
      this.scheduleReconnect();
      return;
    }
    this.socket = socket;
    socket.onopen = () => this.send(this.options.resumeFrame());
    socket.onmessage = (message) => this.onFrame(message.data);
    socket.onclose = (event) => this.onClose(socket, event);
  }

  onFrame(raw) {
    let frame;
    try {
      frame = JSON.parse(raw);
    } catch (error) {
      return;
    }
    // Any frame shows the connection is alive.
    clearTimeout(this.pongTimer);
    if (frame.type === "hello") this.onHello(frame);
    else if (frame.type === "event") this.onEvent(frame.event);
    else if (frame.type === "ready") this.onReady();
    else if (frame.type === "reset") this.onReset();
  }

  /** The server's first frame. The resume was sent on open already (the server reads it whenever
   * it arrives); what the greeting changes is how often this client pings. */
  onHello(frame) {
    this.greeting = frame;
    const heartbeat = Number(frame.heartbeatSeconds) * 1000;
    if (Number.isFinite(heartbeat) && heartbeat > 0) {
      this.pingEveryMs = Math.min(PING_MAX_MS, Math.max(PING_MIN_MS, heartbeat));
    }
  }

  onEvent(event) {
    if (!event || !event.id || !this.events.add(event.id)) return;
    this.options.onEvent(event);
  }

  onReady() {
    const reconnected = this.hasConnected;
    this.hasConnected = true;
    this.attempt = 0;
    this.status("live");
    clearInterval(this.pingTimer);
    this.pingTimer = setInterval(() => this.ping(PONG_TIMEOUT_MS), this.pingEveryMs);
    if (this.options.onReady) this.options.onReady(reconnected);
  }

  async onReset() {
    // Too much was missed to replay: the surface refetches over REST, then resumes from there.
    const socket = this.socket;
    await this.options.onReset();
    if (this.socket === socket) this.send(this.options.resumeFrame());
  }

  /** No frame within ``timeout`` after a ping: the connection is dead without having closed. */
  ping(timeout) {
    const socket = this.socket;
    if (!socket || socket.readyState !== OPEN) return;
    socket.send(JSON.stringify({ type: "ping" }));
    clearTimeout(this.pongTimer);
    this.pongTimer = setTimeout(() => {
      if (this.socket !== socket) return;
      this.drop();
      this.attempt = 0;
      this.connect();
    }, timeout);
  }

  onClose(socket, event) {
    if (socket !== this.socket) return;
    this.clearSocket();
    if (event.code === CLOSE_UNAUTHENTICATED || event.code === CLOSE_FORBIDDEN) {
      this.running = false;
      this.options.onDenied(event.code);
      return;
    }
    this.scheduleReconnect();
  }

  scheduleReconnect() {
    if (!this.running || this.reconnectTimer) return;
    const delay = backoffDelay(this.attempt);
    this.attempt += 1;
    this.status("reconnecting");
    this.reconnectTimer = setTimeout(() => this.connect(), delay);
  }

  status(state) {
    if (this.options.onStatus) this.options.onStatus(state, this.attempt);
  }

  clearSocket() {
    clearInterval(this.pingTimer);
    clearTimeout(this.pongTimer);
    this.socket = null;
  }

  drop() {
    const socket = this.socket;
    if (!socket) return;
    this.clearSocket();
    socket.onopen = socket.onmessage = socket.onclose = null;
    try {
      socket.close();
    } catch (error) {
      // Already closed.
    }
  }
}
