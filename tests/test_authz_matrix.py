"""The complete authorization matrix, as data: every identity × every REST endpoint and WebSocket
route × both visibilities → the expected status and error code, or the socket's close code.

tests/test_api_visibility.py (REST) and tests/test_realtime.py (sockets) hold the per-layer
matrices of the foundation and live-push work; this one is the whole surface in one table, with
the tokens that are expired or forged, and with the leak checks on top: an internal (BUSINESS)
message must be unreachable to participants by any path — list, get, socket, resume replay,
conversation summary, read cursors, error messages. Every body and frame a participant receives
in this file is searched for the internal message's text and sequence.
"""

from __future__ import annotations

import io
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.core import signing
from django.test import Client
from rest_framework.test import APIClient

from inbox import services
from inbox.attachments.services import attachment_upload
from inbox.content import normalize_content
from inbox.identity import (
    VISITOR_TOKEN_PREFIX,
    VISITOR_TOKEN_SALT,
    caller_for_app,
    visitor_token_issue,
)
from inbox.models import App, Conversation, Message, Participant, SavedReply, user_wire_id
from inbox.replies.services import saved_reply_create
from inbox.wire import message_json
from project.asgi import application
from tests.conftest import API, text_draft
from tests.test_realtime import greeted

pytestmark = pytest.mark.django_db(transaction=True)

BOTH = "BUSINESS_AND_PARTICIPANT"
BUSINESS = "BUSINESS"
TIMEOUT = 5

