"""The in-memory channel layer logs what it drops (Channels' own drops silently)."""

from __future__ import annotations

import logging

from inbox.realtime.layers import InMemoryChannelLayer


async def test_a_message_dropped_by_a_full_queue_is_logged_at_warning(caplog):
    layer = InMemoryChannelLayer(capacity=1)
    channel = await layer.new_channel()
    await layer.group_add("inbox.test", channel)
    with caplog.at_level(logging.WARNING, logger="inbox"):
        await layer.group_send("inbox.test", {"type": "inbox.event", "n": 1})
        await layer.group_send("inbox.test", {"type": "inbox.event", "n": 2})
    assert (await layer.receive(channel))["n"] == 1
    dropped = [r for r in caplog.records if "dropped" in r.getMessage()]
    assert [r.levelno for r in dropped] == [logging.WARNING]
    assert channel in dropped[0].getMessage()
