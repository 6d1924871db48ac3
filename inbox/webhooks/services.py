"""Every write of webhooks: endpoints, the fan-out from the outbox, one delivery attempt.

A delivery is attempted by the task ``tasks.deliver_webhook`` on the worker. Each attempt claims
the delivery for ``WEBHOOK_TIMEOUT_SECONDS`` + ``LEASE_MARGIN_SECONDS``; when it ends it either
finishes the delivery or enqueues the next attempt (``run_after`` = the back-off), in the same
transaction that records the attempt. A worker killed mid-attempt leaves the claim to expire, and
``webhooks_recover_abandoned`` (run by ``manage.py inbox_relay``) enqueues it again.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

import httpx
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from inbox.conf import inbox_settings
from inbox.exceptions import RULE_ENUM, RULE_FORMAT, RULE_MIN_SIZE, ValidationFailed
from inbox.outbox.selectors import outbox_undispatched
from inbox.outbox.services import outbox_mark_dispatched
from inbox.realtime.registry import EVENT_TYPES
from inbox.webhooks import destinations, signing
from inbox.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint

LEASE_MARGIN_SECONDS = 5.0
# Secrets replaced by a rotation still sign for this long.
PREVIOUS_SECRET_SECONDS = 24 * 60 * 60
EXCERPT_CHARS = 1000
SUCCESS, GONE = range(200, 300), 410
RETRY_AFTER_STATUSES = {429, 503}


# Endpoints ---------------------------------------------------------------------------------


def webhook_endpoint_validate(*, url: str | None, event_types: list[str] | None) -> None:
    """``ValidationFailed`` when the URL is refused (SSRF guard) or an event type is unknown."""
    if url is not None:
        try:
            destinations.resolve(url)
        except destinations.DestinationRefused as error:
            raise ValidationFailed.single("url", str(error), RULE_FORMAT) from None
    if event_types is not None:
        if not event_types:
            raise ValidationFailed.single("eventTypes", "must name at least one", RULE_MIN_SIZE)
        unknown = sorted(set(event_types) - set(EVENT_TYPES))
        if unknown:
            raise ValidationFailed.single(
                "eventTypes",
                f"unknown event types {unknown}; known: {sorted(EVENT_TYPES)}",
                RULE_ENUM,
            )


def webhook_endpoint_create(
    *, url: str, event_types: list[str], description: str = "", is_active: bool = True
) -> tuple[WebhookEndpoint, str]:
    """A new endpoint and its secret (shown to the caller once, never again)."""
    webhook_endpoint_validate(url=url, event_types=event_types)
    secret = signing.new_secret()
    endpoint = WebhookEndpoint.objects.create(
        url=url,
        event_types=sorted(set(event_types)),
        description=description,
        secret=secret,
        is_active=is_active,
    )
    return endpoint, secret


def webhook_endpoint_update(
    *,
    endpoint: WebhookEndpoint,
    url: str | None = None,
    event_types: list[str] | None = None,
    description: str | None = None,
    is_active: bool | None = None,
) -> WebhookEndpoint:
    """Change what is given; switching an endpoint on again clears why it was switched off."""
    webhook_endpoint_validate(url=url, event_types=event_types)
    if url is not None:
        endpoint.url = url
    if event_types is not None:
        endpoint.event_types = sorted(set(event_types))
    if description is not None:
        endpoint.description = description
    if is_active is not None:
        endpoint.is_active = is_active
        if is_active:
            endpoint.disabled_reason = ""
    endpoint.save()
    return endpoint


def webhook_endpoint_rotate_secret(*, endpoint: WebhookEndpoint) -> str:
    """A new secret (returned once); the old one keeps signing for a day, beside the new one."""
    secret = signing.new_secret()
    endpoint.previous_secret = endpoint.secret
    endpoint.previous_secret_expires_at = timezone.now() + timedelta(
        seconds=PREVIOUS_SECRET_SECONDS
    )
    endpoint.secret = secret
    endpoint.save(update_fields=["secret", "previous_secret", "previous_secret_expires_at"])
    return secret


def webhook_endpoint_delete(*, endpoint: WebhookEndpoint) -> None:
    endpoint.delete()


# Fan-out and recovery (run by manage.py inbox_relay) ---------------------------------------


def _enqueue(delivery_ids: Iterable[str], *, at: datetime | None = None) -> None:
    from inbox.webhooks.tasks import deliver_webhook

    task = deliver_webhook.using(run_after=at) if at is not None else deliver_webhook
    for delivery_id in delivery_ids:
        task.enqueue(str(delivery_id))


def webhooks_fan_out(*, limit: int = 500) -> int:
    """Create the deliveries of outbox events not dispatched yet, each with its first attempt
    enqueued, in one transaction; returns how many deliveries were created."""
    # Looked at first outside a transaction: on SQLite every transaction here takes the write
    # lock at BEGIN, and the relay asks twice a second.
    if not outbox_undispatched(limit=1).exists():
        return 0
    locking = connection.features.has_select_for_update_skip_locked
    with transaction.atomic():
        rows = list(outbox_undispatched(limit=limit).select_for_update(skip_locked=locking))
        if not rows:
            return 0
        endpoints = list(WebhookEndpoint.objects.filter(is_active=True))
        existing = set(
            WebhookDelivery.objects.filter(event_id__in=[row.pk for row in rows]).values_list(
                "endpoint_id", "event_id"
            )
        )
        deliveries = [
            WebhookDelivery(
                endpoint=endpoint,
                event_id=row.pk,
                event_type=row.slug,
                payload=row.envelope,
                next_attempt_at=timezone.now(),
            )
            for row in rows
            for endpoint in endpoints
            if row.slug in endpoint.event_types and (endpoint.pk, row.pk) not in existing
        ]
        WebhookDelivery.objects.bulk_create(deliveries)
        _enqueue(str(delivery.pk) for delivery in deliveries)
        outbox_mark_dispatched(event_ids=[str(row.pk) for row in rows])
    return len(deliveries)


def webhooks_recover_abandoned() -> int:
    """Enqueue again the deliveries whose worker died mid-attempt (their claim expired)."""
    now = timezone.now()
    abandoned = WebhookDelivery.objects.filter(
        status=WebhookDelivery.Status.PENDING, locked_until__lt=now
    )
    if not abandoned.exists():
        return 0
    with transaction.atomic():
        ids = list(abandoned.values_list("pk", flat=True)[:500])
        if ids:
            WebhookDelivery.objects.filter(pk__in=ids, locked_until__lt=now).update(
                locked_until=None, next_attempt_at=now
            )
            _enqueue(str(pk) for pk in ids)
    return len(ids)


def webhook_redeliver(*, delivery: WebhookDelivery) -> None:
    """Start the delivery over (the admin's "redeliver"): a fresh schedule from now."""
    with transaction.atomic():
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            status=WebhookDelivery.Status.PENDING,
            attempt_count=0,
            next_attempt_at=timezone.now(),
            locked_until=None,
            completed_at=None,
        )
        _enqueue([str(delivery.pk)])


