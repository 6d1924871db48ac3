"""What a client sees at the edges, under both servers the project runs on: uvicorn (``make
serve``) and daphne (``manage.py runserver`` under ``make run``). Each server refuses some
inputs itself before the app sees anything, and passes some close codes and not others
(docs/events.md, "Close codes"; docs/deployment.md, "What the server refuses").
"""

from __future__ import annotations

import asyncio
import json
import socket
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import websockets
from websockets.asyncio.client import connect

from inbox.conf import DEFAULTS
from tests.servers import SERVERS, ServerCluster, asgi_servers, free_port

pytestmark = [pytest.mark.multiprocess]

API = "/inbox/v2"
BUSINESS = "/ws/inbox/business/"
PARTICIPANT = "/ws/inbox/participant/"
TIMEOUT = 15.0


@pytest.fixture(scope="module", params=SERVERS)
def server(request: pytest.FixtureRequest) -> Iterator[ServerCluster]:
    with asgi_servers(1, server=request.param) as cluster:
        cluster.key = cluster.create_app_key()  # type: ignore[attr-defined]
        yield cluster


def key(server: ServerCluster) -> str:
    return server.key  # type: ignore[attr-defined]


def visitor_token(server: ServerCluster) -> str:
    response = httpx.post(f"{server.urls[0]}{API}/visitors", json={}, timeout=TIMEOUT)
    assert response.status_code == 200, response.text
    return str(response.json()["token"])


async def close_code(
    server: ServerCluster, path: str, *, headers: dict[str, str] | None = None, frames: Any = ()
) -> int | None:
    """Open a socket, send ``frames`` (text), read until the server closes; the code received
    (None: the connection ended without a close frame, which a client sees as 1006)."""
    async with connect(
        server.ws_urls[0] + path,
        origin=server.origins[0],  # type: ignore[arg-type]
        additional_headers=headers or {},
        open_timeout=TIMEOUT,
        max_size=None,
    ) as socket_:
        try:
            for frame in frames:
                await socket_.send(frame)
            while True:
                await asyncio.wait_for(socket_.recv(), TIMEOUT)
        except websockets.ConnectionClosed as closed:
            return closed.rcvd.code if closed.rcvd is not None else None
    raise AssertionError("unreachable")


def business(server: ServerCluster) -> dict[str, str]:
    return {"Authorization": key(server)}


# Close codes -------------------------------------------------------------------------------


async def test_no_identity_closes_with_4401(server: ServerCluster) -> None:
    assert await close_code(server, BUSINESS) == 4401
    assert await close_code(server, PARTICIPANT + "?token=vt.forged") == 4401


async def test_the_wrong_stream_closes_with_4403(server: ServerCluster) -> None:
    token = await asyncio.to_thread(visitor_token, server)
    assert await close_code(server, BUSINESS, headers={"Authorization": f"Bearer {token}"}) == 4403
    assert await close_code(server, PARTICIPANT, headers=business(server)) == 4403


async def test_a_frame_over_the_app_limit_closes_with_4009(server: ServerCluster) -> None:
    limit = DEFAULTS["SOCKET_MAX_FRAME_CHARS"]
    # The size the outside attack sent (65,546 characters), and the first size over the limit.
    for size in (limit + 10, limit + 1):
        frame = json.dumps({"type": "ping", "pad": "x" * (size - 25)})
        assert await close_code(server, BUSINESS, headers=business(server), frames=[frame]) == 4009


async def test_too_many_frames_close_with_4429(server: ServerCluster) -> None:
    frames = [json.dumps({"type": "ping"})] * (DEFAULTS["SOCKET_MAX_FRAMES"] + 1)
    assert await close_code(server, BUSINESS, headers=business(server), frames=frames) == 4429


# What each server refuses itself: a frame over its own message limit never reaches the app.
# uvicorn (websockets, max 16 MiB) hands a 2 MiB frame to the app (4009) and closes a 20 MiB
# one with 1009; daphne (autobahn, max 1 MiB) drops the connection for both (1006).
SERVER_LIMIT_CODES = {
    "uvicorn": {2 * 1024 * 1024: 4009, 20 * 1024 * 1024: 1009},
    "daphne": {2 * 1024 * 1024: None, 20 * 1024 * 1024: None},
}


