"""Where presence lives: a Redis sorted set when the channel layer is Redis (every process of
the site already shares it), the ``StaffPresence`` table otherwise. Never process memory: a
staff page on one process and a widget asking another must agree.

An entry is one open staff socket (its channel name) with an expiry; the socket's consumer
refreshes it every third of ``PRESENCE_TTL_SECONDS`` and removes it when the socket closes, so a
closed tab counts at once and a killed process within the TTL."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any, Protocol

from django.conf import settings
from django.utils import timezone

from inbox.conf import inbox_settings
from inbox.presence.models import StaffPresence


class PresenceStore(Protocol):
    def touch(self, *, key: str, user_pk: Any, ttl: float) -> None: ...

    def drop(self, *, key: str) -> None: ...

    def online_user_pks(self) -> set[str]: ...


class DatabaseStore:
    def touch(self, *, key: str, user_pk: Any, ttl: float) -> None:
        now = timezone.now()
        StaffPresence.objects.update_or_create(
            key=key, defaults={"user_id": user_pk, "expires_at": now + timedelta(seconds=ttl)}
        )
        # Rows of sockets whose process died: few, and the expiry index finds them.
        StaffPresence.objects.filter(expires_at__lte=now).delete()

    def drop(self, *, key: str) -> None:
        StaffPresence.objects.filter(key=key).delete()

    def online_user_pks(self) -> set[str]:
        rows = StaffPresence.objects.filter(expires_at__gt=timezone.now())
        return {str(pk) for pk in rows.values_list("user_id", flat=True).distinct()}


class RedisStore:
    """One sorted set: member ``<user pk>|<socket>``, score its expiry (Unix time)."""

    def __init__(self, *, host: dict[str, Any], key: str) -> None:
        import redis

        self.key = key
        self.client: Any = (
            redis.Redis.from_url(host["address"], decode_responses=True)
            if "address" in host
            else redis.Redis(**host, decode_responses=True)
        )

    def touch(self, *, key: str, user_pk: Any, ttl: float) -> None:
        now = time.time()
        pipe = self.client.pipeline()
        pipe.zremrangebyscore(self.key, "-inf", now)
        pipe.zadd(self.key, {f"{user_pk}|{key}": now + ttl})
        # The set goes away with the last heartbeat (a site whose staff all left).
        pipe.expire(self.key, max(1, int(ttl * 2)))
        pipe.execute()

    def drop(self, *, key: str) -> None:
        suffix = f"|{key}"
        members = self.client.zrange(self.key, 0, -1)
        doomed = [m for m in members if m.endswith(suffix)]
        if doomed:
            self.client.zrem(self.key, *doomed)

    def online_user_pks(self) -> set[str]:
        members = self.client.zrangebyscore(self.key, time.time(), "+inf")
        return {m.split("|", 1)[0] for m in members}


def presence_store() -> PresenceStore:
    """The store for the configured channel layer (looked up each time, so
    ``override_settings`` works; the Redis client is made once per configuration)."""
    layer = getattr(settings, "CHANNEL_LAYERS", {}).get("default", {})
    if "redis" not in str(layer.get("BACKEND", "")).lower():
        return DatabaseStore()
    config = layer.get("CONFIG", {})
    hosts = list(config.get("hosts") or ["redis://127.0.0.1:6379"])
    key = f"{config.get('prefix', 'asgi')}:{inbox_settings.GROUP_PREFIX}.presence"
    cache_key = (repr(hosts), key)
    store = _redis_stores.get(cache_key)
    if store is None:
        from channels_redis.utils import decode_hosts

        store = _redis_stores[cache_key] = RedisStore(host=decode_hosts(hosts)[0], key=key)
    return store


_redis_stores: dict[tuple[str, str], RedisStore] = {}
