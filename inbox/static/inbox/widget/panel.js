/* The widget's elements: the bubble, and the dialog panel with its log and composer, in a
 * shadow root that keeps the widget's own rules in and the page's out. */

import { el } from "../common/dom.js";
import { direction, gettext, language } from "../common/i18n.js";
import { ACCEPT } from "../common/upload.js";

function chatIcon() {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  const path = document.createElementNS(ns, "path");
  path.setAttribute("d", "M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z");
  svg.appendChild(path);
  return svg;
}

function button(className, text, label) {
  const node = el("button", className, text);
  node.type = "button";
  if (label) node.setAttribute("aria-label", label);
  return node;
}

export function buildPanel({ title, css }) {
  const host = document.createElement("inbox-chat-widget");
  // On the element, so no rule of the host page can restyle the host element; hidden until the
  // stylesheet has loaded, so the page never shows the widget unstyled. Set through the CSSOM,
  // not a style attribute: a site's Content-Security-Policy without 'unsafe-inline' in
  // style-src blocks the attribute, never the CSSOM.
  host.style.setProperty("all", "initial", "important");
  host.style.setProperty("visibility", "hidden", "important");
  // The language and direction of the widget's text, which may differ from the page's.
  if (language()) host.setAttribute("lang", language());
  host.setAttribute("dir", direction());
  const root = host.attachShadow({ mode: "open" });
  const reveal = () => host.style.setProperty("visibility", "initial", "important");
  const stylesheet = el("link");
  stylesheet.rel = "stylesheet";
  stylesheet.href = css;
  stylesheet.addEventListener("load", reveal);
  stylesheet.addEventListener("error", reveal);
  root.appendChild(stylesheet);

  const bubble = button("bubble", null, gettext("Open chat"));
  bubble.setAttribute("aria-haspopup", "dialog");
  bubble.setAttribute("aria-expanded", "false");
  bubble.setAttribute("aria-controls", "inbox-panel");
  bubble.appendChild(chatIcon());
  const badge = el("span", "badge");
  badge.hidden = true;
  bubble.appendChild(badge);

  const panel = el("div", "panel");
  panel.id = "inbox-panel";
  panel.hidden = true;
  panel.setAttribute("role", "dialog");
  panel.setAttribute("aria-modal", "false");
  panel.setAttribute("aria-labelledby", "inbox-title");

  const header = el("div", "header");
  const heading = el("h2", "title", title || gettext("Chat with us"));
  heading.id = "inbox-title";
  const closeButton = button("close", "\u00d7", gettext("Close chat"));
  // Whether the team is there (availability.js); empty until known.
  const availability = el("p", "availability");
  availability.setAttribute("role", "status");
  availability.hidden = true;
  const titles = el("div", "titles");
  titles.append(heading, availability);
  header.append(titles, closeButton);

  const status = el("div", "status");
  status.setAttribute("role", "status");
  status.setAttribute("aria-live", "polite");

  const log = el("div", "log");
  log.setAttribute("role", "log");
  log.setAttribute("aria-live", "polite");
  log.setAttribute("aria-label", gettext("Messages"));
  log.tabIndex = 0;
  const earlier = button("earlier", gettext("Show earlier messages"));
  earlier.hidden = true;
  const empty = el("p", "empty", gettext("Send us a message, we usually reply within a few minutes."));
  const list = el("div", "list");
  const pendingList = el("div", "list pending-list");
  log.append(earlier, empty, list, pendingList);

  const form = el("form", "composer");
  const attach = button("attach", "\u{1F4CE}", gettext("Attach a file"));
  const fileInput = el("input", "file-input");
  fileInput.type = "file";
  fileInput.multiple = true;
  fileInput.hidden = true;
  fileInput.accept = ACCEPT;
  fileInput.setAttribute("aria-label", gettext("Attach a file"));
  const input = el("textarea", "input");
  input.id = "inbox-input";
  input.rows = 1;
  input.dir = "auto";
  input.maxLength = 16384;
  input.placeholder = gettext("Write a message\u2026");
  input.setAttribute("aria-label", gettext("Message"));
  const sendButton = el("button", "send", gettext("Send"));
  sendButton.type = "submit";
  sendButton.setAttribute("aria-label", gettext("Send message"));
  form.append(attach, fileInput, input, sendButton);

  // "The team is typing…" (common/typing.js drops it 15 s after the last start).
  const typing = el("p", "typing");
  typing.setAttribute("aria-live", "polite");
  typing.hidden = true;

  panel.append(header, status, log, typing, form);
  root.append(panel, bubble);
  return {
    host,
    root,
    bubble,
    badge,
    panel,
    closeButton,
    availability,
    status,
    log,
    earlier,
    empty,
    list,
    pendingList,
    typing,
    form,
    input,
    attach,
    fileInput,
  };
}
