"""Attachments on an S3-compatible object store (issue 15): the README's django-storages
settings against a real S3 HTTP server on loopback (moto's ``moto_server`` process), through
boto3 as a site would run it. Upload, send, list, download and purge; the bucket is checked
with a separate client, so what is asserted is what the object store holds.

django-storages, boto3 and moto are development dependencies only (requirements-dev.txt):
which storage a site uses is its own choice, and the app never imports them.
"""

from __future__ import annotations

import io
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from django.core.management import call_command
from PIL import Image
from rest_framework.test import APIClient

from inbox.attachments.models import Attachment
from tests.conftest import API
from tests.servers import _stop, _wait_until, free_port
from tests.test_attachments import PDF, body, fetch, media_message, png_bytes, upload

BUCKET = "shop-inbox"
CREDENTIALS = {"aws_access_key_id": "test-key", "aws_secret_access_key": "test-secret"}
REGION = "us-east-1"


@pytest.fixture(scope="module")
def s3_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real S3-compatible server process on a free loopback port, with an empty bucket."""
    port = free_port()
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [
                str(Path(sys.executable).with_name("moto_server")),
                "-H",
                "127.0.0.1",
                "-p",
                str(port),
            ],
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    endpoint = f"http://127.0.0.1:{port}"

    def answers() -> bool:
        try:
            return httpx.get(endpoint + "/moto-api/", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        _wait_until(answers, timeout=60, what=f"moto_server on {endpoint} ({log})")
        s3_client(endpoint).create_bucket(Bucket=BUCKET)
        yield endpoint
    finally:
        _stop(process)


def s3_client(endpoint: str) -> Any:
    return boto3.client("s3", endpoint_url=endpoint, region_name=REGION, **CREDENTIALS)


def bucket_keys(endpoint: str) -> list[str]:
    listed = s3_client(endpoint).list_objects_v2(Bucket=BUCKET)
    return sorted(item["Key"] for item in listed.get("Contents", []))


@pytest.fixture
def s3_storage(s3_endpoint: str, settings: Any) -> Iterator[str]:
    """The README's settings, pointed at the loopback server (plus its endpoint and keys)."""
    settings.STORAGES = {
        **settings.STORAGES,
        "inbox": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": BUCKET,
                "default_acl": "private",
                "querystring_auth": False,
                "endpoint_url": s3_endpoint,
                "region_name": REGION,
                "access_key": CREDENTIALS["aws_access_key_id"],
                "secret_key": CREDENTIALS["aws_secret_access_key"],
            },
        },
    }
    settings.INBOX = {**getattr(settings, "INBOX", {}), "ATTACHMENT_STORAGE": "inbox"}
    for key in bucket_keys(s3_endpoint):
        s3_client(s3_endpoint).delete_object(Bucket=BUCKET, Key=key)
    yield s3_endpoint


@pytest.mark.django_db
def test_upload_send_list_and_download_through_s3(
    s3_storage: str,
    make_visitor: Callable[..., Any],
    staff_client: APIClient,
    app_client: APIClient,
    django_capture_on_commit_callbacks: Any,
) -> None:
    _, visitor = make_visitor()
    uploaded = upload(visitor, png_bytes(640, 480), "shot.png")
    assert uploaded.status_code == 200, uploaded.content
    image_id = uploaded.json()["attachment"]["id"]
    conversation_id = uploaded.json()["attachment"]["conversationId"]
    sent = visitor.post(
        f"{API}/messages", {"message": media_message("image", image_id)}, format="json"
    )
    assert sent.status_code == 200, sent.content

    pdf = upload(staff_client, PDF, "invoice.pdf", conversationId=conversation_id)
    assert pdf.status_code == 200, pdf.content
    reply = media_message(
        "file", pdf.json()["attachment"]["id"], direction="BUSINESS_TO_PARTICIPANT"
    )
    sent = staff_client.post(
        f"{API}/messages", {"conversationId": conversation_id, "message": reply}, format="json"
    )
    assert sent.status_code == 200, sent.content

    # The object store holds the image, its thumbnail and the PDF, under our names.
    keys = bucket_keys(s3_storage)
    assert len(keys) == 3 and all(key.startswith("inbox/attachments/") for key in keys)
    stored = {
        key: s3_client(s3_storage).get_object(Bucket=BUCKET, Key=key)["Body"].read() for key in keys
    }
    assert PDF in stored.values()

    listed = app_client.get(
        f"{API}/messages", {"conversationId": conversation_id, "visibility": "BUSINESS"}
    ).json()["messages"]
    items = [message["content"]["basic"]["items"][0] for message in listed]
    [image] = [item["image"] for item in items if "image" in item]
    [file] = [item["file"] for item in items if "file" in item]
    anyone = APIClient()
    assert Image.open(io.BytesIO(body(fetch(anyone, image["url"])))).size == (640, 480)
    assert Image.open(io.BytesIO(body(fetch(anyone, image["thumbnailUrl"])))).size == (320, 240)
    served = fetch(anyone, file["url"])
    assert served.status_code == 200 and body(served) == PDF
    assert served["Content-Disposition"] == 'attachment; filename="invoice.pdf"'

    # Deleting the conversation's attachments deletes the objects once that commits.
    with django_capture_on_commit_callbacks(execute=True):
        Attachment.objects.all().delete()
    assert bucket_keys(s3_storage) == []


@pytest.mark.django_db
def test_orphans_are_purged_from_s3_and_refused_uploads_leave_nothing(
    s3_storage: str, make_visitor: Callable[..., Any], django_capture_on_commit_callbacks: Any
) -> None:
    _, visitor = make_visitor()
    assert upload(visitor, b"<html><script>x</script>", "x.png").status_code == 400
    assert bucket_keys(s3_storage) == []
    assert upload(visitor, b"never sent", "orphan.txt").status_code == 200
    assert len(bucket_keys(s3_storage)) == 1
    with django_capture_on_commit_callbacks(execute=True):
        call_command("inbox_purge_attachments", "--older-than", "0", stdout=io.StringIO())
    assert bucket_keys(s3_storage) == []
