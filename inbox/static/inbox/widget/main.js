/*
 * The widget: the visitor's conversation, history, the live stream, open and close; who it
 * speaks as is session.js, the thread thread.js, sending composer.js.
 *
 * - Replies arrive over the participant stream (common/stream.js), which resumes from the last
 *   sequence seen after a drop; messages are shown once each (by message id).
 * - Everything from the network is rendered with textContent / createElement only.
 */

import { fetchCatalog, gettext, interpolate, setCatalog } from "../common/i18n.js";
import { ApiError, OFFLINE, errorMessage } from "../common/rest.js";
import { CLOSE_UNAUTHENTICATED, StreamClient, backoffDelay, participantResume } from "../common/stream.js";
import { Indicators, TypingSender } from "../common/typing.js";
import { bindFileSources } from "../common/upload.js";
import { DIRECTION, VISIBILITY } from "../common/wire.js";
import { POLL_MS, availabilityText } from "./availability.js";
import { Composer } from "./composer.js";
import { buildPanel } from "./panel.js";
import { Session } from "./session.js";
import { readCookie } from "./storage.js";
import { Thread } from "./thread.js";

const HISTORY_PAGE = 50;

class Widget {
  constructor(config) {
    this.config = config;
    this.session = new Session(config);
    this.state = this.session.state;
    this.ui = buildPanel(config);
    this.thread = new Thread(this.ui, (message, interactionId, button) =>
      this.interact(message, interactionId, button)
    );
    this.composer = new Composer({
      ui: this.ui,
      post: (body, key) =>
        this.session.ensureIdentity().then(
          () => this.session.call("POST", "/messages", body, key),
          () => OFFLINE
        ),
      upload: (file, onProgress, key) => {
        // The token may not exist yet (first contact): the upload waits for it, cancellably.
        let transfer = null;
        let cancelled = false;
        const promise = this.session.ensureIdentity().then(
          () => {
            if (cancelled) return { ok: false, status: 0, data: null, cancelled: true };
            transfer = this.session.upload(file, this.conversationId, onProgress, key);
            return transfer.promise;
          },
          () => OFFLINE
        );
        const cancel = () => {
          cancelled = true;
          if (transfer) transfer.cancel();
        };
        return { promise, cancel };
      },
      conversationId: () => this.conversationId,
      onSent: (message) => this.sent(message),
    });
    this.stream = new StreamClient({
      url: () => this.socketUrl(),
      resumeFrame: () => participantResume(this.thread.lastSequence),
      onEvent: (event) => this.onEvent(event),
      onReady: () => this.setStatus(""),
      onReset: () => this.reload(),
      onDenied: (code) => this.onDenied(code),
      onStatus: (state, attempt) => {
        if (state === "reconnecting" && attempt > 2) this.setStatus(gettext("Reconnecting\u2026"));
      },
    });
    // Typing, both ways: this visitor's frames, and the team's (nameless) indicator.
    this.typing = new TypingSender((op) => this.stream.send({ type: "typing", op }));
    this.teamTyping = new Indicators(() => {
      this.ui.typing.hidden = this.teamTyping.active().length === 0;
      this.ui.typing.textContent = this.ui.typing.hidden ? "" : gettext("The team is typing\u2026");
    });
    this.availabilityTimer = null;
    this.conversationId = null;
    this.nextCursor = null;
    this.unread = 0;
    this.started = null;
    this.readTimer = null;
  }

  // --- conversation ------------------------------------------------------------------------

  resetVisitor() {
    this.session.forgetVisitor();
    this.conversationId = null;
    this.stream.stop();
    this.clearThread();
  }

  // Members: their conversation (created on demand). Visitors: the one their first message
  // created, if any; nothing is created just because the chat was opened.
  findConversation(create) {
    if (!this.config.member && !create) return Promise.resolve(this.state.conversationId || null);
    return this.session.call("POST", "/conversations", {}).then((response) => {
      if (response.ok) return response.data.conversation.id;
      if (!this.config.member && response.status === 403) {
        this.resetVisitor();
        return null;
      }
      throw new ApiError(response);
    });
  }

