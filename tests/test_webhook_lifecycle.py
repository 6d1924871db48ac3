"""Webhook faults and operations, one attempt at a time against a real receiver on loopback:
3xx is a failure (never followed), a receiver slower than the timeout is a failed attempt, an
endpoint failing for WEBHOOK_DISABLE_AFTER_SECONDS is switched off and the site told (the admin
shows it, ADMINS get an e-mail through a real SMTP server), and "replay everything since T"
per endpoint, in the admin and over REST.

The attempt runs in the test process (``webhook_attempt``, what the worker's task calls) so the
clock can be set back; tests/test_webhooks.py runs the worker as a real process.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterator
from datetime import timedelta
from email import message_from_bytes
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from django.test import Client
from django.utils import timezone

from inbox import services
from inbox.identity import caller_for_app
from inbox.models import App, OutboxEvent, WebhookDelivery, WebhookEndpoint
from inbox.realtime.events import message_event_id
from inbox.webhooks.services import webhook_attempt, webhook_endpoint_create, webhooks_fan_out
from tests.conftest import assert_app_error, field_violations, text_draft
from tests.servers import free_port
from tests.webhook_receiver import Answer, Receiver, webhook_receiver

EVENT = "message_sent_to_participant"
ENDPOINTS = "/inbox/v2/webhooks/endpoints"
LOOPBACK = {"WEBHOOK_ALLOWED_NETWORKS": ["127.0.0.0/8"]}


@pytest.fixture
def receiver(settings) -> Iterator[Receiver]:
    settings.INBOX = dict(LOOPBACK)
    with webhook_receiver() as receiver:
        yield receiver


@pytest.fixture
def send(app_key: str, make_conversation: Any) -> Any:
    """Send one message and fan its event out; returns the outbox event id."""
    conversation = make_conversation()

    def send(text: str = "hi") -> str:
        message, *_ = services.message_send(
            caller=caller_for_app(App.objects.get()),
            conversation=conversation,
            draft=text_draft(text),
        )
        webhooks_fan_out()
        return message_event_id(message.pk)

    return send


def _endpoint(receiver: Receiver) -> WebhookEndpoint:
    endpoint, secret = webhook_endpoint_create(url=receiver.url, event_types=[EVENT])
    receiver.secret = secret
    return endpoint


def _only_delivery() -> WebhookDelivery:
    (delivery,) = WebhookDelivery.objects.all()
    return delivery


# Faults ------------------------------------------------------------------------------------


def test_a_redirect_is_a_failure_and_is_not_followed(receiver, send) -> None:
    _endpoint(receiver)
    receiver.plan = [Answer(302, {"Location": "http://127.0.0.1:9/elsewhere"})]
    send()
    delivery = _only_delivery()
    webhook_attempt(delivery_id=str(delivery.pk))
    delivery.refresh_from_db()
    assert len(receiver.received) == 1
    assert (delivery.status, delivery.attempt_count) == ("PENDING", 1)
    assert [a.status_code for a in delivery.attempts.all()] == [302]
    assert delivery.next_attempt_at is not None


def test_a_receiver_slower_than_the_timeout_is_a_failed_attempt(receiver, send, settings) -> None:
    settings.INBOX = {**LOOPBACK, "WEBHOOK_TIMEOUT_SECONDS": 0.5}
    _endpoint(receiver)
    receiver.plan = [Answer(200, delay=2.0)]
    send()
    delivery = _only_delivery()
    webhook_attempt(delivery_id=str(delivery.pk))
    delivery.refresh_from_db()
    (attempt,) = delivery.attempts.all()
    assert attempt.status_code is None and "Timeout" in attempt.error
    assert (delivery.status, delivery.attempt_count) == ("PENDING", 1)
    # The next attempt is answered in time: one logical delivery, succeeded.
    webhook_attempt(delivery_id=str(delivery.pk))
    delivery.refresh_from_db()
    assert delivery.status == "SUCCEEDED"
    assert [a.status_code for a in delivery.attempts.all()] == [None, 200]


# An endpoint failing for days --------------------------------------------------------------


class Inbox:
    """An SMTP handler that keeps every message it is given."""

    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.messages.append((envelope.rcpt_tos, message_from_bytes(envelope.content)))
        return "250 OK"


@contextlib.contextmanager
def smtp_server(settings: Any) -> Iterator[Inbox]:
    """A real SMTP server on loopback, and the site's mail settings pointing at it."""
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", controller.port
    settings.ADMINS = [("Ops", "ops@example.com")]
    try:
        yield inbox
    finally:
        controller.stop()


def test_an_endpoint_failing_for_days_is_switched_off_and_the_site_told(
    receiver, send, settings, staff_user, django_capture_on_commit_callbacks
) -> None:
    endpoint = _endpoint(receiver)
    receiver.plan = [Answer(500)] * 3
    send("first")
    delivery = _only_delivery()
    with smtp_server(settings) as mail:
        # A failure starts the streak; a day later it is still on.
        with django_capture_on_commit_callbacks(execute=True):
            webhook_attempt(delivery_id=str(delivery.pk))
        endpoint.refresh_from_db()
        assert endpoint.is_active and endpoint.failing_since is not None
        # Five days of failures: the next failed attempt switches it off.
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
            failing_since=timezone.now() - timedelta(days=5, seconds=1)
        )
        with django_capture_on_commit_callbacks(execute=True):
            webhook_attempt(delivery_id=str(delivery.pk))
        messages = list(mail.messages)
    endpoint.refresh_from_db()
    delivery.refresh_from_db()
    assert not endpoint.is_active and "failing since" in endpoint.disabled_reason
    assert delivery.status == "FAILED"
    ((to, message),) = messages
    assert to == ["ops@example.com"]
    assert endpoint.url in message["Subject"]
    assert "switched off" in message.get_payload()
    # The endpoint admin says so.
    client = Client()
    client.force_login(staff_user)
    page = client.get("/admin/inbox/webhookendpoint/").content.decode()
    assert f"Webhook endpoint {endpoint.url} is switched off" in page
    # Nothing more is sent to it.
    send("second")
    assert WebhookDelivery.objects.count() == 1 and len(receiver.received) == 2


