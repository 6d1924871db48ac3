/*
 * Translations of both surfaces: one catalog (``{lang, bidi, catalog}``, inbox/i18n.py) set
 * before anything is built. The strings are written ``gettext("…")`` so that Django's
 * ``makemessages -d djangojs`` finds them; a string defined before the catalog arrives (a
 * module-level table) is marked with ``gettext_noop`` and translated where it is shown.
 *
 * No plural forms: counts are phrased "Unread messages: %(count)s", so the catalog is a plain
 * map and no plural expression is ever evaluated in the browser.
 */

let current = { lang: "", bidi: false, catalog: {} };

export function setCatalog(translations) {
  current = Object.assign({ lang: "", bidi: false, catalog: {} }, translations || {});
}

/** The language of the text shown ("" for the English source strings). */
export function language() {
  return current.lang;
}

/** "rtl" for a right-to-left catalog, else "ltr". */
export function direction() {
  return current.bidi ? "rtl" : "ltr";
}

export function gettext(msgid) {
  if (!msgid) return msgid;
  const translated = current.catalog[msgid];
  return typeof translated === "string" && translated ? translated : msgid;
}

/** Marks a string for makemessages without translating it (yet). */
export function gettext_noop(msgid) {
  return msgid;
}

/** ``%(name)s`` placeholders, as in Django's ``interpolate(fmt, obj, true)``. */
export function interpolate(format, values) {
  return format.replace(/%\((\w+)\)s/g, (match, name) => (name in values ? String(values[name]) : match));
}

/** Dates and times in the language of the text (the browser's when there is no catalog). */
export function locales() {
  return current.lang ? [current.lang] : [];
}

/**
 * The widget's catalog for ``lang`` from ``url``. English is the source: no request, but the
 * language is still known (its requests ask for it). Null when the page names no language or the
 * fetch fails: the widget then speaks English, it never stays unbuilt for want of a translation.
 */
export async function fetchCatalog(url, lang) {
  if (!lang) return null;
  if (/^en\b/i.test(lang)) return { lang, bidi: false, catalog: {} };
  try {
    const response = await fetch(url, { credentials: "omit", headers: { Accept: "application/json" } });
    return response.ok ? await response.json() : null;
  } catch (error) {
    return null;
  }
}