# identity × operation → expected outcome. ``200`` / ``<status> <code>`` for REST, ``open`` or
# ``<close code>`` for sockets. The target is the acting identity's own conversation for a
# participant, and the visitor's conversation for everyone else ("other_*" act on a conversation
# that is not theirs). Downloads use the link the business side receives for a file sent with
# that visibility: the link is the credential (an <img> sends no Authorization header), so
# "nothing" holding it gets the file, while a participant's own credentials never open a file of
# an internal note or of someone else's conversation. Saved replies are staff users' alone:
# SHARED is a colleague's shared reply, COLLEAGUE a colleague's personal one, which exists for
# nobody but that colleague (the unknown id's 404, even for staff with every permission).
OPERATIONS = [
    "conversations.list",
    "conversations.get",
    "conversations.get_or_create",
    "conversations.read",
    "conversations.status",
    "conversations.unread",
    "conversations.assign",
    "messages.list:BOTH",
    "messages.list:BUSINESS",
    "messages.send:BOTH",
    "messages.send:BUSINESS",
    "messages.interact:BOTH",
    "messages.interact:BUSINESS",
    "visitors.create",
    "visitors.claim",
    "attachments.upload",
    "attachments.download:BOTH",
    "attachments.download:BUSINESS",
    "attachments.thumbnail:BOTH",
    "attachments.thumbnail:BUSINESS",
    "availability",
    "ws.business",
    "ws.participant",
    "replies.list",
    "replies.create",
    "replies.get:SHARED",
    "replies.get:COLLEAGUE",
    "replies.update:SHARED",
    "replies.delete:COLLEAGUE",
]
MATRIX = """
identity       conv.list  conv.get  conv.goc  conv.read  conv.status  conv.unread  conv.assign  list:BOTH  list:BUS  send:BOTH  send:BUS  act:BOTH  act:BUS  vis.create  vis.claim  upload   dl:BOTH  dl:BUS  thumb:BOTH  thumb:BUS  avail   ws.business  ws.participant  rep.list  rep.create  rep.get:SH  rep.get:COL  rep.upd:SH  rep.del:COL
app            200        200       200       403:PD     200          403:PD       200          200        200       200        200       403:PD    403:PD   200         403:PD     200      200      200     200         200        200     open         4403            403:PD    403:PD      403:PD      403:PD       403:PD      403:PD
staff          200        200       200       200        200          200          200          200        200       200        200       403:PD    403:PD   200         403:PD     200      200      200     200         200        200     open         4403            200       200         200         404:SRNF     200         404:SRNF
staff_no_perm  403:PD     403:PD    403:PD    403:PD     403:PD       403:PD       403:PD       403:PD     403:PD    403:PD     403:PD    403:PD    403:PD   200         403:PD     403:PD   403:PD   403:PD  403:PD      403:PD     403:PD  4403         4403            403:PD    403:PD      403:PD      403:PD       403:PD      403:PD
member         403:PD     200       200       200        403:PD       403:PD       403:PD       200        403:PD    200        403:IDM   200       403:NJC  200         200        200      200      403:PD  200         403:PD     200     4403         open            403:PD    403:PD      403:PD      403:PD       403:PD      403:PD
other_member   403:PD     403:NJC   403:NJC   403:NJC    403:PD       403:PD       403:PD       403:NJC    403:PD    403:NJC    403:NJC   403:NJC   403:NJC  200         200        403:NJC  403:PD   403:PD  403:PD      403:PD     200     4403         open            403:PD    403:PD      403:PD      403:PD       403:PD      403:PD
visitor        403:PD     200       200       200        403:PD       403:PD       403:PD       200        403:PD    200        403:IDM   200       403:NJC  200         403:PD     200      200      403:PD  200         403:PD     200     4403         open            403:PD    403:PD      403:PD      403:PD       403:PD      403:PD
other_visitor  403:PD     403:NJC   403:NJC   403:NJC    403:PD       403:PD       403:PD       403:NJC    403:PD    403:NJC    403:NJC   403:NJC   403:NJC  200         403:PD     403:NJC  403:PD   403:PD  403:PD      403:PD     200     4403         open            403:PD    403:PD      403:PD      403:PD       403:PD      403:PD
expired_token  401:UA     401:UA    401:UA    401:UA     401:UA       401:UA       401:UA       401:UA     401:UA    401:UA     401:UA    401:UA    401:UA   200         401:UA     401:UA   401:UA   401:UA  401:UA      401:UA     401:UA  4401         4401            401:UA    401:UA      401:UA      401:UA       401:UA      401:UA
forged_token   401:UA     401:UA    401:UA    401:UA     401:UA       401:UA       401:UA       401:UA     401:UA    401:UA     401:UA    401:UA    401:UA   200         401:UA     401:UA   401:UA   401:UA  401:UA      401:UA     401:UA  4401         4401            401:UA    401:UA      401:UA      401:UA       401:UA      401:UA
revoked_key    401:UA     401:UA    401:UA    401:UA     401:UA       401:UA       401:UA       401:UA     401:UA    401:UA     401:UA    401:UA    401:UA   200         401:UA     401:UA   401:UA   401:UA  401:UA      401:UA     401:UA  4401         4401            401:UA    401:UA      401:UA      401:UA       401:UA      401:UA
nothing        401:UA     401:UA    401:UA    401:UA     401:UA       401:UA       401:UA       401:UA     401:UA    401:UA     401:UA    401:UA    401:UA   200         401:UA     401:UA   200      200     200         200        401:UA  4401         4401            401:UA    401:UA      401:UA      401:UA       401:UA      401:UA
"""
CODES = {
    "PD": "PERMISSION_DENIED",
    "NJC": "NOT_JOINED_CHATROOM",
    "IDM": "IDENTITY_DOES_NOT_MATCH",
    "UA": "UNAUTHENTICATED",
    "SRNF": "SAVED_REPLY_NOT_FOUND",
}
_LINES = [line.split() for line in MATRIX.strip().splitlines()]
IDENTITIES = [line[0] for line in _LINES[1:]]
EXPECTED = {line[0]: dict(zip(OPERATIONS, line[1:], strict=True)) for line in _LINES[1:]}
PARTICIPANTS = {"member", "other_member", "visitor", "other_visitor"}


@dataclass
class Seeded:
    conversation: Conversation
    participant_id: dict[str, str]
    public: Message
    internal: Message


