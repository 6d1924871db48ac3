"""Property tests (hypothesis) of the promises "bad input changes nothing" and "nothing is lost".

- content validation raises nothing but ``ContentError``, whatever JSON it is given;
- an accepted message lists back byte-for-byte as the send returned it, to the business and,
  when visible, to the participant (keys in the same order on every database);
- a rejected send leaves the database and the channel layer untouched;
- cursors walk every message exactly once for random interleavings of sends and page fetches,
  in both orders and both visibilities.

Each property is bounded (``max_examples``, no deadline) so the file runs in well under a minute.
"""

from __future__ import annotations

import asyncio
import json
import threading
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from channels.layers import get_channel_layer
from hypothesis import HealthCheck, assume, given, note, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from inbox import services
from inbox.api.parsers import storable_json_problem
from inbox.content import normalize_badges, normalize_channel_fields, normalize_content
from inbox.exceptions import ContentError
from inbox.identity import caller_for_app, caller_for_visitor, visitor_token_issue
from inbox.models import App, Conversation, Message, Participant
from inbox.realtime.groups import business_group, participant_group
from tests.conftest import API, text_draft

FIXTURES = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large]
VISIBILITIES = ["BUSINESS_AND_PARTICIPANT", "BUSINESS"]
DIRECTIONS = ["BUSINESS_TO_PARTICIPANT", "PARTICIPANT_TO_BUSINESS"]

# Strategies --------------------------------------------------------------------------------

# Anything JSON can carry, including what json.loads lets through (NaN, ±Infinity, huge ints).
ANY_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats()
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=25,
)

SCHEMA_KEYS = [
    "basic", "template", "minimal", "form", "system", "items", "text", "image", "file", "url",
    "id", "filename", "width", "height", "mimeType", "title", "textLines", "imageUrl", "buttons",
    "orientation", "label", "launchUrl", "postbackProperties", "interactionId", "appId",
    "iconUrl", "fields", "name", "value", "description", "media", "previewText", "contentType",
    "icon", "urlExpiration", "fileSize", "badgeVisibility", "targetChannels", "sourceChannel",
    "targetChannelIds", "sourceChannelId",
]  # fmt: skip
URLS = [
    "https://example.com/a.png",
    "http://example.org/x?y=1#z",
    "HTTPS://EXAMPLE.COM/<script>alert(1)</script>",
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    " javascript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "vbscript:msgbox(1)",
    "/relative/path.png",
    "//evil.example/x.png",
    "relative.png",
    "https://",
    "https://exa mple.com/",
    "https://example.com\\@evil.example/",
    "https://example.com/\u202egnp.exe",
    "",
]
HTML = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "<svg/onload=alert(1)>",
    "{{7*7}} ${7*7} <%= 7*7 %>",
    "&lt;b&gt; &amp; &#x3C;",
    "'; DROP TABLE inbox_message; --",
]
SCHEMA_LEAF = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-5, max_value=2**40)
    | st.floats()
    | st.sampled_from(URLS)
    | st.sampled_from(HTML)
    | st.sampled_from(["PORTRAIT", "LANDSCAPE", "BUSINESS", "CHAT", "BASIC", "x"])
    | st.text(max_size=12)
)
# JSON shaped like message content: the schema's own keys, nested, with plausible leaves, so
# that validation is exercised deep inside instead of failing at the top level.
SCHEMA_JSON = st.recursive(
    SCHEMA_LEAF,
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.sampled_from(SCHEMA_KEYS), children, max_size=4)
    ),
    max_leaves=30,
)

