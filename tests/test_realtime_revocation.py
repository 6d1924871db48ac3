"""An open socket whose credential stops being valid stops getting events and is closed with the
code its handshake would now get (docs/events.md, "Close codes"): staff losing the inbox
permission, deactivated or deleted; an app switched off or deleted; a visitor token expiring; a
member deactivated or deleted; a session logged out. Unaffected sockets keep receiving, and no
internal (BUSINESS) message reaches a revoked socket once its re-check deadline has passed."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings as django_settings
from django.core import signing
from django.test import Client

from inbox import services
from inbox.identity import VISITOR_TOKEN_PREFIX, VISITOR_TOKEN_SALT, visitor_token_issue
from inbox.models import App, Participant, conversation_id_for, user_wire_id
from tests.test_realtime import (
    BUSINESS,
    PARTICIPANT,
    TIMEOUT,
    close_worker_connections,  # noqa: F401 - autouse fixture
    next_event,
    open_socket,
    resume,
    socket,
)

pytestmark = pytest.mark.django_db(transaction=True)

RECHECK = 0.2
# A revoked socket is closed within one re-check interval; this allows for a loaded machine.
CLOSE_BOUND = RECHECK + 1.0


@pytest.fixture(autouse=True)
def fast_recheck(settings: Any) -> None:
    settings.INBOX = {**settings.INBOX, "SOCKET_RECHECK_SECONDS": RECHECK}


@pytest.fixture
def rest_send(send: Callable[..., dict[str, Any]]) -> Callable[..., Any]:
    """``send`` (REST, as the test app) callable from async tests."""
    return sync_to_async(send)


def login(user: Any) -> tuple[Client, tuple[bytes, bytes]]:
    """A logged-in browser client and the cookie header its sockets send."""
    client = Client()
    client.force_login(user)
    name = django_settings.SESSION_COOKIE_NAME
    return client, (b"cookie", f"{name}={client.cookies[name].value}".encode())


async def closed_with(communicator: WebsocketCommunicator) -> tuple[int, list[dict[str, Any]]]:
    """Wait for the socket's close; returns its code and the frames that came before it."""
    frames = []
    while True:
        output = await communicator.receive_output(timeout=TIMEOUT)
        if output["type"] == "websocket.close":
            return output["code"], frames
        frames.append(output)


async def open_and_resume(communicator: WebsocketCommunicator) -> None:
    assert await open_socket(communicator) is None
    assert await resume(communicator) == []


def _revoke_after_deadline_and_send(revoke: Callable[[], Any], send: Callable[[], Any]) -> None:
    """Revoke, let the re-check deadline pass, and send, all while the test's event loop is
    blocked: when it runs again the event and the re-check timer are both due, and the socket
    dispatches the event first (its layer channel comes before its local queue), so this proves
    that a due re-check runs before an event is relayed, not only that the timer closes the
    socket."""
    errors: list[BaseException] = []

    def work() -> None:
        try:
            revoke()
            time.sleep(RECHECK * 1.5)
            send()
        except BaseException as error:
            errors.append(error)

    worker = threading.Thread(target=work)
    worker.start()
    # Blocking on purpose: nothing of the socket may run until the event is queued.
    worker.join(timeout=30)
    time.sleep(0.05)
    assert not worker.is_alive()
    if errors:
        raise errors[0]


# Business stream: staff and apps --------------------------------------------------------------


def _take_permissions(user: Any) -> None:
    user.user_permissions.clear()


def _deactivate(user: Any) -> None:
    user.is_active = False
    user.save()


def _delete(user: Any) -> None:
    user.delete()


STAFF_REVOCATIONS: dict[str, tuple[Callable[[Any], Any], int]] = {
    "loses inbox.view_message": (_take_permissions, 4403),
    "is deactivated": (_deactivate, 4401),
    "is deleted": (_delete, 4401),
}


