/*
 * The staff inbox page (contract §6): what each business-stream event does to the list and the
 * open thread. The connection itself (resume, back-off, dedupe) is common/stream.js.
 *
 * Reads and writes go through the REST API (session + CSRF token).
 */

import { previewThumbnail } from "../common/content.js";
import { gettext, gettext_noop } from "../common/i18n.js";
import { requestJson } from "../common/rest.js";
import {
  CLOSE_UNAUTHENTICATED,
  StreamClient,
  businessResume,
  compareSequences,
  maxSequence,
} from "../common/stream.js";
import { AssignControls } from "./assignment.js";
import { Composer } from "./composer.js";
import { ParticipantKinds } from "./format.js";
import { ConversationList } from "./list.js";
import { Shortcuts } from "./shortcuts.js";
import { Notifier } from "./notify.js";
import { StatusControls } from "./status.js";
import { ThreadView } from "./thread.js";
import { TypingPanel } from "./typing.js";

const STATUS_TEXT = {
  connecting: gettext_noop("Connecting…"),
  reconnecting: gettext_noop("Reconnecting…"),
  live: gettext_noop("Live"),
};

export class InboxPage {
  constructor(root, config) {
    this.root = root;
    this.config = config;
    this.me = config.me.wixUserId;
    this.kinds = new ParticipantKinds(config.participantKinds);
    this.seen = new Map(); // conversation id -> highest sequence the page has accounted for
    this.since = "0"; // highest sequence seen in any conversation
    this.status = document.querySelector(".inbox-status");
    this.list = new ConversationList(this);
    this.thread = new ThreadView(this);
    this.composer = new Composer(this);
    this.statusControls = new StatusControls(this);
    this.assignControls = new AssignControls(this);
    this.shortcuts = new Shortcuts(this);
    this.typing = new TypingPanel(this);
    this.notifier = new Notifier(this);
    this.stream = new StreamClient({
      url: () => (window.location.protocol === "https:" ? "wss:" : "ws:") + "//" + window.location.host + config.socketPath,
      resumeFrame: () => businessResume(this.seen, this.since, config.resumeLimit),
      onEvent: (event) => this.onEvent(event),
      // Replays carry messages, not read marks or counts: refresh those from REST.
      onReady: (reconnected) => reconnected && this.list.scheduleRefresh(),
      onReset: () => this.reload(),
      onDenied: (code) =>
        this.setStatus(
          "offline",
          code === CLOSE_UNAUTHENTICATED ? gettext("Offline: log in again") : gettext("Offline: no permission")
        ),
      onStatus: (state) => this.setStatus(state, gettext(STATUS_TEXT[state])),
    });
  }

  start() {
    this.list.bind();
    this.thread.bind();
    this.composer.bind();
    this.statusControls.bind();
    this.assignControls.bind();
    this.shortcuts.bind();
    this.typing.bind();
    this.notifier.bind();
    this.list.load().then(() => {
      // A link into a thread (notification e-mails): ?conversation=<id>.
      const linked = new URLSearchParams(window.location.search).get("conversation");
      if (linked) this.thread.open(linked);
      this.stream.start();
    });
  }

  headers(extra) {
    const input = this.root.querySelector("input[name=csrfmiddlewaretoken]");
    return Object.assign({ "X-CSRFToken": input ? input.value : "" }, extra);
  }

  /** One REST call; a failure throws an ApiError. */
  call(method, url, body) {
    return requestJson(url, { method, body, headers: body === undefined ? {} : this.headers() });
  }

  setStatus(state, text) {
    this.status.dataset.state = state;
    this.status.textContent = text;
  }

  noteSeen(conversationId, sequence) {
    this.seen.set(conversationId, maxSequence(this.seen.get(conversationId), sequence));
    this.since = maxSequence(this.since, sequence);
  }

  async reload() {
    await this.list.load();
    if (this.thread.current) await this.thread.open(this.thread.current.id);
  }

  onEvent(event) {
    const data = event.data || {};
    if (event.slug === "message_sent_to_business" || event.slug === "message_sent_to_participant") {
      this.acceptMessage(data.conversationId, data.message, false);
    } else if (event.slug === "conversation_read") {
      this.acceptRead(data);
    } else if (event.slug === "conversation_status_changed" || event.slug === "conversation_marked_unread") {
      this.statusControls.onEvent(event);
    } else if (event.slug === "conversation_assigned") {
      this.assignControls.onEvent(event);
    } else if (event.slug === "participant_typing" || event.slug === "staff_typing" || event.slug === "staff_viewing") {
      this.typing.onEvent(event);
    } else if (event.slug === "conversations_merged") {
      const old = data.oldConversationIds || [];
      old.forEach((id) => this.list.rows.delete(id));
      if (this.thread.current && old.indexOf(this.thread.current.id) >= 0) {
        this.thread.open(data.targetConversationId);
      }
      this.list.scheduleRefresh();
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
    const row = this.list.rows.get(conversationId);
    const open = this.thread.isOpen(conversationId);
    const added = open ? this.thread.add(message) : false;
    if (open && added && !fromSend && this.thread.pinned) this.thread.scrollToBottom();
    if (!fromSend) this.noteSeen(conversationId, message.sequence);
    if (!row) {
      // A conversation the list does not show yet: ask the server for the current first page.
      if (!fromSend) this.notifier.onMessage(conversationId, message);
      this.list.scheduleRefresh();
      return;
    }
    if (!message.silent && compareSequences(message.sequence, row.lastMessageSequence) > 0) {
      row.lastMessageSequence = message.sequence;
      row.previewText = message.content.previewText || row.previewText;
      row.previewThumbnailUrl = previewThumbnail(message);
      row.lastActivityDate = message.createdDate;
      row.lastMessageDirection = message.direction;
      row.lastMessageVisibility = message.visibility;
    }
    if (!fromSend && compareSequences(message.sequence, row.lastSequence) > 0) {
      row.lastSequence = message.sequence;
      const own = message.sender && message.sender.wixUserId === this.me;
      if (!message.silent && !own) {
        if (open && document.visibilityState === "visible") this.thread.markRead();
        else {
          row.unreadCount += 1;
          this.notifier.onMessage(conversationId, message);
        }
      }
    }
    this.list.render();
  }

  acceptRead(data) {
    const row = this.list.rows.get(data.conversationId);
    const by = data.readBy || {};
    if (by.wixUserId) {
      // Another staff user's cursor changes nothing here; ours may move from another tab.
      if (by.wixUserId === this.me) this.applyOwnRead(data.conversationId, data.sequence);
      return;
    }
    if (row) row.participantReadSequence = maxSequence(row.participantReadSequence, data.sequence);
    this.thread.readByParticipant(data.conversationId, data.sequence);
  }

  applyOwnRead(conversationId, sequence) {
    const row = this.list.rows.get(conversationId);
    if (!row) return;
    row.readSequence = maxSequence(row.readSequence, sequence);
    if (compareSequences(row.readSequence, row.lastSequence) >= 0) row.unreadCount = 0;
    else this.list.scheduleRefresh(); // partly read: the server knows the exact count
    this.list.render();
  }
}
