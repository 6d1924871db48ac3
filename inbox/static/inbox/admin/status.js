/*
 * Conversation status on the staff page: the open thread's status line and its actions (close,
 * reopen, snooze, mark unread), and what conversation_status_changed and
 * conversation_marked_unread events do to the list. The server decides; the page shows what
 * the REST answer or the event says.
 */

import { gettext, interpolate } from "../common/i18n.js";
import { formatTime } from "./format.js";

export const STATUS = Object.freeze({ OPEN: "OPEN", SNOOZED: "SNOOZED", CLOSED: "CLOSED" });

const HOUR = 3600 * 1000;

/** The row's status as of now: a snooze that has run out reads open (as the server says). */
export function currentStatus(row) {
  if (row.status === STATUS.SNOOZED && row.snoozedUntil && Date.parse(row.snoozedUntil) <= Date.now()) {
    return STATUS.OPEN;
  }
  return row.status || STATUS.OPEN;
}

/** "Closed", "Snoozed until 14:00", or "" for an open conversation. */
export function statusLabel(row) {
  const status = currentStatus(row);
  if (status === STATUS.CLOSED) return gettext("Closed");
  if (status === STATUS.SNOOZED) {
    return interpolate(gettext("Snoozed until %(time)s"), { time: formatTime(row.snoozedUntil) });
  }
  return "";
}

/** When a snooze choice ends, from now. */
function snoozeEnd(choice) {
  const now = new Date();
  if (choice === "hour") return new Date(now.getTime() + HOUR);
  const end = new Date(now);
  end.setDate(end.getDate() + (choice === "week" ? 7 : 1));
  end.setHours(9, 0, 0, 0);
  return end;
}

export class StatusControls {
  constructor(page) {
    this.page = page;
    const root = page.root;
    this.box = root.querySelector(".inbox-thread-actions");
    this.label = root.querySelector(".inbox-thread-status");
    this.closeButton = root.querySelector(".inbox-close");
    this.reopenButton = root.querySelector(".inbox-reopen");
    this.snoozeSelect = root.querySelector("select[name=snooze]");
    this.unreadButton = root.querySelector(".inbox-mark-unread");
    this.error = root.querySelector(".inbox-thread-error");
    this.canChange = !!page.config.canSend;
  }

  bind() {
    this.closeButton.addEventListener("click", () => this.set({ status: STATUS.CLOSED }));
    this.reopenButton.addEventListener("click", () => this.set({ status: STATUS.OPEN }));
    this.snoozeSelect.addEventListener("change", () => {
      const choice = this.snoozeSelect.value;
      this.snoozeSelect.value = "";
      if (choice) this.set({ status: STATUS.SNOOZED, snoozedUntil: snoozeEnd(choice).toISOString() });
    });
    this.unreadButton.addEventListener("click", () => this.markUnread());
  }

  currentRow() {
    const thread = this.page.thread.current;
    return thread ? this.page.list.rows.get(thread.id) : null;
  }

  /** Show the open thread's status and the actions that apply to it. */
  render() {
    const row = this.currentRow();
    this.box.hidden = !row;
    if (!row) return;
    const status = currentStatus(row);
    this.label.textContent = statusLabel(row) || gettext("Open");
    this.label.dataset.status = status;
    this.closeButton.hidden = !this.canChange || status === STATUS.CLOSED;
    this.reopenButton.hidden = !this.canChange || status === STATUS.OPEN;
    this.snoozeSelect.hidden = !this.canChange;
  }

  showError(error) {
    this.error.hidden = !error;
    this.error.textContent = error
      ? interpolate(gettext("Could not change the conversation: %(error)s"), { error: error.message })
      : "";
  }

  async set(body) {
    const row = this.currentRow();
    if (!row) return;
    const id = row.conversation.id;
    try {
      const answer = await this.page.call("POST", this.page.config.conversationsUrl + "/" + id + "/status", body);
      this.showError(null);
      this.apply(id, answer.status, answer.snoozedUntil);
    } catch (error) {
      this.showError(error);
    }
  }

  async markUnread() {
    const row = this.currentRow();
    if (!row) return;
    const id = row.conversation.id;
    try {
      const answer = await this.page.call("POST", this.page.config.conversationsUrl + "/" + id + "/unread", {});
      this.showError(null);
      // Leave the thread, or it would be read again at once; the list fetches the exact count.
      this.page.thread.close();
      this.applyUnread(id, answer.sequence);
    } catch (error) {
      this.showError(error);
    }
  }

  /** A status from a REST answer or a conversation_status_changed event. */
  apply(id, status, snoozedUntil) {
    const row = this.page.list.rows.get(id);
    if (!row) {
      this.page.list.scheduleRefresh();
      return;
    }
    row.status = status;
    row.snoozedUntil = snoozedUntil || null;
    const filter = this.page.list.filters().status;
    if (filter && currentStatus(row) !== filter && !this.page.thread.isOpen(id)) {
      this.page.list.rows.delete(id); // no longer what the list is filtered on
    }
    this.page.list.render();
    this.render();
  }

  /** Our own read cursor moved back (here, or in another tab of ours). */
  applyUnread(id, sequence) {
    const row = this.page.list.rows.get(id);
    if (row) row.readSequence = sequence;
    this.page.list.scheduleRefresh();
  }

  onEvent(event) {
    const data = event.data || {};
    if (event.slug === "conversation_status_changed") {
      this.apply(data.conversationId, data.status, data.snoozedUntil);
    } else if (event.slug === "conversation_marked_unread") {
      const by = data.readBy || {};
      if (by.wixUserId === this.page.me) {
        if (this.page.thread.isOpen(data.conversationId)) this.page.thread.close();
        this.applyUnread(data.conversationId, data.sequence);
      }
    }
  }
}