@dataclass
class World:
    app_key: str
    visitor_id: uuid.UUID
    visitor: Seeded
    member: Seeded
    member_user: Any
    other_member_user: Any
    staff_user: Any
    bare_staff_user: Any
    revoked_key: str
    shared_reply: SavedReply
    # A personal reply of another staff user: no identity, staff included, ever reads its text.
    colleague_reply: SavedReply
    secrets: list[str] = field(default_factory=list)


def template(text: str, interaction_id: str) -> dict[str, Any]:
    return {
        "template": {
            "title": text,
            "buttons": [{"label": "Go", "postbackProperties": {"interactionId": interaction_id}}],
        }
    }


def seed(app: App, conversation: Conversation, participant_id: dict[str, str]) -> Seeded:
    made = {}
    for visibility in (BOTH, BUSINESS):
        text = "public hello" if visibility == BOTH else f"INTERNAL-SECRET-{uuid.uuid4().hex}"
        made[visibility], _ = services.message_send(
            caller=caller_for_app(app),
            conversation=conversation,
            draft=services.MessageDraft(
                direction="BUSINESS_TO_PARTICIPANT",
                visibility=visibility,
                content=normalize_content(
                    template(text, f"press-{visibility}"), app_id=str(app.pk)
                ),
            ),
        )
    return Seeded(conversation, participant_id, made[BOTH], made[BUSINESS])


