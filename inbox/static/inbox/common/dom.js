/*
 * DOM helpers shared by the widget and the staff page. Everything from the network reaches the
 * DOM through these: textContent and attributes set one by one, never innerHTML.
 */

export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

/** The URL if it parses as an absolute http(s) URL, else null (no javascript:, no data:). */
export function safeUrl(value) {
  if (typeof value !== "string" || !value) return null;
  let url;
  try {
    url = new URL(value);
  } catch (error) {
    return null;
  }
  return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
}

/** A link that opens in a new tab without giving the page a handle on this one. */
export function externalLink(href, className, text) {
  const link = el("a", className, text);
  link.href = href;
  link.target = "_blank";
  link.rel = "noopener noreferrer";
  return link;
}

export function picture(src, alt, className) {
  const img = el("img", className);
  img.src = src;
  img.alt = alt;
  img.loading = "lazy";
  img.referrerPolicy = "no-referrer";
  return img;
}

/** 32 hex digits; crypto.getRandomValues also works on plain-http origins (randomUUID does not). */
export function randomKey() {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
