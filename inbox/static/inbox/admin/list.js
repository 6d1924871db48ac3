/* The conversation list: filters, pages, rows kept current by events, the unread total. */

import { mediaUrl } from "../common/content.js";
import { el, picture } from "../common/dom.js";
import { gettext, interpolate } from "../common/i18n.js";
import { compareSequences, maxSequence } from "../common/stream.js";
import { withQuery } from "../common/rest.js";
import { VISIBILITY } from "../common/wire.js";
import { formatTime, participantName } from "./format.js";
import { currentStatus, statusLabel } from "./status.js";

export class ConversationList {
  constructor(page) {
    this.page = page;
    const root = page.root;
    this.rows = new Map(); // conversation id -> list row (REST shape)
    this.cursor = null;
    this.generation = 0;
    this.loadingMore = false;
    this.refreshTimer = null;
    this.baseTitle = document.title.replace(/^\(\d+\) /, "");
    this.listEl = root.querySelector(".inbox-conversations");
    this.empty = root.querySelector(".inbox-list-empty");
    this.moreButton = root.querySelector(".inbox-more");
    this.filtersForm = root.querySelector(".inbox-filters");
  }

  filters() {
    const data = new FormData(this.filtersForm);
    return {
      q: (data.get("q") || "").trim(),
      participantKind: data.get("participantKind") || "",
      unread: data.get("unread") ? "true" : "",
      status: data.get("status") || "",
      assignee: data.get("assignee") || "",
    };
  }

  pageUrl(cursor) {
    const params = Object.assign(this.filters(), { "paging.limit": this.page.config.pageSize });
    if (cursor) params["paging.cursor"] = cursor;
    return withQuery(this.page.config.conversationsUrl, params);
  }

  async load(more) {
    if (more && (this.loadingMore || !this.cursor)) return;
    if (more) this.loadingMore = true;
    try {
      await this.fetchPage(more);
    } finally {
      if (more) this.loadingMore = false;
    }
  }

  async fetchPage(more) {
    const generation = more ? this.generation : ++this.generation;
    let body;
    try {
      body = await this.page.call("GET", this.pageUrl(more ? this.cursor : null));
    } catch (error) {
      this.showError(error);
      return;
    }
    if (generation !== this.generation) return; // the filters changed meanwhile
    if (!more) {
      // Rows fetched again replace what we knew; rows that no longer match go.
      this.rows.clear();
    }
    body.conversations.forEach((row) => this.accept(row));
    this.cursor = body.pagingMetadata.cursors.next || null;
    this.render();
  }

  /** Merge rows from a fresh first page without dropping rows loaded by later pages. */
  async refresh() {
    try {
      const body = await this.page.call("GET", this.pageUrl(null));
      body.conversations.forEach((row) => this.accept(row));
      if (!this.cursor && body.pagingMetadata.cursors.next) this.cursor = body.pagingMetadata.cursors.next;
      this.render();
    } catch (error) {
      this.showError(error);
    }
  }

  scheduleRefresh() {
    clearTimeout(this.refreshTimer);
    this.refreshTimer = setTimeout(() => this.refresh(), 250);
  }

  accept(row) {
    const id = row.conversation.id;
    const known = this.rows.get(id);
    if (known && compareSequences(known.lastSequence, row.lastSequence) > 0) {
      // Events already took this row past the snapshot; keep it, with the newer read marks.
      known.participantReadSequence = maxSequence(known.participantReadSequence, row.participantReadSequence);
      row = known;
    }
    this.rows.set(id, row);
    this.page.noteSeen(id, row.lastSequence);
    this.page.thread.readByParticipant(id, row.participantReadSequence);
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

  render() {
    const fragment = document.createDocumentFragment();
    let unreadTotal = 0;
    this.sortedRows().forEach((row) => {
      unreadTotal += row.unreadCount;
      fragment.appendChild(this.renderRow(row));
    });
    this.listEl.replaceChildren(fragment);
    this.empty.hidden = this.rows.size > 0;
    this.moreButton.hidden = !this.cursor;
    document.title = (unreadTotal ? "(" + unreadTotal + ") " : "") + this.baseTitle;
  }

  renderRow(row) {
    const id = row.conversation.id;
    const kinds = this.page.kinds;
    const item = el("li");
    const button = el("button", "inbox-conversation");
    button.type = "button";
    button.dataset.conversationId = id;
    if (this.page.thread.isOpen(id)) button.setAttribute("aria-current", "true");
    if (row.unreadCount > 0) button.classList.add("has-unread");
    button.appendChild(el("span", "inbox-conversation-name", participantName(row, kinds)));
    button.appendChild(el("span", "inbox-conversation-time", formatTime(row.lastActivityDate)));
    const preview = el("span", "inbox-conversation-preview");
    if (row.lastMessageVisibility === VISIBILITY.BUSINESS) preview.appendChild(el("em", null, gettext("Note:") + " "));
    const thumbnail = mediaUrl(row.previewThumbnailUrl);
    // Decorative: the preview text names the image.
    if (thumbnail) preview.appendChild(picture(thumbnail, "", "inbox-conversation-thumbnail"));
    preview.appendChild(document.createTextNode(row.previewText || gettext("No messages yet")));
    button.appendChild(preview);
    if (row.unreadCount > 0) {
      const badge = el("span", "inbox-unread", row.unreadCount);
      badge.setAttribute("aria-label", interpolate(gettext("Unread messages: %(count)s"), { count: row.unreadCount }));
      button.appendChild(badge);
    }
    const status = statusLabel(row);
    button.dataset.status = currentStatus(row);
    const kindLabel = el("span", "inbox-conversation-kind", kinds.label(row.participantKind));
    if (status) kindLabel.appendChild(el("span", "inbox-conversation-status", status));
    if (row.assignee) {
      // One string each, so that a right-to-left language can turn the arrow.
      const assignee =
        row.assignee.wixUserId === this.page.me
          ? gettext("→ you")
          : interpolate(gettext("→ %(name)s"), { name: row.assignee.name });
      kindLabel.appendChild(el("span", "inbox-conversation-assignee", assignee));
    }
    button.appendChild(kindLabel);
    button.addEventListener("click", () => this.page.thread.open(id));
    item.appendChild(button);
    return item;
  }

  showError(error) {
    this.empty.hidden = false;
    this.empty.textContent = interpolate(gettext("Could not load conversations: %(error)s"), { error: error.message });
  }

  bind() {
    let searchTimer = null;
    this.filtersForm.addEventListener("submit", (event) => event.preventDefault());
    this.filtersForm.addEventListener("input", () => {
      clearTimeout(searchTimer);
      searchTimer = setTimeout(() => this.load(), 250);
    });
    this.filtersForm.addEventListener("change", () => this.load());
    this.moreButton.addEventListener("click", () => this.load(true));
    this.listEl.addEventListener("scroll", () => {
      const list = this.listEl;
      if (this.cursor && list.scrollHeight - list.scrollTop - list.clientHeight < 40) this.load(true);
    });
  }
}