@pytest.fixture(autouse=True)
def _media_root(settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture(autouse=True)
def _no_rate_limits(settings: Any) -> None:
    """Each identity makes a dozen calls within a second; rate limits have their own tests."""
    settings.INBOX = {
        **getattr(settings, "INBOX", {}),
        "THROTTLE_RATES": {kind: None for kind in ("app", "staff", "member", "visitor")},
    }


@pytest.fixture
def world(make_user: Callable[..., Any]) -> World:
    app, app_key = services.app_create(name="matrix")
    revoked, revoked_key = services.app_create(name="revoked")
    App.objects.filter(pk=revoked.pk).update(is_active=False)
    visitor_id = uuid.uuid4()
    visitor_conversation, _ = services.conversation_get_or_create(
        kind=Participant.Kind.ANONYMOUS_VISITOR, external_id=visitor_id
    )
    member_user = make_user("member-a")
    colleague = make_user("staff-c", staff=True)
    member_conversation, _ = services.conversation_get_or_create(
        kind=Participant.Kind.MEMBER, external_id=user_wire_id(member_user.pk), user=member_user
    )
    world = World(
        app_key=app_key,
        visitor_id=visitor_id,
        visitor=seed(app, visitor_conversation, {"anonymousVisitorId": str(visitor_id)}),
        member=seed(app, member_conversation, {"memberId": str(user_wire_id(member_user.pk))}),
        member_user=member_user,
        other_member_user=make_user("member-b"),
        staff_user=make_user("staff-a", staff=True),
        bare_staff_user=make_user("staff-b", staff=True, perms=False),
        revoked_key=revoked_key,
        shared_reply=saved_reply_create(
            user=colleague, title="Shared", text="shared reply", shared=True
        ),
        colleague_reply=saved_reply_create(
            user=colleague, title="Mine", text=f"COLLEAGUE-PERSONAL-{uuid.uuid4().hex}"
        ),
    )
    for seeded in (world.visitor, world.member):
        world.secrets += [seeded.internal.preview_text, str(seeded.internal.sequence)]
    return world


def expired_visitor_token() -> str:
    class Backdated(signing.TimestampSigner):
        def timestamp(self) -> str:
            return signing.b62_encode(int(time.time()) - 10 * 365 * 24 * 3600)

    return VISITOR_TOKEN_PREFIX + Backdated(salt=VISITOR_TOKEN_SALT).sign_object(
        {"v": str(uuid.uuid4())}
    )


def forged_visitor_token() -> str:
    # Well formed, signed, but not by this site's key.
    return VISITOR_TOKEN_PREFIX + signing.dumps(
        {"v": str(uuid.uuid4())}, key="not-the-site-key-" * 4, salt=VISITOR_TOKEN_SALT
    )


@dataclass
class Actor:
    client: APIClient
    # Credential for a socket: an Authorization header value, or a session cookie.
    header: str | None
    cookie: str | None
    target: Seeded
    is_participant: bool


def actor(world: World, identity: str) -> Actor:
    client = APIClient()

    def login(user: Any) -> str:
        client.force_login(user)
        browser = Client()
        browser.force_login(user)
        return browser.cookies[settings.SESSION_COOKIE_NAME].value

    header = None
    cookie = None
    target = world.visitor
    if identity == "app":
        header = world.app_key
    elif identity == "staff":
        cookie = login(world.staff_user)
    elif identity == "staff_no_perm":
        cookie = login(world.bare_staff_user)
    elif identity in ("member", "other_member"):
        cookie = login(world.member_user if identity == "member" else world.other_member_user)
        target = world.member
    elif identity == "visitor":
        header = f"Bearer {visitor_token_issue(world.visitor_id)}"
    elif identity == "other_visitor":
        header = f"Bearer {visitor_token_issue(uuid.uuid4())}"
    elif identity == "expired_token":
        header = f"Bearer {expired_visitor_token()}"
    elif identity == "forged_token":
        header = f"Bearer {forged_visitor_token()}"
    elif identity == "revoked_key":
        header = world.revoked_key
    if header:
        client.credentials(HTTP_AUTHORIZATION=header)
    return Actor(client, header, cookie, target, identity in PARTICIPANTS)


def outcome(response: Any) -> str:
    if response.status_code == 200:
        return "200"
    body = response.json()
    assert set(body) == {"message", "details"}, body
    code = body["details"].get("applicationError", {}).get("code", "VALIDATION")
    short = {value: key for key, value in CODES.items()}.get(code, code)
    return f"{response.status_code}:{short}"


def rest(world: World, who: Actor, operation: str) -> Any:
    """Perform one REST operation as ``who``; returns the response."""
    client, target = who.client, who.target
    conversation_id = str(target.conversation.pk)
    name, _, short = operation.partition(":")
    visibility = {"BOTH": BOTH, "BUSINESS": BUSINESS}.get(short, "")
    if name == "conversations.list":
        return client.get(f"{API}/conversations")
    if name == "conversations.get":
        return client.get(f"{API}/conversations/{conversation_id}")
    if name == "conversations.get_or_create":
        return client.post(
            f"{API}/conversations", {"participantId": target.participant_id}, format="json"
        )
    if name == "conversations.read":
        return client.post(
            f"{API}/conversations/{conversation_id}/read",
            {"sequence": str(target.public.sequence)},
            format="json",
        )
    if name == "conversations.status":
        return client.post(
            f"{API}/conversations/{conversation_id}/status", {"status": "CLOSED"}, format="json"
        )
    if name == "conversations.assign":
        return client.post(
            f"{API}/conversations/{conversation_id}/assignee",
            {"wixUserId": str(user_wire_id(world.staff_user.pk))},
            format="json",
        )
    if name == "conversations.unread":
        return client.post(f"{API}/conversations/{conversation_id}/unread", {}, format="json")
    if name == "messages.list":
        return client.get(
            f"{API}/messages", {"conversationId": conversation_id, "visibility": visibility}
        )
    if name == "messages.send":
        direction = "PARTICIPANT_TO_BUSINESS" if who.is_participant else "BUSINESS_TO_PARTICIPANT"
        return client.post(
            f"{API}/messages",
            {
                "conversationId": conversation_id,
                "message": {
                    "direction": direction,
                    "visibility": visibility,
                    "content": {"basic": {"items": [{"text": f"matrix {visibility}"}]}},
                },
            },
            format="json",
        )
    if name == "messages.interact":
        message = target.public if visibility == BOTH else target.internal
        return client.post(
            f"{API}/messages/interactions",
            {"messageId": str(message.pk), "interactionId": f"press-{message.visibility}"},
            format="json",
        )
    if name == "attachments.upload":
        upload = io.BytesIO(b"matrix upload")
        upload.name = "matrix.txt"
        return client.post(
            f"{API}/attachments",
            {"conversationId": conversation_id, "file": upload},
            format="multipart",
        )
    if name in ("attachments.download", "attachments.thumbnail"):
        url = sent_file_url(world, target, visibility, image=name == "attachments.thumbnail")
        parts = urlsplit(url)
        return client.get(parts.path, {k: v[0] for k, v in parse_qs(parts.query).items()})
    if name.startswith("replies."):
        return saved_replies_call(world, client, name, short)
    if name == "visitors.create":
        return client.post(f"{API}/visitors")
    if name == "availability":
        return client.get(f"{API}/availability")
    if name == "visitors.claim":
        # A visitor of its own, so a claim never merges the conversations the matrix uses.
        return client.post(
            f"{API}/visitors/claim", {"token": visitor_token_issue(uuid.uuid4())}, format="json"
        )
    raise AssertionError(operation)


def saved_replies_call(world: World, client: APIClient, name: str, which: str) -> Any:
    reply = world.shared_reply if which == "SHARED" else world.colleague_reply
    url = f"{API}/saved-replies"
    if name == "replies.list":
        return client.get(url)
    if name == "replies.create":
        return client.post(url, {"title": "Matrix", "text": "matrix reply"}, format="json")
    if name == "replies.get":
        return client.get(f"{url}/{reply.pk}")
    if name == "replies.update":
        return client.patch(f"{url}/{reply.pk}", {"text": "matrix changed"}, format="json")
    if name == "replies.delete":
        return client.delete(f"{url}/{reply.pk}")
    raise AssertionError(name)


def sent_file_url(world: World, target: Seeded, visibility: str, *, image: bool = False) -> str:
    """The link of a file the app sends into ``target``'s conversation with ``visibility``, as
    the business side receives it (participants never receive the internal one); with
    ``image``, the thumbnail link of an image sent so."""
    app = App.objects.get(name="matrix")
    caller = caller_for_app(app)
    data = matrix_png() if image else b"matrix file"
    attachment = attachment_upload(
        caller=caller,
        conversation_id=target.conversation.pk,
        file=io.BytesIO(data),
        filename=f"{visibility}.{'png' if image else 'txt'}",
        size=len(data),
    )
    kind = "image" if image else "file"
    message, _ = services.message_send(
        caller=caller,
        conversation=target.conversation,
        draft=services.MessageDraft(
            direction="BUSINESS_TO_PARTICIPANT",
            visibility=visibility,
            content=normalize_content({"basic": {"items": [{kind: {"id": str(attachment.pk)}}]}}),
        ),
    )
    media = message_json(message)["content"]["basic"]["items"][0][kind]
    return str(media["thumbnailUrl"] if image else media["url"])


def matrix_png() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (400, 300), (10, 20, 30)).save(out, format="PNG")
    return out.getvalue()