  useConversation(id) {
    if (!id || id === this.conversationId) return;
    this.conversationId = id;
    if (this.state.conversationId !== id) {
      this.state.conversationId = id;
      this.session.save();
    }
  }

  // --- history ------------------------------------------------------------------------------

  historyPath(cursor) {
    const params = new URLSearchParams();
    params.set("conversationId", this.conversationId);
    params.set("visibility", VISIBILITY.BUSINESS_AND_PARTICIPANT);
    params.set("paging.limit", String(HISTORY_PAGE));
    if (cursor) params.set("paging.cursor", cursor);
    return "/messages?" + params.toString();
  }

  showPage(data) {
    data.messages.forEach((message) => this.thread.add(message, true));
    this.nextCursor = data.pagingMetadata.cursors.next || null;
    this.ui.earlier.hidden = !this.nextCursor;
  }

  loadHistory() {
    if (!this.conversationId) return Promise.resolve();
    return this.session.call("GET", this.historyPath(null)).then((response) => {
      if (!response.ok) {
        if (!this.config.member && response.status === 403) {
          // This visitor's conversation was claimed by a member (in another tab): start over.
          this.resetVisitor();
          return;
        }
        throw new ApiError(response);
      }
      this.showPage(response.data);
      this.thread.scrollToBottom();
    });
  }

  loadEarlier() {
    if (!this.nextCursor) return;
    const log = this.ui.log;
    const fromBottom = log.scrollHeight - log.scrollTop;
    this.session.call("GET", this.historyPath(this.nextCursor)).then((response) => {
      if (!response.ok) {
        this.setStatus(errorMessage(response));
        return;
      }
      this.showPage(response.data);
      log.scrollTop = log.scrollHeight - fromBottom;
    });
  }

  clearThread() {
    this.thread.clear();
    this.nextCursor = null;
  }

  /** Start over from REST (after a reset frame or a merge), then resume from there. */
  reload() {
    this.clearThread();
    return this.loadHistory();
  }

  start() {
    if (this.started) return this.started;
    this.setStatus(gettext("Connecting\u2026"));
    this.started = this.session.ensureIdentity()
      .then(() => this.findConversation(this.config.member))
      .then((id) => {
        this.useConversation(id);
        return this.loadHistory();
      })
      .then(() => {
        this.setStatus("");
        this.connect();
      })
      .catch((error) => {
        this.started = null;
        if (error.status === 401 && !this.config.member) {
          // The visitor token expired (or the secret key changed): start as a new visitor.
          this.resetVisitor();
        } else if (error.status === 401 || error.status === 403) {
          this.setStatus(gettext("Your session has ended. Reload the page to chat."));
          return;
        }
        this.setStatus(interpolate(gettext("%(error)s \u2014 retrying\u2026"), { error: error.message }));
        setTimeout(() => {
          if (!this.ui.panel.hidden) this.start();
        }, backoffDelay(2, 1000, 15000));
      });
    return this.started;
  }

  // --- sending and pressing -----------------------------------------------------------------

  sent(message) {
    this.thread.add(message, false);
    if (!this.conversationId) {
      // The first message created the conversation: learn its id, then go live.
      this.findConversation(true).then((id) => {
        this.useConversation(id);
        this.loadHistory().then(() => this.connect());
      });
    }
  }

  interact(message, interactionId, button) {
    button.disabled = true;
    this.session.call("POST", "/messages/interactions", {
      conversationId: this.conversationId,
      messageId: message.id,
      interactionId,
    }).then((response) => {
      button.disabled = false;
      if (response.ok) {
        button.classList.add("pressed");
        button.setAttribute("aria-pressed", "true");
      } else {
        this.setStatus(errorMessage(response));
      }
    });
  }

  // --- status, unread, read -----------------------------------------------------------------

  setStatus(text) {
    this.ui.status.textContent = text || "";
    this.ui.status.hidden = !text;
  }

