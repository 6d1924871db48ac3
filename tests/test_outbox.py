"""The transactional outbox (inbox/outbox/): every event is recorded in the transaction of the
write that causes it, marked published by the request that publishes it, and published by the
relay when that request's process died between commit and publish.

The last test kills a real server process (SIGKILL, through the fault hook of
inbox/realtime/publish.py) after it committed a message and before it published it, with the
relay running as a real process beside the servers; a socket held on the other server gets the
message within 5 s, and the Jepsen-style checker (tests/jepsen.py) finds nothing lost or doubled.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import time
import uuid
from collections import Counter
from datetime import timedelta

import pytest
from channels.layers import get_channel_layer
from django.db import transaction
from django.utils import timezone

from inbox import services
from inbox.identity import caller_for_app
from inbox.models import OutboxEvent
from inbox.outbox.relay import prune_once, relay_once, signal_once
from inbox.realtime.events import message_event_id
from inbox.realtime.groups import business_group, participant_group
from inbox.realtime.publish import FAULT_KILL_BEFORE_PUBLISH
from tests.conftest import text_draft
from tests.jepsen import UNKNOWN, History, check, divergent
from tests.servers import asgi_servers
from tests.test_faults import (
    API,
    all_ready,
    committed_messages,
    http_client,
    make_clients,
    open_conversations,
    report,
    visible,
)


@pytest.fixture
def app_caller(db):
    app, _ = services.app_create(name="outbox")
    return caller_for_app(app)


@pytest.fixture
def layer(settings):
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    return get_channel_layer()


def test_the_event_is_recorded_with_the_write_and_rolled_back_with_it(
    app_caller, make_conversation
):
    conversation = make_conversation()
    message, _ = services.message_send(
        caller=app_caller, conversation=conversation, draft=text_draft("kept")
    )
    row = OutboxEvent.objects.get()
    assert str(row.pk) == message_event_id(message.pk) == row.envelope["id"]
    assert row.slug == "message_sent_to_participant"
    assert row.envelope["data"]["message"]["id"] == str(message.pk)
    assert row.groups == [business_group(), participant_group(conversation.pk)]
    with pytest.raises(RuntimeError), transaction.atomic():
        services.message_send(
            caller=app_caller, conversation=conversation, draft=text_draft("rolled back")
        )
        raise RuntimeError("the caller's transaction fails after the send")
    assert OutboxEvent.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_the_request_that_publishes_marks_the_event_published(layer, app_caller, make_conversation):
    services.message_send(caller=app_caller, conversation=make_conversation(), draft=text_draft())
    row = OutboxEvent.objects.get()
    assert row.published_at is not None
    assert row.published_at >= row.created_at


async def _receive_all(layer, channel: str) -> list[dict]:
    received = []
    while True:
        try:
            received.append(await asyncio.wait_for(layer.receive(channel), 0.2))
        except TimeoutError:
            return received


@pytest.mark.django_db(transaction=True)
def test_the_relay_publishes_only_stale_unpublished_events_once(
    layer, app_caller, make_conversation, settings
):
    settings.INBOX = {"OUTBOX_RELAY_GRACE_SECONDS": 2.0}
    conversation = make_conversation()
    messages = [
        services.message_send(caller=app_caller, conversation=conversation, draft=text_draft())[0]
        for _ in range(3)
    ]
    # The first two as a process killed before publishing leaves them: one old enough for the
    # relay, one still within the grace of its (maybe only slow) request.
    stale, fresh, published = (message_event_id(m.pk) for m in messages)
    OutboxEvent.objects.filter(pk=stale).update(
        published_at=None, created_at=timezone.now() - timedelta(seconds=3)
    )
    OutboxEvent.objects.filter(pk=fresh).update(published_at=None)
    channel = asyncio.run(layer.new_channel())
    asyncio.run(layer.group_add(business_group(), channel))

    assert relay_once() == 1
    assert [m["event"]["id"] for m in asyncio.run(_receive_all(layer, channel))] == [stale]
    assert str(OutboxEvent.objects.get(published_at__isnull=True).pk) == fresh
    assert relay_once() == 0
    assert OutboxEvent.objects.get(pk=published).published_at is not None


@pytest.fixture
def committed_events():
    """The event ids ``inbox.signals.event_committed`` is sent with, in order."""
    from inbox.signals import event_committed

    received: list[str] = []

    def receiver(sender, event_id, **kwargs):
        received.append(event_id)

    event_committed.connect(receiver)
    yield received
    event_committed.disconnect(receiver)


@pytest.mark.django_db(transaction=True)
def test_the_relay_sends_the_signals_of_a_process_that_died_before_sending_them_once(
    layer, app_caller, make_conversation, settings, committed_events
):
    settings.INBOX = {"OUTBOX_RELAY_GRACE_SECONDS": 2.0}
    conversation = make_conversation()
    sent = [
        services.message_send(caller=app_caller, conversation=conversation, draft=text_draft())[0]
        for _ in range(3)
    ]
    died, fresh, healthy = (message_event_id(m.pk) for m in sent)
    # The request's process sent the signals of all three; the first two as a process killed
    # between its commit and its post-commit step leaves them (nothing published or sent).
    assert committed_events == [died, fresh, healthy]
    committed_events.clear()
    OutboxEvent.objects.filter(pk=died).update(
        published_at=None, signalled_at=None, created_at=timezone.now() - timedelta(seconds=3)
    )
    OutboxEvent.objects.filter(pk=fresh).update(published_at=None, signalled_at=None)
    assert relay_once() == 1 and signal_once() == 1
    assert committed_events == [died]
    assert signal_once() == 0 and committed_events == [died]
    # A process whose publish the channel layer refused (Redis down) did send the signals: the
    # relay publishes its event but does not signal it again.
    OutboxEvent.objects.filter(pk=healthy).update(
        published_at=None, created_at=timezone.now() - timedelta(seconds=3)
    )
    assert relay_once() == 1 and signal_once() == 0
    assert committed_events == [died]


@pytest.mark.django_db(transaction=True)
def test_published_events_past_the_retention_are_pruned(
    layer, app_caller, make_conversation, settings
):
    settings.INBOX = {"OUTBOX_RETENTION_SECONDS": 60}
    conversation = make_conversation()
    old, new = (
        services.message_send(caller=app_caller, conversation=conversation, draft=text_draft())[0]
        for _ in range(2)
    )
    OutboxEvent.objects.update(dispatched_at=timezone.now())
    OutboxEvent.objects.filter(pk=message_event_id(old.pk)).update(
        published_at=timezone.now() - timedelta(seconds=61)
    )
    assert prune_once() == 1
    assert list(OutboxEvent.objects.values_list("pk", flat=True)) == [
        uuid.UUID(message_event_id(new.pk))
    ]


@pytest.mark.multiprocess
@pytest.mark.slow
async def test_a_server_killed_between_commit_and_publish_loses_no_event() -> None:
    marker = f"killed-before-publish-{uuid.uuid4().hex}"
    with asgi_servers(
        2, server_env={1: {FAULT_KILL_BEFORE_PUBLISH: marker}}, background=True
    ) as cluster:
        key = await asyncio.to_thread(cluster.create_app_key)
        async with http_client() as http:
            conversations = await open_conversations(http, cluster.urls[0], key, 3)
            ids = [conversation_id for conversation_id, _ in conversations]
            # Every socket on the server that survives: what it gets, it gets live (no
            # reconnect, so no resume replays it from the database).
            clients = make_clients(cluster, key, conversations, business=2, home=0)
            history = History()
            try:
                for client in clients:
                    await client.start()
                await all_ready(clients)
                url0 = f"{cluster.urls[0]}{API}/messages"
                headers = {"Authorization": key}
                for index in range(6):
                    await history.send(
                        http, url0, ids[index % 3], f"before {index}", headers=headers
                    )
                crash = await history.send(
                    http,
                    f"{cluster.urls[1]}{API}/messages",
                    ids[0],
                    marker,
                    headers=headers,
                    retries=0,
                )
                killed_at = time.monotonic()
                victim = cluster.servers[1].process
                assert victim is not None
                assert await asyncio.to_thread(victim.wait, 10) == -signal.SIGKILL
                for index in range(6):
                    await history.send(
                        http, url0, ids[index % 3], f"after {index}", headers=headers
                    )
                committed = await committed_messages(http, cluster.urls[0], key, ids)
                (crashed_id,) = [
                    mid for mid in committed[ids[0]] if mid not in history.acknowledged()
                ]
                waiting = [c for c in clients if ids[0] in c.conversations]
                while time.monotonic() < killed_at + 5.0 and not all(
                    crashed_id in c.message_ids() for c in waiting
                ):
                    await asyncio.sleep(0.05)
                arrived = {
                    c.name: round(c.first[e]["arrivedAt"] - killed_at, 2)
                    for c in waiting
                    for e, m in c.first.items()
                    if m["id"] == crashed_id
                }
                await asyncio.sleep(0.5)
            finally:
                for client in clients:
                    await client.stop()
    report("server_sigkill_before_publish", {**history.summary(), "arrived_after_s": arrived})
    assert crash.outcome == UNKNOWN
    # Every socket that may see the message got it from the relay within 5 s of the kill...
    assert set(arrived) == {c.name for c in waiting}, cluster.logs()
    assert max(arrived.values()) <= 5.0
    # ...live: none of them reconnected.
    assert all(len(client.connects) == 1 for client in clients)
    # Nothing lost, nothing doubled, and the unacknowledged but committed message is everywhere.
    assert history.summary()["ok"] == 12
    assert check(history, clients, committed, visible) == []
    assert divergent(history, clients, committed, visible) == 0


LEFT_OVER_SCRIPT = """
import json, uuid
from datetime import timedelta
from django.utils import timezone
from inbox.models import OutboxEvent
from inbox.realtime.groups import business_group
at = timezone.now() - timedelta(seconds=10)
rows = []
for n in range({count}):
    event_id = str(uuid.uuid4())
    envelope = {{"id": event_id, "slug": "message_sent_to_business", "entityFqdn":
        "wix.crm.inbox.v2.message", "entityId": str(n), "eventTime": at.isoformat(), "data": {{}}}}
    rows.append(OutboxEvent(id=event_id, slug=envelope["slug"], envelope=envelope,
        groups=[business_group()], created_at=at))