def response_text(response: Any) -> str:
    """The body as text, for the search for secrets (an image's bytes as Latin-1)."""
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content).decode("latin-1")
    return str(response.content.decode())


def socket_headers(who: Actor) -> list[tuple[bytes, bytes]]:
    headers = [(b"origin", b"http://testserver")]
    if who.header:
        headers.append((b"authorization", who.header.encode()))
    if who.cookie:
        headers.append((b"cookie", f"{settings.SESSION_COOKIE_NAME}={who.cookie}".encode()))
    return headers


async def socket_outcome(who: Actor, path: str, frames: list[str]) -> str:
    communicator = WebsocketCommunicator(application, path, headers=socket_headers(who))
    connected, code = await communicator.connect(timeout=TIMEOUT)
    try:
        if not connected:
            return str(code)
        # An accepted socket is greeted first; a refused one is closed without a greeting.
        first = await communicator.receive_output(timeout=TIMEOUT)
        if first["type"] == "websocket.send":
            assert json.loads(first["text"])["type"] == "hello", first
            await communicator.send_json_to({"type": "resume", "sequence": "1", "since": "1"})
            while True:
                frame = await communicator.receive_output(timeout=TIMEOUT)
                if frame["type"] == "websocket.close":
                    return str(frame.get("code"))
                frames.append(frame.get("text", ""))
                if json.loads(frame.get("text") or "{}").get("type") in ("ready", "reset"):
                    return "open"
        assert first["type"] == "websocket.close", first
        return str(first.get("code"))
    finally:
        await communicator.disconnect()


