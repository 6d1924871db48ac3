"""Jepsen-style bookkeeping for the fault tests (tests/test_faults.py).

Every send is logged as it is *invoked* and then completes as ``ok`` (the server acknowledged it:
the message is committed), ``fail`` (the server answered with an error: nothing was written) or
``unknown`` (no answer: it may or may not have been written). Socket clients keep every event
they receive, drop repeated event ids as the protocol says, reconnect with jittered exponential
back-off and resume from what they have seen. The checker then demands that every acknowledged
message is on every client that may see it exactly once, in sequence order, and that nothing
else is there but messages whose send was ``unknown`` and which the database did commit.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import websockets
from websockets.asyncio.client import connect

from inbox.models import INBOX_NAMESPACE

OK, FAIL, UNKNOWN = "ok", "fail", "unknown"


@dataclass
class Operation:
    index: int
    conversation_id: str
    invoked: float
    completed: float | None = None
    outcome: str | None = None
    status: int | None = None
    message: dict[str, Any] | None = None
    error: str = ""
    attempts: int = 0


@dataclass
class History:
    operations: list[Operation] = field(default_factory=list)

    def by_outcome(self, outcome: str) -> list[Operation]:
        return [operation for operation in self.operations if operation.outcome == outcome]

    def acknowledged(self) -> dict[str, Operation]:
        return {operation.message["id"]: operation for operation in self.by_outcome(OK)}  # type: ignore[index]

    def summary(self) -> dict[str, int]:
        counts = {OK: 0, FAIL: 0, UNKNOWN: 0}
        for operation in self.operations:
            counts[operation.outcome or UNKNOWN] += 1
        counts["5xx"] = sum(1 for op in self.operations if op.status and op.status >= 500)
        return counts

    async def send(
        self,
        http: httpx.AsyncClient,
        url: str,
        conversation_id: str,
        text: str,
        *,
        headers: dict[str, str] | None = None,
        timeout: float = 30.0,
        retries: int = 2,
    ) -> Operation:
        operation = Operation(len(self.operations), conversation_id, time.monotonic())
        self.operations.append(operation)
        # A client that gets no answer retries with the same Idempotency-Key, as the API asks
        # (a lost keep-alive connection is not a lost message); still nothing after ``retries``
        # attempts is ``unknown``.
        key = f"jepsen-{uuid.uuid4()}"
        body = {
            "conversationId": conversation_id,
            "message": {
                "direction": "BUSINESS_TO_PARTICIPANT",
                "content": {"basic": {"items": [{"text": text}]}},
            },
        }
        for attempt in range(retries + 1):
            operation.attempts = attempt + 1
            try:
                response = await http.post(
                    url,
                    json=body,
                    headers={**(headers or {}), "Idempotency-Key": key},
                    timeout=timeout,
                )
            except (httpx.HTTPError, OSError) as error:
                operation.outcome, operation.error = UNKNOWN, repr(error)
                continue
            operation.status = response.status_code
            if response.status_code == 200:
                operation.outcome, operation.message = OK, response.json()["message"]
            else:
                operation.outcome, operation.error = FAIL, response.text[:300]
            break
        operation.completed = time.monotonic()
        return operation


class Client:
    """A socket client as the staff page and the widget are meant to be."""

    def __init__(
        self,
        name: str,
        urls: list[str],
        origins: list[str],
        *,
        path: str,
        key: str | None = None,
        token: str | None = None,
        conversations: set[str] | None = None,
        home: int = 0,
        backoff: tuple[float, float] = (0.1, 2.0),
    ) -> None:
        self.name = name
        self.urls, self.origins, self.path = urls, origins, path
        self.key, self.token = key, token
        self.business = key is not None
        # The conversations whose messages this client may see (checked at the end).
        self.conversations = conversations or set()
        self.server = home
        self.backoff = backoff
        self.first: dict[str, dict[str, Any]] = {}  # event id → message (+ conversationId)
        self.arrivals: dict[str, list[int]] = {}  # conversation → sequences, arrival order
        self.duplicates = 0
        self.connects: list[tuple[float, int]] = []  # (time ready, server index)
        self.disconnects: list[float] = []
        self.attempts: list[float] = []
        self.frames = 0
        self.ready = asyncio.Event()
        self.task: asyncio.Task[None] | None = None
        self.resets = 0
        self.refetches = 0

    def resume_frame(self) -> dict[str, Any]:
        highest = {c: max(s) for c, s in self.arrivals.items() if s}
        if self.business:
            frame: dict[str, Any] = {"type": "resume"}
            if highest:
                frame["conversations"] = {c: str(s) for c, s in highest.items()}
                frame["since"] = str(max(highest.values()))
            return frame
        return {"type": "resume", "sequence": str(max(highest.values(), default=0))}

    async def run(self) -> None:
        failures = 0
        while True:
            self.attempts.append(time.monotonic())
            url = self.urls[self.server] + self.path
            if self.token:
                url += f"?token={self.token}"
            headers = {"Authorization": self.key} if self.key else {}
            try:
                async with connect(
                    url,
                    origin=self.origins[self.server],  # type: ignore[arg-type]
                    additional_headers=headers,
                    open_timeout=5,
                    close_timeout=1,
                    max_size=None,
                ) as ws:
                    await ws.send(json.dumps(self.resume_frame()))
                    async for raw in ws:
                        frame = json.loads(raw)
                        if frame["type"] == "ready":
                            failures = 0
                            self.connects.append((time.monotonic(), self.server))
                            self.ready.set()
                        self.receive(frame)
                        if frame["type"] == "reset":
                            # The protocol: the gap is too large to replay, so refetch over
                            # REST, then resume again.
                            await self.refetch()
                            await ws.send(json.dumps(self.resume_frame()))
            except (
                websockets.ConnectionClosed,
                websockets.InvalidHandshake,
                OSError,
                TimeoutError,
            ):
                pass
            self.disconnects.append(time.monotonic())
            failures += 1
            # Full jitter: a random wait up to an exponentially growing cap, so clients that
            # lost the same server do not come back in one wave; each failure tries the next
            # server (what a load balancer in front of the processes would do).
            cap = min(self.backoff[1], self.backoff[0] * 2 ** min(failures, 10))
            await asyncio.sleep(random.uniform(self.backoff[0] / 2, cap))
            self.server = (self.server + 1) % len(self.urls)

    async def refetch(self) -> None:
        """Every message of the client's conversations over REST, kept as if it had arrived
        as its event (the event id of a message is derived from the message)."""
        base = self.urls[self.server].replace("ws://", "http://", 1)
        auth = self.key if self.key else f"Bearer {self.token}"
        visibility = "BUSINESS" if self.business else "BUSINESS_AND_PARTICIPANT"
        async with httpx.AsyncClient(timeout=30, headers={"Authorization": auth}) as http:
            for conversation in sorted(self.conversations):
                params: dict[str, Any] = {
                    "conversationId": conversation,
                    "visibility": visibility,
                    "sorting.order": "ASC",
                    "paging.limit": 100,
                }
                for _ in range(1000):
                    page = (await http.get(f"{base}/inbox/v2/messages", params=params)).json()
                    for message in page["messages"]:
                        event_id = str(
                            uuid.uuid5(INBOX_NAMESPACE, f"event:message:{message['id']}")
                        )
                        self.receive(
                            {
                                "type": "event",
                                "event": {
                                    "id": event_id,
                                    "data": {"conversationId": conversation, "message": message},
                                },
                            }
                        )
                    cursor = page["pagingMetadata"]["cursors"].get("next")
                    if not cursor:
                        break
                    params = {**params, "paging.cursor": cursor}
        self.refetches += 1

    def receive(self, frame: dict[str, Any]) -> None:
        self.frames += 1
        if frame["type"] == "reset":
            self.resets += 1
        if frame["type"] != "event":
            return
        event = frame["event"]
        message = event["data"].get("message")
        if message is None:
            return
        if event["id"] in self.first:
            self.duplicates += 1
            return
        conversation = event["data"]["conversationId"]
        self.first[event["id"]] = {
            **message,
            "conversationId": conversation,
            "arrivedAt": time.monotonic(),
        }
        self.arrivals.setdefault(conversation, []).append(int(message["sequence"]))

    def state(self) -> dict[str, list[str]]:
        """What the client shows: per conversation, message ids in sequence order."""
        shown: dict[str, list[tuple[int, str]]] = {}
        for message in self.first.values():
            conversation = message["conversationId"]
            shown.setdefault(conversation, []).append((int(message["sequence"]), message["id"]))
        return {c: [mid for _, mid in sorted(items)] for c, items in shown.items()}

    def message_ids(self) -> set[str]:
        return {message["id"] for message in self.first.values()}

    async def start(self) -> None:
        self.task = asyncio.ensure_future(self.run())

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task


def check(
    history: History,
    clients: list[Client],
    committed: dict[str, list[str]],
    visible: Callable[[Client, str], bool],
    *,
    with_missing: bool = True,
) -> list[str]:
    """Problems found (empty when the run is correct); ``with_missing=False`` leaves out
    acknowledged messages missing from clients (see ``missing_acknowledged``).

    ``committed``: per conversation, the ids the database holds, in sequence order (read over
    REST after the run). ``visible(client, conversation)``: whether the client may see it.

    Every acknowledged message must be on every client that may see it; a message whose send
    was ``unknown`` and that the database did commit may be there or not (its process may have
    died between commit and publish: see ``divergent``); nothing else may be. What a client
    shows is in sequence order with no id twice (``state`` dedupes by event id as the protocol
    says; a message under two event ids would show twice).
    """
    problems = []
    acknowledged = history.acknowledged()
    committed_ids = {mid for ids in committed.values() for mid in ids}
    lost = set(acknowledged) - committed_ids
    if lost:
        problems.append(f"acknowledged but not in the database: {sorted(lost)}")
    for client in clients:
        shown = client.state()
        for conversation, ids in committed.items():
            want = (
                [mid for mid in ids if mid in acknowledged] if visible(client, conversation) else []
            )
            allowed = set(ids) if visible(client, conversation) else set()
            got = shown.get(conversation, [])
            missing = [mid for mid in want if mid not in got] if with_missing else []
            extra = [mid for mid in got if mid not in allowed]
            doubled = len(got) != len(set(got))
            if missing or extra or doubled:
                problems.append(
                    f"{client.name} {conversation[:8]}: {len(got)} shown, missing "
                    f"{missing[:5]}, not committed or not visible {extra[:5]}, doubled {doubled}"
                )
        unknown_conversations = set(shown) - set(committed)
        if unknown_conversations:
            problems.append(f"{client.name}: messages of {unknown_conversations}")
    return problems


def divergent(
    history: History,
    clients: list[Client],
    committed: dict[str, list[str]],
    visible: Callable[[Client, str], bool],
) -> int:
    """Committed messages of ``unknown`` sends that some client that may see them lacks."""
    acknowledged = history.acknowledged()
    count = 0
    for client in clients:
        shown = {mid for ids in client.state().values() for mid in ids}
        for conversation, ids in committed.items():
            if visible(client, conversation):
                count += sum(1 for mid in ids if mid not in acknowledged and mid not in shown)
    return count


def missing_acknowledged(
    history: History,
    clients: list[Client],
    committed: dict[str, list[str]],
    visible: Callable[[Client, str], bool],
) -> list[str]:
    """(client, message) pairs where an acknowledged message is missing from a client."""
    acknowledged = history.acknowledged()
    missing = []
    for client in clients:
        shown = {mid for ids in client.state().values() for mid in ids}
        for conversation, ids in committed.items():
            if visible(client, conversation):
                missing += [
                    f"{client.name}:{mid}"
                    for mid in ids
                    if mid in acknowledged and mid not in shown
                ]
    return missing
