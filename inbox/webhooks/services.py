"""Every write of webhooks: endpoints, the fan-out from the outbox, one delivery attempt.

A delivery is attempted by the task ``tasks.deliver_webhook`` on the worker. Each attempt claims
the delivery for ``WEBHOOK_TIMEOUT_SECONDS`` + ``LEASE_MARGIN_SECONDS``; when it ends it either
finishes the delivery or enqueues the next attempt (``run_after`` = the back-off), in the same
transaction that records the attempt. A worker killed mid-attempt leaves the claim to expire, and
``webhooks_recover_abandoned`` (run by ``manage.py inbox_relay``) enqueues it again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

import httpx
from django.core.mail import mail_admins
from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from inbox.conf import inbox_settings
from inbox.exceptions import (
    RULE_ENUM,
    RULE_FORMAT,
    RULE_MIN_SIZE,
    ValidationFailed,
    WebhookEndpointInactive,
)
from inbox.outbox.models import OutboxEvent
from inbox.outbox.selectors import outbox_undispatched
from inbox.outbox.services import outbox_mark_dispatched
from inbox.realtime.registry import EVENT_TYPES
from inbox.webhooks import destinations, signing, wix
from inbox.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint

logger = logging.getLogger("inbox")

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
    *,
    url: str,
    event_types: list[str],
    description: str = "",
    is_active: bool = True,
    format: str = WebhookEndpoint.Format.STANDARD,
) -> tuple[WebhookEndpoint, str]:
    """A new endpoint and its secret (shown to the caller once, never again). A ``wix`` endpoint
    is signed with the site's key pair, which is made now if the site has none yet."""
    webhook_endpoint_validate(url=url, event_types=event_types)
    secret = signing.new_secret()
    endpoint = WebhookEndpoint.objects.create(
        url=url,
        event_types=sorted(set(event_types)),
        description=description,
        secret=secret,
        is_active=is_active,
        format=format,
    )
    if format == WebhookEndpoint.Format.WIX:
        wix.signing_key()
    return endpoint, secret


def webhook_endpoint_update(
    *,
    endpoint: WebhookEndpoint,
    url: str | None = None,
    event_types: list[str] | None = None,
    description: str | None = None,
    is_active: bool | None = None,
    format: str | None = None,
) -> WebhookEndpoint:
    """Change what is given; switching an endpoint on again clears why it was switched off (and
    its failure streak)."""
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
            endpoint.failing_since = None
    if format is not None:
        endpoint.format = format
        if format == WebhookEndpoint.Format.WIX:
            wix.signing_key()
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
        _restart(WebhookDelivery.objects.filter(pk=delivery.pk), timezone.now())
        _enqueue([str(delivery.pk)])


def _restart(deliveries: QuerySet[WebhookDelivery], now: datetime) -> None:
    deliveries.update(
        status=WebhookDelivery.Status.PENDING,
        attempt_count=0,
        next_attempt_at=now,
        locked_until=None,
        completed_at=None,
    )


def webhook_replay(*, endpoint: WebhookEndpoint, since: datetime) -> int:
    """Deliver again every event of the endpoint's types recorded since ``since`` ("replay
    everything since T"): deliveries it already had start over, events it had none for (it was
    switched off, or subscribed later) get one. Reaches back as far as the outbox keeps events
    (``OUTBOX_RETENTION_SECONDS``) and the delivery log keeps deliveries. Returns how many
    deliveries were queued."""
    if not endpoint.is_active:
        raise WebhookEndpointInactive()
    now = timezone.now()
    with transaction.atomic():
        # Events the fan-out has not reached yet are left to it (it creates their deliveries).
        events = OutboxEvent.objects.filter(
            created_at__gte=since, slug__in=endpoint.event_types, dispatched_at__isnull=False
        )
        # An event's time is its outbox row's; a delivery whose row was pruned already goes by
        # when it was created (a few seconds after its event).
        existing = WebhookDelivery.objects.filter(
            endpoint=endpoint, event_type__in=endpoint.event_types
        ).filter(
            Q(event_id__in=events.values("pk"))
            | Q(created_at__gte=since) & ~Q(event_id__in=OutboxEvent.objects.values("pk"))
        )
        existing_ids = [str(pk) for pk in existing.values_list("pk", flat=True)]
        created = [
            WebhookDelivery(
                endpoint=endpoint,
                event_id=row.pk,
                event_type=row.slug,
                payload=row.envelope,
                next_attempt_at=now,
            )
            for row in events.exclude(
                pk__in=WebhookDelivery.objects.filter(endpoint=endpoint).values("event_id")
            ).order_by("created_at")
        ]
        # A replay running at the same time may have made some: theirs stand.
        WebhookDelivery.objects.bulk_create(created, ignore_conflicts=True)
        _restart(WebhookDelivery.objects.filter(pk__in=existing_ids), now)
        ids = [*(str(d.pk) for d in created), *existing_ids]
        _enqueue(ids)
    return len(ids)


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


