/*
 * One renderer per content type (contract §5), shared by the widget and the staff page.
 *
 * A message's content becomes a list of nodes, one per bubble. Each surface passes a theme:
 * ``classes`` (the class names its stylesheet styles, by part), ``unsupported`` (the text shown
 * for a content type this file does not know, marked with gettext_noop and translated here)
 * and, where the reader may press postback buttons,
 * ``onPostback(message, interactionId, button)``; without it they show as inert labels.
 * A new content type is one more entry in RENDERERS.
 */

import { el, externalLink, picture, safeUrl } from "./dom.js";
import { gettext, interpolate } from "./i18n.js";

/*
 * Links to files uploaded here are paths on the API's site unless INBOX["ATTACHMENT_URL_BASE"]
 * makes them absolute: resolved against the page, and then held to http(s) like any URL.
 */
export function mediaUrl(value) {
  if (typeof value !== "string" || !value.startsWith("/") || value.startsWith("//")) return safeUrl(value);
  try {
    return safeUrl(new URL(value, document.baseURI).href);
  } catch (error) {
    return null;
  }
}

const SIZE_UNITS = ["B", "KB", "MB", "GB"];

/** "2.4 MB" from Wix's ``fileSize`` (bytes, an int64 as a string); "" when unknown. */
export function formatSize(fileSize) {
  let size = Number(fileSize);
  if (!fileSize || !Number.isFinite(size) || size < 0) return "";
  let unit = 0;
  while (size >= 1024 && unit < SIZE_UNITS.length - 1) {
    size /= 1024;
    unit += 1;
  }
  return (unit === 0 ? String(size) : size.toFixed(size < 10 ? 1 : 0)) + " " + SIZE_UNITS[unit];
}

function imageBubble(image, theme) {
  const node = el("div", theme.classes.image);
  const name = (image && image.filename) || gettext("Image");
  const src = mediaUrl(image && image.url);
  if (src) {
    // The preview (the thumbnail, for images uploaded here) opens the full-size image in a
    // tab of its own.
    const link = externalLink(src, null, null);
    link.setAttribute("aria-label", interpolate(gettext("%(name)s (open full size)"), { name }));
    const img = picture(mediaUrl(image.thumbnailUrl) || src, name);
    if (image.width && image.height) {
      img.width = image.width;
      img.height = image.height;
    }
    link.appendChild(img);
    node.appendChild(link);
  } else {
    node.appendChild(el("span", theme.classes.muted, name));
  }
  return node;
}

/** The thumbnail link of a message's first uploaded image (the conversation list shows it). */
export function previewThumbnail(message) {
  const basic = message && message.content && message.content.basic;
  const items = (basic && basic.items) || [];
  const image = items.map((item) => item && item.image).find((found) => found && found.thumbnailUrl);
  return image ? mediaUrl(image.thumbnailUrl) : null;
}

function fileBubble(file, theme) {
  const node = el("div", theme.classes.file);
  const name = (file && file.filename) || gettext("File");
  const size = formatSize(file && file.fileSize);
  const label = "\u{1F4CE} " + name + (size ? " (" + size + ")" : "");
  const href = mediaUrl(file && file.url);
  node.appendChild(href ? externalLink(href, theme.classes.fileLink, label) : el("span", theme.classes.fileLink, label));
  return node;
}

function mediaBubble(item, theme) {
  if (item.image) return imageBubble(item.image, theme);
  if (item.file) return fileBubble(item.file, theme);
  return null;
}

function textBubble(text, theme) {
  return el("div", theme.classes.text, text);
}

function buttonsBlock(message, buttons, theme) {
  const box = el("div", theme.classes.buttons);
  buttons.forEach((button) => {
    if (!button || !button.label) return;
    const href = safeUrl(button.launchUrl);
    const interactionId = button.postbackProperties && button.postbackProperties.interactionId;
    if (href) {
      box.appendChild(externalLink(href, theme.classes.action, button.label));
    } else if (interactionId && theme.onPostback) {
      const press = el("button", theme.classes.action, button.label);
      press.type = "button";
      press.addEventListener("click", () => theme.onPostback(message, interactionId, press));
      box.appendChild(press);
    } else {
      const label = el("span", theme.classes.action, button.label);
      label.title = gettext("Postback button");
      box.appendChild(label);
    }
  });
  return box;
}

function appendPicture(parent, url, className) {
  const src = safeUrl(url);
  if (src) parent.appendChild(picture(src, "", className));
}

const RENDERERS = {
  basic(basic, message, theme) {
    return (basic.items || []).map((item) => mediaBubble(item, theme) || textBubble(item.text || "", theme));
  },

  template(template, message, theme) {
    const card = el("div", theme.classes.card);
    appendPicture(card, template.imageUrl, theme.classes.cardImage);
    const body = el("div", theme.classes.cardBody);
    if (template.title) body.appendChild(el("div", theme.classes.cardTitle, template.title));
    (template.textLines || []).forEach((line) => body.appendChild(el("div", theme.classes.cardLine, line)));
    card.appendChild(body);
    if ((template.buttons || []).length) card.appendChild(buttonsBlock(message, template.buttons, theme));
    return [card];
  },

  minimal(minimal, message, theme) {
    const node = el("div", theme.classes.minimal);
    appendPicture(node, minimal.iconUrl, theme.classes.icon);
    const href = safeUrl(minimal.url);
    node.appendChild(href ? externalLink(href, null, minimal.text || "") : el("span", null, minimal.text || ""));
    return [node];
  },

  form(form, message, theme) {
    const node = el("div", theme.classes.form);
    if (form.title) node.appendChild(el("div", theme.classes.cardTitle, form.title));
    if (form.description) node.appendChild(el("div", theme.classes.formDescription, form.description));
    const table = el("table", theme.classes.fields);
    const rows = el("tbody");
    (form.fields || []).forEach((field) => {
      const row = el("tr");
      row.appendChild(el("th", null, field.name || ""));
      row.appendChild(el("td", null, field.value || ""));
      rows.appendChild(row);
    });
    table.appendChild(rows);
    node.appendChild(table);
    // Each media item shows as a bubble of its own (Wix §5.4).
    const media = (form.media || []).map((item) => mediaBubble(item, theme)).filter(Boolean);
    return [node, ...media];
  },

  system(system, message, theme) {
    const node = el("div", theme.classes.system);
    appendPicture(node, system.imageUrl, theme.classes.cardImage);
    // The stylesheet's pre-wrap turns the "\n" of the text into line breaks, without markup.
    if (system.text) node.appendChild(el("div", theme.classes.systemText, system.text));
    if ((system.buttons || []).length) node.appendChild(buttonsBlock(message, system.buttons, theme));
    return [node];
  },
};

/** The bubbles of one message, for the surface described by ``theme``. */
export function renderContent(message, theme) {
  const content = message.content || {};
  for (const type of Object.keys(RENDERERS)) {
    if (content[type]) return RENDERERS[type](content[type], message, theme);
  }
  return [textBubble(content.previewText || gettext(theme.unsupported), theme)];
}
