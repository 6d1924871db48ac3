"""``{% load inbox %}{% inbox_widget %}``: the visitor chat bubble on any page.

The tag renders one ``<script>`` element for ``inbox/widget/widget.js``, a classic script (the same
one the plain snippet in the README loads) that imports the widget's ES modules from next to
itself; they build the bubble, the panel and its styles in a Shadow DOM. The tag only tells the
script where the API and the participant stream live and whether the user is logged in.

The widget speaks the page's language (``<html lang>``), or ``lang`` when given; its strings are
translated in the browser (inbox/i18n.py), so a ``title`` given here is the site's own text, in
the page's language (``{% translate "Talk to us" as title %}{% inbox_widget title=title %}``),
and without one the widget shows its own translated "Chat with us".
"""

from __future__ import annotations

from typing import Any

from django import template
from django.middleware.csrf import get_token
from django.templatetags.static import static
from django.urls import NoReverseMatch, reverse
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe

from inbox.conf import inbox_settings

register = template.Library()


def default_api_base() -> str:
    """Where the site mounted ``inbox.urls`` (``/inbox/v2`` in the demo project)."""
    try:
        return reverse("inbox:visitor-list").rsplit("/", 1)[0]
    except NoReverseMatch:
        return "/inbox/v2"


@register.simple_tag(takes_context=True)
def inbox_widget(
    context: template.Context,
    api: str = "",
    ws: str = "",
    title: str = "",
    lang: str = "",
) -> SafeString:
    """The widget's ``<script>`` tag.

    Anonymous visitors get no CSRF token (asking for one would set a cookie on a visitor who
    may never open the chat); they authenticate with a visitor token instead. Logged-in members
    use their session, so they get the token for ``X-CSRFToken``. Staff users are the business
    side, not participants: they get no widget (they answer in the staff inbox).
    """
    request = context.get("request")
    # The request (context processor ``request``) also yields the CSRF token; without it the
    # ``user`` of the auth context processor still tells members apart, and the script then
    # reads the CSRF cookie.
    user: Any = getattr(request, "user", None) or context.get("user")
    authenticated = bool(getattr(user, "is_authenticated", False))
    if authenticated and (user.is_staff or not user.is_active):
        return mark_safe("<!-- inbox widget: hidden for staff users -->")
    attrs: dict[str, Any] = {
        "src": static("inbox/widget/widget.js"),
        "css": static("inbox/widget/widget.css"),
        "api": api or default_api_base(),
        "ws": ws or "/" + inbox_settings.PARTICIPANT_STREAM_PATH,
        "title": title,
        "authenticated": "true" if authenticated else "false",
        "csrf": get_token(request) if authenticated and request is not None else "",
        "lang": lang,
    }
    # escape(), not format_html's conditional escaping: template literals arrive marked safe,
    # and every value here ends up inside a double-quoted attribute.
    values: dict[str, str] = {name: escape(str(value)) for name, value in attrs.items()}
    # Without lang= the attribute is absent, so the script follows the page's <html lang>.
    values["lang_attr"] = format_html(' data-lang="{}"', values["lang"]) if lang else ""
    return format_html(
        '<script src="{src}" data-inbox-widget data-api="{api}" data-ws="{ws}" '
        'data-css="{css}" data-title="{title}" data-authenticated="{authenticated}" '
        'data-csrf="{csrf}"{lang_attr} defer></script>',
        **values,
    )
