/*
 * Saved replies in the composer: typing "/" at the start of the message opens a list of the
 * shared replies and the user's own (GET v2/saved-replies), filtered as one types; arrow keys
 * move, Enter or a click inserts the reply with its placeholders filled, Escape closes.
 *
 * The list is an ARIA listbox the textarea controls: focus stays in the textarea and
 * aria-activedescendant names the highlighted option, as in a combobox.
 */

import { el } from "../common/dom.js";
import { gettext, interpolate } from "../common/i18n.js";
import { withQuery } from "../common/rest.js";

const LIST_LIMIT = 500;
const PREVIEW_CHARS = 80;
const PLACEHOLDER = /([ \t]?)\{\s*(name|first_name)\s*(?:\|([^{}]*))?\}/g;

/**
 * ``text`` with its placeholders filled from the participant's ``name`` ("" or null: unknown).
 *
 * ``{name}`` is the name, ``{first_name}`` its first word. ``{name|fallback}`` says the fallback
 * when the name is unknown; without one the placeholder and the space before it go
 * ("Hi {first_name}, thanks" → "Hi, thanks"). Any other ``{…}`` is left as written.
 */
export function fillPlaceholders(text, name) {
  const known = typeof name === "string" ? name.trim() : "";
  return text.replace(PLACEHOLDER, (match, space, placeholder, fallback) => {
    if (known) return space + (placeholder === "first_name" ? known.split(/\s+/)[0] : known);
    const given = fallback === undefined ? "" : fallback.trim();
    return given ? space + given : "";
  });
}

function folded(value) {
  return value
    .normalize("NFD")
    .replace(/[\u0300-\u036f]/g, "")
    .toLowerCase();
}

/**
 * The replies that match ``query``: every word of it in the title or the text, ignoring case
 * and accents. Titles that start with the query come first, then titles that hold every word,
 * then the rest; within each, the order given (the server's: by title).
 */
export function filterReplies(replies, query) {
  const wanted = folded(query || "").trim();
  if (!wanted) return replies.slice();
  const words = wanted.split(/\s+/);
  const ranked = [];
  replies.forEach((reply, index) => {
    const title = folded(reply.title);
    const everything = title + "\n" + folded(reply.text);
    if (!words.every((word) => everything.includes(word))) return;
    let rank = 2;
    if (title.startsWith(wanted)) rank = 0;
    else if (words.every((word) => title.includes(word))) rank = 1;
    ranked.push({ reply, rank, index });
  });
  ranked.sort((a, b) => a.rank - b.rank || a.index - b.index);
  return ranked.map((entry) => entry.reply);
}

/** The query of a "/" typed at the start of ``value`` up to the caret, or null if none. */
export function slashQuery(value, caret) {
  if (!value.startsWith("/") || caret < 1) return null;
  const query = value.slice(1, caret);
  return query.includes("\n") ? null : query;
}

export class SavedReplies {
  constructor(page, textarea) {
    this.page = page;
    this.textarea = textarea;
    this.box = page.root.querySelector(".inbox-replies");
    this.listEl = this.box.querySelector("[role=listbox]");
    this.statusEl = this.box.querySelector(".inbox-replies-status");
    this.replies = null; // fetched when the list opens
    this.matches = [];
    this.active = -1;
    this.generation = 0;
  }

  isOpen() {
    return !this.box.hidden;
  }

  bind() {
    this.textarea.setAttribute("aria-controls", this.listEl.id);
    this.textarea.setAttribute("aria-autocomplete", "list");
    this.textarea.addEventListener("input", () => this.update());
    this.textarea.addEventListener("blur", () => this.close());
    // A click must not take the focus from the textarea (it would close the list first).
    this.listEl.addEventListener("mousedown", (event) => event.preventDefault());
    this.listEl.addEventListener("click", (event) => {
      const option = event.target.closest("[role=option]");
      if (option) this.insert(Number(option.dataset.index));
    });
  }

