/* Replies and internal notes, with files (picker, paste, drop). One Idempotency-Key per
 * message: a retry cannot create a second one. A file's message is sent only once its upload
 * has finished. */

import { formatSize } from "../common/content.js";
import { el, randomKey } from "../common/dom.js";
import { gettext, interpolate } from "../common/i18n.js";
import { ApiError, errorMessage, isRetryable, request } from "../common/rest.js";
import { ACCEPT, attachmentItem, bindFileSources, uploadFile } from "../common/upload.js";
import { DIRECTION, VISIBILITY } from "../common/wire.js";
import { SavedReplies } from "./replies.js";

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
    this.attach = this.form.querySelector(".inbox-attach");
    this.fileInput = this.form.querySelector(".inbox-file-input");
    this.fileInput.accept = ACCEPT;
    this.uploads = this.form.querySelector(".inbox-uploads");
    this.sending = false;
    this.savedReplies = new SavedReplies(page, this.textarea);
    this.retry = null; // {body, key} of the last text message that was not sent
  }

  /** The "/" shortcut from outside the composer: into an empty composer, "/" and the list. */
  startSavedReply() {
    if (this.form.hidden) return;
    this.textarea.focus();
    if (this.textarea.value) return;
    this.textarea.value = "/";
    this.textarea.setSelectionRange(1, 1);
    this.savedReplies.update();
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

  messageBody(conversationId, items) {
    return {
      conversationId,
      message: {
        direction: DIRECTION.BUSINESS_TO_PARTICIPANT,
        visibility: this.isNote() ? VISIBILITY.BUSINESS : VISIBILITY.BUSINESS_AND_PARTICIPANT,
        content: { basic: { items } },
      },
    };
  }

  /** Upload ``file`` into the open conversation (progress, cancel), then send it; a retry
   * of the upload reuses its Idempotency-Key ``key``. */
  async sendFile(file, key = randomKey()) {
    const thread = this.page.thread.current;
    if (!thread) return;
    const name = file.name || "pasted-image";
    const row = el("li");
    const bar = el("progress");
    bar.max = 1;
    bar.value = 0;
    bar.setAttribute("aria-label", interpolate(gettext("Uploading %(name)s"), { name }));
    const cancel = el("button", "button", gettext("Cancel"));
    cancel.type = "button";
    cancel.setAttribute("aria-label", interpolate(gettext("Cancel upload of %(name)s"), { name }));
    const size = formatSize(String(file.size));
    row.append(el("span", null, size ? name + " (" + size + ")" : name), bar, cancel);
    this.uploads.appendChild(row);
    const transfer = uploadFile(this.page.config.attachmentsUrl, {
      file,
      conversationId: thread.id,
      headers: this.page.headers({ "Idempotency-Key": key }),
      onProgress: (fraction) => {
        bar.value = fraction;
      },
    });
    cancel.addEventListener("click", () => transfer.cancel());
    const uploaded = await transfer.promise;
    if (!uploaded.ok) {
      if (uploaded.cancelled) {
        row.remove();
        return;
      }
      bar.remove();
      cancel.remove();
      const reason = uploaded.status ? errorMessage(uploaded) : gettext("offline");
      const refusal = interpolate(gettext("Not uploaded: %(error)s"), { error: reason });
      row.appendChild(el("span", "inbox-upload-error", refusal));
      if (!uploaded.status) {
        const again = el("button", "button", gettext("Retry"));
        again.type = "button";
        again.addEventListener("click", () => {
          row.remove();
          this.sendFile(file, key);
        });
        row.appendChild(again);
      }
      return;
    }
    cancel.remove();
    bar.value = 1;
    // One key for every attempt at this message, the Retry button's too: never sent twice.
    const body = this.messageBody(thread.id, [attachmentItem(uploaded.data.attachment)]);
    const messageKey = randomKey();
    const deliver = async () => {
      try {
        const result = await this.post(body, messageKey);
        row.remove();
        this.page.acceptMessage(thread.id, result.message, true);
        this.page.thread.scrollToBottom();
      } catch (error) {
        bar.remove();
        const refusal = interpolate(gettext("Not sent: %(error)s"), { error: error.message });
        const again = el("button", "button", gettext("Retry"));
        again.type = "button";
        again.addEventListener("click", () => {
          refused.remove();
          again.remove();
          deliver();
        });
        const refused = el("span", "inbox-upload-error", refusal);
        row.append(refused, again);
      }
    };
    await deliver();
  }

  sendFiles(files) {
    files.forEach((file) => this.sendFile(file));
  }

  async send() {
    const thread = this.page.thread.current;
    const text = this.textarea.value;
    if (!thread || !text.trim() || this.sending) return;
    this.sending = true;
    const body = this.messageBody(thread.id, [{ text }]);
    // Sending the same message again after a failure reuses its key: if the first attempt
    // was stored after all (only its answer was lost), the server returns it, not a copy.
    const same = this.retry && this.retry.body === JSON.stringify(body);
    if (!same) this.retry = { body: JSON.stringify(body), key: randomKey() };
    this.error.hidden = true;
    this.button.disabled = true;
    try {
      const result = await this.post(body, this.retry.key);
      this.retry = null;
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
    bindFileSources({
      button: this.attach,
      input: this.fileInput,
      textbox: this.textarea,
      dropZone: this.form,
      onFiles: (files) => this.sendFiles(files),
    });
    this.savedReplies.bind();
    this.textarea.addEventListener("keydown", (event) => {
      if (this.savedReplies.handleKey(event)) return;
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        this.send();
      }
    });
  }
}