# One attempt (the task) --------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    status_code: int | None
    latency_ms: int
    excerpt: str = ""
    error: str = ""
    retry_after: float | None = None


def _secrets(endpoint: WebhookEndpoint, now: datetime) -> list[str]:
    keys = [endpoint.secret]
    expires = endpoint.previous_secret_expires_at
    if endpoint.previous_secret and expires is not None and expires > now:
        keys.append(endpoint.previous_secret)
    return keys


def _retry_after(value: str | None, now: datetime) -> float | None:
    if not value:
        return None
    if value.strip().isdigit():
        return float(value.strip())
    try:
        return max(0.0, (parsedate_to_datetime(value) - now).total_seconds())
    except (TypeError, ValueError):
        return None


def _post(endpoint: WebhookEndpoint, delivery: WebhookDelivery, now: datetime) -> Outcome:
    started = time.monotonic()

    def elapsed() -> int:
        return int((time.monotonic() - started) * 1000)

    try:
        destination = destinations.resolve(endpoint.url)
    except destinations.DestinationRefused as error:
        return Outcome(None, elapsed(), error=f"refused: {error}"[:300])
    payload = signing.body(delivery.payload)
    headers = signing.headers(
        message_id=str(delivery.event_id),
        timestamp=now,
        body=payload,
        secrets=_secrets(endpoint, now),
    )
    # Connect to the address the guard checked, naming the host in Host and in TLS.
    url = httpx.URL(endpoint.url)
    pinned = url.copy_with(host=str(destination.address))
    headers["host"] = url.netloc.decode("ascii")
    try:
        with httpx.Client(
            timeout=inbox_settings.WEBHOOK_TIMEOUT_SECONDS, follow_redirects=False
        ) as client:
            response = client.post(
                pinned,
                content=payload.encode(),
                headers=headers,
                extensions={"sni_hostname": destination.host},
            )
    except httpx.HTTPError as error:
        return Outcome(None, elapsed(), error=f"{type(error).__name__}: {error}"[:300])
    retry_after = None
    if response.status_code in RETRY_AFTER_STATUSES:
        retry_after = _retry_after(response.headers.get("retry-after"), timezone.now())
    return Outcome(response.status_code, elapsed(), response.text[:EXCERPT_CHARS], "", retry_after)