@pytest.mark.parametrize("identity", IDENTITIES)
def test_authorization_matrix(world: World, identity: str) -> None:
    who = actor(world, identity)
    observed: dict[str, str] = {}
    seen: list[str] = []
    for operation in OPERATIONS:
        if operation.startswith("ws."):
            path = "/ws/inbox/business/" if operation == "ws.business" else "/ws/inbox/participant/"
            observed[operation] = async_to_sync(socket_outcome)(who, path, seen)
        else:
            response = rest(world, who, operation)
            observed[operation] = outcome(response)
            seen.append(response_text(response))
    assert observed == EXPECTED[identity]
    assert world.colleague_reply.text not in "\n".join(seen), identity
    assert SavedReply.objects.filter(pk=world.colleague_reply.pk).exists(), identity
    if identity not in ("app", "staff"):
        # Nothing this identity received names an internal message.
        everything = "\n".join(seen)
        for secret in world.secrets:
            assert secret not in everything, (identity, secret)


# Leaks of internal messages, path by path ---------------------------------------------------


def send_as_app(world: World, text: str, visibility: str) -> Message:
    app = App.objects.get(key_hash=App.hash_key(world.app_key))
    message, _ = services.message_send(
        caller=caller_for_app(app),
        conversation=world.visitor.conversation,
        draft=text_draft(text, visibility=visibility),
    )
    return message


async def frames_until_ready(
    communicator: WebsocketCommunicator, resume: dict[str, Any]
) -> list[dict[str, Any]]:
    await communicator.send_json_to({"type": "resume", **resume})
    frames = []
    while True:
        frame = await communicator.receive_json_from(timeout=TIMEOUT)
        frames.append(frame)
        if frame["type"] in ("ready", "reset"):
            return frames


def test_internal_messages_reach_no_participant_socket_live_or_replayed(world: World) -> None:
    visitor = actor(world, "visitor")
    other = actor(world, "other_visitor")
    app = actor(world, "app")

    async def scenario() -> dict[str, list[dict[str, Any]]]:
        sockets = {}
        frames: dict[str, list[dict[str, Any]]] = {}
        for name, who, path in (
            ("visitor", visitor, "/ws/inbox/participant/"),
            ("other", other, "/ws/inbox/participant/"),
            ("app", app, "/ws/inbox/business/"),
        ):
            sockets[name] = WebsocketCommunicator(application, path, headers=socket_headers(who))
            await greeted(sockets[name])
        # Replay from the start of the conversation: the seeded public and internal messages.
        frames["visitor"] = await frames_until_ready(sockets["visitor"], {"sequence": "1"})
        frames["other"] = await frames_until_ready(sockets["other"], {"sequence": "1"})
        conversations = {str(world.visitor.conversation.pk): "1"}
        frames["app"] = await frames_until_ready(sockets["app"], {"conversations": conversations})
        # Live: an internal note, then a public message as the marker that everything before
        # it has been delivered.
        await database_sync(send_as_app)(world, "LIVE-INTERNAL-" + world.secrets[0], BUSINESS)
        await database_sync(send_as_app)(world, "live public", BOTH)
        for name in ("visitor", "app"):
            while True:
                frame = await sockets[name].receive_json_from(timeout=TIMEOUT)
                frames[name].append(frame)
                if frame.get("event", {}).get("data", {}).get("message", {}).get(
                    "visibility"
                ) == BOTH and "live public" in json.dumps(frame):
                    break
        assert await sockets["other"].receive_nothing(timeout=0.5)
        for communicator in sockets.values():
            await communicator.disconnect()
        return frames

    frames = async_to_sync(scenario)()

    def texts(name: str) -> list[str]:
        return [
            frame["event"]["data"]["message"]["content"]["previewText"]
            for frame in frames[name]
            if frame["type"] == "event"
        ]

    assert texts("visitor") == ["public hello", "live public"]
    assert texts("other") == []
    assert texts("app")[:2] == ["public hello", world.visitor.internal.preview_text]
    assert texts("app")[2:] == ["LIVE-INTERNAL-" + world.secrets[0], "live public"]
    for secret in world.secrets:
        assert secret not in json.dumps(frames["visitor"]) + json.dumps(frames["other"])


