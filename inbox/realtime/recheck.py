"""Checking an open socket's caller again (docs/events.md, "Revocation").

A timer queues a re-check every ``SOCKET_RECHECK_SECONDS`` (jittered) on the socket's
``local_messages``, and any message the socket dispatches after that deadline (an event above
all) waits for the re-check first, so no event leaves after the deadline on a credential nobody
has checked since. A visitor socket's deadline is its token's expiry. Between deadlines an event
costs one clock read, no query.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable
from typing import Any

from channels.db import database_sync_to_async

from inbox.conf import inbox_settings
from inbox.identity import Caller, CallerKind, app_key_cache
from inbox.realtime.middleware import current_caller
from inbox.realtime.protocol import CLOSE_FORBIDDEN, CLOSE_TRY_AGAIN_LATER, CLOSE_UNAUTHENTICATED

logger = logging.getLogger("inbox")

RECHECK_TYPE = "inbox.recheck"
# Messages dispatched without waiting for a due re-check: the handshake, the disconnect, and the
# re-check's own timer message.
_NOT_GATED = frozenset({"websocket.connect", "websocket.disconnect", RECHECK_TYPE})


class CallerRecheck:
    """When one socket's caller is checked next, and that check."""

    def __init__(
        self,
        *,
        caller: Caller,
        credential_expires: float | None,
        session_key: str | None,
        admits: Callable[[Caller], bool],
        local_messages: asyncio.Queue[dict[str, Any]],
    ) -> None:
        self.caller = caller
        self.credential_expires = credential_expires
        self.session_key = session_key
        self.admits = admits
        self.local_messages = local_messages
        # When (event-loop time) the caller is checked next; None once the check is cancelled.
        self.at: float | None = None
        self.timer: asyncio.TimerHandle | None = None
        self.round = 0

    def schedule(self) -> None:
        """Set the next deadline: a jittered interval for callers a server can revoke, the
        token's expiry for visitors (whose tokens nothing else revokes)."""
        loop = asyncio.get_running_loop()
        delays = []
        if self.caller.kind is not CallerKind.VISITOR:
            interval = float(inbox_settings.SOCKET_RECHECK_SECONDS)
            delays.append(interval * random.uniform(0.5, 1.0))
        if self.credential_expires is not None:
            delays.append(max(self.credential_expires - time.time(), 0.0))
        if not delays:
            self.at = None
            return
        delay = min(delays)
        self.at = loop.time() + delay
        self.round += 1
        self.timer = loop.call_later(delay, self._due, self.round)

    def _due(self, round_: int) -> None:
        # Timer callback (same event loop): the re-check runs in turn with everything else.
        self.local_messages.put_nowait({"type": RECHECK_TYPE, "round": round_})

    def cancel(self) -> None:
        self.at = None
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None

    def gates(self, message: dict[str, Any]) -> bool:
        """Must ``message`` wait for a re-check before it is served?"""
        return (
            self.at is not None
            and asyncio.get_running_loop().time() >= self.at
            and message.get("type") not in _NOT_GATED
        )

    def is_current(self, message: dict[str, Any]) -> bool:
        """Is this timer message the pending deadline's? One that an earlier message already
        met has been replaced by a later one."""
        return self.at is not None and message.get("round") == self.round

    async def run(self) -> int | None:
        """Check the caller again. Returns None when it may keep the socket (the next check is
        scheduled), else the close code its handshake would now get."""
        self.cancel()
        code = None
        if self.credential_expires is not None and time.time() >= self.credential_expires:
            code = CLOSE_UNAUTHENTICATED
        elif self._app_still_cached():
            pass  # an API key whose app this process has seen active within the cache TTL
        elif self.caller.kind is not CallerKind.VISITOR:
            try:
                caller, code = await database_sync_to_async(self._check_caller)()
            except Exception as error:
                # Unable to tell: closed rather than kept open unchecked; the client retries.
                logger.warning(
                    "inbox: socket closed with 4013, could not check its caller again (%s)",
                    type(error).__name__,
                )
                code = CLOSE_TRY_AGAIN_LATER
            else:
                if code is None and caller is not None:
                    self.caller = caller
        if code is None:
            self.schedule()
        elif code != CLOSE_TRY_AGAIN_LATER:
            logger.info(
                "inbox: %s socket closed with %d, its credential is no longer valid",
                self.caller.kind.value,
                code,
            )
        return code

    def _app_still_cached(self) -> bool:
        """True when the caller is an app the key cache holds as active: the check needs no
        thread hop (with 1,000 API-key sockets a worker, a hop each was visible in a fan-out)."""
        app = self.caller.app
        if self.caller.kind is not CallerKind.APP or app is None:
            return False
        cached = app_key_cache.cached(app.key_hash)
        return cached is not None and cached.pk == self.caller.id

    def _check_caller(self) -> tuple[Caller | None, int | None]:
        """(the caller now, or None; the close code its handshake would get now, or None).
        Reads the database (session, user, permissions), so it runs in a worker thread."""
        caller = current_caller(self.caller, self.session_key)
        if caller is None:
            return None, CLOSE_UNAUTHENTICATED
        if not self.admits(caller):
            return caller, CLOSE_FORBIDDEN
        return caller, None
