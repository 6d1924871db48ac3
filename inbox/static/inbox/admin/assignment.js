/*
 * Assignment on the staff page: the open thread's assignee menu, the rows' assignee names, and
 * what conversation_assigned does (the list, and a notice when a colleague assigns us).
 */

import { gettext, interpolate } from "../common/i18n.js";
import { participantName } from "./format.js";

const NOTICE_MS = 10000;

/** Does the row still match the list's assignee filter (``me``, ``none`` or none at all)? */
export function matchesAssigneeFilter(row, filter, me) {
  if (filter === "me") return !!row.assignee && row.assignee.wixUserId === me;
  if (filter === "none") return !row.assignee;
  return true;
}

export class AssignControls {
  constructor(page) {
    this.page = page;
    const root = page.root;
    this.select = root.querySelector("select.inbox-assignee");
    this.notice = document.querySelector(".inbox-notice");
    this.noticeTimer = null;
    this.canChange = !!page.config.canSend;
  }

  bind() {
    const me = this.page.me;
    const staff = this.page.config.assignableStaff || [];
    staff.forEach((user) => {
      const option = document.createElement("option");
      option.value = user.wixUserId;
      option.textContent =
        user.wixUserId === me ? interpolate(gettext("%(name)s (me)"), { name: user.name }) : user.name;
      this.select.appendChild(option);
    });
    this.select.addEventListener("change", () => this.assign(this.select.value || null));
  }

  render() {
    const thread = this.page.thread.current;
    const row = thread ? this.page.list.rows.get(thread.id) : null;
    if (!row) return;
    this.select.disabled = !this.canChange;
    const current = row.assignee ? row.assignee.wixUserId : "";
    if (current && !this.select.querySelector('option[value="' + current + '"]')) {
      // Assigned to someone the menu does not list (the permission was taken away since).
      const option = document.createElement("option");
      option.value = current;
      option.textContent = row.assignee.name;
      this.select.appendChild(option);
    }
    this.select.value = current;
  }

  async assign(wixUserId) {
    const thread = this.page.thread.current;
    if (!thread) return;
    try {
      const answer = await this.page.call("POST", this.page.config.conversationsUrl + "/" + thread.id + "/assignee", {
        wixUserId,
      });
      this.page.statusControls.showError(null);
      this.apply(thread.id, answer.assignee);
    } catch (error) {
      this.page.statusControls.showError(error);
      this.render();
    }
  }

  apply(id, assignee) {
    const row = this.page.list.rows.get(id);
    if (!row) {
      this.page.list.scheduleRefresh();
      return;
    }
    row.assignee = assignee || null;
    const filter = this.page.list.filters().assignee;
    if (!matchesAssigneeFilter(row, filter, this.page.me) && !this.page.thread.isOpen(id)) {
      this.page.list.rows.delete(id);
    }
    this.page.list.render();
    if (this.page.thread.isOpen(id)) this.render();
  }

  onEvent(event) {
    const data = event.data || {};
    const assignee = data.assignee || null;
    const by = data.assignedBy || {};
    const forMe = assignee && assignee.wixUserId === this.page.me && by.wixUserId !== this.page.me;
    if (!this.page.list.rows.has(data.conversationId) && forMe) this.page.list.scheduleRefresh();
    this.apply(data.conversationId, assignee);
    if (forMe) this.showNotice(data.conversationId);
  }

  showNotice(id) {
    const row = this.page.list.rows.get(id);
    const name = row ? participantName(row, this.page.kinds) : gettext("a conversation");
    this.notice.textContent = interpolate(gettext("Assigned to you: %(name)s"), { name });
    this.notice.hidden = false;
    clearTimeout(this.noticeTimer);
    this.noticeTimer = setTimeout(() => {
      this.notice.hidden = true;
    }, NOTICE_MS);
  }
}