# Text a database can store (no NUL, no lone surrogate), HTML payloads included.
TEXT = st.text(
    alphabet=st.characters(exclude_categories=["Cs"], exclude_characters="\x00"),
    min_size=1,
    max_size=40,
) | st.sampled_from(HTML)
WEB_URL = st.sampled_from(URLS[:3])
BUTTON = st.one_of(
    st.fixed_dictionaries({"label": TEXT, "launchUrl": WEB_URL}),
    st.fixed_dictionaries(
        {"label": TEXT, "postbackProperties": st.fixed_dictionaries({"interactionId": TEXT})}
    ),
)
MEDIA = st.fixed_dictionaries(
    {"url": WEB_URL},
    optional={
        "filename": TEXT,
        "id": TEXT,
        "width": st.integers(0, 4000),
        "height": st.integers(0, 4000),
    },
)
FILE = st.fixed_dictionaries({"url": WEB_URL}, optional={"filename": TEXT, "mimeType": TEXT})
VALID_CONTENT = st.one_of(
    st.fixed_dictionaries(
        {
            "basic": st.fixed_dictionaries(
                {
                    "items": st.lists(
                        st.one_of(
                            st.fixed_dictionaries({"text": TEXT}),
                            st.fixed_dictionaries({"image": MEDIA}),
                            st.fixed_dictionaries({"file": FILE}),
                        ),
                        min_size=1,
                        max_size=3,
                    )
                }
            )
        },
        optional={"previewText": TEXT, "title": TEXT},
    ),
    st.fixed_dictionaries(
        {
            "template": st.fixed_dictionaries(
                {"title": TEXT},
                optional={
                    "textLines": st.lists(TEXT, max_size=3),
                    "imageUrl": WEB_URL,
                    "buttons": st.lists(BUTTON, max_size=3),
                    "orientation": st.sampled_from(["PORTRAIT", "LANDSCAPE"]),
                },
            )
        }
    ),
    st.fixed_dictionaries(
        {
            "minimal": st.fixed_dictionaries(
                {"text": TEXT}, optional={"url": WEB_URL, "iconUrl": WEB_URL}
            )
        }
    ),
    st.fixed_dictionaries(
        {
            "form": st.fixed_dictionaries(
                {
                    "title": TEXT,
                    "fields": st.lists(
                        st.fixed_dictionaries({"name": TEXT, "value": TEXT}), min_size=1, max_size=3
                    ),
                },
                optional={
                    "description": TEXT,
                    "media": st.lists(st.fixed_dictionaries({"image": MEDIA}), max_size=2),
                },
            )
        }
    ),
)
BADGES = st.lists(
    st.fixed_dictionaries(
        {"text": TEXT},
        optional={"badgeVisibility": st.sampled_from(VISIBILITIES), "iconUrl": WEB_URL},
    ),
    max_size=1,
)


def ordered(raw: bytes) -> Any:
    """JSON with objects as lists of pairs: equality then also compares key order."""
    return json.loads(raw, object_pairs_hook=list)


def raw_message(raw: bytes, message_id: str) -> str:
    """The exact text of one message object inside a response body."""
    body = ordered(raw)
    messages = dict(body).get("messages") or [dict(body)["message"]]
    for item in messages:
        if dict(item)["id"] == message_id:
            return json.dumps(item)
    raise AssertionError(f"message {message_id} not in {raw[:200]!r}")


# 1. Validation raises only ContentError ---------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(value=ANY_JSON | SCHEMA_JSON, app_id=st.none() | st.just(str(uuid.UUID(int=7))))
def test_content_validation_raises_only_content_error(value: Any, app_id: str | None) -> None:
    for validate in (
        lambda: normalize_content(value, app_id=app_id),
        lambda: normalize_content({"basic": value}, app_id=app_id),
        lambda: normalize_badges(value),
        lambda: normalize_channel_fields(
            value if isinstance(value, dict) else {"targetChannelIds": value}
        ),
    ):
        try:
            result = validate()
        except ContentError as error:
            assert error.violations, "a ContentError names at least one violation"
            for violation in error.violations:
                assert violation.field and violation.description and violation.violated_rule
        else:
            assert result is not None


@settings(max_examples=150, deadline=None)
@given(value=VALID_CONTENT)
def test_valid_content_is_accepted_and_normalising_twice_changes_nothing(value: Any) -> None:
    first = normalize_content(value)
    second = normalize_content(first.content)
    assert second.content == first.content
    assert len(first.preview_text) <= 256


# 2. Accepted messages list back byte for byte ----------------------------------------------


@pytest.fixture
def visitor_conversation(db: Any) -> Callable[[], tuple[Conversation, APIClient]]:
    def make() -> tuple[Conversation, APIClient]:
        visitor_id = uuid.uuid4()
        conversation, _ = services.conversation_get_or_create(
            kind=Participant.Kind.ANONYMOUS_VISITOR, external_id=visitor_id
        )
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {visitor_token_issue(visitor_id)}")
        return conversation, client

    return make


def list_raw(client: APIClient, conversation_id: Any, visibility: str, **params: Any) -> bytes:
    response = client.get(
        f"{API}/messages",
        {"conversationId": str(conversation_id), "visibility": visibility, **params},
    )
    assert response.status_code == 200, response.content
    return bytes(response.content)


