/* The widget's thread: stored messages in the log, once each and in sequence order. */

import { renderContent } from "../common/content.js";
import { el } from "../common/dom.js";
import { locales } from "../common/i18n.js";
import { compareSequences, maxSequence } from "../common/stream.js";
import { DIRECTION, VISIBILITY } from "../common/wire.js";

// The class names widget.css styles, by part of a message (common/content.js).
const CLASSES = {
  text: "bubble-item text",
  image: "bubble-item media",
  file: "bubble-item media",
  fileLink: "file",
  muted: "muted",
  card: "bubble-item card",
  cardImage: "card-image",
  cardBody: "card-body",
  cardTitle: "card-title",
  cardLine: "card-line",
  buttons: "buttons",
  action: "action",
  minimal: "bubble-item minimal",
  icon: "icon",
  form: "bubble-item form",
  formDescription: "card-line",
  fields: "fields",
  system: "bubble-item system",
  systemText: "system-text",
};

export function textBubble(text) {
  return el("div", CLASSES.text, text);
}

export class Thread {
  /** ``onPostback(message, interactionId, button)``: a postback button was pressed. */
  constructor(ui, onPostback) {
    this.ui = ui;
    this.theme = { classes: CLASSES, unsupported: "", onPostback };
    this.rendered = new Map(); // message id -> element
    this.lastSequence = "0"; // highest sequence seen from the stream or a history fetch
  }

  nearBottom() {
    const log = this.ui.log;
    return log.scrollHeight - log.scrollTop - log.clientHeight < 80;
  }

  scrollToBottom() {
    this.ui.log.scrollTop = this.ui.log.scrollHeight;
  }

  /**
   * Adds a stored message once, in sequence order; true if it was new. ``track`` (stream and
   * history) moves the resume point; a send's own response does not, since an earlier reply may
   * still be in flight.
   */
  add(message, track) {
    if (!message || message.visibility !== VISIBILITY.BUSINESS_AND_PARTICIPANT || !message.id) return false;
    if (track) this.lastSequence = maxSequence(this.lastSequence, message.sequence);
    if (this.rendered.has(message.id)) return false;
    const stick = this.nearBottom();
    const node = this.messageNode(message);
    const list = this.ui.list;
    let after = null;
    for (let child = list.lastElementChild; child; child = child.previousElementSibling) {
      if (compareSequences(child.getAttribute("data-sequence"), message.sequence) < 0) {
        after = child;
        break;
      }
    }
    list.insertBefore(node, after ? after.nextSibling : list.firstChild);
    this.rendered.set(message.id, node);
    this.ui.empty.hidden = true;
    if (stick) this.scrollToBottom();
    return true;
  }

  clear() {
    this.rendered.clear();
    this.lastSequence = "0";
    this.ui.list.replaceChildren();
    this.ui.empty.hidden = false;
  }

  messageNode(message) {
    const mine = message.direction === DIRECTION.PARTICIPANT_TO_BUSINESS;
    const isSystem = !!(message.content && message.content.system);
    const group = el("div", "msg " + (isSystem ? "system-msg" : mine ? "mine" : "theirs"));
    group.setAttribute("data-message-id", message.id);
    group.setAttribute("data-sequence", message.sequence);
    group.append(...renderContent(message, this.theme));
    const when = message.createdDate ? new Date(message.createdDate) : null;
    if (when && !Number.isNaN(when.getTime())) {
      const time = el("time", "time", when.toLocaleTimeString(locales(), { hour: "2-digit", minute: "2-digit" }));
      time.dateTime = message.createdDate;
      group.appendChild(time);
    }
    return group;
  }
}
