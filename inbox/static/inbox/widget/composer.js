/*
 * The widget's sends: optimistic (shown at once as pending), retried with jittered back-off or
 * at once when the browser is back online, always with the same Idempotency-Key, so a flaky
 * network never creates two messages. A file is uploaded first (progress bar, cancel); its
 * message is sent only once the upload has finished.
 */

import { formatSize } from "../common/content.js";
import { el, randomKey } from "../common/dom.js";
import { gettext, interpolate } from "../common/i18n.js";
import { errorMessage, isRetryable } from "../common/rest.js";
import { backoffDelay } from "../common/stream.js";
import { attachmentItem } from "../common/upload.js";
import { DIRECTION, VISIBILITY } from "../common/wire.js";
import { textBubble } from "./thread.js";

const SEND_ATTEMPTS = 8;

export class Composer {
  /**
   * ``post(body, key)`` sends one attempt and resolves to a common/rest.js response (status 0
   * when it could not be sent);
   * ``conversationId()`` is the thread's, if it has one yet; ``onSent(message)`` gets the
   * stored message; ``upload(file, onProgress, key)`` starts an upload (``key``: its
   * Idempotency-Key) and returns common/upload.js's ``{promise, cancel}``.
   */
  constructor({ ui, post, upload, conversationId, onSent }) {
    this.ui = ui;
    this.post = post;
    this.upload = upload;
    this.conversationId = conversationId;
    this.onSent = onSent;
    this.waiting = []; // pending sends waiting for their next attempt
  }

  /** Back online: every waiting send tries again now. */
  retryNow() {
    this.waiting.slice().forEach((run) => run());
  }

  send(text) {
    const node = el("div", "msg mine pending");
    node.appendChild(textBubble(text));
    const note = el("div", "note", gettext("Sending\u2026"));
    node.appendChild(note);
    this.show(node);
    this.deliver([{ text }], node, note);
  }

  /** Upload ``file``, then send a message naming it; a retry of the upload reuses its ``key``. */
  sendFile(file, key = randomKey()) {
    const name = file.name || gettext("Pasted image");
    const node = el("div", "msg mine pending");
    const item = el("div", "bubble-item");
    const size = formatSize(String(file.size));
    item.appendChild(el("div", "upload-name", size ? name + " (" + size + ")" : name));
    const bar = el("progress", "progress");
    bar.max = 1;
    bar.value = 0;
    bar.setAttribute("aria-label", interpolate(gettext("Uploading %(name)s"), { name }));
    item.appendChild(bar);
    node.appendChild(item);
    const note = el("div", "note", gettext("Uploading\u2026") + " ");
    const cancel = el("button", "retry", gettext("Cancel"));
    cancel.type = "button";
    cancel.setAttribute("aria-label", interpolate(gettext("Cancel upload of %(name)s"), { name }));
    note.appendChild(cancel);
    node.appendChild(note);
    this.show(node);
    const transfer = this.upload(
      file,
      (fraction) => {
        bar.value = fraction;
      },
      key
    );
    cancel.addEventListener("click", () => transfer.cancel());
    transfer.promise.then((response) => {
      if (response.cancelled) {
        node.remove();
        return;
      }
      if (!response.ok) {
        note.textContent = (response.status ? errorMessage(response) : gettext("Upload failed")) + ". ";
        const dismiss = el("button", "retry", response.status ? gettext("Dismiss") : gettext("Retry"));
        dismiss.type = "button";
        dismiss.addEventListener("click", () => {
          node.remove();
          if (!response.status) this.sendFile(file, key);
        });
        note.appendChild(dismiss);
        return;
      }
      bar.remove();
      note.textContent = gettext("Sending\u2026");
      this.deliver([attachmentItem(response.data.attachment)], node, note);
    });
  }

  show(node) {
    this.ui.pendingList.appendChild(node);
    this.ui.empty.hidden = true;
    this.ui.log.scrollTop = this.ui.log.scrollHeight;
  }

  /** Send a message of ``items``, shown pending as ``node`` with ``note`` telling how it goes. */
  deliver(items, node, note) {
    const key = randomKey();
    const body = {
      message: {
        direction: DIRECTION.PARTICIPANT_TO_BUSINESS,
        visibility: VISIBILITY.BUSINESS_AND_PARTICIPANT,
        content: { basic: { items } },
      },
    };
    const conversationId = this.conversationId();
    if (conversationId) body.conversationId = conversationId;

    const attempt = (count) => {
      note.textContent = count ? gettext("Retrying\u2026") : gettext("Sending\u2026");
      this.post(body, key).then((response) => {
        if (response.ok) {
          node.remove();
          this.onSent(response.data.message);
          return;
        }
        const retryable = isRetryable(response.status);
        if (retryable && count + 1 < SEND_ATTEMPTS) {
          schedule(count, Math.max(response.retryAfter * 1000, backoffDelay(count, 500, 15000)));
          note.textContent = response.status ? gettext("Retrying\u2026") : gettext("Offline, will retry\u2026");
          return;
        }
        fail(
          retryable
            ? gettext("Not sent.")
            : interpolate(gettext("Not sent: %(error)s."), { error: errorMessage(response) })
        );
      });
    };

    const schedule = (count, delay) => {
      let timer = null;
      const run = () => {
        clearTimeout(timer);
        const index = this.waiting.indexOf(run);
        if (index < 0) return;
        this.waiting.splice(index, 1);
        attempt(count + 1);
      };
      this.waiting.push(run);
      timer = setTimeout(run, delay);
    };

    const fail = (reason) => {
      note.textContent = reason + " ";
      const again = el("button", "retry", gettext("Retry"));
      again.type = "button";
      again.addEventListener("click", () => attempt(0));
      note.appendChild(again);
    };

    attempt(0);
  }
}