_CLIENT: httpx.Client | None = None


def _client() -> httpx.Client:
    """One HTTP client per process: making one loads the CA bundle into a new SSL context, which
    cost 155 ms a time on the benchmark machine, half of what an attempt took
    (docs/benchmarks.md, 9). It also keeps connections to receivers alive between attempts
    (pooled by the checked address, which the request names)."""
    global _CLIENT
    if _CLIENT is None:
        _CLIENT = httpx.Client(follow_redirects=False)
    return _CLIENT


def _post(endpoint: WebhookEndpoint, delivery: WebhookDelivery, now: datetime) -> Outcome:
    started = time.monotonic()

    def elapsed() -> int:
        return int((time.monotonic() - started) * 1000)

    try:
        destination = destinations.resolve(endpoint.url)
    except destinations.DestinationRefused as error:
        return Outcome(None, elapsed(), error=f"refused: {error}"[:300])
    if endpoint.format == WebhookEndpoint.Format.WIX:
        payload = wix.body(delivery.payload, now)
        headers = {"content-type": "text/plain"}
    else:
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
        response = _client().post(
            pinned,
            content=payload.encode(),
            headers=headers,
            timeout=inbox_settings.WEBHOOK_TIMEOUT_SECONDS,
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
            WebhookEndpoint.objects.filter(pk=endpoint.pk, failing_since__isnull=False).update(
                failing_since=None
            )
            return
        if outcome.status_code == GONE:
            _finish(delivery, WebhookDelivery.Status.FAILED)
            _disable(endpoint, f"answered 410 Gone at {timezone.now():%c}")
            return
        if _failing_too_long(endpoint, now):
            _finish(delivery, WebhookDelivery.Status.FAILED)
            return
        if delivery.attempt_count >= len(schedule):
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


def _disable(endpoint: WebhookEndpoint, reason: str, *, notify: bool = False) -> None:
    """Switch the endpoint off (inside the attempt's transaction); with ``notify``, the site's
    admins get an e-mail once it committed, and the endpoint admin shows why."""
    switched = WebhookEndpoint.objects.filter(pk=endpoint.pk, is_active=True).update(
        is_active=False, disabled_reason=reason[:200]
    )
    if switched and notify:
        transaction.on_commit(lambda: _tell_admins(endpoint, reason))


def _failing_too_long(endpoint: WebhookEndpoint, now: datetime) -> bool:
    """Record the failure in the endpoint's streak; True when the streak reached
    ``WEBHOOK_DISABLE_AFTER_SECONDS`` and the endpoint was switched off for it."""
    WebhookEndpoint.objects.filter(pk=endpoint.pk, failing_since__isnull=True).update(
        failing_since=now
    )
    since = WebhookEndpoint.objects.values_list("failing_since", flat=True).get(pk=endpoint.pk)
    limit = timedelta(seconds=inbox_settings.WEBHOOK_DISABLE_AFTER_SECONDS)
    if since is None or now - since < limit:
        return False
    _disable(endpoint, f"failing since {since:%c}", notify=True)
    return True


def _tell_admins(endpoint: WebhookEndpoint, reason: str) -> None:
    # Not translated: it goes to ADMINS, whose language the site does not know (as Django's own
    # error mails).
    try:
        _mail(endpoint, reason)
    except Exception:
        logger.exception("inbox: could not e-mail ADMINS that %s was switched off", endpoint.url)


def _mail(endpoint: WebhookEndpoint, reason: str) -> None:
    mail_admins(
        f"Webhook endpoint switched off: {endpoint.url}",
        f"The webhook endpoint {endpoint.url} ({endpoint.pk}) was switched off: {reason}.\n"
        f"No attempt has succeeded for {inbox_settings.WEBHOOK_DISABLE_AFTER_SECONDS:g} s. "
        "Switch it on again in the admin (Webhook endpoints) or over REST once it answers; "
        'replay what it missed with "Replay events since".',
        fail_silently=False,
    )


def _finish(delivery: WebhookDelivery, status: str) -> None:
    delivery.status = status
    delivery.completed_at = timezone.now()
    delivery.next_attempt_at = delivery.locked_until = None
    delivery.save(
        update_fields=["status", "completed_at", "next_attempt_at", "locked_until", "attempt_count"]
    )
