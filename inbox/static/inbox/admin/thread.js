/* The open conversation: its messages (newest page first, older ones on scroll), notes, "Seen"
 * marks and the staff user's read position. */

import { renderContent } from "../common/content.js";
import { el } from "../common/dom.js";
import { gettext, gettext_noop, interpolate } from "../common/i18n.js";
import { withQuery } from "../common/rest.js";
import { compareSequences, maxSequence } from "../common/stream.js";
import { DIRECTION, VISIBILITY } from "../common/wire.js";
import { formatTime, participantName } from "./format.js";

// The class names inbox.css styles, by part of a message (common/content.js).
const THEME = {
  classes: {
    text: "inbox-bubble",
    image: "inbox-bubble inbox-image",
    file: "inbox-bubble inbox-file",
    card: "inbox-bubble inbox-card",
    cardBody: "inbox-card-body",
    cardTitle: "inbox-card-title",
    cardLine: "inbox-card-line",
    buttons: "inbox-buttons",
    minimal: "inbox-activity",
    form: "inbox-bubble inbox-form",
    formDescription: "inbox-form-description",
    system: "inbox-bubble inbox-system",
  },
  unsupported: gettext_noop("[unsupported message]"),
};

export class ThreadView {
  constructor(page) {
    this.page = page;
    const root = page.root;
    this.current = null; // {id, messages: Map(id -> message), nodes: Map(id -> li), cursor, loading}
    this.readTimers = new Map(); // conversation id -> pending read timer
    this.pinned = true; // the thread is scrolled to its newest message
    this.box = root.querySelector(".inbox-messages");
    this.list = root.querySelector(".inbox-message-list");
    this.olderStatus = root.querySelector(".inbox-older-status");
    this.name = root.querySelector(".inbox-thread-name");
    this.kind = root.querySelector(".inbox-thread-kind");
    this.notesToggle = root.querySelector("input[name=notesOnly]");
  }

  isOpen(id) {
    return !!this.current && this.current.id === id;
  }

  async open(id) {
    const page = this.page;
    const row = page.list.rows.get(id);
    this.current = {
      id,
      messages: new Map(),
      nodes: new Map(),
      cursor: null,
      loading: false,
      participantReadSequence: row ? row.participantReadSequence : "0",
    };
    this.list.replaceChildren();
    this.pinned = true;
    this.name.textContent = row ? participantName(row, page.kinds) : "";
    this.kind.textContent = row ? page.kinds.label(row.participantKind) : "";
    page.composer.show();
    page.typing.opened(id);
    page.list.render();
    page.statusControls.render();
    page.assignControls.render();
    await this.loadOlder(true);
    this.scrollToBottom();
    this.markRead();
  }

  /** Show no conversation (after marking the open one unread, which reading would undo). */
  close() {
    this.current = null;
    this.page.typing.opened(null);
    this.list.replaceChildren();
    this.olderStatus.hidden = true;
    this.name.textContent = gettext("Select a conversation");
    this.kind.textContent = "";
    this.page.composer.form.hidden = true;
    this.page.list.render();
    this.page.statusControls.render();
  }

  async loadOlder(first) {
    const thread = this.current;
    if (!thread || thread.loading || (!first && !thread.cursor)) return;
    thread.loading = true;
    this.olderStatus.hidden = false;
    this.olderStatus.textContent = gettext("Loading…");
    const params = {
      conversationId: thread.id,
      visibility: VISIBILITY.BUSINESS,
      "paging.limit": this.page.config.pageSize,
      "sorting.order": "DESC",
    };
    if (!first) params["paging.cursor"] = thread.cursor;
    try {
      const body = await this.page.call("GET", withQuery(this.page.config.messagesUrl, params));
      if (this.current !== thread) return;
      const box = this.box;
      const fromBottom = box.scrollHeight - box.scrollTop;
      body.messages.forEach((message) => this.add(message));
      // The newest page is a snapshot: every message up to its first one has been stored.
      if (first && body.messages.length) this.page.noteSeen(thread.id, body.messages[0].sequence);
      thread.cursor = body.pagingMetadata.cursors.next || null;
      if (!first) box.scrollTop = box.scrollHeight - fromBottom;
      this.olderStatus.hidden = !!thread.cursor || thread.messages.size === 0;
      this.olderStatus.textContent = thread.cursor ? "" : gettext("Beginning of the conversation");
      if (!thread.messages.size) {
        this.olderStatus.hidden = false;
        this.olderStatus.textContent = gettext("No messages yet");
      }
    } catch (error) {
      if (this.current === thread) {
        this.olderStatus.textContent = interpolate(gettext("Could not load: %(error)s"), { error: error.message });
      }
    } finally {
      thread.loading = false;
    }
  }