@pytest.mark.parametrize("revocation", list(STAFF_REVOCATIONS))
async def test_a_staff_socket_is_closed_when_its_user_is_revoked(
    revocation, staff_user, app_key, make_conversation, send, rest_send
):
    revoke, code = STAFF_REVOCATIONS[revocation]
    conversation = await sync_to_async(make_conversation)()
    _, cookie = await sync_to_async(login)(staff_user)
    staff = socket(BUSINESS, headers=[cookie])
    control = socket(BUSINESS, headers=[(b"authorization", app_key.encode())])
    await open_and_resume(staff)
    await open_and_resume(control)
    before = await rest_send(conversation.pk, "before")
    assert (await next_event(staff))["entityId"] == before["id"]
    assert (await next_event(control))["entityId"] == before["id"]

    sent: list[dict[str, Any]] = []
    _revoke_after_deadline_and_send(
        lambda: revoke(staff_user),
        lambda: sent.append(send(conversation.pk, "internal", visibility="BUSINESS")),
    )

    assert await closed_with(staff) == (code, [])
    assert (await next_event(control))["entityId"] == sent[0]["id"]
    after = await rest_send(conversation.pk, "after")
    assert (await next_event(control))["entityId"] == after["id"]
    await staff.disconnect()
    await control.disconnect()


@pytest.mark.parametrize("revocation", ["switched off", "deleted"])
async def test_an_app_socket_is_closed_when_its_app_is_switched_off_or_deleted(
    revocation, app_key, make_conversation, send, rest_send
):
    app, other_key = await sync_to_async(services.app_create)(name="Revoked later")
    conversation = await sync_to_async(make_conversation)()
    revoked = socket(BUSINESS, headers=[(b"authorization", other_key.encode())])
    control = socket(BUSINESS, headers=[(b"authorization", app_key.encode())])
    await open_and_resume(revoked)
    await open_and_resume(control)

    def revoke() -> None:
        if revocation == "deleted":
            App.objects.get(pk=app.pk).delete()
        else:
            services.app_update(app=app, name=app.name, is_active=False)

    sent: list[dict[str, Any]] = []
    _revoke_after_deadline_and_send(
        revoke, lambda: sent.append(send(conversation.pk, "internal", visibility="BUSINESS"))
    )

    assert await closed_with(revoked) == (4401, [])
    assert (await next_event(control))["entityId"] == sent[0]["id"]
    await revoked.disconnect()
    await control.disconnect()


async def test_a_staff_socket_is_closed_when_its_session_logs_out(
    staff_user, make_conversation, rest_send
):
    # The same user on two browsers: logging out of one closes that one's sockets only.
    conversation = await sync_to_async(make_conversation)()
    browser, cookie = await sync_to_async(login)(staff_user)
    _, other_cookie = await sync_to_async(login)(staff_user)
    leaving = socket(BUSINESS, headers=[cookie])
    staying = socket(BUSINESS, headers=[other_cookie])
    await open_and_resume(leaving)
    await open_and_resume(staying)

    await sync_to_async(browser.logout)()
    started = time.monotonic()
    assert await closed_with(leaving) == (4401, [])
    assert time.monotonic() - started < CLOSE_BOUND
    internal = await rest_send(conversation.pk, "internal", visibility="BUSINESS")
    assert (await next_event(staying))["entityId"] == internal["id"]
    await leaving.disconnect()
    await staying.disconnect()


async def test_a_staff_socket_whose_permission_stays_keeps_receiving_across_rechecks(
    staff_user, make_conversation, rest_send
):
    conversation = await sync_to_async(make_conversation)()
    _, cookie = await sync_to_async(login)(staff_user)
    staff = socket(BUSINESS, headers=[cookie])
    await open_and_resume(staff)
    for text in ("one", "two", "three"):
        await asyncio.sleep(RECHECK)
        sent = await rest_send(conversation.pk, text, visibility="BUSINESS")
        assert (await next_event(staff))["entityId"] == sent["id"]
    await staff.disconnect()


async def test_a_rotated_secret_key_with_the_old_one_as_fallback_keeps_staff_sockets_open(
    settings, staff_user, make_conversation, rest_send
):
    # As Django's own session check: a session hashed with a key now in SECRET_KEY_FALLBACKS
    # is still valid, so rotating the key does not close every browser's socket.
    conversation = await sync_to_async(make_conversation)()
    _, cookie = await sync_to_async(login)(staff_user)
    staff = socket(BUSINESS, headers=[cookie])
    await open_and_resume(staff)
    old = settings.SECRET_KEY
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = "rotated-" + old, [old]
    for text in ("one", "two"):
        await asyncio.sleep(RECHECK)
        sent = await rest_send(conversation.pk, text, visibility="BUSINESS")
        assert (await next_event(staff))["entityId"] == sent["id"]
    # Without the fallback the same session no longer names the user: closed with 4401.
    settings.SECRET_KEY_FALLBACKS = []
    await asyncio.sleep(RECHECK)
    await rest_send(conversation.pk, "after the fallback is dropped", visibility="BUSINESS")
    code, frames = await closed_with(staff)
    assert code == 4401
    assert all("after the fallback" not in str(frame) for frame in frames)
    await staff.disconnect()