def database_sync(function: Callable[..., Any]) -> Callable[..., Any]:
    from channels.db import database_sync_to_async

    return database_sync_to_async(function)


def test_pressing_a_button_of_an_internal_message_looks_like_a_missing_message(
    world: World,
) -> None:
    visitor = actor(world, "visitor").client
    missing_id = Message.objects.order_by("-pk").values_list("pk", flat=True)[0] + 1000
    answers = [
        visitor.post(
            f"{API}/messages/interactions",
            {"messageId": str(message_id), "interactionId": "press-BUSINESS"},
            format="json",
        )
        for message_id in (world.visitor.internal.pk, missing_id)
    ]
    assert answers[0].status_code == answers[1].status_code == 403
    assert answers[0].json() == answers[1].json()


def test_read_cursors_reveal_no_internal_sequence(world: World) -> None:
    visitor = actor(world, "visitor").client
    internal_sequence = world.visitor.internal.sequence
    assert internal_sequence > world.visitor.public.sequence
    refused = visitor.post(
        f"{API}/conversations/{world.visitor.conversation.pk}/read",
        {"sequence": str(internal_sequence)},
        format="json",
    )
    assert refused.status_code == 400
    # The bound it names is the last message the participant can see.
    assert str(world.visitor.public.sequence) in refused.json()["message"]
    assert str(internal_sequence) not in refused.content.decode()
    accepted = visitor.post(
        f"{API}/conversations/{world.visitor.conversation.pk}/read",
        {"sequence": str(world.visitor.public.sequence)},
        format="json",
    )
    assert accepted.json()["sequence"] == str(world.visitor.public.sequence)


def test_summaries_and_cursors_given_to_participants_name_no_internal_message(
    world: World,
) -> None:
    send_as_app(world, "NEWEST-INTERNAL-" + world.secrets[0], BUSINESS)
    visitor = actor(world, "visitor").client
    app = actor(world, "app").client
    conversation_id = str(world.visitor.conversation.pk)
    bodies = [
        visitor.get(f"{API}/conversations/{conversation_id}").content.decode(),
        visitor.post(f"{API}/conversations", {}, format="json").content.decode(),
        visitor.get(
            f"{API}/messages",
            {"conversationId": conversation_id, "visibility": BOTH, "paging.limit": 1},
        ).content.decode(),
    ]
    # The business side does see the internal note as the newest activity.
    row = next(
        row
        for row in app.get(f"{API}/conversations").json()["conversations"]
        if row["conversation"]["id"] == conversation_id
    )
    assert row["previewText"].startswith("NEWEST-INTERNAL-")
    assert row["lastMessageVisibility"] == BUSINESS
    # A business cursor replayed by the participant is refused without saying what it holds.
    business_page = app.get(
        f"{API}/messages",
        {"conversationId": conversation_id, "visibility": BUSINESS, "paging.limit": 1},
    ).json()
    cursor = business_page["pagingMetadata"]["cursors"]["next"]
    refused = visitor.get(
        f"{API}/messages",
        {"conversationId": conversation_id, "visibility": BOTH, "paging.cursor": cursor},
    )
    assert refused.status_code == 400
    bodies.append(refused.content.decode())
    everything = "\n".join(bodies)
    assert "NEWEST-INTERNAL-" not in everything
    for secret in world.secrets:
        assert secret not in everything


# Typing, viewing and presence (issue 16) ----------------------------------------------------