def webhook_attempt(*, delivery_id: str) -> None:
    """Attempt the delivery once (if it is still pending and no live worker holds it)."""
    now = timezone.now()
    lease = now + timedelta(seconds=inbox_settings.WEBHOOK_TIMEOUT_SECONDS + LEASE_MARGIN_SECONDS)
    claimed = (
        WebhookDelivery.objects.filter(pk=delivery_id, status=WebhookDelivery.Status.PENDING)
        .filter(Q(locked_until__isnull=True) | Q(locked_until__lt=now))
        .update(locked_until=lease)
    )
    if not claimed:
        return
    delivery = WebhookDelivery.objects.select_related("endpoint").get(pk=delivery_id)
    endpoint = delivery.endpoint
    if not endpoint.is_active:
        _finish(delivery, WebhookDelivery.Status.FAILED)
        return
    outcome = _post(endpoint, delivery, now)
    schedule = list(inbox_settings.WEBHOOK_RETRY_SCHEDULE)
    with transaction.atomic():
        WebhookAttempt.objects.create(
            delivery=delivery,
            attempted_at=now,
            status_code=outcome.status_code,
            latency_ms=outcome.latency_ms,
            response_excerpt=outcome.excerpt,
            error=outcome.error,
        )
        delivery.attempt_count += 1
        if outcome.status_code in SUCCESS:
            _finish(delivery, WebhookDelivery.Status.SUCCEEDED)
        elif outcome.status_code == GONE:
            _finish(delivery, WebhookDelivery.Status.FAILED)
            WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
                is_active=False, disabled_reason=f"answered 410 Gone at {timezone.now():%c}"
            )
        elif delivery.attempt_count >= len(schedule):
            _finish(delivery, WebhookDelivery.Status.FAILED)
        else:
            delay = float(schedule[delivery.attempt_count])
            if outcome.retry_after is not None:
                # Not sooner than the receiver asked, nor later than our longest wait.
                delay = min(max(delay, outcome.retry_after), float(max(schedule)))
            at = timezone.now() + timedelta(seconds=delay)
            delivery.next_attempt_at, delivery.locked_until = at, None
            delivery.save(update_fields=["attempt_count", "next_attempt_at", "locked_until"])
            _enqueue([str(delivery.pk)], at=at)


def _finish(delivery: WebhookDelivery, status: str) -> None:
    delivery.status = status
    delivery.completed_at = timezone.now()
    delivery.next_attempt_at = delivery.locked_until = None
    delivery.save(
        update_fields=["status", "completed_at", "next_attempt_at", "locked_until", "attempt_count"]
    )