async def test_a_frame_over_the_server_limit_ends_the_socket(server: ServerCluster) -> None:
    codes = {}
    for size in SERVER_LIMIT_CODES[server.server]:
        frame = "x" * size
        codes[size] = await close_code(server, BUSINESS, headers=business(server), frames=[frame])
    assert codes == SERVER_LIMIT_CODES[server.server]


@pytest.mark.parametrize("server_name", SERVERS)
async def test_a_handshake_without_a_channel_layer_closes_with_4013(server_name: str) -> None:
    nobody = f"redis://127.0.0.1:{free_port()}/0"
    with asgi_servers(1, redis_url=nobody, server=server_name) as cluster:
        cluster.key = cluster.create_app_key()  # type: ignore[attr-defined]
        assert await close_code(cluster, BUSINESS, headers=business(cluster)) == 4013


# HTTP: what reaches the app gets the envelope --------------------------------------------


def raw_http(server: ServerCluster, request: bytes) -> bytes:
    """Send ``request`` as is on a fresh connection; everything the server answers."""
    port = int(server.urls[0].rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as conn:
        conn.sendall(request)
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    return answer


def assert_envelope(response: httpx.Response, status: int) -> None:
    """Wix's error envelope: JSON with a message and an application or validation error."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json"), response.text
    body = response.json()
    assert body["message"]
    assert {"applicationError", "validationError"} & set(body["details"]), body


def assert_bare_400(answer: bytes) -> None:
    """The server's own refusal: a 400 with no body, or (when the server closes while the
    client is still sending) a reset connection with no answer at all; never the app's JSON."""
    assert answer == b"" or answer.startswith(b"HTTP/1.1 400"), answer[:200]
    assert b"application/json" not in answer, answer[:200]


def test_a_json_body_sent_as_multipart_reaches_the_app_under_uvicorn_only(
    server: ServerCluster,
) -> None:
    """Twisted, under daphne, parses a multipart/form-data body itself (for ``request.args``,
    which daphne never uses) and answers a malformed one with a bare 400 before the app runs;
    uvicorn hands it to the app, which answers in the envelope."""
    body = json.dumps({"conversationId": str(uuid.uuid4())}).encode()
    headers = {**business(server), "Content-Type": "multipart/form-data"}
    if server.server == "uvicorn":
        response = httpx.post(
            f"{server.urls[0]}{API}/messages", headers=headers, content=body, timeout=TIMEOUT
        )
        assert_envelope(response, 400)
        return
    head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    request = (
        f"POST {API}/messages HTTP/1.1\r\nHost: 127.0.0.1\r\n{head}"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode() + body
    answer = raw_http(server, request)
    assert answer.startswith(b"HTTP/1.1 400 Bad Request\r\n\r\n"), answer[:200]


def long_query_line(length: int) -> bytes:
    """A request line of ``length`` bytes (``GET …?.r=xxx HTTP/1.1``)."""
    prefix, suffix = f"GET {API}/messages?.r=", " HTTP/1.1"
    padding = "x" * (length - len(prefix) - len(suffix))
    return f"{prefix}{padding}{suffix}\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode()


# The longest request line each server hands to the app (measured: one byte more is refused).
REQUEST_LINE_LIMITS = {"daphne": 16_352, "uvicorn": 65_548}


def test_a_request_line_the_server_accepts_gets_the_envelope(server: ServerCluster) -> None:
    """Up to the server's limit the app answers (here: a bad ``.r``, 400 in the envelope; the
    answer to no credentials would be 401), one byte over it the server refuses it itself."""
    limit = REQUEST_LINE_LIMITS[server.server]
    for length in (15_000, limit):
        answer = raw_http(server, long_query_line(length))
        assert answer.startswith(b"HTTP/1.1 401"), (length, answer[:200])
        assert b"application/json" in answer.split(b"\r\n\r\n", 1)[0].lower(), answer[:300]
    assert_bare_400(raw_http(server, long_query_line(limit + 1)))
    assert_bare_400(raw_http(server, long_query_line(70_000)))
    accepted = f"{server.urls[0]}{API}/messages?.r={'x' * 15_000}"
    assert_envelope(httpx.get(accepted, headers=business(server), timeout=TIMEOUT), 400)