  /** Insert a message in sequence order; returns false if the thread already had it. */
  add(message) {
    const thread = this.current;
    if (!thread || thread.messages.has(message.id)) return false;
    thread.messages.set(message.id, message);
    const node = this.renderMessage(message);
    thread.nodes.set(message.id, node);
    let before = null;
    for (const child of this.list.children) {
      if (compareSequences(child.dataset.sequence, message.sequence) > 0) {
        before = child;
        break;
      }
    }
    this.list.insertBefore(node, before);
    this.renderSeenMarks();
    return true;
  }

  senderLabel(message) {
    const page = this.page;
    const sender = message.sender || {};
    if (sender.wixUserId) return sender.wixUserId === page.me ? gettext("You") : gettext("Staff");
    if (sender.appId) return gettext("App");
    const row = page.list.rows.get(this.current.id);
    const name = row && row.conversation.participantDisplayData.name;
    return name || page.kinds.senderLabel(sender) || gettext("Participant");
  }

  renderMessage(message) {
    const item = el("li", "inbox-message");
    item.dataset.messageId = message.id;
    item.dataset.sequence = message.sequence;
    item.dataset.visibility = message.visibility;
    if (message.direction === DIRECTION.BUSINESS_TO_PARTICIPANT) item.classList.add("outgoing");
    if (message.visibility === VISIBILITY.BUSINESS) {
      item.classList.add("internal");
      item.appendChild(el("span", "inbox-internal-label", gettext("Internal note")));
    }
    item.append(...renderContent(message, THEME));
    const meta = el("div", "inbox-meta");
    meta.appendChild(document.createTextNode(this.senderLabel(message) + " · " + formatTime(message.createdDate)));
    if (message.silent) meta.appendChild(el("span", "inbox-silent", "· " + gettext("silent")));
    item.appendChild(meta);
    return item;
  }

  /** The participant read up to ``sequence`` (a row fetched again, or a read event). */
  readByParticipant(id, sequence) {
    if (!this.isOpen(id)) return;
    this.current.participantReadSequence = maxSequence(this.current.participantReadSequence, sequence);
    this.renderSeenMarks();
  }

  /** "Seen" on the newest reply the participant has read. */
  renderSeenMarks() {
    const thread = this.current;
    if (!thread) return;
    const read = thread.participantReadSequence;
    let newest = null;
    thread.nodes.forEach((node, id) => {
      const old = node.querySelector(".inbox-seen");
      if (old) old.remove();
      const message = thread.messages.get(id);
      if (
        message.direction === DIRECTION.BUSINESS_TO_PARTICIPANT &&
        message.visibility === VISIBILITY.BUSINESS_AND_PARTICIPANT &&
        compareSequences(message.sequence, read) <= 0 &&
        (!newest || compareSequences(message.sequence, newest.sequence) > 0)
      ) {
        newest = message;
      }
    });
    if (newest) {
      const seen = el("span", "inbox-seen", "✓ " + gettext("Seen"));
      thread.nodes.get(newest.id).querySelector(".inbox-meta").appendChild(seen);
    }
  }

  scrollToBottom() {
    this.pinned = true;
    this.box.scrollTop = this.box.scrollHeight;
  }

  nearBottom() {
    const box = this.box;
    return box.scrollHeight - box.scrollTop - box.clientHeight < 80;
  }

  markRead() {
    // Debounced per conversation, and for the thread whose messages were shown, even if
    // another one is open when the timer fires.
    const thread = this.current;
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
    if (document.visibilityState !== "visible") return;
    let top = "0";
    thread.messages.forEach((message) => {
      top = maxSequence(top, message.sequence);
    });
    const row = this.page.list.rows.get(thread.id);
    if (top === "0" || (row && compareSequences(row.readSequence, top) >= 0)) return;
    try {
      const body = await this.page.call("POST", this.page.config.conversationsUrl + "/" + thread.id + "/read", {
        sequence: top,
      });
      this.page.applyOwnRead(thread.id, body.sequence);
    } catch (error) {
      // Not fatal: the badge stays until the next successful read.
    }
  }

  bind() {
    this.box.addEventListener("scroll", () => {
      this.pinned = this.nearBottom();
      if (this.box.scrollTop < 60) this.loadOlder(false);
    });
    // Images load after their message is placed: stay at the bottom if the reader was there.
    new ResizeObserver(() => {
      if (this.pinned) this.box.scrollTop = this.box.scrollHeight;
    }).observe(this.list);
    this.notesToggle.addEventListener("change", () => {
      this.box.classList.toggle("notes-only", this.notesToggle.checked);
    });
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible" && this.current) this.markRead();
    });
  }
}