def test_a_success_ends_the_failure_streak(receiver, send, settings) -> None:
    settings.INBOX = {**LOOPBACK, "WEBHOOK_DISABLE_AFTER_SECONDS": 60}
    endpoint = _endpoint(receiver)
    receiver.plan = [Answer(500)]
    send()
    delivery = _only_delivery()
    webhook_attempt(delivery_id=str(delivery.pk))
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        failing_since=timezone.now() - timedelta(seconds=30)
    )
    webhook_attempt(delivery_id=str(delivery.pk))
    endpoint.refresh_from_db()
    assert endpoint.is_active and endpoint.failing_since is None


# Replay everything since T -----------------------------------------------------------------


def test_replay_over_rest_delivers_again_what_was_recorded_since_then(
    receiver, send, app_client
) -> None:
    first_endpoint = _endpoint(receiver)
    old = send("old")
    OutboxEvent.objects.filter(pk=old).update(created_at=timezone.now() - timedelta(hours=2))
    since = timezone.now() - timedelta(hours=1)
    recent = send("recent")
    WebhookDelivery.objects.update(status="SUCCEEDED", attempt_count=1)
    # A second endpoint, subscribed after both events: replay gives it the recent one.
    created = app_client.post(
        ENDPOINTS, {"url": receiver.url, "eventTypes": [EVENT]}, format="json"
    ).json()["endpoint"]
    for endpoint_id in (str(first_endpoint.pk), created["id"]):
        response = app_client.post(
            f"{ENDPOINTS}/{endpoint_id}/replay", {"since": since.isoformat()}, format="json"
        )
        assert response.status_code == 200, response.content
        assert response.json() == {"deliveries": 1}
    replayed = WebhookDelivery.objects.filter(status="PENDING")
    assert sorted((str(d.endpoint_id), str(d.event_id)) for d in replayed) == sorted(
        [(str(first_endpoint.pk), recent), (created["id"], recent)]
    )
    assert all(d.attempt_count == 0 for d in replayed)
    from django_tasks_db.models import DBTaskResult

    queued = [t.args_kwargs["args"][0] for t in DBTaskResult.objects.filter(status="READY")]
    assert {str(d.pk) for d in replayed} <= set(queued)
    # The old event's delivery was left alone.
    assert WebhookDelivery.objects.get(event_id=old).status == "SUCCEEDED"


def test_replay_refuses_bad_input_and_changes_nothing(receiver, send, app_client) -> None:
    endpoint = _endpoint(receiver)
    send()
    WebhookDelivery.objects.update(status="SUCCEEDED")
    url = f"{ENDPOINTS}/{endpoint.pk}/replay"
    for body in ({}, {"since": "yesterday"}):
        response = app_client.post(url, body, format="json")
        assert response.status_code == 400
        assert [p.split(".")[0] for p in field_violations(response)] == ["since"]
    WebhookEndpoint.objects.update(is_active=False)
    since = (timezone.now() - timedelta(days=1)).isoformat()
    assert_app_error(
        app_client.post(url, {"since": since}, format="json"), 409, "WEBHOOK_ENDPOINT_INACTIVE"
    )
    assert list(WebhookDelivery.objects.values_list("status", flat=True)) == ["SUCCEEDED"]


def test_replay_in_the_admin_asks_for_the_time_then_queues(receiver, send, staff_user) -> None:
    endpoint = _endpoint(receiver)
    send()
    WebhookDelivery.objects.update(status="SUCCEEDED")
    client = Client()
    client.force_login(staff_user)
    selected = {"action": "replay", "_selected_action": [str(endpoint.pk)]}
    asked = client.post("/admin/inbox/webhookendpoint/", selected)
    assert asked.status_code == 200 and 'name="since_0"' in asked.content.decode()
    since = timezone.localtime(timezone.now() - timedelta(hours=1))
    done = client.post(
        "/admin/inbox/webhookendpoint/",
        {
            **selected,
            "apply": "1",
            "since_0": since.strftime("%Y-%m-%d"),
            "since_1": since.strftime("%H:%M:%S"),
        },
    )
    assert done.status_code == 302
    assert list(WebhookDelivery.objects.values_list("status", flat=True)) == ["PENDING"]


def test_the_public_key_is_shown_in_the_admin_and_rotated_by_the_command(
    receiver, staff_user
) -> None:
    from django.core.management import call_command

    endpoint, _ = webhook_endpoint_create(url=receiver.url, event_types=[EVENT], format="wix")
    client = Client()
    client.force_login(staff_user)
    page = client.get(f"/admin/inbox/webhookendpoint/{endpoint.pk}/change/").content.decode()
    from inbox.models import WebhookSigningKey

    key = WebhookSigningKey.objects.get()
    assert key.public_key.splitlines()[1] in page
    assert "PRIVATE" not in page
    out = io.StringIO()
    call_command("inbox_webhook_key", "--rotate", stdout=out)
    assert out.getvalue().startswith("-----BEGIN PUBLIC KEY-----")
    assert WebhookSigningKey.objects.get().public_key != key.public_key