  noteUnread(message) {
    if (message.direction === DIRECTION.PARTICIPANT_TO_BUSINESS) return;
    if (this.ui.panel.hidden || document.visibilityState !== "visible") {
      this.unread += 1;
      this.ui.badge.textContent = String(this.unread);
      this.ui.badge.hidden = false;
      this.ui.bubble.setAttribute(
        "aria-label",
        interpolate(gettext("Open chat (new messages: %(count)s)"), { count: this.unread })
      );
    } else {
      this.markRead();
    }
  }

  markRead() {
    const sequence = this.thread.lastSequence;
    if (!this.conversationId || sequence === "0") return;
    clearTimeout(this.readTimer);
    this.readTimer = setTimeout(() => {
      this.session.call("POST", "/conversations/" + this.conversationId + "/read", { sequence });
    }, 400);
  }

  // --- availability -------------------------------------------------------------------------

  /** Ask the server whether the team is there; again every POLL_MS while the chat is open. */
  checkAvailability() {
    clearTimeout(this.availabilityTimer);
    this.availabilityTimer = null;
    if (this.ui.panel.hidden) return;
    this.session.call("GET", "/availability").then((response) => {
      // A failed check keeps the last answer: it is still the best guess.
      if (!response.ok) return;
      const text = availabilityText(response.data.availability);
      this.ui.availability.textContent = text || "";
      this.ui.availability.hidden = !text;
      this.ui.availability.dataset.status = response.data.availability.status;
    });
    this.availabilityTimer = setTimeout(() => {
      if (document.visibilityState === "visible") this.checkAvailability();
      else this.availabilityTimer = null;
    }, POLL_MS);
  }

  // --- live stream --------------------------------------------------------------------------

  socketUrl() {
    let base = this.config.ws;
    if (!/^wss?:/.test(base)) {
      base = (window.location.protocol === "https:" ? "wss://" : "ws://") + window.location.host + base;
    }
    if (!this.config.member && this.state.token) {
      base += (base.indexOf("?") >= 0 ? "&" : "?") + "token=" + encodeURIComponent(this.state.token);
    }
    return base;
  }

  connect() {
    if (this.conversationId) this.stream.start();
  }

  onDenied(code) {
    if (code === CLOSE_UNAUTHENTICATED && !this.config.member) {
      // The token is no longer accepted: start over as a new visitor next time it opens.
      this.resetVisitor();
      this.started = null;
      this.setStatus(gettext("Your chat session expired. Reopen the chat to start a new one."));
      return;
    }
    this.setStatus(gettext("Live updates are unavailable. Reload the page to retry."));
  }

  onEvent(event) {
    const body = event.data;
    if (!body) return;
    if (event.slug === "message_sent_to_participant" || event.slug === "message_sent_to_business") {
      if (body.conversationId !== this.conversationId || !body.message) return;
      if (this.thread.add(body.message, true)) this.noteUnread(body.message);
      // The reply the team was typing has arrived.
      if (body.message.direction === DIRECTION.BUSINESS_TO_PARTICIPANT) this.teamTyping.clear();
    } else if (event.slug === "business_typing") {
      if (body.conversationId === this.conversationId) this.teamTyping.update(body.op, "team", true);
    } else if (event.slug === "conversations_merged") {
      const old = body.oldConversationIds || [];
      if (old.indexOf(this.conversationId) < 0 && body.targetConversationId !== this.conversationId) return;
      if (!this.config.member) {
        // This visitor became a member in another tab; the thread now lives in the account.
        this.resetVisitor();
        this.setStatus(gettext("This conversation continues in your account. Reload the page to see it."));
        return;
      }
      // Older messages joined this thread: show them, in order.
      this.useConversation(body.targetConversationId);
      this.stream.stop();
      this.reload().then(() => this.connect());
    }
  }

  // Back from sleep or offline: retry waiting sends and check the socket at once.
  wake() {
    if (!this.conversationId) return;
    this.composer.retryNow();
    this.stream.checkNow();
  }