# Participant stream: members and visitors ------------------------------------------------------


def _member_conversation(user: Any) -> uuid.UUID:
    conversation, _ = services.conversation_get_or_create(
        kind=Participant.Kind.MEMBER, external_id=user_wire_id(user.pk), user=user
    )
    return conversation.pk


MEMBER_REVOCATIONS: dict[str, Callable[[Client, Any], Any]] = {
    "is deactivated": lambda browser, user: _deactivate(user),
    "is deleted": lambda browser, user: _delete(user),
    "logs out": lambda browser, user: browser.logout(),
}


@pytest.mark.parametrize("revocation", list(MEMBER_REVOCATIONS))
async def test_a_member_socket_is_closed_when_its_user_or_session_is_revoked(
    revocation, member_user, make_user, send, rest_send
):
    conversation_id = await sync_to_async(_member_conversation)(member_user)
    other = await sync_to_async(make_user)("other-member")
    other_conversation = await sync_to_async(_member_conversation)(other)
    browser, cookie = await sync_to_async(login)(member_user)
    _, other_cookie = await sync_to_async(login)(other)
    member = socket(PARTICIPANT, headers=[cookie])
    control = socket(PARTICIPANT, headers=[other_cookie])
    await open_and_resume(member)
    await open_and_resume(control)
    before = await rest_send(conversation_id, "before")
    assert (await next_event(member))["entityId"] == before["id"]

    sent: list[dict[str, Any]] = []
    _revoke_after_deadline_and_send(
        lambda: MEMBER_REVOCATIONS[revocation](browser, member_user),
        lambda: sent.append(send(conversation_id, "after revocation")),
    )

    assert await closed_with(member) == (4401, [])
    to_other = await rest_send(other_conversation, "still here")
    assert (await next_event(control))["entityId"] == to_other["id"]
    await member.disconnect()
    await control.disconnect()


class _SignerAt(signing.TimestampSigner):
    """Signs as the server does, as if at Unix time ``at`` (whole seconds, like Django)."""

    def __init__(self, *, at: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.at = at

    def timestamp(self) -> str:
        return signing.b62_encode(self.at)


async def test_a_visitor_socket_is_closed_when_its_token_expires(settings, rest_send):
    max_age = 3600
    settings.INBOX = {**settings.INBOX, "VISITOR_TOKEN_MAX_AGE": max_age}
    visitor_id = uuid.uuid4()
    # Issued so that it expires 2 s from now; the control visitor's token is fresh.
    expires_at = int(time.time()) + 2
    signer = _SignerAt(at=expires_at - max_age, salt=VISITOR_TOKEN_SALT)
    token = VISITOR_TOKEN_PREFIX + signer.sign_object({"v": str(visitor_id)})
    other_id = uuid.uuid4()
    expiring = socket(f"{PARTICIPANT}?token={token}")
    control = socket(f"{PARTICIPANT}?token={visitor_token_issue(other_id)}")
    await open_and_resume(expiring)
    await open_and_resume(control)
    conversation = conversation_id_for(Participant.Kind.ANONYMOUS_VISITOR, visitor_id)
    other_conversation = conversation_id_for(Participant.Kind.ANONYMOUS_VISITOR, other_id)
    await sync_to_async(services.conversation_get_or_create)(
        kind=Participant.Kind.ANONYMOUS_VISITOR, external_id=visitor_id
    )
    await sync_to_async(services.conversation_get_or_create)(
        kind=Participant.Kind.ANONYMOUS_VISITOR, external_id=other_id
    )
    before = await rest_send(conversation, "before expiry")
    assert (await next_event(expiring))["entityId"] == before["id"]

    code, frames = await closed_with(expiring)
    closed_at = time.time()
    assert (code, frames) == (4401, [])
    # Closed when the token's age reached the max age, not a re-check interval later.
    assert expires_at <= closed_at < expires_at + 0.5
    await rest_send(conversation, "after expiry")
    to_other = await rest_send(other_conversation, "still here")
    assert (await next_event(control))["entityId"] == to_other["id"]
    await expiring.disconnect()
    await control.disconnect()
