"""The app's settings: one ``INBOX`` dict in the site's settings, read lazily.

Nothing here reads ``django.conf.settings`` at import time, so ``override_settings(INBOX=…)``
works in tests.
"""

from typing import Any

from django.conf import settings

DEFAULTS: dict[str, Any] = {
    # Shown as ``businessDisplayData`` on every conversation.
    "BUSINESS_NAME": "",
    "BUSINESS_IMAGE_URL": None,
    # Visitor tokens from POST v2/visitors expire after this many seconds.
    "VISITOR_TOKEN_MAX_AGE": 60 * 60 * 24 * 30,
    # Request bodies above this size get 413 before they are parsed.
    "MAX_BODY_BYTES": 512 * 1024,
    # Messages replayed to a resuming socket at most, per conversation; past it the client
    # is told to catch up over REST.
    "REPLAY_LIMIT": 500,
    # Prefix of every channel-layer group name.
    "GROUP_PREFIX": "inbox",
}


class InboxSettings:
    """Attribute access to ``settings.INBOX`` merged over ``DEFAULTS``, read on every access."""

    def __getattr__(self, name: str) -> Any:
        if name not in DEFAULTS:
            raise AttributeError(f"Unknown inbox setting {name!r}")
        user_settings = getattr(settings, "INBOX", {}) or {}
        return user_settings.get(name, DEFAULTS[name])


inbox_settings = InboxSettings()
