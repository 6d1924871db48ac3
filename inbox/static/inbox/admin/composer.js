/* Replies and internal notes. One Idempotency-Key per text: a retry cannot create a second
 * message. */

import { randomKey } from "../common/dom.js";
import { gettext, interpolate } from "../common/i18n.js";
import { ApiError, isRetryable, request } from "../common/rest.js";
import { DIRECTION, VISIBILITY } from "../common/wire.js";

const SEND_ATTEMPTS = 3;

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export class Composer {
  constructor(page) {
    this.page = page;
    this.form = page.root.querySelector(".inbox-composer");
    this.textarea = this.form.querySelector("textarea");
    this.error = this.form.querySelector(".inbox-composer-error");
    this.button = this.form.querySelector("button[type=submit]");
    this.sending = false;
  }

  show() {
    this.form.hidden = !this.page.config.canSend;
    this.error.hidden = true;
  }

  isNote() {
    return this.form.querySelector("input[name=mode]:checked").value === "note";
  }

  async post(body, key) {
    for (let attempt = 1; ; attempt++) {
      const response = await request(this.page.config.messagesUrl, {
        method: "POST",
        body,
        headers: this.page.headers({ "Idempotency-Key": key }),
      });
      if (response.ok) return response.data;
      if (!isRetryable(response.status) || attempt === SEND_ATTEMPTS) throw new ApiError(response);
      await sleep(400 * attempt);
    }
  }

  async send() {
    const thread = this.page.thread.current;
    const text = this.textarea.value;
    if (!thread || !text.trim() || this.sending) return;
    this.sending = true;
    const body = {
      conversationId: thread.id,
      message: {
        direction: DIRECTION.BUSINESS_TO_PARTICIPANT,
        visibility: this.isNote() ? VISIBILITY.BUSINESS : VISIBILITY.BUSINESS_AND_PARTICIPANT,
        content: { basic: { items: [{ text }] } },
      },
    };
    this.error.hidden = true;
    this.button.disabled = true;
    try {
      const result = await this.post(body, randomKey());
      this.textarea.value = "";
      // Shown from the REST answer: the socket may be down, and its copy is deduplicated.
      this.page.acceptMessage(thread.id, result.message, true);
      this.page.thread.scrollToBottom();
    } catch (error) {
      this.error.hidden = false;
      this.error.textContent = interpolate(gettext("Not sent: %(error)s"), { error: error.message });
    } finally {
      this.sending = false;
      this.button.disabled = false;
      this.textarea.focus();
    }
  }

  bind() {
    this.form.addEventListener("change", () => {
      const note = this.isNote();
      this.form.classList.toggle("note", note);
      this.textarea.placeholder = note
        ? gettext("Write an internal note (only staff see it)…")
        : gettext("Write a reply… (Enter to send, Shift+Enter for a new line)");
    });
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.send();
    });
    this.textarea.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        this.send();
      }
    });
  }
}
