"""Files and images in the conversation: upload, send, download, and every way to get it wrong
(issue 15). Storage is real: the file system under a temporary MEDIA_ROOT, and Django's
in-memory storage as a second storage class behind the same code."""

from __future__ import annotations

import io
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.files.storage import storages
from django.core.management import call_command
from django.utils import timezone
from PIL import Image
from rest_framework.test import APIClient

from inbox.attachments.models import Attachment, attachment_storage
from inbox.attachments.selectors import download_link
from inbox.attachments.sniffing import sniff_type
from inbox.models import Message
from tests.conftest import API, assert_app_error, field_violations

UPLOAD = f"{API}/attachments"
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def png_bytes(width: int = 3, height: int = 2) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 10, 10)).save(out, format="PNG")
    return out.getvalue()


def jpeg_with_exif(width: int = 8, height: int = 4) -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "SpyCam Inc."  # Make
    exif[0x0131] = "secret-software"  # Software
    out = io.BytesIO()
    Image.new("RGB", (width, height), (0, 90, 200)).save(out, format="JPEG", exif=exif.tobytes())
    return out.getvalue()


def named(data: bytes, name: str, content_type: str = "application/octet-stream") -> Any:
    file = io.BytesIO(data)
    file.name = name
    return file


@pytest.fixture(params=["filesystem", "memory"])
def storage(request: Any, settings: Any, tmp_path: Path) -> Iterator[str]:
    """Both storage paths: FileSystemStorage under MEDIA_ROOT, and InMemoryStorage named by
    ATTACHMENT_STORAGE (what an S3 backend would be: nothing of ours touches a local path)."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
    if request.param == "memory":
        settings.STORAGES = {
            **settings.STORAGES,
            "attachments": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
        }
        settings.INBOX = {**getattr(settings, "INBOX", {}), "ATTACHMENT_STORAGE": "attachments"}
    yield request.param


def stored_names(storage_kind: str) -> list[str]:
    """Every file the attachment storage holds."""
    backend = attachment_storage()
    found: list[str] = []

    def walk(path: str) -> None:
        try:
            directories, files = backend.listdir(path)
        except FileNotFoundError:
            return
        found.extend(f"{path}/{name}" if path else name for name in files)
        for directory in directories:
            walk(f"{path}/{directory}" if path else directory)

    walk("")
    return found


def upload(client: APIClient, data: bytes, name: str, **fields: Any) -> Any:
    return client.post(UPLOAD, {"file": named(data, name), **fields}, format="multipart")


def media_message(kind: str, attachment_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "direction": extra.pop("direction", "PARTICIPANT_TO_BUSINESS"),
        "visibility": extra.pop("visibility", "BUSINESS_AND_PARTICIPANT"),
        "content": {"basic": {"items": [{kind: {"id": attachment_id, **extra}}]}},
    }


def fetch(client: APIClient, url: str) -> Any:
    parts = urlsplit(url)
    return client.get(parts.path, {k: v[0] for k, v in parse_qs(parts.query).items()})


def body(response: Any) -> bytes:
    return b"".join(response.streaming_content)


@pytest.mark.django_db
def test_visitor_uploads_an_image_sends_it_and_both_sides_fetch_it(
    storage: str, make_visitor: Callable[..., Any], app_client: APIClient
) -> None:
    _, visitor = make_visitor()
    response = upload(visitor, png_bytes(3, 2), "shot.png")
    assert response.status_code == 200, response.content
    attachment = response.json()["attachment"]
    assert attachment["mimeType"] == "image/png"
    assert (attachment["width"], attachment["height"]) == (3, 2)
    assert attachment["filename"] == "shot.png"

    sent = visitor.post(
        f"{API}/messages", {"message": media_message("image", attachment["id"])}, format="json"
    )
    assert sent.status_code == 200, sent.content
    image = sent.json()["message"]["content"]["basic"]["items"][0]["image"]
    assert image["id"] == attachment["id"]
    assert (image["width"], image["height"], image["filename"]) == (3, 2, "shot.png")
    assert image["fileSize"] == attachment["fileSize"]
    assert image["urlExpiration"].endswith("Z")
    assert sent.json()["message"]["content"]["previewText"] == "shot.png"

    listed = app_client.get(
        f"{API}/messages",
        {"conversationId": attachment["conversationId"], "visibility": "BUSINESS"},
    ).json()["messages"]
    listed_image = listed[0]["content"]["basic"]["items"][0]["image"]
    assert listed_image["url"] == image["url"]  # one link per minute, whoever reads

    for client in (visitor, APIClient()):  # the link is the credential (an <img> sends none)
        served = fetch(client, image["url"])
        assert served.status_code == 200
        assert served["Content-Type"] == "image/png"
        assert served["Content-Disposition"].startswith("inline")
        assert served["X-Content-Type-Options"] == "nosniff"
        assert "sandbox" in served["Content-Security-Policy"]
        assert Image.open(io.BytesIO(body(served))).size == (3, 2)


@pytest.mark.django_db
def test_staff_sends_a_pdf_which_downloads_and_never_renders(
    storage: str, staff_client: APIClient, make_conversation: Callable[..., Any]
) -> None:
    conversation = make_conversation()
    response = upload(staff_client, PDF, "invoice.pdf", conversationId=str(conversation.pk))
    assert response.status_code == 200, response.content
    attachment = response.json()["attachment"]
    assert attachment["mimeType"] == "application/pdf"
    assert attachment["width"] is None
    sent = staff_client.post(
        f"{API}/messages",
        {
            "conversationId": str(conversation.pk),
            "message": media_message("file", attachment["id"], direction="BUSINESS_TO_PARTICIPANT"),
        },
        format="json",
    )
    assert sent.status_code == 200, sent.content
    file = sent.json()["message"]["content"]["basic"]["items"][0]["file"]
    assert (file["mimeType"], file["filename"], file["fileSize"]) == (
        "application/pdf",
        "invoice.pdf",
        str(len(PDF)),
    )
    assert sent.json()["message"]["content"]["previewText"] == "File: invoice.pdf"
    served = fetch(staff_client, file["url"])
    assert served.status_code == 200
    assert served["Content-Type"] == "application/pdf"
    assert served["Content-Disposition"] == 'attachment; filename="invoice.pdf"'
    assert served["X-Content-Type-Options"] == "nosniff"
    assert body(served) == PDF


@pytest.mark.django_db
def test_exif_is_stripped_from_what_is_stored_and_served(
    storage: str, make_visitor: Callable[..., Any]
) -> None:
    original = jpeg_with_exif()
    assert b"SpyCam" in original
    _, visitor = make_visitor()
    response = upload(visitor, original, "photo.jpg")
    assert response.status_code == 200, response.content
    attachment = Attachment.objects.get(pk=response.json()["attachment"]["id"])
    with attachment.open() as stored:
        data = stored.read()
    assert b"SpyCam" not in data and b"secret-software" not in data
    assert not Image.open(io.BytesIO(data)).getexif()
    assert attachment.size == len(data)


# --- every bad input: Wix's envelope, and nothing stored -------------------------------------


def assert_nothing_stored(storage_kind: str) -> None:
    assert Attachment.objects.count() == 0
    assert stored_names(storage_kind) == []


@pytest.mark.django_db
def test_a_file_over_the_limit_is_413_while_streaming(
    storage: str, settings: Any, make_visitor: Callable[..., Any]
) -> None:
    settings.INBOX = {**getattr(settings, "INBOX", {}), "ATTACHMENT_MAX_BYTES": 1000}
    _, visitor = make_visitor()
    response = upload(visitor, b"a" * 1001, "big.txt")
    assert_app_error(response, 413, "PAYLOAD_TOO_LARGE")
    assert_nothing_stored(storage)
    assert upload(visitor, b"a" * 1000, "fits.txt").status_code == 200


@pytest.mark.django_db
def test_a_declared_body_over_the_limit_is_413_before_it_is_read(
    storage: str, settings: Any, make_visitor: Callable[..., Any]
) -> None:
    settings.INBOX = {**getattr(settings, "INBOX", {}), "ATTACHMENT_MAX_BYTES": 1000}
    _, visitor = make_visitor()
    response = upload(visitor, b"a" * 200_000, "huge.txt")
    assert_app_error(response, 413, "PAYLOAD_TOO_LARGE")
    assert_nothing_stored(storage)


REFUSED = [
    pytest.param(b"<!DOCTYPE html><script>alert(1)</script>", "x.png", id="html-named-png"),
    pytest.param(b"  <html><body onload=alert(1)>", "x.txt", id="html-as-text"),
    pytest.param(
        b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
        "x.svg",
        id="svg-with-script",
    ),
    pytest.param(b'<?xml version="1.0"?><svg/>', "x.txt", id="xml"),
    pytest.param(b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 64, "setup.pdf", id="windows-exe"),
    pytest.param(b"\x7fELF\x02\x01\x01" + b"\x00" * 64, "run.jpg", id="elf"),
    pytest.param(b"#!/bin/sh\nrm -rf /\n", "notes.txt", id="shell-script"),
    pytest.param(b"PK\x03\x04" + b"\x00" * 40, "doc.pdf", id="zip"),
    pytest.param(b"\x89PNG\r\n\x1a\n" + b"garbage" * 10, "broken.png", id="not-a-real-png"),
    pytest.param(png_bytes()[:40], "cut.png", id="cut-off-png"),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("data", "name"), REFUSED)
def test_refused_types_are_400_with_the_rule(
    storage: str, make_visitor: Callable[..., Any], data: bytes, name: str
) -> None:
    _, visitor = make_visitor()
    response = upload(visitor, data, name)
    assert field_violations(response) == {"file": "FIELD_NOT_ALLOWED"}
    assert_nothing_stored(storage)


@pytest.mark.django_db
def test_a_type_left_out_of_the_allow_list_is_refused(
    storage: str, settings: Any, make_visitor: Callable[..., Any]
) -> None:
    settings.INBOX = {**getattr(settings, "INBOX", {}), "ATTACHMENT_ALLOWED_TYPES": ["image/png"]}
    _, visitor = make_visitor()
    assert field_violations(upload(visitor, PDF, "a.pdf")) == {"file": "FIELD_NOT_ALLOWED"}
    assert_nothing_stored(storage)


@pytest.mark.django_db
def test_bad_upload_requests(
    storage: str, make_visitor: Callable[..., Any], app_client: APIClient
) -> None:
    _, visitor = make_visitor()
    assert field_violations(visitor.post(UPLOAD, {}, format="multipart")) == {
        "file": "REQUIRED_FIELD"
    }
    assert field_violations(upload(visitor, b"", "empty.txt")) == {"file": "MIN_SIZE"}
    assert field_violations(upload(visitor, b"hi", "a.txt", extra="1")) == {
        "extra": "FIELD_NOT_ALLOWED"
    }
    assert field_violations(upload(visitor, b"hi", "a.txt", conversationId="nope")) == {
        "conversationId": "FORMAT"
    }
    # A business caller names the conversation.
    assert field_violations(upload(app_client, b"hi", "a.txt")) == {
        "conversationId": "REQUIRED_FIELD"
    }
    assert_nothing_stored(storage)


@pytest.mark.django_db
def test_callers_who_may_not_write_there_cannot_upload(
    storage: str,
    make_visitor: Callable[..., Any],
    make_user: Callable[..., Any],
    make_conversation: Callable[..., Any],
    api: APIClient,
) -> None:
    conversation = make_conversation()
    assert_app_error(upload(api, b"hi", "a.txt"), 401, "UNAUTHENTICATED")
    _, visitor = make_visitor()
    assert_app_error(
        upload(visitor, b"hi", "a.txt", conversationId=str(conversation.pk)),
        403,
        "NOT_JOINED_CHATROOM",
    )
    reader = APIClient()
    reader.force_login(make_user("reader", staff=True, perms=False))
    assert_app_error(
        upload(reader, b"hi", "a.txt", conversationId=str(conversation.pk)),
        403,
        "PERMISSION_DENIED",
    )
    assert_nothing_stored(storage)


@pytest.mark.django_db
def test_a_send_may_name_only_the_callers_own_unsent_uploads_of_that_conversation(
    storage: str, make_visitor: Callable[..., Any], app_client: APIClient
) -> None:
    _, alice = make_visitor()
    _, mallory = make_visitor()
    alices = upload(alice, b"alice's notes", "a.txt").json()["attachment"]["id"]
    malloys = upload(mallory, b"mallory's notes", "m.txt").json()["attachment"]["id"]
    path = "message.content.basic.items[0].file.id"
    for attachment_id in (alices, str(uuid.uuid4()), "not-a-uuid"):
        response = mallory.post(
            f"{API}/messages", {"message": media_message("file", attachment_id)}, format="json"
        )
        assert field_violations(response) == {path: "EXISTS"}
    # A file sent as an image (or the other way round) is refused too.
    response = mallory.post(
        f"{API}/messages", {"message": media_message("image", malloys)}, format="json"
    )
    assert field_violations(response) == {"message.content.basic.items[0].image.id": "EXISTS"}
    assert Message.objects.count() == 0
    assert (
        mallory.post(
            f"{API}/messages", {"message": media_message("file", malloys)}, format="json"
        ).status_code
        == 200
    )
    # Sent once: a second send naming it is refused, the first message keeps it.
    again = mallory.post(
        f"{API}/messages", {"message": media_message("file", malloys)}, format="json"
    )
    assert field_violations(again) == {path: "EXISTS"}
    assert Message.objects.count() == 1
    assert Attachment.objects.get(pk=malloys).message == Message.objects.get()
    # The business side cannot send a participant's upload as its own either.
    conversation_id = Attachment.objects.get(pk=alices).conversation_id
    response = app_client.post(
        f"{API}/messages",
        {
            "conversationId": str(conversation_id),
            "message": media_message("file", alices, direction="BUSINESS_TO_PARTICIPANT"),
        },
        format="json",
    )
    assert field_violations(response) == {path: "EXISTS"}


def _note_with_file(staff_client: APIClient, conversation_id: uuid.UUID) -> dict[str, Any]:
    attachment = upload(
        staff_client, b"internal: refund approved", "note.txt", conversationId=str(conversation_id)
    ).json()["attachment"]
    sent = staff_client.post(
        f"{API}/messages",
        {
            "conversationId": str(conversation_id),
            "message": media_message(
                "file", attachment["id"], direction="BUSINESS_TO_PARTICIPANT", visibility="BUSINESS"
            ),
        },
        format="json",
    )
    assert sent.status_code == 200, sent.content
    return dict(sent.json()["message"]["content"]["basic"]["items"][0]["file"])


@pytest.mark.django_db
def test_an_internal_notes_file_never_reaches_the_participant(
    storage: str, make_visitor: Callable[..., Any], staff_client: APIClient
) -> None:
    _, visitor = make_visitor()
    mine = upload(visitor, b"hello", "hi.txt").json()["attachment"]
    conversation_id = uuid.UUID(mine["conversationId"])
    note_file = _note_with_file(staff_client, conversation_id)
    assert (
        visitor.get(
            f"{API}/messages",
            {"conversationId": str(conversation_id), "visibility": "BUSINESS_AND_PARTICIPANT"},
        ).json()["messages"]
        == []
    )
    # Even holding the business link, the participant is refused.
    assert_app_error(fetch(visitor, note_file["url"]), 403, "PERMISSION_DENIED")
    # A participant-visibility link for it cannot be made up: the signature covers it.
    forged = note_file["url"].replace("&v=b&", "&v=p&")
    assert_app_error(fetch(APIClient(), forged), 403, "PERMISSION_DENIED")
    # Nor a link signed for participants (if one leaked for this id): the message is a note.
    participant_link, _ = download_link(
        note_file["id"], visibility=Message.Visibility.BUSINESS_AND_PARTICIPANT
    )
    assert_app_error(fetch(APIClient(), participant_link), 403, "PERMISSION_DENIED")
    assert fetch(staff_client, note_file["url"]).status_code == 200


@pytest.mark.django_db
def test_links_expire_and_cannot_be_forged_or_made_for_unsent_files(
    storage: str, make_visitor: Callable[..., Any]
) -> None:
    _, visitor = make_visitor()
    _, stranger = make_visitor()
    attachment_id = upload(visitor, b"hello", "hi.txt").json()["attachment"]["id"]
    unsent_link, _ = download_link(attachment_id, visibility="BUSINESS_AND_PARTICIPANT")
    assert_app_error(fetch(visitor, unsent_link), 403, "PERMISSION_DENIED")
    sent = visitor.post(
        f"{API}/messages", {"message": media_message("file", attachment_id)}, format="json"
    ).json()["message"]
    url = sent["content"]["basic"]["items"][0]["file"]["url"]
    assert fetch(visitor, url).status_code == 200
    # Someone else's conversation: a participant's own credentials do not open it.
    assert_app_error(fetch(stranger, url), 403, "PERMISSION_DENIED")
    expired, expires = download_link(
        attachment_id, visibility="BUSINESS_AND_PARTICIPANT", now=time.time() - 11 * 3600
    )
    assert expires < time.time()
    assert_app_error(fetch(visitor, expired), 403, "PERMISSION_DENIED")
    for bad in (
        url.replace("sig=", "sig=x"),
        url.replace("expires=", "expires=9"),
        url.replace(attachment_id, str(uuid.uuid4())),
        url.split("?")[0],
    ):
        assert_app_error(fetch(visitor, bad), 403, "PERMISSION_DENIED")


@pytest.mark.django_db
def test_orphaned_uploads_are_purged_with_their_files(
    storage: str, make_visitor: Callable[..., Any], django_capture_on_commit_callbacks: Any
) -> None:
    _, visitor = make_visitor()
    orphan = upload(visitor, b"never sent", "o.txt").json()["attachment"]["id"]
    fresh = upload(visitor, b"just now", "f.txt").json()["attachment"]["id"]
    kept = upload(visitor, b"sent", "s.txt").json()["attachment"]["id"]
    visitor.post(f"{API}/messages", {"message": media_message("file", kept)}, format="json")
    Attachment.objects.filter(pk__in=[orphan, kept]).update(
        created_at=timezone.now() - timedelta(days=2)
    )
    orphan_name = Attachment.objects.get(pk=orphan).storage_name
    out = io.StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("inbox_purge_attachments", stdout=out)
    assert out.getvalue().strip() == "Deleted 1 orphaned attachment(s)."
    assert set(Attachment.objects.values_list("pk", flat=True)) == {
        uuid.UUID(fresh),
        uuid.UUID(kept),
    }
    assert not attachment_storage().exists(orphan_name)
    assert len(stored_names(storage)) == 2


def test_sniffing_never_trusts_names_or_declared_types() -> None:
    assert sniff_type(png_bytes()) == "image/png"
    assert sniff_type(jpeg_with_exif()) == "image/jpeg"
    assert sniff_type(b"GIF89a....") == "image/gif"
    assert sniff_type(b"RIFF\x00\x00\x00\x00WEBPVP8 ") == "image/webp"
    assert sniff_type(PDF) == "application/pdf"
    assert sniff_type("Grüße, 你好\n".encode()) == "text/plain"
    assert sniff_type("é".encode()[:1]) == "text/plain"  # cut inside a character: still text
    assert sniff_type(b"\xff\xfe not utf-8 \xc3") is None
    assert sniff_type(b"hello <SCRIPT>") is None
    assert sniff_type(b"") is None


def test_storages_setting_is_what_the_model_reads(settings: Any) -> None:
    settings.STORAGES = {
        **settings.STORAGES,
        "attachments": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    }
    settings.INBOX = {"ATTACHMENT_STORAGE": "attachments"}
    assert attachment_storage() is storages["attachments"]


# --- thumbnails -------------------------------------------------------------------------------


def send_upload(client: APIClient, data: bytes, name: str, kind: str = "image") -> dict[str, Any]:
    attachment = upload(client, data, name).json()["attachment"]
    sent = client.post(
        f"{API}/messages", {"message": media_message(kind, attachment["id"])}, format="json"
    )
    assert sent.status_code == 200, sent.content
    item: dict[str, Any] = sent.json()["message"]["content"]["basic"]["items"][0][kind]
    return item


@pytest.mark.django_db
def test_a_large_image_gets_a_thumbnail_served_signed_like_the_original(
    storage: str,
    settings: Any,
    make_visitor: Callable[..., Any],
    django_capture_on_commit_callbacks: Any,
) -> None:
    settings.INBOX = {**getattr(settings, "INBOX", {}), "ATTACHMENT_THUMBNAIL_SIZE": 100}
    _, visitor = make_visitor()
    image = send_upload(visitor, jpeg_with_exif(400, 200), "wide.jpg")
    assert (image["width"], image["height"]) == (400, 200)
    assert urlsplit(image["thumbnailUrl"]).query == urlsplit(image["url"]).query
    for client in (visitor, APIClient()):
        served = fetch(client, image["thumbnailUrl"])
        assert served.status_code == 200
        assert served["Content-Type"] == "image/jpeg"
        assert served["X-Content-Type-Options"] == "nosniff"
        assert "sandbox" in served["Content-Security-Policy"]
        data = body(served)
        assert Image.open(io.BytesIO(data)).size == (100, 50)
        assert b"SpyCam" not in data
    assert Image.open(io.BytesIO(body(fetch(visitor, image["url"])))).size == (400, 200)
    # Two files in the storage, one row; both go with it.
    assert len(stored_names(storage)) == 2
    with django_capture_on_commit_callbacks(execute=True):
        Attachment.objects.all().delete()
    assert stored_names(storage) == []


@pytest.mark.django_db
def test_a_small_image_is_its_own_thumbnail_and_files_have_none(
    storage: str, make_visitor: Callable[..., Any]
) -> None:
    _, visitor = make_visitor()
    image = send_upload(visitor, png_bytes(30, 20), "small.png")
    assert Image.open(io.BytesIO(body(fetch(visitor, image["thumbnailUrl"])))).size == (30, 20)
    assert len(stored_names(storage)) == 1
    file = send_upload(visitor, PDF, "a.pdf", kind="file")
    assert "thumbnailUrl" not in file
    # A file's link does not open a "thumbnail" of it.
    thumbnail_of_file = file["url"].replace("/content?", "/thumbnail?")
    assert_app_error(fetch(visitor, thumbnail_of_file), 403, "PERMISSION_DENIED")


@pytest.mark.django_db
def test_an_animated_gifs_thumbnail_is_its_first_frame(
    storage: str, settings: Any, make_visitor: Callable[..., Any]
) -> None:
    settings.INBOX = {**getattr(settings, "INBOX", {}), "ATTACHMENT_THUMBNAIL_SIZE": 20}
    frames = [Image.new("RGB", (80, 40), colour) for colour in ((255, 0, 0), (0, 0, 255))]
    out = io.BytesIO()
    frames[0].save(out, format="GIF", save_all=True, append_images=frames[1:], duration=100)
    _, visitor = make_visitor()
    image = send_upload(visitor, out.getvalue(), "anim.gif")
    thumbnail = Image.open(io.BytesIO(body(fetch(visitor, image["thumbnailUrl"]))))
    assert thumbnail.format == "GIF" and thumbnail.size == (20, 10)
    assert not getattr(thumbnail, "is_animated", False)
    red, _, blue = thumbnail.convert("RGB").getpixel((10, 5))  # type: ignore[misc]
    assert red > 200 and blue < 50


@pytest.mark.django_db
def test_an_internal_notes_thumbnail_is_as_unreachable_as_its_file(
    storage: str,
    staff_client: APIClient,
    make_conversation: Callable[..., Any],
) -> None:
    conversation = make_conversation()
    attachment = upload(
        staff_client, png_bytes(600, 400), "secret.png", conversationId=str(conversation.pk)
    ).json()["attachment"]
    note = media_message(
        "image", attachment["id"], direction="BUSINESS_TO_PARTICIPANT", visibility="BUSINESS"
    )
    sent = staff_client.post(
        f"{API}/messages", {"conversationId": str(conversation.pk), "message": note}, format="json"
    ).json()["message"]
    image = sent["content"]["basic"]["items"][0]["image"]
    assert fetch(APIClient(), image["thumbnailUrl"]).status_code == 200  # staff's link works
    # A participant-audience link for the same file (what a participant could be given) fails.
    participant_link, _ = download_link(attachment["id"], visibility="BUSINESS_AND_PARTICIPANT")
    forged = participant_link.replace("/content?", "/thumbnail?")
    assert_app_error(fetch(APIClient(), forged), 403, "PERMISSION_DENIED")


@pytest.mark.django_db
def test_an_echoed_thumbnail_url_is_dropped_like_other_read_only_fields(
    storage: str, make_visitor: Callable[..., Any]
) -> None:
    _, visitor = make_visitor()
    attachment = upload(visitor, png_bytes(), "a.png").json()["attachment"]
    echoed = media_message("image", attachment["id"], thumbnailUrl="https://evil.example/x.png")
    sent = visitor.post(f"{API}/messages", {"message": echoed}, format="json")
    assert sent.status_code == 200, sent.content
    image = sent.json()["message"]["content"]["basic"]["items"][0]["image"]
    assert image["thumbnailUrl"].startswith(f"{API}/attachments/{attachment['id']}/thumbnail?")
    stored = Message.objects.get().content["basic"]["items"][0]["image"]
    assert "thumbnailUrl" not in stored and "url" not in stored


@pytest.mark.django_db
def test_the_conversation_list_previews_the_last_messages_image_by_its_thumbnail(
    storage: str, staff_client: APIClient, make_visitor: Callable[..., Any]
) -> None:
    _, visitor = make_visitor()
    image = send_upload(visitor, png_bytes(600, 300), "photo.png")

    def row() -> dict[str, Any]:
        rows = staff_client.get(f"{API}/conversations").json()["conversations"]
        assert len(rows) == 1
        found: dict[str, Any] = rows[0]
        return found

    listed = row()
    assert listed["previewText"] == "photo.png"
    assert listed["previewThumbnailUrl"] == image["thumbnailUrl"]
    served = fetch(APIClient(), listed["previewThumbnailUrl"])
    assert Image.open(io.BytesIO(body(served))).size == (320, 160)

    conversation_id = Attachment.objects.get().conversation_id
    text = media_message("text", "")
    text["content"] = {"basic": {"items": [{"text": "and some words"}]}}
    assert visitor.post(f"{API}/messages", {"message": text}, format="json").status_code == 200
    assert row()["previewThumbnailUrl"] is None
    assert str(conversation_id) == row()["conversation"]["id"]