@settings(max_examples=40, deadline=None, suppress_health_check=FIXTURES)
@given(
    content=VALID_CONTENT,
    badges=BADGES,
    visibility=st.sampled_from(VISIBILITIES),
    direction=st.sampled_from(DIRECTIONS),
    silent=st.booleans(),
)
def test_an_accepted_message_lists_back_byte_for_byte(
    app_client: APIClient,
    visitor_conversation: Callable[[], tuple[Conversation, APIClient]],
    content: Any,
    badges: Any,
    visibility: str,
    direction: str,
    silent: bool,
) -> None:
    conversation, participant = visitor_conversation()
    body = {
        "conversationId": str(conversation.pk),
        "message": {
            "direction": direction,
            "visibility": visibility,
            "content": content,
            "badges": badges,
            "silent": silent,
        },
    }
    sent = app_client.post(f"{API}/messages", body, format="json")
    assert sent.status_code == 200, sent.content
    message_id = sent.json()["message"]["id"]
    sent_text = raw_message(sent.content, message_id)
    stored = Message.objects.get(pk=message_id)
    assert (
        stored.content == normalize_content(content, app_id=sent.json()["message"]["appId"]).content
    )
    assert stored.content == sent.json()["message"]["content"]
    for order in ("ASC", "DESC"):
        listed = list_raw(app_client, conversation.pk, "BUSINESS", **{"sorting.order": order})
        assert raw_message(listed, message_id) == sent_text
    as_participant = list_raw(participant, conversation.pk, "BUSINESS_AND_PARTICIPANT")
    if visibility == "BUSINESS":
        assert dict(ordered(as_participant))["messages"] == []
    else:
        assert raw_message(as_participant, message_id) == sent_text


# 3. Rejected sends change nothing -----------------------------------------------------------


class LayerListener:
    """A channel of its own on the configured layer, on an event loop of its own, subscribed to
    the business group and a participant group: sees every event the app publishes there."""

    def __init__(self, groups: list[str]) -> None:
        self.layer = get_channel_layer()
        assert self.layer is not None
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.groups = groups
        self.channel: str = self._run(self.layer.new_channel())
        for group in groups:
            self._run(self.layer.group_add(group, self.channel))
        # The pub/sub layer publishes to Redis: allow for the round trip.
        self.quiet = 0.01 if type(self.layer).__name__.endswith("InMemoryChannelLayer") else 0.1

    def _run(self, coroutine: Any, timeout: float = 10) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def received(self, wait: float | None = None) -> list[dict[str, Any]]:
        async def drain() -> list[dict[str, Any]]:
            found = []
            while True:
                try:
                    found.append(
                        await asyncio.wait_for(self.layer.receive(self.channel), wait or self.quiet)
                    )
                except TimeoutError:
                    return found

        return list(self._run(drain()))

    def close(self) -> None:
        for group in self.groups:
            self._run(self.layer.group_discard(group, self.channel))
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)


def snapshot() -> Any:
    return (
        list(Message.objects.order_by("pk").values_list("pk", "sequence", "content")),
        list(
            Conversation.objects.order_by("pk").values_list(
                "pk",
                "last_sequence",
                "last_message_sequence",
                "last_message_preview",
                "last_activity_at",
            )
        ),
        Participant.objects.count(),
    )


INVALID_SEND = st.one_of(
    # Content (almost always invalid when drawn from these).
    st.builds(
        lambda content, direction: {"message": {"direction": direction, "content": content}},
        ANY_JSON | SCHEMA_JSON,
        st.sampled_from(DIRECTIONS),
    ),
    # A valid message in an invalid envelope.
    st.builds(
        lambda content, extra: {
            "message": {"direction": "BUSINESS_TO_PARTICIPANT", "content": content, **extra}
        },
        VALID_CONTENT,
        st.one_of(
            st.fixed_dictionaries({"visibility": st.sampled_from(["PUBLIC", "", 1, None])}).filter(
                lambda e: e["visibility"] is not None
            ),
            st.fixed_dictionaries(
                {
                    "badges": st.lists(
                        st.fixed_dictionaries({"iconUrl": st.sampled_from(URLS[3:-1])}),
                        min_size=1,
                        max_size=1,
                    )
                }
            ),
            st.fixed_dictionaries(
                {"targetChannels": st.sampled_from([["PIGEON"], ["CHAT", "SMS"], "CHAT"])}
            ),
            st.fixed_dictionaries({"direction": st.sampled_from(["SIDEWAYS", "", None])}),
        ),
    ),
)


@pytest.fixture
def listener(transactional_db: Any) -> Iterator[Callable[[list[str]], LayerListener]]:
    made: list[LayerListener] = []

    def make(groups: list[str]) -> LayerListener:
        made.append(LayerListener(groups))
        return made[-1]

    yield make
    for item in made:
        item.close()


