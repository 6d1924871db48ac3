// The translations module (inbox/static/inbox/common/i18n.js): lookups, placeholders, direction,
// and the widget's catalog fetch falling back to English. Run with `node --test tests/js/unit`.
import assert from "node:assert/strict";
import { afterEach, describe, mock, test } from "node:test";

import {
  direction,
  fetchCatalog,
  gettext,
  gettext_noop,
  interpolate,
  language,
  locales,
  setCatalog,
} from "../../../inbox/static/inbox/common/i18n.js";

afterEach(() => {
  setCatalog(null);
  mock.restoreAll();
});

describe("gettext", () => {
  test("returns the translation, or the source string when there is none", () => {
    setCatalog({ lang: "pt", bidi: false, catalog: { "Open chat": "Abrir o chat", Empty: "" } });
    assert.equal(gettext("Open chat"), "Abrir o chat");
    assert.equal(gettext("Not in the catalog"), "Not in the catalog");
    assert.equal(gettext("Empty"), "Empty"); // an untranslated entry is the source string
    assert.equal(gettext(""), ""); // never the catalog's header entry
  });

  test("without a catalog everything is the English source", () => {
    assert.equal(gettext("Open chat"), "Open chat");
    assert.equal(language(), "");
    assert.deepEqual(locales(), []);
    assert.equal(direction(), "ltr");
  });

  test("gettext_noop marks without translating", () => {
    setCatalog({ lang: "ar", bidi: true, catalog: { Live: "مباشر" } });
    const marked = gettext_noop("Live");
    assert.equal(marked, "Live");
    assert.equal(gettext(marked), "مباشر");
  });
});

describe("direction and language", () => {
  test("a bidi catalog is right-to-left and dates use its language", () => {
    setCatalog({ lang: "ar", bidi: true, catalog: {} });
    assert.equal(direction(), "rtl");
    assert.equal(language(), "ar");
    assert.deepEqual(locales(), ["ar"]);
  });
});

describe("interpolate", () => {
  test("fills named placeholders and leaves unknown ones alone", () => {
    assert.equal(interpolate("رسائل غير مقروءة: %(count)s", { count: 3 }), "رسائل غير مقروءة: 3");
    assert.equal(interpolate("%(error)s — %(other)s", { error: "x" }), "x — %(other)s");
  });

  test("a value is inserted as text once, never re-expanded", () => {
    assert.equal(interpolate("%(a)s", { a: "%(a)s<b>" }), "%(a)s<b>");
  });
});

describe("fetchCatalog", () => {
  test("English needs no request, and stays the named language", async () => {
    const fetch = mock.method(globalThis, "fetch", async () => assert.fail("no request expected"));
    assert.deepEqual(await fetchCatalog("/inbox/i18n/en-US.json", "en-US"), {
      lang: "en-US",
      bidi: false,
      catalog: {},
    });
    assert.equal(await fetchCatalog("/inbox/i18n/.json", ""), null); // the page names none
    assert.equal(fetch.mock.callCount(), 0);
  });

  test("another language is fetched without credentials", async () => {
    const body = { lang: "ar", bidi: true, catalog: { Send: "إرسال" } };
    const fetch = mock.method(globalThis, "fetch", async () => ({ ok: true, json: async () => body }));
    assert.deepEqual(await fetchCatalog("/inbox/i18n/ar.json", "ar"), body);
    const [url, init] = fetch.mock.calls[0].arguments;
    assert.equal(url, "/inbox/i18n/ar.json");
    assert.equal(init.credentials, "omit");
  });

  test("a failed or refused fetch falls back to English", async () => {
    mock.method(globalThis, "fetch", async () => ({ ok: false, json: async () => ({}) }));
    assert.equal(await fetchCatalog("/inbox/i18n/ar.json", "ar"), null);
    mock.restoreAll();
    mock.method(globalThis, "fetch", async () => {
      throw new TypeError("offline");
    });
    assert.equal(await fetchCatalog("/inbox/i18n/ar.json", "ar"), null);
  });
});
