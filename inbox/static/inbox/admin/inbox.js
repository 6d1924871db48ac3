/*
 * Staff inbox page (contract §6). Plain JavaScript, no framework, no build step.
 *
 * Reads and writes through the REST API (session + CSRF token), listens on the business
 * WebSocket stream (docs/events.md) and resumes it after a drop from the sequences the page has
 * seen, so that nothing is missed and nothing shows twice (events are deduplicated by id,
 * messages by message id).
 *
 * Safety: every piece of data reaches the DOM through textContent, attributes set one by one and
 * createElement; never innerHTML. URLs are used only if they parse as absolute http(s).
 */
(function () {
  "use strict";

  const KIND_LABELS = { ANONYMOUS_VISITOR: "Visitor", CONTACT: "Contact", MEMBER: "Member" };
  const INTERNAL = "BUSINESS";
  const PUBLIC = "BUSINESS_AND_PARTICIPANT";
  const B2P = "BUSINESS_TO_PARTICIPANT";
  const P2B = "PARTICIPANT_TO_BUSINESS";
  const MAX_REMEMBERED_EVENTS = 5000;
  const BACKOFF_BASE_MS = 500;
  const BACKOFF_MAX_MS = 30000;
  const PING_EVERY_MS = 25000;
  const PONG_TIMEOUT_MS = 10000;
  const SEND_ATTEMPTS = 3;

  // ---------------------------------------------------------------------------------------
  // Small helpers

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  /** The URL if it is an absolute http(s) URL, else null. */
  function safeUrl(value) {
    if (typeof value !== "string" || !value) return null;
    let url;
    try {
      url = new URL(value);
    } catch (error) {
      return null;
    }
    return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
  }

  function link(href, text) {
    const a = el("a", null, text);
    a.href = href;
    a.target = "_blank";
    a.rel = "noopener noreferrer";
    return a;
  }

  function image(src, alt) {
    const img = document.createElement("img");
    img.src = src;
    img.alt = alt || "";
    img.loading = "lazy";
    img.referrerPolicy = "no-referrer";
    return img;
  }

  function big(value) {
    try {
      return BigInt(value || "0");
    } catch (error) {
      return 0n;
    }
  }

  function maxSeq(a, b) {
    return big(a) >= big(b) ? String(a || "0") : String(b || "0");
  }

  function randomKey() {
    // crypto.getRandomValues also works on plain-http origins (randomUUID needs a secure one).
    const bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  function formatTime(iso) {
    if (!iso) return "";
    const date = new Date(iso);
    if (Number.isNaN(date.getTime())) return "";
    const today = new Date();
    return date.toDateString() === today.toDateString()
      ? date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })
      : date.toLocaleDateString([], { month: "short", day: "numeric" });
  }

  function sleep(ms) {
    return new Promise((resolve) => setTimeout(resolve, ms));
  }

  // ---------------------------------------------------------------------------------------
  // REST

  class ApiError extends Error {
    constructor(status, body) {
      super((body && body.message) || "HTTP " + status);
      this.status = status;
      this.body = body;
    }
  }

  function csrfToken(root) {
    const input = root.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  async function request(root, method, url, body, headers) {
    const init = {
      method: method,
      credentials: "same-origin",
      headers: Object.assign({ Accept: "application/json" }, headers || {}),
    };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.headers["X-CSRFToken"] = csrfToken(root);
      init.body = JSON.stringify(body);
    }
    const response = await fetch(url, init);
    let data = null;
    try {
      data = await response.json();
    } catch (error) {
      data = null;
    }
    if (!response.ok) throw new ApiError(response.status, data);
    return data;
  }

  function withQuery(url, params) {
    const query = new URLSearchParams();
    Object.keys(params).forEach((key) => {
      const value = params[key];
      if (value !== undefined && value !== null && value !== "") query.set(key, String(value));
    });
    const text = query.toString();
    return text ? url + "?" + text : url;
  }

  // ---------------------------------------------------------------------------------------
  // Message rendering: one <li> per message, one bubble per item

  function bubble(extraClass) {
    return el("div", "inbox-bubble" + (extraClass ? " " + extraClass : ""));
  }

  function imageBubble(data) {
    const src = safeUrl(data && data.url);
    if (!src) return textBubble("[image]");
    const node = bubble("inbox-image");
    const a = link(src, "");
    a.appendChild(image(src, data.filename || "image"));
    node.appendChild(a);
    return node;
  }

  function fileBubble(data) {
    const node = bubble("inbox-file");
    const name = (data && (data.filename || data.url)) || "file";
    const href = safeUrl(data && data.url);
    node.appendChild(href ? link(href, name) : el("span", null, name));
    return node;
  }

  function textBubble(text) {
    return el("div", "inbox-bubble", text);
  }

  function buttonsBlock(buttons) {
    const box = el("div", "inbox-buttons");
    (buttons || []).forEach((button) => {
      const label = (button && button.label) || "Button";
      const href = safeUrl(button && button.launchUrl);
      if (href) {
        box.appendChild(link(href, label));
      } else {
        // A postback button: the participant presses it; staff only see it.
        const span = el("span", null, label);
        span.title = "Postback button";
        box.appendChild(span);
      }
    });
    return box;
  }

  function basicBubbles(basic) {
    return ((basic && basic.items) || []).map((item) => {
      if (item.image) return imageBubble(item.image);
      if (item.file) return fileBubble(item.file);
      return textBubble(item.text || "");
    });
  }

  function templateBubbles(template) {
    const node = bubble("inbox-card");
    const src = safeUrl(template.imageUrl);
    if (src) node.appendChild(image(src, template.title || ""));
    const body = el("div", "inbox-card-body");
    if (template.title) body.appendChild(el("div", "inbox-card-title", template.title));
    (template.textLines || []).forEach((line) => body.appendChild(el("div", "inbox-card-line", line)));
    node.appendChild(body);
    if ((template.buttons || []).length) node.appendChild(buttonsBlock(template.buttons));
    return [node];
  }

  function minimalBubbles(minimal) {
    const node = el("div", "inbox-activity");
    const icon = safeUrl(minimal.iconUrl);
    if (icon) node.appendChild(image(icon, ""));
    const href = safeUrl(minimal.url);
    node.appendChild(href ? link(href, minimal.text || "") : el("span", null, minimal.text || ""));
    return [node];
  }

  function formBubbles(form) {
    const node = bubble("inbox-form");
    if (form.title) node.appendChild(el("div", "inbox-card-title", form.title));
    if (form.description) node.appendChild(el("div", "inbox-form-description", form.description));
    const table = el("table");
    const tbody = el("tbody");
    (form.fields || []).forEach((field) => {
      const row = el("tr");
      row.appendChild(el("th", null, field.name || ""));
      row.appendChild(el("td", null, field.value || ""));
      tbody.appendChild(row);
    });
    table.appendChild(tbody);
    node.appendChild(table);
    const bubbles = [node];
    // Each media item shows as a message of its own (Wix §5.4).
    (form.media || []).forEach((item) => {
      if (item.image) bubbles.push(imageBubble(item.image));
      else if (item.file) bubbles.push(fileBubble(item.file));
    });
    return bubbles;
  }

  function systemBubbles(system) {
    // pre-wrap turns the "\n" of the text into line breaks, without any markup.
    const node = bubble("inbox-system");
    node.appendChild(el("div", null, system.text || ""));
    const src = safeUrl(system.imageUrl);
    if (src) node.appendChild(image(src, ""));
    if ((system.buttons || []).length) node.appendChild(buttonsBlock(system.buttons));
    return [node];
  }

  function contentBubbles(content) {
    content = content || {};
    if (content.basic) return basicBubbles(content.basic);
    if (content.template) return templateBubbles(content.template);
    if (content.minimal) return minimalBubbles(content.minimal);
    if (content.form) return formBubbles(content.form);
    if (content.system) return systemBubbles(content.system);
    return [textBubble(content.previewText || "[unsupported message]")];
  }

  // ---------------------------------------------------------------------------------------
  // The page

  class InboxPage {
    constructor(root, config) {
      this.root = root;
      this.config = config;
      this.me = config.me.wixUserId;
      this.rows = new Map(); // conversation id -> list row (REST shape)
      this.seen = new Map(); // conversation id -> highest sequence the page has accounted for
      this.since = "0"; // highest sequence seen in any conversation
      this.eventIds = new Set();
      this.listCursor = null;
      this.listGeneration = 0;
      this.thread = null; // {id, messages: Map(id -> message), nodes: Map(id -> li), cursor, loading}
      this.socket = null;
      this.attempt = 0;
      this.reconnectTimer = null;
      this.pingTimer = null;
      this.pongTimer = null;
      this.readTimers = new Map(); // conversation id -> pending read timer
      this.refreshTimer = null;
      this.stopped = false;
      this.hasConnected = false;

      this.status = document.querySelector(".inbox-status");
      this.listEl = root.querySelector(".inbox-conversations");
      this.listEmpty = root.querySelector(".inbox-list-empty");
      this.moreButton = root.querySelector(".inbox-more");
      this.filtersForm = root.querySelector(".inbox-filters");
      this.messagesBox = root.querySelector(".inbox-messages");
      this.messageList = root.querySelector(".inbox-message-list");
      this.olderStatus = root.querySelector(".inbox-older-status");
      this.threadName = root.querySelector(".inbox-thread-name");
      this.threadKind = root.querySelector(".inbox-thread-kind");
      this.notesToggle = root.querySelector("input[name=notesOnly]");
      this.composer = root.querySelector(".inbox-composer");
      this.textarea = this.composer.querySelector("textarea");
      this.composerError = this.composer.querySelector(".inbox-composer-error");
      this.pending = null; // the send in progress: {key}
      this.pinned = true; // the thread is scrolled to its newest message
    }

    start() {
      this.bindUi();
      this.loadList().then(() => this.connect());
    }

    // --- list --------------------------------------------------------------------------

    filters() {
      const data = new FormData(this.filtersForm);
      return {
        q: (data.get("q") || "").trim(),
        participantKind: data.get("participantKind") || "",
        unread: data.get("unread") ? "true" : "",
      };
    }

    async loadList(more) {
      if (more && (this.listLoadingMore || !this.listCursor)) return;
      if (more) this.listLoadingMore = true;
      try {
        await this.fetchListPage(more);
      } finally {
        if (more) this.listLoadingMore = false;
      }
    }

    async fetchListPage(more) {
      const generation = more ? this.listGeneration : ++this.listGeneration;
      const params = Object.assign(this.filters(), { "paging.limit": this.config.pageSize });
      if (more) params["paging.cursor"] = this.listCursor;
      let body;
      try {
        body = await request(this.root, "GET", withQuery(this.config.conversationsUrl, params));
      } catch (error) {
        this.showListError(error);
        return;
      }
      if (generation !== this.listGeneration) return; // the filters changed meanwhile
      if (!more) {
        // Rows fetched again replace what we knew; rows that no longer match go.
        this.rows.clear();
      }
      body.conversations.forEach((row) => this.acceptRow(row));
      this.listCursor = body.pagingMetadata.cursors.next || null;
      this.renderList();
    }

    /** Merge rows from a fresh first page without dropping rows loaded by later pages. */
    async refreshList() {
      const params = Object.assign(this.filters(), { "paging.limit": this.config.pageSize });
      try {
        const body = await request(this.root, "GET", withQuery(this.config.conversationsUrl, params));
        body.conversations.forEach((row) => this.acceptRow(row));
        if (!this.listCursor && body.pagingMetadata.cursors.next) {
          this.listCursor = body.pagingMetadata.cursors.next;
        }
        this.renderList();
      } catch (error) {
        this.showListError(error);
      }
    }

    scheduleRefresh() {
      clearTimeout(this.refreshTimer);
      this.refreshTimer = setTimeout(() => this.refreshList(), 250);
    }

    acceptRow(row) {
      const id = row.conversation.id;
      const known = this.rows.get(id);
      if (known && big(known.lastSequence) > big(row.lastSequence)) {
        // Events already took this row past the snapshot; keep it, with the newer read marks.
        known.participantReadSequence = maxSeq(known.participantReadSequence, row.participantReadSequence);
        row = known;
      }
      this.rows.set(id, row);
      this.noteSeen(id, row.lastSequence);
      if (this.thread && this.thread.id === id) {
        this.thread.participantReadSequence = row.participantReadSequence;
        this.renderSeenMarks();
      }
    }

    noteSeen(conversationId, sequence) {
      this.seen.set(conversationId, maxSeq(this.seen.get(conversationId), sequence));
      this.since = maxSeq(this.since, sequence);
    }

    sortedRows() {
      return Array.from(this.rows.values()).sort((a, b) => {
        const ta = a.lastActivityDate;
        const tb = b.lastActivityDate;
        if (ta && tb && ta !== tb) return ta < tb ? 1 : -1;
        if (ta && !tb) return -1;
        if (!ta && tb) return 1;
        return a.conversation.id < b.conversation.id ? 1 : -1;
      });
    }

    renderList() {
      const fragment = document.createDocumentFragment();
      let unreadTotal = 0;
      this.sortedRows().forEach((row) => {
        unreadTotal += row.unreadCount;
        fragment.appendChild(this.renderRow(row));
      });
      this.listEl.replaceChildren(fragment);
      this.listEmpty.hidden = this.rows.size > 0;
      this.moreButton.hidden = !this.listCursor;
      document.title = (unreadTotal ? "(" + unreadTotal + ") " : "") + this.baseTitle();
    }

    baseTitle() {
      if (!this._baseTitle) this._baseTitle = document.title.replace(/^\(\d+\) /, "");
      return this._baseTitle;
    }

    renderRow(row) {
      const id = row.conversation.id;
      const item = el("li");
      const button = el("button", "inbox-conversation");
      button.type = "button";
      button.dataset.conversationId = id;
      if (this.thread && this.thread.id === id) button.setAttribute("aria-current", "true");
      if (row.unreadCount > 0) button.classList.add("has-unread");
      const name = row.conversation.participantDisplayData.name || KIND_LABELS[row.participantKind];
      button.appendChild(el("span", "inbox-conversation-name", name));
      button.appendChild(el("span", "inbox-conversation-time", formatTime(row.lastActivityDate)));
      const preview = el("span", "inbox-conversation-preview");
      if (row.lastMessageVisibility === INTERNAL) preview.appendChild(el("em", null, "Note: "));
      preview.appendChild(document.createTextNode(row.previewText || "No messages yet"));
      button.appendChild(preview);
      if (row.unreadCount > 0) {
        const badge = el("span", "inbox-unread", row.unreadCount);
        badge.setAttribute("aria-label", row.unreadCount + " unread");
        button.appendChild(badge);
      }
      button.appendChild(el("span", "inbox-conversation-kind", KIND_LABELS[row.participantKind] || ""));
      button.addEventListener("click", () => this.openThread(id));
      item.appendChild(button);
      return item;
    }

    showListError(error) {
      this.listEmpty.hidden = false;
      this.listEmpty.textContent = "Could not load conversations: " + error.message;
    }

    // --- thread ------------------------------------------------------------------------

    async openThread(id) {
      const row = this.rows.get(id);
      this.thread = {
        id: id,
        messages: new Map(),
        nodes: new Map(),
        cursor: null,
        loading: false,
        participantReadSequence: row ? row.participantReadSequence : "0",
      };
      this.messageList.replaceChildren();
      this.pinned = true;
      this.threadName.textContent = row
        ? row.conversation.participantDisplayData.name || KIND_LABELS[row.participantKind]
        : "";
      this.threadKind.textContent = row ? KIND_LABELS[row.participantKind] || "" : "";
      this.composer.hidden = !this.config.canSend;
      this.composerError.hidden = true;
      this.renderList();
      await this.loadOlder(true);
      this.scrollToBottom();
      this.markRead();
    }

    async loadOlder(first) {
      const thread = this.thread;
      if (!thread || thread.loading || (!first && !thread.cursor)) return;
      thread.loading = true;
      this.olderStatus.hidden = false;
      this.olderStatus.textContent = "Loading…";
      const params = {
        conversationId: thread.id,
        visibility: INTERNAL,
        "paging.limit": this.config.pageSize,
        "sorting.order": "DESC",
      };
      if (!first) params["paging.cursor"] = thread.cursor;
      try {
        const body = await request(this.root, "GET", withQuery(this.config.messagesUrl, params));
        if (this.thread !== thread) return;
        const box = this.messagesBox;
        const fromBottom = box.scrollHeight - box.scrollTop;
        body.messages.forEach((message) => this.addMessage(message));
        // The newest page is a snapshot: every message up to its first one has been stored.
        if (first && body.messages.length) this.noteSeen(thread.id, body.messages[0].sequence);
        thread.cursor = body.pagingMetadata.cursors.next || null;
        if (!first) box.scrollTop = box.scrollHeight - fromBottom;
        this.olderStatus.hidden = !!thread.cursor || thread.messages.size === 0;
        this.olderStatus.textContent = thread.cursor ? "" : "Beginning of the conversation";
        if (!thread.messages.size) {
          this.olderStatus.hidden = false;
          this.olderStatus.textContent = "No messages yet";
        }
      } catch (error) {
        if (this.thread === thread) this.olderStatus.textContent = "Could not load: " + error.message;
      } finally {
        thread.loading = false;
      }
    }

    /** Insert a message in sequence order; returns false if the thread already had it. */
    addMessage(message) {
      const thread = this.thread;
      if (!thread || thread.messages.has(message.id)) return false;
      thread.messages.set(message.id, message);
      const node = this.renderMessage(message);
      thread.nodes.set(message.id, node);
      const sequence = big(message.sequence);
      let before = null;
      for (const child of this.messageList.children) {
        if (big(child.dataset.sequence) > sequence) {
          before = child;
          break;
        }
      }
      this.messageList.insertBefore(node, before);
      this.renderSeenMarks();
      return true;
    }

    senderLabel(message) {
      const sender = message.sender || {};
      if (sender.wixUserId) return sender.wixUserId === this.me ? "You" : "Staff";
      if (sender.appId) return "App";
      const row = this.rows.get(this.thread.id);
      return (row && row.conversation.participantDisplayData.name) || "Participant";
    }

    renderMessage(message) {
      const item = el("li", "inbox-message");
      item.dataset.messageId = message.id;
      item.dataset.sequence = message.sequence;
      item.dataset.visibility = message.visibility;
      if (message.direction === B2P) item.classList.add("outgoing");
      if (message.visibility === INTERNAL) {
        item.classList.add("internal");
        item.appendChild(el("span", "inbox-internal-label", "Internal note"));
      }
      contentBubbles(message.content).forEach((node) => item.appendChild(node));
      const meta = el("div", "inbox-meta");
      meta.appendChild(document.createTextNode(this.senderLabel(message) + " · " + formatTime(message.createdDate)));
      if (message.silent) meta.appendChild(el("span", "inbox-silent", "· silent"));
      item.appendChild(meta);
      return item;
    }

    /** "Seen" on the newest reply the participant has read. */
    renderSeenMarks() {
      const thread = this.thread;
      if (!thread) return;
      const read = big(thread.participantReadSequence);
      let newest = null;
      thread.nodes.forEach((node, id) => {
        const old = node.querySelector(".inbox-seen");
        if (old) old.remove();
        const message = thread.messages.get(id);
        if (message.direction === B2P && message.visibility === PUBLIC && big(message.sequence) <= read) {
          if (!newest || big(message.sequence) > big(newest.sequence)) newest = message;
        }
      });
      if (newest) {
        thread.nodes.get(newest.id).querySelector(".inbox-meta").appendChild(el("span", "inbox-seen", "✓ Seen"));
      }
    }

    scrollToBottom() {
      this.pinned = true;
      this.messagesBox.scrollTop = this.messagesBox.scrollHeight;
    }

    nearBottom() {
      const box = this.messagesBox;
      return box.scrollHeight - box.scrollTop - box.clientHeight < 80;
    }

    markRead() {
      // Debounced per conversation, and for the thread whose messages were shown, even if
      // another one is open when the timer fires.
      const thread = this.thread;
      if (!thread) return;
      clearTimeout(this.readTimers.get(thread.id));
      this.readTimers.set(
        thread.id,
        setTimeout(() => {
          this.readTimers.delete(thread.id);
          this.sendRead(thread);
        }, 150)
      );
    }

    async sendRead(thread) {
      if (!thread || document.visibilityState !== "visible") return;
      let top = "0";
      thread.messages.forEach((message) => {
        top = maxSeq(top, message.sequence);
      });
      const row = this.rows.get(thread.id);
      if (big(top) === 0n || (row && big(row.readSequence) >= big(top))) return;
      try {
        const body = await request(this.root, "POST", this.config.conversationsUrl + "/" + thread.id + "/read", {
          sequence: top,
        });
        this.applyOwnRead(thread.id, body.sequence);
      } catch (error) {
        // Not fatal: the badge stays until the next successful read.
      }
    }

    applyOwnRead(conversationId, sequence) {
      const row = this.rows.get(conversationId);
      if (!row) return;
      row.readSequence = maxSeq(row.readSequence, sequence);
      if (big(row.readSequence) >= big(row.lastSequence)) row.unreadCount = 0;
      else this.scheduleRefresh(); // partly read: the server knows the exact count
      this.renderList();
    }

    // --- composer ----------------------------------------------------------------------

    async send() {
      const thread = this.thread;
      const text = this.textarea.value;
      if (!thread || !text.trim() || this.pending) return;
      const note = this.composer.querySelector("input[name=mode]:checked").value === "note";
      // One key per attempt to send this text: a retry of it cannot create a second message.
      this.pending = { key: randomKey() };
      const body = {
        conversationId: thread.id,
        message: {
          direction: B2P,
          visibility: note ? INTERNAL : PUBLIC,
          content: { basic: { items: [{ text: text }] } },
        },
      };
      this.composerError.hidden = true;
      const button = this.composer.querySelector("button[type=submit]");
      button.disabled = true;
      try {
        let result = null;
        for (let attempt = 1; attempt <= SEND_ATTEMPTS; attempt++) {
          try {
            result = await request(this.root, "POST", this.config.messagesUrl, body, {
              "Idempotency-Key": this.pending.key,
            });
            break;
          } catch (error) {
            const retriable = !(error instanceof ApiError) || error.status >= 500 || error.status === 429;
            if (!retriable || attempt === SEND_ATTEMPTS) throw error;
            await sleep(400 * attempt);
          }
        }
        this.textarea.value = "";
        // Shown from the REST answer: the socket may be down, and its copy is deduplicated.
        this.acceptMessage(thread.id, result.message, true);
        this.scrollToBottom();
      } catch (error) {
        this.composerError.hidden = false;
        this.composerError.textContent = "Not sent: " + error.message;
      } finally {
        this.pending = null;
        button.disabled = false;
        this.textarea.focus();
      }
    }

    // --- live --------------------------------------------------------------------------

    setStatus(state, text) {
      this.status.dataset.state = state;
      this.status.textContent = text;
    }

    socketUrl() {
      const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
      return scheme + "//" + window.location.host + this.config.socketPath;
    }

    connect() {
      if (this.stopped) return;
      clearTimeout(this.reconnectTimer);
      this.setStatus(this.hasConnected ? "reconnecting" : "connecting", this.hasConnected ? "Reconnecting…" : "Connecting…");
      let socket;
      try {
        socket = new WebSocket(this.socketUrl());
      } catch (error) {
        this.scheduleReconnect();
        return;
      }
      this.socket = socket;
      socket.addEventListener("open", () => this.sendResume());
      socket.addEventListener("message", (event) => this.onFrame(event.data));
      socket.addEventListener("close", (event) => this.onClose(socket, event));
    }

    sendResume() {
      const conversations = {};
      let named = 0;
      this.seen.forEach((sequence, id) => {
        // The server names at most 500; the rest are covered by "since".
        if (named < 500) {
          conversations[id] = sequence;
          named += 1;
        }
      });
      const frame = { type: "resume", conversations: conversations };
      if (big(this.since) > 0n) frame.since = this.since;
      this.socket.send(JSON.stringify(frame));
    }

    onFrame(raw) {
      let frame;
      try {
        frame = JSON.parse(raw);
      } catch (error) {
        return;
      }
      if (frame.type === "event") this.onEvent(frame.event);
      else if (frame.type === "ready") this.onReady();
      else if (frame.type === "reset") this.onReset();
      else if (frame.type === "pong") clearTimeout(this.pongTimer);
    }

    onReady() {
      const reconnected = this.hasConnected;
      this.hasConnected = true;
      this.attempt = 0;
      this.setStatus("live", "Live");
      this.startPing();
      // Replays carry messages, not read marks or counts: refresh those from REST.
      if (reconnected) this.scheduleRefresh();
    }

    async onReset() {
      // Too much was missed to replay: refetch over REST, then resume from there.
      await this.loadList();
      if (this.thread) await this.openThread(this.thread.id);
      if (this.socket && this.socket.readyState === WebSocket.OPEN) this.sendResume();
    }

    startPing() {
      clearInterval(this.pingTimer);
      this.pingTimer = setInterval(() => {
        if (!this.socket || this.socket.readyState !== WebSocket.OPEN) return;
        this.socket.send(JSON.stringify({ type: "ping" }));
        clearTimeout(this.pongTimer);
        // No pong: the connection is dead without having closed; close it to reconnect.
        const socket = this.socket;
        this.pongTimer = setTimeout(() => socket.close(), PONG_TIMEOUT_MS);
      }, PING_EVERY_MS);
    }

    onClose(socket, event) {
      if (socket !== this.socket) return;
      clearInterval(this.pingTimer);
      clearTimeout(this.pongTimer);
      this.socket = null;
      if (event.code === 4401 || event.code === 4403) {
        this.stopped = true;
        this.setStatus("offline", event.code === 4401 ? "Offline: log in again" : "Offline: no permission");
        return;
      }
      this.scheduleReconnect();
    }

    scheduleReconnect() {
      // Exponential back-off with jitter, so that a restarted server is not hit by every page
      // at the same instant.
      const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * Math.pow(2, this.attempt));
      const delay = Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
      this.attempt += 1;
      this.setStatus("reconnecting", "Reconnecting…");
      this.reconnectTimer = setTimeout(() => this.connect(), delay);
    }

    rememberEvent(id) {
      if (this.eventIds.has(id)) return false;
      this.eventIds.add(id);
      if (this.eventIds.size > MAX_REMEMBERED_EVENTS) {
        this.eventIds.delete(this.eventIds.values().next().value);
      }
      return true;
    }

    onEvent(event) {
      if (!event || !event.id || !this.rememberEvent(event.id)) return;
      const data = event.data || {};
      if (event.slug === "message_sent_to_business" || event.slug === "message_sent_to_participant") {
        this.acceptMessage(data.conversationId, data.message, false);
      } else if (event.slug === "conversation_read") {
        this.acceptRead(data);
      } else if (event.slug === "conversations_merged") {
        (data.oldConversationIds || []).forEach((id) => this.rows.delete(id));
        if (this.thread && (data.oldConversationIds || []).indexOf(this.thread.id) >= 0) {
          this.openThread(data.targetConversationId);
        }
        this.scheduleRefresh();
      }
    }

    /**
     * A message from the socket (live or replayed) or from a send's REST answer.
     *
     * Two positions per conversation: ``row.lastSequence`` (the row's unread count accounts for
     * every message up to it) and ``seen`` (where a resume continues: every message up to it has
     * reached the page). A send's answer moves neither: a participant message committed just
     * before it may not have reached the page yet, and must still be replayed and counted.
     */
    acceptMessage(conversationId, message, fromSend) {
      if (!conversationId || !message) return;
      const row = this.rows.get(conversationId);
      const open = this.thread && this.thread.id === conversationId;
      const added = open ? this.addMessage(message) : false;
      if (open && added && !fromSend && this.pinned) this.scrollToBottom();
      if (!fromSend) this.noteSeen(conversationId, message.sequence);
      if (!row) {
        // A conversation the list does not show yet: ask the server for the current first page.
        this.scheduleRefresh();
        return;
      }
      const sequence = big(message.sequence);
      if (!message.silent && sequence > big(row.lastMessageSequence)) {
        row.lastMessageSequence = message.sequence;
        row.previewText = message.content.previewText || row.previewText;
        row.lastActivityDate = message.createdDate;
        row.lastMessageDirection = message.direction;
        row.lastMessageVisibility = message.visibility;
      }
      if (!fromSend && sequence > big(row.lastSequence)) {
        row.lastSequence = message.sequence;
        const own = message.sender && message.sender.wixUserId === this.me;
        if (!message.silent && !own) {
          if (open && document.visibilityState === "visible") this.markRead();
          else row.unreadCount += 1;
        }
      }
      this.renderList();
    }

    acceptRead(data) {
      const row = this.rows.get(data.conversationId);
      const by = data.readBy || {};
      if (by.wixUserId) {
        // Another staff user's cursor changes nothing here; ours may move from another tab.
        if (by.wixUserId === this.me) this.applyOwnRead(data.conversationId, data.sequence);
        return;
      }
      if (row) row.participantReadSequence = maxSeq(row.participantReadSequence, data.sequence);
      if (this.thread && this.thread.id === data.conversationId) {
        this.thread.participantReadSequence = maxSeq(this.thread.participantReadSequence, data.sequence);
        this.renderSeenMarks();
      }
    }

    // --- wiring --------------------------------------------------------------------------

    bindUi() {
      let searchTimer = null;
      this.filtersForm.addEventListener("submit", (event) => event.preventDefault());
      this.filtersForm.addEventListener("input", () => {
        clearTimeout(searchTimer);
        searchTimer = setTimeout(() => this.loadList(), 250);
      });
      this.filtersForm.addEventListener("change", () => this.loadList());
      this.moreButton.addEventListener("click", () => this.loadList(true));
      this.listEl.addEventListener("scroll", () => {
        const list = this.listEl;
        if (this.listCursor && list.scrollHeight - list.scrollTop - list.clientHeight < 40) {
          this.loadList(true);
        }
      });
      this.messagesBox.addEventListener("scroll", () => {
        this.pinned = this.nearBottom();
        if (this.messagesBox.scrollTop < 60) this.loadOlder(false);
      });
      // Images load after their message is placed: stay at the bottom if the reader was there.
      new ResizeObserver(() => {
        if (this.pinned) this.messagesBox.scrollTop = this.messagesBox.scrollHeight;
      }).observe(this.messageList);
      this.notesToggle.addEventListener("change", () => {
        this.messagesBox.classList.toggle("notes-only", this.notesToggle.checked);
      });
      this.composer.addEventListener("change", () => {
        const note = this.composer.querySelector("input[name=mode]:checked").value === "note";
        this.composer.classList.toggle("note", note);
        this.textarea.placeholder = note
          ? "Write an internal note (only staff see it)…"
          : "Write a reply… (Enter to send, Shift+Enter for a new line)";
      });
      this.composer.addEventListener("submit", (event) => {
        event.preventDefault();
        this.send();
      });
      this.textarea.addEventListener("keydown", (event) => {
        if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
          event.preventDefault();
          this.send();
        }
      });
      document.addEventListener("visibilitychange", () => {
        if (document.visibilityState === "visible" && this.thread) this.markRead();
      });
    }
  }

  function boot() {
    const root = document.getElementById("inbox-staff-page");
    const configNode = document.getElementById("inbox-config");
    if (!root || !configNode) return;
    const page = new InboxPage(root, JSON.parse(configNode.textContent));
    page.start();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", boot);
  else boot();
})();
