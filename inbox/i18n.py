"""The translations of the browser code (the ``djangojs`` domain of ``inbox/locale``).

Both surfaces get one JSON object, ``{"lang", "bidi", "catalog"}``: the staff page inside its
config (rendered in the admin's language, no extra request), the widget from
``<prefix>i18n/<lang>.json`` for the language of the page it is embedded in. The widget cannot
rely on Django's ``JavaScriptCatalog`` script: it runs on any page of the site, including pages
that embed it with the plain ``<script>`` snippet and never load ``jsi18n`` (and pages that load
the site's own ``jsi18n``, whose global ``django.gettext`` it must not replace), and its language
is the page's ``<html lang>``, which the request for a catalog does not carry. The language is
therefore in the URL, which also makes each catalog cacheable by URL alone.

The browser code has no plural forms (counts are written "Unread messages: 3"), so the
catalogs are plain ``msgid -> msgstr`` maps and the browser never evaluates a plural expression.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.utils import translation
from django.utils.cache import patch_cache_control
from django.views.i18n import JavaScriptCatalog

# Catalogs change only with a deploy; an hour keeps the widget's extra request off most pages.
CATALOG_MAX_AGE = 3600


def supported_language(code: str) -> str:
    """The site's best match for a page's language tag (``pt-BR`` -> ``pt-br`` or ``pt``), or the
    site's ``LANGUAGE_CODE`` when it offers nothing close."""
    try:
        return translation.get_supported_language_variant(code.replace("_", "-").lower())
    except LookupError:
        return settings.LANGUAGE_CODE


def js_catalog(language: str) -> dict[str, Any]:
    """The browser code's translations into ``language`` (a supported language code)."""
    view = JavaScriptCatalog(domain="djangojs")
    with translation.override(language):
        view.translation = translation.trans_real.DjangoTranslation(
            language, domain="djangojs", localedirs=view.get_paths(["inbox"])
        )
        catalog = view.get_catalog()
        bidi = translation.get_language_bidi()
    return {"lang": language, "bidi": bidi, "catalog": catalog}


def js_catalog_view(request: HttpRequest, lang: str) -> JsonResponse:
    """``GET <prefix>i18n/<lang>.json``: the widget's strings in the page's language."""
    response = JsonResponse(js_catalog(supported_language(lang)))
    patch_cache_control(response, public=True, max_age=CATALOG_MAX_AGE)
    return response
