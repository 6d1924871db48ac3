"""Webhooks (inbox/webhooks/): endpoints over REST, Standard Webhooks signatures, the SSRF guard,
and delivery at least once by the task worker as a real process, against a real receiver on
loopback that verifies every request with the ``standardwebhooks`` library.

Faults: the receiver down for a while (retried, then one logical delivery), 410 (the endpoint is
switched off), and the worker killed mid-delivery (the attempt is handed to another worker).
The retry schedule is shortened to seconds through the demo settings' environment.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import signal
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import jwt
import pytest
from django.test import Client
from standardwebhooks.webhooks import Webhook

from inbox.models import WebhookEndpoint
from inbox.webhooks import destinations, signing
from tests.conftest import assert_app_error, field_violations
from tests.servers import ServerCluster, asgi_servers
from tests.webhook_receiver import Answer, Receiver, webhook_receiver, wix_verify

ENDPOINTS = "/inbox/v2/webhooks/endpoints"
EVENT = "message_sent_to_participant"


# Signing and the SSRF guard ----------------------------------------------------------------


def test_every_secret_signs_and_a_receiver_holding_either_verifies() -> None:
    old, new = signing.new_secret(), signing.new_secret()
    assert old.startswith("whsec_")
    body = signing.body({"id": "e1", "slug": EVENT, "data": {"text": "héllo"}})
    headers = signing.headers(
        message_id="e1", timestamp=datetime.now(UTC), body=body, secrets=[new, old]
    )
    assert headers["webhook-id"] == "e1"
    assert headers["webhook-signature"].count("v1,") == 2
    for secret in (old, new):
        assert Webhook(secret).verify(body, headers)["data"] == {"text": "héllo"}
    with pytest.raises(Exception, match="No matching signature"):
        Webhook(signing.new_secret()).verify(body, headers)


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("10.1.2.3", "private"),
        ("192.168.0.1", "private"),
        ("169.254.169.254", "link-local"),
        ("fe80::1", "link-local"),
        ("fd00:ec2::254", "metadata"),
        ("::ffff:127.0.0.1", "loopback"),
        ("0.0.0.0", "unspecified"),
        ("224.0.0.1", "multicast"),
    ],
)
def test_the_guard_refuses_non_public_addresses(address: str, reason: str) -> None:
    refusal = destinations.refusal(ipaddress.ip_address(address))
    assert refusal is not None and reason in refusal


def test_the_guard_lets_public_addresses_and_allowed_networks_through(settings) -> None:
    assert destinations.refusal(ipaddress.ip_address("93.184.215.14")) is None
    settings.INBOX = {"WEBHOOK_ALLOWED_NETWORKS": ["127.0.0.0/8"]}
    assert destinations.refusal(ipaddress.ip_address("127.0.0.1")) is None
    assert destinations.refusal(ipaddress.ip_address("10.0.0.1")) is not None


# Endpoints over REST -----------------------------------------------------------------------


def test_an_app_creates_an_endpoint_and_sees_its_secret_once(app_client, settings) -> None:
    settings.INBOX = {"WEBHOOK_ALLOWED_NETWORKS": ["127.0.0.0/8"]}
    response = app_client.post(
        ENDPOINTS, {"url": "http://127.0.0.1:9/hooks", "eventTypes": [EVENT]}, format="json"
    )
    assert response.status_code == 200, response.content
    created = response.json()
    assert created["secret"].startswith("whsec_")
    endpoint_id = created["endpoint"]["id"]
    assert created["endpoint"]["active"] is True
    listed = app_client.get(ENDPOINTS).json()["endpoints"]
    assert [e["id"] for e in listed] == [endpoint_id]
    assert created["secret"] not in json.dumps(listed)
    assert "secret" not in app_client.get(f"{ENDPOINTS}/{endpoint_id}").json()["endpoint"]
    changed = app_client.patch(f"{ENDPOINTS}/{endpoint_id}", {"active": False}, format="json")
    assert changed.json()["endpoint"]["active"] is False
    rotated = app_client.post(f"{ENDPOINTS}/{endpoint_id}/rotate-secret").json()
    assert rotated["secret"] != created["secret"]
    stored = WebhookEndpoint.objects.get()
    assert (stored.secret, stored.previous_secret) == (rotated["secret"], created["secret"])
    assert app_client.delete(f"{ENDPOINTS}/{endpoint_id}").status_code == 200
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "http://127.0.0.1:9/hooks", "eventTypes": [EVENT]}, "url"),
        ({"url": "http://169.254.169.254/latest", "eventTypes": [EVENT]}, "url"),
        ({"url": "ftp://example.com/", "eventTypes": [EVENT]}, "url"),
        ({"url": "http://93.184.215.14/", "eventTypes": ["no_such_event"]}, "eventTypes"),
        ({"url": "http://93.184.215.14/", "eventTypes": []}, "eventTypes"),
    ],
)
def test_a_refused_endpoint_is_a_field_violation_and_creates_nothing(app_client, body, field):
    response = app_client.post(ENDPOINTS, body, format="json")
    assert response.status_code == 400
    assert [path.split(".")[0] for path in field_violations(response)] == [field]
    assert not WebhookEndpoint.objects.exists()


def test_only_apps_manage_endpoints(staff_client, member_client, api) -> None:
    for client in (staff_client, member_client):
        assert_app_error(client.get(ENDPOINTS), 403, "PERMISSION_DENIED")
    assert api.get(ENDPOINTS).status_code == 401


def test_an_unknown_endpoint_is_404_in_the_envelope(app_client) -> None:
    for path in (f"{ENDPOINTS}/00000000-0000-0000-0000-000000000000", f"{ENDPOINTS}/nope"):
        assert_app_error(app_client.get(path), 404, "WEBHOOK_ENDPOINT_NOT_FOUND")


# Delivery by the worker, against a real receiver -------------------------------------------

WEBHOOK_ENV = {
    "INBOX_WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8",
    "INBOX_WEBHOOK_RETRY_SCHEDULE": "0,1,1,1,1,1,1,1,1,1",
    "INBOX_WEBHOOK_TIMEOUT_SECONDS": "3",
}


@contextlib.contextmanager
def webhook_site(
    format: str = "standard",
) -> Iterator[tuple[ServerCluster, Receiver, dict[str, str], str, str]]:
    """A server with the worker and the relay, a receiver, an endpoint pointing at it and a
    conversation: (cluster, receiver, API headers, endpoint id, conversation id)."""
    with (
        webhook_receiver() as receiver,
        asgi_servers(1, extra_env=WEBHOOK_ENV, background=True) as cluster,
    ):
        yield cluster, receiver, *_setup(cluster, receiver, format)


def _setup(
    cluster: ServerCluster, receiver: Receiver, format: str
) -> tuple[dict[str, str], str, str]:
    key = cluster.create_app_key()
    headers = {"Authorization": key}
    base = cluster.urls[0] + "/inbox"
    created = httpx.post(
        f"{base}/v2/webhooks/endpoints",
        json={"url": receiver.url, "eventTypes": [EVENT], "format": format},
        headers=headers,
    ).json()
    assert created["endpoint"]["format"] == format
    if format == "wix":
        # What a receiver ported from Wix is configured with: the site's public key.
        receiver.public_key = httpx.get(
            f"{base}/v2/webhooks/endpoints/public-key", headers=headers
        ).json()["publicKey"]
    else:
        receiver.secret = created["secret"]
    conversation = httpx.post(
        f"{base}/v2/conversations",
        json={"participantId": {"contactId": "3f1e0e54-3a52-4d0e-9e36-0b7f6f9a9a11"}},
        headers=headers,
    ).json()["conversation"]["id"]
    return headers, created["endpoint"]["id"], conversation


def _send(cluster: ServerCluster, headers: dict[str, str], conversation: str, text: str) -> str:
    """Send a message; returns its event id (the webhook-id to expect)."""
    from inbox.realtime.events import message_event_id

    response = httpx.post(
        cluster.urls[0] + "/inbox/v2/messages",
        json={
            "conversationId": conversation,
            "message": {
                "direction": "BUSINESS_TO_PARTICIPANT",
                "content": {"basic": {"items": [{"text": text}]}},
            },
        },
        headers=headers,
    )
    assert response.status_code == 200, response.text
    return message_event_id(response.json()["message"]["id"])


def _deliveries(cluster: ServerCluster) -> list[dict[str, Any]]:
    script = (
        "import json; from inbox.models import WebhookDelivery as D; print(json.dumps(["
        "{'event_id': str(d.event_id), 'status': d.status, 'attempts': d.attempt_count, "
        "'log': [a.status_code for a in d.attempts.all()]} for d in D.objects.all()]))"
    )
    return json.loads(cluster.manage("shell", "-c", script).strip().splitlines()[-1])


@pytest.mark.multiprocess
@pytest.mark.slow
def test_a_receiver_down_for_a_while_gets_one_logical_delivery_once_it_is_back() -> None:
    with webhook_site() as (cluster, receiver, headers, _endpoint, conversation):
        # A delivery answered at once first: the whole path, and the body is the envelope.
        first = _send(cluster, headers, conversation, "while up")
        got = receiver.wait_for(lambda r: [x for x in r.verified() if x.payload["id"] == first])
        assert got[0].headers["webhook-id"] == first
        assert got[0].payload["slug"] == EVENT
        assert got[0].payload["data"]["message"]["content"]["basic"]["items"][0]["text"] == (
            "while up"
        )
        receiver.stop()
        down_at = time.monotonic()
        second = _send(cluster, headers, conversation, "while down")
        # Then 503 with Retry-After once it is back, then success.
        time.sleep(2.5)
        receiver.plan = [Answer(503, {"Retry-After": "1"})]
        receiver.start()
        got = receiver.wait_for(
            lambda r: [x for x in r.verified() if x.payload["id"] == second and x.answered == 200]
        )
        deliveries = {d["event_id"]: d for d in _deliveries(cluster)}
    attempts_for_second = [x for x in receiver.received if x.payload and x.payload["id"] == second]
    assert [x.answered for x in attempts_for_second] == [503, 200]
    assert {x.headers["webhook-id"] for x in attempts_for_second} == {second}
    assert got[0].at - down_at >= 2.5
    assert deliveries[second]["status"] == "SUCCEEDED"
    # The log: connection refused (no status) at least twice while down, then 503, then 200.
    log = deliveries[second]["log"]
    assert log[-2:] == [503, 200] and len(log) >= 4 and set(log[:-2]) == {None}
    assert deliveries[first] == {**deliveries[first], "status": "SUCCEEDED", "log": [200]}


@pytest.mark.multiprocess
@pytest.mark.slow
def test_410_switches_the_endpoint_off() -> None:
    with webhook_site() as (cluster, receiver, headers, endpoint, conversation):
        receiver.plan = [Answer(410)]
        gone = _send(cluster, headers, conversation, "gone")
        receiver.wait_for(lambda r: r.received)
        deadline = time.monotonic() + 10
        state: dict[str, Any] = {}
        while time.monotonic() < deadline:
            state = httpx.get(
                f"{cluster.urls[0]}/inbox{ENDPOINTS.removeprefix('/inbox')}/{endpoint}",
                headers=headers,
            ).json()["endpoint"]
            if not state["active"]:
                break
            time.sleep(0.1)
        _send(cluster, headers, conversation, "after")
        time.sleep(2.0)
        deliveries = _deliveries(cluster)
    assert state["active"] is False and "410" in state["disabledReason"]
    assert [d["status"] for d in deliveries if d["event_id"] == gone] == ["FAILED"]
    # Nothing more was sent to it, and no delivery was created for the later event.
    assert len(receiver.received) == 1
    assert len(deliveries) == 1


@pytest.mark.multiprocess
@pytest.mark.slow
def test_a_worker_killed_mid_delivery_leaves_the_delivery_to_another() -> None:
    with webhook_site() as (cluster, receiver, headers, _endpoint, conversation):
        # The first request is answered slowly (within the 3 s timeout): the worker is killed
        # while it waits.
        receiver.plan = [Answer(200, delay=2.5)]
        event_id = _send(cluster, headers, conversation, "in flight")
        receiver.wait_for(lambda r: r.received)
        worker = cluster.background[0]
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(5)
        killed_at = time.monotonic()
        cluster.start_worker()
        got = receiver.wait_for(
            lambda r: r.verified() if len(r.verified()) >= 2 else None, timeout=30
        )
        deliveries = _deliveries(cluster)
    assert {x.headers["webhook-id"] for x in got} == {event_id}
    # Handed over once the dead worker's claim (timeout + margin) expired.
    assert got[1].at - killed_at < 3 + 5 + 3
    (delivery,) = deliveries
    assert delivery["status"] == "SUCCEEDED"
    # The killed attempt left no log row: only the one that was answered.
    assert delivery["log"] == [200]


@pytest.mark.multiprocess
@pytest.mark.slow
def test_a_wix_format_receiver_verifies_the_jwt_with_the_sites_public_key() -> None:
    with webhook_site("wix") as (cluster, receiver, headers, _endpoint, conversation):
        event_id = _send(cluster, headers, conversation, "to a wix receiver")
        (got,) = receiver.wait_for(lambda r: r.verified())
        # Re-signed by another key, the same layout does not verify.
        from inbox.webhooks.wix import _new_pair

        forged = jwt.encode(
            jwt.decode(got.body, options={"verify_signature": False}),
            _new_pair()[0],
            algorithm="RS256",
        )
        deliveries = _deliveries(cluster)
    assert got.headers["content-type"] == "text/plain"
    assert wix_verify(forged, receiver.public_key or "") is None
    payload = got.payload
    assert payload is not None
    assert payload["eventType"] == "wix.crm.inbox.v2.message_message_sent_to_participant"
    assert str(uuid.UUID(payload["instanceId"])) == payload["instanceId"]
    event = payload["event"]
    assert (event["id"], event["slug"], event["entityFqdn"]) == (
        event_id,
        EVENT,
        "wix.crm.inbox.v2.message",
    )
    body = event["actionEvent"]["body"]
    assert body["conversationId"] == conversation
    assert body["message"]["content"]["basic"]["items"][0]["text"] == "to a wix receiver"
    assert event["entityId"] == body["message"]["id"]
    # The app sent it: Wix's APP identity, with the app's id as the sender names it.
    assert payload["identity"] == {
        "identityType": "APP",
        "appId": body["message"]["sender"]["appId"],
    }
    assert [(d["status"], d["log"]) for d in deliveries] == [("SUCCEEDED", [200])]


# The admin ---------------------------------------------------------------------------------


@pytest.fixture
def admin_browser(staff_user: Any) -> Client:
    client = Client()
    client.force_login(staff_user)
    return client


def test_the_admin_creates_an_endpoint_and_shows_its_secret_once(admin_browser, settings) -> None:
    settings.INBOX = {"WEBHOOK_ALLOWED_NETWORKS": ["127.0.0.0/8"]}
    response = admin_browser.post(
        "/admin/inbox/webhookendpoint/add/",
        {
            "url": "http://127.0.0.1:9/hooks",
            "format": "standard",
            "event_types": json.dumps([EVENT]),
            "is_active": "on",
        },
    )
    assert response.status_code == 200
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.secret.startswith("whsec_")
    assert endpoint.secret in response.content.decode()
    assert "no-store" in response["Cache-Control"]
    page = admin_browser.get(f"/admin/inbox/webhookendpoint/{endpoint.pk}/change/")
    assert page.status_code == 200
    assert endpoint.secret not in page.content.decode()


def test_the_admin_refuses_a_private_destination_as_a_form_error(admin_browser) -> None:
    response = admin_browser.post(
        "/admin/inbox/webhookendpoint/add/",
        {"url": "http://10.0.0.1/hooks", "event_types": json.dumps([EVENT]), "is_active": "on"},
    )
    assert response.status_code == 200
    assert "a private address" in response.content.decode()
    assert not WebhookEndpoint.objects.exists()


def test_redeliver_starts_a_delivery_over_with_a_task_for_the_worker(
    admin_browser, app_key, make_conversation, settings
) -> None:
    from django_tasks_db.models import DBTaskResult

    from inbox import services
    from inbox.identity import caller_for_app
    from inbox.models import App, WebhookDelivery
    from inbox.webhooks.services import webhook_endpoint_create, webhooks_fan_out
    from tests.conftest import text_draft

    settings.INBOX = {"WEBHOOK_ALLOWED_NETWORKS": ["127.0.0.0/8"]}
    webhook_endpoint_create(url="http://127.0.0.1:9/hooks", event_types=[EVENT])
    services.message_send(
        caller=caller_for_app(App.objects.get()),
        conversation=make_conversation(),
        draft=text_draft(),
    )
    assert webhooks_fan_out() == 1
    delivery = WebhookDelivery.objects.get()
    tasks = DBTaskResult.objects.filter(task_path="inbox.webhooks.tasks.deliver_webhook")
    assert [t.args_kwargs["args"] for t in tasks] == [[str(delivery.pk)]]
    WebhookDelivery.objects.filter(pk=delivery.pk).update(status="FAILED", attempt_count=8)
    log = admin_browser.get(f"/admin/inbox/webhookdelivery/{delivery.pk}/change/")
    assert log.status_code == 200
    response = admin_browser.post(
        "/admin/inbox/webhookdelivery/",
        {"action": "redeliver", "_selected_action": [str(delivery.pk)]},
    )
    assert response.status_code == 302
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempt_count) == ("PENDING", 0)
    assert tasks.all().count() == 2