  // --- opening and closing ------------------------------------------------------------------

  open() {
    const ui = this.ui;
    ui.panel.hidden = false;
    ui.bubble.setAttribute("aria-expanded", "true");
    ui.bubble.setAttribute("aria-label", gettext("Close chat"));
    ui.host.setAttribute("data-open", "true");
    this.unread = 0;
    ui.badge.hidden = true;
    if (!this.state.open) {
      this.state.open = true;
      this.session.save();
    }
    ui.input.focus();
    this.start().then(() => {
      this.markRead();
      this.checkAvailability();
    });
  }

  close() {
    const ui = this.ui;
    ui.panel.hidden = true;
    ui.bubble.setAttribute("aria-expanded", "false");
    ui.bubble.setAttribute("aria-label", gettext("Open chat"));
    ui.host.removeAttribute("data-open");
    if (this.state.open) {
      this.state.open = false;
      this.session.save();
    }
    ui.bubble.focus();
  }

  submit() {
    const text = this.ui.input.value.trim();
    if (!text) return;
    this.ui.input.value = "";
    this.typing.stop();
    this.composer.send(text);
    this.ui.input.focus();
  }

  bind() {
    const ui = this.ui;
    ui.bubble.addEventListener("click", () => (ui.panel.hidden ? this.open() : this.close()));
    ui.closeButton.addEventListener("click", () => this.close());
    ui.earlier.addEventListener("click", () => this.loadEarlier());
    ui.root.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && !ui.panel.hidden) {
        event.stopPropagation();
        this.close();
      }
    });
    ui.input.addEventListener("input", () => {
      if (ui.input.value.trim() && this.conversationId) this.typing.activity({ key: "reply" });
      else this.typing.stop();
    });
    ui.input.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        ui.form.requestSubmit();
      }
    });
    ui.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.submit();
    });
    bindFileSources({
      button: ui.attach,
      input: ui.fileInput,
      textbox: ui.input,
      dropZone: ui.panel,
      onFiles: (files) => files.forEach((file) => this.composer.sendFile(file)),
    });
    window.addEventListener("online", () => this.wake());
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible") {
        this.wake();
        if (!ui.panel.hidden) {
          this.markRead();
          if (!this.availabilityTimer) this.checkAvailability();
        }
      }
    });
  }

  mount() {
    if (!this.config.member && !this.state.token) {
      // A conversation id without a visitor token was a member's (who has since logged out).
      delete this.state.conversationId;
    }
    this.bind();
    document.body.appendChild(this.ui.host);
    if (this.config.member && this.state.token) {
      // Logged in since the last visit: merge the visitor's conversation now, not on open.
      // A claim that failed is tried again when the chat opens.
      this.session.ensureIdentity().catch(() => {});
    }
    if (this.state.open) {
      this.open();
    } else if (this.state.conversationId) {
      // Someone with a conversation gets replies (and the unread badge) without opening.
      this.start();
    }
  }
}

function whenBodyExists() {
  if (document.body) return Promise.resolve();
  return new Promise((resolve) => document.addEventListener("DOMContentLoaded", resolve, { once: true }));
}

// Where inbox.urls serves the catalogs: next to the API's v2/ (inbox/i18n.py).
function catalogUrl(api, lang) {
  return api.replace(/\/v2$/, "") + "/i18n/" + encodeURIComponent(lang) + ".json";
}

/** Build the widget on this page; ``config`` comes from the loader (widget.js). */
export async function mount(config) {
  // Translated before anything is built: every string of the widget is then in one language.
  const [translations] = await Promise.all([
    fetchCatalog(catalogUrl(config.api, config.lang), config.lang),
    whenBodyExists(),
  ]);
  setCatalog(translations);
  const widget = new Widget({
    ...config,
    // Next to this module (also when collectstatic gave it a hashed name).
    css: config.css || new URL("widget.css", import.meta.url).href,
    csrf: config.csrf || readCookie("csrftoken"),
  });
  widget.mount();
  return widget;
}
