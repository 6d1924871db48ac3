"""Per-caller upload limits (issue 15): a rate of uploads and a quota of bytes per window, each
by the caller's kind. Over either: 429 in Wix's envelope with ``Retry-After``, nothing stored,
and other callers unaffected."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from inbox.attachments.models import Attachment
from tests.conftest import API, assert_app_error
from tests.test_attachments import PDF, named, stored_names, upload


def limits(settings: Any, **values: Any) -> None:
    settings.INBOX = {**getattr(settings, "INBOX", {}), **values}


@pytest.fixture
def media(settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.mark.django_db
def test_uploads_over_the_rate_are_429_with_retry_after_and_store_nothing(
    media: None, settings: Any, make_visitor: Callable[..., Any]
) -> None:
    limits(settings, ATTACHMENT_UPLOAD_RATES={"visitor": "2/min"})
    _, visitor = make_visitor()
    _, other = make_visitor()
    for number in range(2):
        assert upload(visitor, b"note %d" % number, "a.txt").status_code == 200
    refused = upload(visitor, b"one too many", "a.txt")
    assert_app_error(refused, 429, "RESOURCE_EXHAUSTED")
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert Attachment.objects.count() == 2 and len(stored_names("filesystem")) == 2
    # Budgets are per caller, and uploads have their own: the visitor may still send text
    # (its request budget), and another visitor may still upload.
    assert upload(other, b"mine", "b.txt").status_code == 200
    text = {
        "direction": "PARTICIPANT_TO_BUSINESS",
        "visibility": "BUSINESS_AND_PARTICIPANT",
        "content": {"basic": {"items": [{"text": "still here"}]}},
    }
    assert visitor.post(f"{API}/messages", {"message": text}, format="json").status_code == 200


@pytest.mark.django_db
def test_downloads_do_not_count_as_uploads(
    media: None, settings: Any, make_visitor: Callable[..., Any]
) -> None:
    from tests.test_attachments import fetch, media_message

    limits(settings, ATTACHMENT_UPLOAD_RATES={"visitor": "1/min"})
    _, visitor = make_visitor()
    attachment = upload(visitor, b"hello", "a.txt").json()["attachment"]
    sent = visitor.post(
        f"{API}/messages",
        {"message": media_message("file", attachment["id"])},
        format="json",
    ).json()["message"]
    url = sent["content"]["basic"]["items"][0]["file"]["url"]
    for _ in range(3):
        assert fetch(visitor, url).status_code == 200


@pytest.mark.django_db
def test_the_rate_is_by_kind_and_none_means_no_limit(
    media: None, settings: Any, app_client: APIClient, make_conversation: Callable[..., Any]
) -> None:
    limits(settings, ATTACHMENT_UPLOAD_RATES={"app": "1/min", "visitor": None})
    conversation = str(make_conversation().pk)
    assert upload(app_client, PDF, "a.pdf", conversationId=conversation).status_code == 200
    assert_app_error(
        upload(app_client, PDF, "a.pdf", conversationId=conversation), 429, "RESOURCE_EXHAUSTED"
    )


@pytest.mark.django_db
def test_a_caller_over_its_quota_gets_a_clear_429_until_old_uploads_age_out(
    media: None, settings: Any, make_visitor: Callable[..., Any]
) -> None:
    limits(
        settings,
        ATTACHMENT_QUOTA_BYTES={"visitor": 100},
        ATTACHMENT_QUOTA_WINDOW_SECONDS=3600,
    )
    _, visitor = make_visitor()
    _, other = make_visitor()
    first = upload(visitor, b"a" * 60, "first.txt").json()["attachment"]
    second = upload(visitor, b"b" * 30, "second.txt").json()["attachment"]
    # 90 of 100 bytes used: 10 more fit, 11 do not.
    refused = upload(visitor, b"c" * 11, "third.txt")
    body = assert_app_error(refused, 429, "UPLOAD_QUOTA_EXCEEDED")
    assert body["details"]["applicationError"]["data"] == {"quotaBytes": "100", "usedBytes": "90"}
    assert "90 of 100 bytes" in body["message"]
    # Room for the 11 bytes comes back when the first upload (60 bytes) leaves the window.
    assert 3590 <= int(refused["Retry-After"]) <= 3600
    assert Attachment.objects.count() == 2 and len(stored_names("filesystem")) == 2
    assert upload(other, b"c" * 11, "third.txt").status_code == 200  # its own quota
    assert upload(visitor, b"d" * 10, "fits.txt").status_code == 200

    # An hour later the first upload no longer counts; the second one still does.
    Attachment.objects.filter(pk=first["id"]).update(
        created_at=timezone.now() - timedelta(seconds=3601)
    )
    assert upload(visitor, b"e" * 60, "later.txt").status_code == 200
    assert Attachment.objects.filter(pk=second["id"]).exists()


@pytest.mark.django_db
def test_a_file_larger_than_the_whole_quota_is_413(
    media: None, settings: Any, make_visitor: Callable[..., Any]
) -> None:
    """Waiting would never help: the size refusal, naming the quota as the limit."""
    limits(settings, ATTACHMENT_QUOTA_BYTES={"visitor": 10})
    _, visitor = make_visitor()
    refused = upload(visitor, b"x" * 11, "big.txt")
    body = assert_app_error(refused, 413, "PAYLOAD_TOO_LARGE")
    assert "10 bytes" in body["message"]
    assert stored_names("filesystem") == []
    assert upload(visitor, b"x" * 10, "fits.txt").status_code == 200


@pytest.mark.django_db
def test_the_quota_counts_what_is_stored_not_what_was_sent(
    media: None, settings: Any, make_visitor: Callable[..., Any]
) -> None:
    """Images are re-encoded before they are stored; the quota counts the stored size, which
    is the ``fileSize`` the caller is told."""
    from tests.test_attachments import jpeg_with_exif

    original = jpeg_with_exif()
    _, visitor = make_visitor()
    stored = int(upload(visitor, original, "p.jpg").json()["attachment"]["fileSize"])
    limits(settings, ATTACHMENT_QUOTA_BYTES={"visitor": 2 * stored})
    assert upload(visitor, original, "p.jpg").status_code == 200
    assert_app_error(upload(visitor, original, "p.jpg"), 429, "UPLOAD_QUOTA_EXCEEDED")


@pytest.mark.django_db
def test_by_default_apps_and_staff_have_no_quota_and_participants_have_one(settings: Any) -> None:
    from inbox.conf import DEFAULTS, merged_setting

    limits(settings, ATTACHMENT_QUOTA_BYTES={"member": None})
    merged = merged_setting("ATTACHMENT_QUOTA_BYTES")
    assert merged == {**DEFAULTS["ATTACHMENT_QUOTA_BYTES"], "member": None}
    assert merged["app"] is None and merged["staff"] is None
    assert merged["visitor"] == 200 * 1024 * 1024


# --- retries: Idempotency-Key on uploads -------------------------------------------------------


@pytest.mark.django_db
def test_an_upload_retried_with_its_key_is_stored_once(
    media: None, settings: Any, make_visitor: Callable[..., Any]
) -> None:
    """A connection dropped after the server stored the file: the client sends it again with
    the same key and gets the same attachment; nothing is stored twice or counted twice."""
    limits(settings, ATTACHMENT_QUOTA_BYTES={"visitor": 15})
    _, visitor = make_visitor()
    _, other = make_visitor()

    def send(client: APIClient, name: str, key: str) -> Any:
        return client.post(
            f"{API}/attachments",
            {"file": named(b"ten bytes!", name)},
            format="multipart",
            HTTP_IDEMPOTENCY_KEY=key,
        )

    first = send(visitor, "a.txt", "k-1").json()["attachment"]
    again = send(visitor, "a.txt", "k-1")  # over the quota if it counted twice
    assert again.status_code == 200 and again.json()["attachment"] == first
    assert Attachment.objects.count() == 1 and len(stored_names("filesystem")) == 1
    # The same key for another file is a conflict; another caller's keys are its own.
    assert_app_error(send(visitor, "b.txt", "k-1"), 409, "IDEMPOTENCY_KEY_REUSED")
    assert send(other, "a.txt", "k-1").json()["attachment"]["id"] != first["id"]
    bad = send(visitor, "a.txt", "x" * 256)
    assert bad.status_code == 400 and Attachment.objects.count() == 2