# Which typing / viewing events each socket gets when, in the visitor's conversation, the
# visitor types, the staff user types a reply, then a note, then views it.
TYPING_EXPECTED = {
    "visitor": [("business_typing", "start")],
    "other_visitor": [],
    "member": [],
    "app": [
        ("participant_typing", "start"),
        ("staff_typing", "start"),
        ("staff_typing", "start"),
        ("staff_viewing", "start"),
    ],
    "staff": [
        ("participant_typing", "start"),
        ("staff_typing", "start"),
        ("staff_typing", "start"),
        ("staff_viewing", "start"),
    ],
}
TYPING_SLUGS = {"participant_typing", "business_typing", "staff_typing", "staff_viewing"}


def test_typing_and_viewing_reach_only_whom_they_may(world: World) -> None:
    """No participant gets a staff user's name, note typing or viewing, or another
    conversation's typing; the business side gets all of it."""
    conversation_id = str(world.visitor.conversation.pk)
    headers = {name: socket_headers(actor(world, name)) for name in TYPING_EXPECTED}

    async def scenario() -> dict[str, list[dict[str, Any]]]:
        sockets = {}
        for name in TYPING_EXPECTED:
            path = "/ws/inbox/business/" if name in ("app", "staff") else "/ws/inbox/participant/"
            communicator = WebsocketCommunicator(application, path, headers=headers[name])
            await greeted(communicator)
            await frames_until_ready(communicator, {})
            sockets[name] = communicator
        await sockets["visitor"].send_json_to({"type": "typing", "op": "start"})
        staff = sockets["staff"]
        await staff.send_json_to(
            {"type": "typing", "op": "start", "conversationId": conversation_id}
        )
        await staff.send_json_to(
            {"type": "typing", "op": "start", "conversationId": conversation_id, "note": True}
        )
        await staff.send_json_to(
            {"type": "viewing", "op": "start", "conversationId": conversation_id}
        )
        received: dict[str, list[dict[str, Any]]] = {}
        for name, communicator in sockets.items():
            events: list[dict[str, Any]] = []
            while len(events) < len(TYPING_EXPECTED[name]):
                frame = await communicator.receive_json_from(timeout=TIMEOUT)
                if frame["type"] == "event" and frame["event"]["slug"] in TYPING_SLUGS:
                    events.append(frame["event"])
            assert await communicator.receive_nothing(timeout=0.3), name
            received[name] = events
            await communicator.disconnect()
        return received

    received = async_to_sync(scenario)()
    for name, expected in TYPING_EXPECTED.items():
        # Frames sent on different sockets may be relayed in either order.
        assert sorted((e["slug"], e["data"]["op"]) for e in received[name]) == expected, name
    staff_id = str(user_wire_id(world.staff_user.pk))
    for name in ("visitor", "other_visitor", "member"):
        assert staff_id not in json.dumps(received[name]), name
    notes = [e["data"]["note"] for e in received["app"] if e["slug"] == "staff_typing"]
    assert sorted(notes) == [False, True]


def test_participants_learn_whether_anyone_is_online_never_who(world: World) -> None:
    staff_id = str(user_wire_id(world.staff_user.pk))
    actors = {
        name: actor(world, name) for name in ("visitor", "member", "other_visitor", "staff", "app")
    }

    def availability(who: Actor) -> Any:
        return who.client.get(f"{API}/availability").json()

    async def with_a_staff_page() -> dict[str, Any]:
        page = WebsocketCommunicator(
            application, "/ws/inbox/business/", headers=socket_headers(actors["staff"])
        )
        await greeted(page)
        await frames_until_ready(page, {})
        try:
            return {name: await database_sync(availability)(who) for name, who in actors.items()}
        finally:
            await page.disconnect()

    answers = async_to_sync(with_a_staff_page)()
    for name in ("visitor", "member", "other_visitor"):
        assert answers[name] == {
            "availability": {"status": "ONLINE", "backAt": None, "replyWithinMinutes": 60}
        }, name
    for name in ("staff", "app"):
        assert [u["wixUserId"] for u in answers[name]["availability"]["onlineStaff"]] == [staff_id]