OutboxEvent.objects.bulk_create(rows)
print(json.dumps({{"group": business_group(), "ids": [r.id for r in rows]}}))
"""


@pytest.mark.multiprocess
@pytest.mark.slow
@pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")),
    reason="two relays share a backlog on PostgreSQL only (SKIP LOCKED); SQLite runs one",
)
async def test_two_relays_at_once_publish_each_left_over_event_once() -> None:
    from inbox.realtime.layers import RedisPubSubChannelLayer

    count = 1500  # three batches of the relay's 500, so the two contend
    with asgi_servers(0) as cluster:
        script = LEFT_OVER_SCRIPT.format(count=count)
        out = await asyncio.to_thread(cluster.manage, "shell", "-c", script)
        left_over = json.loads(out.strip().splitlines()[-1])
        layer = RedisPubSubChannelLayer(
            hosts=[cluster.env["REDIS_URL"]], prefix=cluster.env["CHANNEL_LAYER_PREFIX"]
        )
        channel = await layer.new_channel()
        await layer.group_add(left_over["group"], channel)
        received: list[str] = []
        try:
            relays = [cluster._start_command(f"relay-{n}", ["inbox_relay"]) for n in range(2)]
            deadline = time.monotonic() + 60
            while len(received) < count and time.monotonic() < deadline:
                with contextlib.suppress(TimeoutError):
                    message = await asyncio.wait_for(layer.receive(channel), 1.0)
                    received.append(message["event"]["id"])
            # Anything sent twice would arrive within a moment of the rest.
            with contextlib.suppress(TimeoutError):
                while True:
                    message = await asyncio.wait_for(layer.receive(channel), 1.5)
                    received.append(message["event"]["id"])
            for relay in relays:
                relay.send_signal(signal.SIGTERM)
                await asyncio.to_thread(relay.wait, 10)
            state = await asyncio.to_thread(
                cluster.manage,
                "shell",
                "-c",
                "from inbox.models import OutboxEvent as O; "
                "print(O.objects.filter(published_at=None).count(), "
                "O.objects.filter(signalled_at=None).count())",
            )
            logs = cluster.logs()
        finally:
            await layer.flush()
    assert Counter(received) == Counter(left_over["ids"]), logs
    assert state.strip().splitlines()[-1].split() == ["0", "0"]
    # Each relay's log counts what it published: together, every event once.
    relayed = [int(n) for n in re.findall(r"relayed (\d+) events", logs)]
    assert sum(relayed) == count, logs
