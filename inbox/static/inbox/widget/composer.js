/*
 * The widget's sends: optimistic (shown at once as pending), retried with jittered back-off or
 * at once when the browser is back online, always with the same Idempotency-Key, so a flaky
 * network never creates two messages.
 */

import { el, randomKey } from "../common/dom.js";
import { gettext, interpolate } from "../common/i18n.js";
import { errorMessage, isRetryable } from "../common/rest.js";
import { backoffDelay } from "../common/stream.js";
import { DIRECTION, VISIBILITY } from "../common/wire.js";
import { textBubble } from "./thread.js";

const SEND_ATTEMPTS = 8;

export class Composer {
  /**
   * ``post(body, key)`` sends one attempt and resolves to a common/rest.js response (status 0
   * when it could not be sent);
   * ``conversationId()`` is the thread's, if it has one yet; ``onSent(message)`` gets the
   * stored message.
   */
  constructor({ ui, post, conversationId, onSent }) {
    this.ui = ui;
    this.post = post;
    this.conversationId = conversationId;
    this.onSent = onSent;
    this.waiting = []; // pending sends waiting for their next attempt
  }

  /** Back online: every waiting send tries again now. */
  retryNow() {
    this.waiting.slice().forEach((run) => run());
  }

  send(text) {
    const key = randomKey();
    const body = {
      message: {
        direction: DIRECTION.PARTICIPANT_TO_BUSINESS,
        visibility: VISIBILITY.BUSINESS_AND_PARTICIPANT,
        content: { basic: { items: [{ text }] } },
      },
    };
    const conversationId = this.conversationId();
    if (conversationId) body.conversationId = conversationId;
    const node = el("div", "msg mine pending");
    node.appendChild(textBubble(text));
    const note = el("div", "note", gettext("Sending\u2026"));
    node.appendChild(note);
    this.ui.pendingList.appendChild(node);
    this.ui.empty.hidden = true;
    this.ui.log.scrollTop = this.ui.log.scrollHeight;

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