  /** Open, filter or close the list after the textarea changed. */
  update() {
    const query = slashQuery(this.textarea.value, this.textarea.selectionStart);
    if (query === null) {
      this.close();
      return;
    }
    if (!this.isOpen()) this.open();
    this.query = query;
    this.render();
  }

  async open() {
    this.box.hidden = false;
    this.replies = null;
    const generation = ++this.generation;
    let body;
    try {
      body = await this.page.call("GET", withQuery(this.page.config.savedRepliesUrl, { "paging.limit": LIST_LIMIT }));
    } catch (error) {
      if (generation !== this.generation) return;
      this.replies = [];
      this.render(interpolate(gettext("Could not load saved replies: %(error)s"), { error: error.message }));
      return;
    }
    if (generation !== this.generation || !this.isOpen()) return;
    this.replies = body.savedReplies;
    this.render();
  }

  close() {
    if (!this.isOpen()) return;
    this.generation++;
    this.box.hidden = true;
    this.listEl.replaceChildren();
    this.matches = [];
    this.active = -1;
    this.textarea.removeAttribute("aria-activedescendant");
  }

  render(error) {
    if (!this.isOpen()) return;
    if (this.replies === null) {
      this.listEl.replaceChildren();
      this.statusEl.textContent = gettext("Loading saved replies…");
      return;
    }
    this.matches = filterReplies(this.replies, this.query || "");
    this.active = this.matches.length ? 0 : -1;
    const fragment = document.createDocumentFragment();
    this.matches.forEach((reply, index) => {
      const option = el("li", "inbox-reply");
      option.id = this.listEl.id + "-" + index;
      option.setAttribute("role", "option");
      option.dataset.index = String(index);
      option.append(el("strong", null, reply.title));
      if (reply.shared) option.append(el("span", "inbox-reply-shared", gettext("shared")));
      option.append(el("span", "inbox-reply-preview", reply.text.slice(0, PREVIEW_CHARS)));
      fragment.appendChild(option);
    });
    this.listEl.replaceChildren(fragment);
    if (error) this.statusEl.textContent = error;
    else this.statusEl.textContent = this.matches.length ? "" : gettext("No saved reply matches.");
    this.highlight();
  }

  highlight() {
    Array.from(this.listEl.children).forEach((option, index) => {
      option.setAttribute("aria-selected", index === this.active ? "true" : "false");
    });
    const option = this.active >= 0 ? this.listEl.children[this.active] : null;
    if (option) {
      this.textarea.setAttribute("aria-activedescendant", option.id);
      option.scrollIntoView({ block: "nearest" });
    } else {
      this.textarea.removeAttribute("aria-activedescendant");
    }
  }

  /** Keys while the list is open; true if the key was the list's (the composer ignores it). */
  handleKey(event) {
    if (!this.isOpen() || event.isComposing) return false;
    const count = this.matches.length;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      if (count) this.active = (this.active + (event.key === "ArrowDown" ? 1 : count - 1)) % count;
      this.highlight();
    } else if (event.key === "Enter" && !event.shiftKey) {
      if (this.active >= 0) this.insert(this.active);
      else this.close();
    } else if (event.key === "Escape") {
      this.close();
    } else {
      return false;
    }
    event.preventDefault();
    return true;
  }

  /** Replace "/query" with the chosen reply, its placeholders filled for the open thread. */
  insert(index) {
    const reply = this.matches[index];
    if (!reply) return;
    const caret = this.textarea.selectionStart;
    const value = this.textarea.value;
    const text = fillPlaceholders(reply.text, this.participantName());
    this.textarea.value = text + value.slice(caret);
    this.textarea.setSelectionRange(text.length, text.length);
    this.close();
    this.textarea.focus();
  }

  /** The open thread's participant name, or "" when nobody gave one ("Visitor 3f2a1b"). */
  participantName() {
    const thread = this.page.thread.current;
    const row = thread ? this.page.list.rows.get(thread.id) : null;
    return row && row.participantNamed ? row.conversation.participantDisplayData.name : "";
  }
}
