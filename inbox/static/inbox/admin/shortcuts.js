/*
 * Keyboard shortcuts of the staff page: j/k move between conversations, e closes the open one,
 * a assigns it to me, / starts a saved reply in the composer, ? lists them all (a dialog).
 *
 * None fires while the user types in a field (the composer's own "/" at its start is the saved
 * replies list, composer.js), with Ctrl, Alt or Meta held (the browser's and the system's
 * shortcuts), during an IME composition, or while a dialog is open.
 */

import { el } from "../common/dom.js";
import { gettext, gettext_noop } from "../common/i18n.js";
import { STATUS, currentStatus } from "./status.js";

/** Every shortcut: its key, what it does (an action name) and how the ? dialog says it. */
export const SHORTCUTS = Object.freeze([
  { key: "j", action: "next", label: gettext_noop("Next conversation") },
  { key: "k", action: "previous", label: gettext_noop("Previous conversation") },
  { key: "e", action: "close", label: gettext_noop("Close the conversation") },
  { key: "a", action: "assignToMe", label: gettext_noop("Assign the conversation to me") },
  { key: "/", action: "savedReply", label: gettext_noop("Insert a saved reply (also at the start of the message)") },
  { key: "?", action: "help", label: gettext_noop("Show these shortcuts") },
]);

const TEXT_INPUTS = new Set(["", "text", "search", "email", "number", "password", "tel", "url", "date", "time"]);

/** Is ``target`` a place where keys type text (or pick a value) rather than command the page? */
export function isTyping(target) {
  if (!target || !target.tagName) return false;
  if (target.isContentEditable) return true;
  const tag = target.tagName.toLowerCase();
  if (tag === "textarea" || tag === "select") return true;
  return tag === "input" && TEXT_INPUTS.has((target.getAttribute("type") || "").toLowerCase());
}

/**
 * The action a keydown asks for, or null. ``event`` needs key, the modifier flags, isComposing
 * and target. Shift is allowed only where it is part of the character ("?" on most layouts), so
 * "J" or Shift+E do nothing.
 */
export function shortcutAction(event) {
  if (event.ctrlKey || event.metaKey || event.altKey || event.isComposing) return null;
  if (isTyping(event.target)) return null;
  const shortcut = SHORTCUTS.find((entry) => entry.key === event.key);
  if (!shortcut) return null;
  if (event.shiftKey && /^[a-z]$/.test(shortcut.key)) return null;
  return shortcut.action;
}

export class Shortcuts {
  constructor(page) {
    this.page = page;
    this.dialog = document.querySelector(".inbox-shortcuts");
    this.helpButton = document.querySelector(".inbox-shortcuts-button");
  }

  bind() {
    const list = this.dialog.querySelector(".inbox-shortcuts-list");
    SHORTCUTS.forEach((shortcut) => {
      const term = el("dt");
      term.appendChild(el("kbd", null, shortcut.key));
      list.append(term, el("dd", null, gettext(shortcut.label)));
    });
    this.helpButton.addEventListener("click", () => this.help());
    document.addEventListener("keydown", (event) => this.onKeyDown(event));
  }

  onKeyDown(event) {
    if (event.defaultPrevented || this.dialog.open) return;
    const action = shortcutAction(event);
    if (!action) return;
    event.preventDefault();
    this[action]();
  }

  /** The conversation buttons in the order the list shows them. */
  buttons() {
    return Array.from(this.page.root.querySelectorAll(".inbox-conversation"));
  }

  move(step) {
    const buttons = this.buttons();
    if (!buttons.length) return;
    const thread = this.page.thread.current;
    const at = thread ? buttons.findIndex((button) => button.dataset.conversationId === thread.id) : -1;
    const to = at < 0 ? (step > 0 ? 0 : buttons.length - 1) : Math.min(Math.max(at + step, 0), buttons.length - 1);
    if (to === at) return;
    const id = buttons[to].dataset.conversationId;
    this.page.thread.open(id).then(() => {
      const button = this.page.root.querySelector('.inbox-conversation[data-conversation-id="' + id + '"]');
      if (button) button.scrollIntoView({ block: "nearest" });
    });
  }

  next() {
    this.move(1);
  }

  previous() {
    this.move(-1);
  }

  close() {
    const controls = this.page.statusControls;
    const row = controls.currentRow();
    if (row && controls.canChange && currentStatus(row) !== STATUS.CLOSED) controls.set({ status: STATUS.CLOSED });
  }

  assignToMe() {
    const controls = this.page.assignControls;
    const thread = this.page.thread.current;
    if (!thread || !controls.canChange) return;
    const row = this.page.list.rows.get(thread.id);
    if (row && row.assignee && row.assignee.wixUserId === this.page.me) return;
    controls.assign(this.page.me);
  }

  savedReply() {
    this.page.composer.startSavedReply();
  }

  help() {
    this.dialog.showModal();
  }
}