@settings(max_examples=25, deadline=None, suppress_health_check=FIXTURES)
@given(body=INVALID_SEND, as_participant=st.booleans())
def test_a_rejected_send_changes_nothing(
    listener: Callable[[list[str]], LayerListener], body: dict[str, Any], as_participant: bool
) -> None:
    app, key = services.app_create(name="props")
    visitor_id = uuid.uuid4()
    conversation, _ = services.conversation_get_or_create(
        kind=Participant.Kind.ANONYMOUS_VISITOR, external_id=visitor_id
    )
    services.message_send(
        caller=caller_for_app(app),
        conversation=conversation,
        draft=text_draft("before"),
    )
    ear = listener([business_group(), participant_group(conversation.pk)])
    client = APIClient()
    if as_participant:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {visitor_token_issue(visitor_id)}")
        body["message"]["direction"] = body["message"].get("direction", "PARTICIPANT_TO_BUSINESS")
    else:
        client.credentials(HTTP_AUTHORIZATION=key)
        body["conversationId"] = str(conversation.pk)
    before = snapshot()
    ear.received()  # whatever the setup published
    # Raw JSON: NaN and ±Infinity go out as the tokens json.dumps writes (the server refuses them).
    response = client.post(f"{API}/messages", json.dumps(body), content_type="application/json")
    note(f"{response.status_code} {response.content[:300]!r}")
    assume(response.status_code != 200)  # the strategy rarely draws a valid send
    assert response.status_code == 400, response.content
    envelope = response.json()
    assert set(envelope) == {"message", "details"}
    assert set(envelope["details"]) <= {"validationError", "applicationError"}
    assert snapshot() == before
    assert ear.received() == []


def test_the_layer_listener_does_hear_an_accepted_send(
    listener: Callable[[list[str]], LayerListener], app_client: APIClient
) -> None:
    """The control of the property above: the same listener receives a send that is accepted."""
    conversation, _ = services.conversation_get_or_create(
        kind=Participant.Kind.ANONYMOUS_VISITOR, external_id=uuid.uuid4()
    )
    ear = listener([business_group(), participant_group(conversation.pk)])
    response = app_client.post(
        f"{API}/messages",
        {
            "conversationId": str(conversation.pk),
            "message": {
                "direction": "BUSINESS_TO_PARTICIPANT",
                "content": {"basic": {"items": [{"text": "hi"}]}},
            },
        },
        format="json",
    )
    assert response.status_code == 200
    heard = ear.received(wait=1)
    assert [item["event"]["entityId"] for item in heard] == [response.json()["message"]["id"]] * 2


@settings(max_examples=60, deadline=None, suppress_health_check=FIXTURES)
@given(
    text=st.text(min_size=1, max_size=8).map(lambda t: t + "\ud800")
    | st.just("a\x00b")
    | st.just("\udfff"),
    where=st.sampled_from(["text", "key", "badge", "channelId"]),
)
def test_unstorable_strings_get_400_not_500(
    app_client: APIClient, make_conversation: Callable[..., Conversation], text: str, where: str
) -> None:
    conversation = make_conversation()
    message: dict[str, Any] = {
        "direction": "BUSINESS_TO_PARTICIPANT",
        "content": {"basic": {"items": [{"text": "ok"}]}},
    }
    if where == "text":
        message["content"]["basic"]["items"][0]["text"] = text
    elif where == "key":
        message["content"]["basic"][text] = 1
    elif where == "badge":
        message["badges"] = [{"text": text}]
    else:
        message["targetChannelIds"] = [text]
    assert storable_json_problem(message)
    raw = json.dumps({"conversationId": str(conversation.pk), "message": message})  # \\u escapes
    before = snapshot()
    response = app_client.post(f"{API}/messages", raw, content_type="application/json")
    assert response.status_code == 400, response.content
    assert response.json()["details"]["applicationError"]["code"] == "BAD_REQUEST"
    assert snapshot() == before


# 4. Cursors walk every message exactly once -------------------------------------------------

OPERATIONS = st.lists(
    st.one_of(
        st.tuples(st.just("send"), st.sampled_from(VISIBILITIES)),
        st.tuples(st.just("fetch"), st.integers(min_value=1, max_value=4)),
    ),
    max_size=24,
)


