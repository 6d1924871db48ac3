"""API apps: create one (its raw key shown once) and rename or switch it off."""

from __future__ import annotations

import secrets

from django.db import transaction

from inbox.identity import API_KEY_PREFIX, app_key_cache
from inbox.models import App


def app_create(*, name: str) -> tuple[App, str]:
    """Create an API app; returns it with its raw key, which is never stored or shown again."""
    raw_key = API_KEY_PREFIX + secrets.token_urlsafe(32)
    app = App.objects.create(
        name=name, key_hash=App.hash_key(raw_key), key_prefix=raw_key[: len(API_KEY_PREFIX) + 6]
    )
    return app, raw_key


def app_update(*, app: App, name: str, is_active: bool) -> App:
    """Rename an API app or switch it off (a switched-off app's key is refused at once)."""
    App.objects.filter(pk=app.pk).update(name=name, is_active=is_active)
    # This process forgets the key at once (and again after commit, in case a request cached the
    # old row meanwhile); other processes within INBOX["API_KEY_CACHE_SECONDS"].
    app_key_cache.clear()
    transaction.on_commit(app_key_cache.clear)
    app.name, app.is_active = name, is_active
    return app
