"""A real webhook receiver on loopback for the tests: an HTTP server in a thread that verifies
every request with the ``standardwebhooks`` library and answers as its ``plan`` says.

    with webhook_receiver() as receiver:
        receiver.plan = [Answer(503), Answer(200)]   # then 200 for ever
        ... receiver.secret = secret_from_the_api ...
        receiver.wait_for(lambda r: r.verified_ids())
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from standardwebhooks.webhooks import Webhook, WebhookVerificationError


@dataclass(frozen=True)
class Answer:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


@dataclass
class Received:
    at: float
    headers: dict[str, str]
    body: str
    # The verified payload, or None when the signature did not verify.
    payload: dict[str, Any] | None
    answered: int


class Receiver:
    def __init__(self, port: int = 0) -> None:
        self.secret: str | None = None
        # For wix-format endpoints: the site's public key (PEM); the body must be a JWT it
        # verifies, and ``payload`` is then the decoded layout with its strings parsed.
        self.public_key: str | None = None
        self.plan: list[Answer] = []
        self.received: list[Received] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self.port = port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                length = int(self.headers.get("content-length", 0))
                body = self.rfile.read(length).decode()
                headers = {k.lower(): v for k, v in self.headers.items()}
                payload = None
                if receiver.public_key:
                    payload = wix_verify(body, receiver.public_key)
                elif receiver.secret:
                    with contextlib.suppress(WebhookVerificationError):
                        payload = Webhook(receiver.secret).verify(body, headers)
                with receiver._lock:
                    answer = receiver.plan.pop(0) if receiver.plan else Answer()
                    receiver.received.append(
                        Received(time.monotonic(), headers, body, payload, answer.status)
                    )
                time.sleep(answer.delay)
                reply = json.dumps({"received": True}).encode()
                # The sender may be gone by now (a worker killed mid-delivery).
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.send_response(answer.status)
                    for name, value in answer.headers.items():
                        self.send_header(name, value)
                    self.send_header("content-length", str(len(reply)))
                    self.end_headers()
                    self.wfile.write(reply)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def verified(self) -> list[Received]:
        return [r for r in self.received if r.payload is not None]

    def wait_for(self, predicate: Callable[[Receiver], Any], timeout: float = 20.0) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            outcome = predicate(self)
            if outcome:
                return outcome
            time.sleep(0.05)
        raise TimeoutError(f"receiver: not so after {timeout} s; got {self.received}")


def wix_verify(body: str, public_key: str) -> dict[str, Any] | None:
    """What code ported from Wix does: verify the JWT with the public key, parse ``data``, then
    its ``data`` and ``identity`` strings. None when the signature does not verify."""
    try:
        claims = jwt.decode(body, public_key, algorithms=["RS256"])
    except jwt.InvalidTokenError:
        return None
    layout = json.loads(claims["data"])
    event = json.loads(layout["data"])
    return {
        "eventType": layout["eventType"],
        "instanceId": layout["instanceId"],
        "identity": json.loads(layout["identity"]),
        "event": event,
        # The Standard Webhooks tests look for the event id here.
        "id": event["id"],
    }


@contextlib.contextmanager
def webhook_receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    receiver.start()
    try:
        yield receiver
    finally:
        receiver.stop()