class Walker:
    """A client paging through a conversation with the REST API's cursors only."""

    def __init__(self, client: APIClient, conversation_id: uuid.UUID, visibility: str, order: str):
        self.client = client
        self.params = {
            "conversationId": str(conversation_id),
            "visibility": visibility,
            "sorting.order": order,
        }
        self.cursor: str | None = None
        self.started = False
        self.seen: list[str] = []
        self.sequences: list[int] = []
        self.first_page_ids: set[str] | None = None
        self.top_cursor: str | None = None  # DESC: the prev cursor of the earliest page walked

    def fetch(self, limit: int) -> list[dict[str, Any]]:
        params = {**self.params, "paging.limit": limit}
        if self.cursor:
            params["paging.cursor"] = self.cursor
        elif self.started and self.params["sorting.order"] == "DESC":
            return []  # walked to the oldest message: DESC has nowhere further to go
        response = self.client.get(f"{API}/messages", params)
        assert response.status_code == 200, response.content
        body = response.json()
        cursors = body["pagingMetadata"]["cursors"]
        messages = body["messages"]
        self.started = True
        if self.params["sorting.order"] == "ASC":
            # ``next`` while more exist, then ``resume`` to pick up what arrives later.
            self.cursor = cursors.get("next") or cursors.get("resume") or self.cursor
        else:
            self.cursor = cursors.get("next")
        self.seen.extend(message["id"] for message in messages)
        self.sequences.extend(int(message["sequence"]) for message in messages)
        assert body["pagingMetadata"]["count"] == len(messages) <= limit
        return messages


@pytest.fixture
def no_visitor_rate_limit(settings: Any) -> None:
    """Rate limits are not what the paging property is about, and one example can page faster
    than a visitor's budget allows (a 429 in the middle of a walk)."""
    settings.INBOX = {**settings.INBOX, "THROTTLE_RATES": {"visitor": None}}


@pytest.mark.usefixtures("no_visitor_rate_limit")
@settings(max_examples=40, deadline=None, suppress_health_check=FIXTURES)
@given(
    initial=st.lists(st.sampled_from(VISIBILITIES), max_size=8),
    operations=OPERATIONS,
    order=st.sampled_from(["ASC", "DESC"]),
    visibility=st.sampled_from(VISIBILITIES),
)
def test_cursors_walk_every_message_exactly_once(
    app_key: str, initial: list[str], operations: list[tuple[str, Any]], order: str, visibility: str
) -> None:
    app = App.objects.get(key_hash=App.hash_key(app_key))
    visitor_id = uuid.uuid4()
    conversation, _ = services.conversation_get_or_create(
        kind=Participant.Kind.ANONYMOUS_VISITOR, external_id=visitor_id
    )
    client = APIClient()
    if visibility == "BUSINESS":
        client.credentials(HTTP_AUTHORIZATION=app_key)
    else:
        # The participant's own view: internal messages must not even be counted.
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {visitor_token_issue(visitor_id)}")
    counter = iter(range(10_000))

    def send(message_visibility: str) -> None:
        participant_side = message_visibility == "BUSINESS_AND_PARTICIPANT" and next(counter) % 2
        services.message_send(
            caller=caller_for_visitor(visitor_id) if participant_side else caller_for_app(app),
            conversation=conversation,
            draft=text_draft(
                "m",
                direction="PARTICIPANT_TO_BUSINESS"
                if participant_side
                else "BUSINESS_TO_PARTICIPANT",
                visibility=message_visibility,
            ),
        )

    for message_visibility in initial:
        send(message_visibility)
    walker = Walker(client, conversation.pk, visibility, order)
    existing_at_start: set[str] | None = None
    for operation, argument in operations:
        if operation == "send":
            send(argument)
        else:
            if not walker.started:
                existing_at_start = set(visible_ids(conversation.pk, visibility))
            walker.fetch(argument)
    if not walker.started:
        existing_at_start = set(visible_ids(conversation.pk, visibility))
    # Drain: keep following cursors until a page comes back empty.
    for _ in range(10_000):
        if not walker.fetch(3):
            break
    expected = visible_ids(conversation.pk, visibility)
    assert len(walker.seen) == len(set(walker.seen)), "a message was walked twice"
    if order == "ASC":
        assert walker.seen == expected, "ASC walks every message, later arrivals included"
        assert walker.sequences == sorted(walker.sequences)
    else:
        # DESC walks from the newest message at its first page down to the oldest; messages
        # sent after that first page are newer than where it started.
        assert existing_at_start is not None
        assert set(walker.seen) == existing_at_start
        assert walker.seen == [m for m in reversed(expected) if m in existing_at_start]
        assert walker.sequences == sorted(walker.sequences, reverse=True)


def visible_ids(conversation_id: uuid.UUID, visibility: str) -> list[str]:
    queryset = Message.objects.filter(conversation_id=conversation_id)
    if visibility != "BUSINESS":
        queryset = queryset.filter(visibility="BUSINESS_AND_PARTICIPANT")
    return [str(pk) for pk in queryset.order_by("sequence").values_list("pk", flat=True)]
