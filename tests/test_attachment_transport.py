"""An upload cut off midway leaves nothing behind (issue 15), over a real socket to a real
server, under both servers the project runs on: the client declares a body, sends part of it
(more than Django keeps in memory, so its spooled copy is on disk) and hangs up. No row, no
stored file, no temporary file; the next upload works."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.servers import SERVERS, ServerCluster, _wait_until, asgi_servers

pytestmark = [pytest.mark.multiprocess]

API = "/inbox/v2"
TIMEOUT = 15.0
MB = 1024 * 1024


@pytest.fixture(scope="module", params=SERVERS)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[ServerCluster, Path, Path]]:
    scratch = tmp_path_factory.mktemp(f"cut-{request.param}")
    media, temporary = scratch / "media", scratch / "tmp"
    temporary.mkdir()
    extra = {"DJANGO_MEDIA_ROOT": str(media), "TMPDIR": str(temporary)}
    with asgi_servers(1, server=request.param, extra_env=extra) as cluster:
        yield cluster, media, temporary


def files_under(path: Path) -> list[Path]:
    return sorted(found for found in path.rglob("*") if found.is_file()) if path.exists() else []


def attachment_rows(cluster: ServerCluster) -> int:
    script = "from inbox.attachments.models import Attachment; print(Attachment.objects.count())"
    return int(cluster.manage("shell", "-c", script).strip().splitlines()[-1])


def multipart(boundary: str, conversation_id: str, name: str, content: bytes) -> bytes:
    return (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="conversationId"\r\n\r\n'
            f"{conversation_id}\r\n"
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
            "Content-Type: application/pdf\r\n\r\n"
        ).encode()
        + content
        + f"\r\n--{boundary}--\r\n".encode()
    )


def test_an_upload_cut_off_midway_leaves_nothing_behind(
    server: tuple[ServerCluster, Path, Path],
) -> None:
    cluster, media, temporary = server
    key = cluster.create_app_key()
    conversation = httpx.post(
        f"{cluster.urls[0]}{API}/conversations",
        json={"participantId": {"contactId": str(uuid.uuid4())}},
        headers={"Authorization": key},
        timeout=TIMEOUT,
    )
    assert conversation.status_code == 200, conversation.text
    conversation_id = conversation.json()["conversation"]["id"]

    boundary = uuid.uuid4().hex
    body = multipart(boundary, conversation_id, "big.pdf", b"%PDF-1.4\n" + b"x" * (4 * MB))
    host, port = cluster.urls[0].removeprefix("http://").split(":")
    head = (
        f"POST {API}/attachments HTTP/1.1\r\nHost: {host}\r\nAuthorization: {key}\r\n"
        f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    with socket.create_connection((host, int(port)), timeout=TIMEOUT) as client:
        client.sendall(head + body[: 3 * MB])  # three quarters of it, then the line drops
        client.shutdown(socket.SHUT_RDWR)

    # The server is still fine, and a complete upload after it is stored.
    whole = httpx.post(
        f"{cluster.urls[0]}{API}/attachments",
        headers={"Authorization": key},
        data={"conversationId": conversation_id},
        files={"file": ("small.pdf", b"%PDF-1.4\nsmall", "application/pdf")},
        timeout=TIMEOUT,
    )
    assert whole.status_code == 200, whole.text
    _wait_until(lambda: files_under(temporary) == [], timeout=TIMEOUT, what="temporary files to go")
    assert attachment_rows(cluster) == 1
    stored = files_under(media)
    assert len(stored) == 1 and stored[0].read_bytes() == b"%PDF-1.4\nsmall"
    assert files_under(temporary) == []
