"""API fuzzing with schemathesis against our own OpenAPI schema, served by a real server process
on loopback: no 5xx, every response matches the schema (status, content type, body, headers),
schema-invalid requests are refused, and every error is in Wix's envelope.

Bounded: a fixed number of examples per operation, identity and generation mode. Each example
calls as an app (unthrottled) or as a fresh visitor (so rate limits do not mask the handlers).
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import checks
from schemathesis.generation import GenerationMode

from inbox.identity import visitor_token_issue
from tests.servers import SERVERS, ServerCluster, asgi_servers

pytestmark = [pytest.mark.multiprocess, pytest.mark.slow]

EXAMPLES = {GenerationMode.POSITIVE: 20, GenerationMode.NEGATIVE: 10}
# A whole run stops drawing new examples after this long (it is otherwise bounded by EXAMPLES).
BUDGET_SECONDS = 150
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
    checks.response_headers_conformance,
    checks.negative_data_rejection,
]
SEEN: dict[str, int] = {}


@pytest.fixture(scope="module")
def server() -> Iterator[ServerCluster]:
    with asgi_servers(1) as cluster:
        cluster.key = cluster.create_app_key("fuzz")  # type: ignore[attr-defined]
        yield cluster


def assert_in_envelope(response: Any) -> None:
    """Wix's envelope: ``message`` plus ``details`` holding exactly one of ``applicationError``
    / ``validationError`` for a 4xx (5xx: empty ``details``, but there must be none)."""
    content_type = response.headers.get("content-type") or ""
    if isinstance(content_type, list):  # schemathesis' responses hold lists, httpx's strings
        content_type = content_type[0] if content_type else ""
    assert content_type.startswith("application/json"), response.text
    body = response.json()
    assert set(body) == {"message", "details"}, body
    assert isinstance(body["message"], str) and body["message"], body
    if response.status_code < 500:
        assert len(body["details"]) == 1, body
        (kind,) = body["details"]
        assert kind in ("applicationError", "validationError"), body
        if kind == "applicationError":
            assert set(body["details"][kind]) == {"code", "description", "data"}, body
        else:
            violations = body["details"][kind]["fieldViolations"]
            assert violations and all(
                "field" in item and item["violatedRule"] for item in violations
            )


@pytest.mark.parametrize("identity", ["app", "visitor"])
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=str)
def test_fuzz_the_api_against_its_own_schema(
    server: ServerCluster, identity: str, mode: GenerationMode
) -> None:
    base = server.urls[0]
    schema = schemathesis.openapi.from_url(f"{base}/api/schema/?format=json", timeout=30)
    schema = schema.include(path_regex="^/inbox/")
    deadline = time.monotonic() + BUDGET_SECONDS
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 9, [f"{op.method} {op.path}" for op in operations]
    for operation in operations:
        credential = (
            (lambda: server.key)  # type: ignore[attr-defined]
            if identity == "app"
            else (lambda: f"Bearer {visitor_token_issue(uuid.uuid4())}")
        )
        fuzz_operation(operation, base, credential, mode, f"{identity} {mode}", deadline)
    sent = sum(count for label, count in SEEN.items() if label.startswith(f"{identity} {mode}"))
    print(f"fuzz {identity} {mode}: {sent} requests over {len(operations)} operations")
    assert sent > 0


def fuzz_operation(
    operation: Any,
    base: str,
    credential: Callable[[], str],
    mode: GenerationMode,
    run_label: str,
    deadline: float,
) -> None:
    label = f"{run_label} {operation.method.upper()} {operation.path}"

    @settings(
        max_examples=EXAMPLES[mode],
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: Any) -> None:
        if time.monotonic() > deadline:
            return
        note(label)
        response = case.call(base_url=base, headers={"Authorization": credential()}, timeout=30)
        SEEN[label] = SEEN.get(label, 0) + 1
        case.validate_response(response, checks=CHECKS)
        if response.status_code >= 400:
            assert_in_envelope(response)

    try:
        run()
    except Unsatisfiable:
        # Nothing in this operation can be made schema-invalid (e.g. POST v2/visitors takes no
        # input at all): there is no negative case to send.
        assert mode == GenerationMode.NEGATIVE, label


# The edges the schema does not describe: body sizes around the cap, query-parameter counts
# around Django's DATA_UPLOAD_MAX_NUMBER_FIELDS, and paths next to the schema's own (a trailing
# slash, an extra segment) under every method. Run on both servers, since each refuses some
# inputs itself (docs/deployment.md). Every answer the app gives is in the envelope; none is 5xx.

MAX_BODY = 512 * 1024  # INBOX["MAX_BODY_BYTES"]'s default
MAX_FIELDS = 1000  # DATA_UPLOAD_MAX_NUMBER_FIELDS's default
EDGE_EXAMPLES = 25
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]


@pytest.fixture(scope="module", params=SERVERS)
def edge_server(request: pytest.FixtureRequest) -> Iterator[ServerCluster]:
    with asgi_servers(1, server=request.param) as cluster:
        cluster.key = cluster.create_app_key("fuzz edges")  # type: ignore[attr-defined]
        response = httpx.post(
            f"{cluster.urls[0]}/inbox/v2/conversations",
            headers={"Authorization": cluster.key},  # type: ignore[attr-defined]
            json={"participantId": {"contactId": str(uuid.uuid4())}},
            timeout=30,
        )
        cluster.conversation = response.json()["conversation"]["id"]  # type: ignore[attr-defined]
        yield cluster


def edge_settings(examples: int = EDGE_EXAMPLES) -> Any:
    return settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )


def edge_credential(server: ServerCluster, identity: str) -> str:
    if identity == "app":
        return str(server.key)  # type: ignore[attr-defined]
    return f"Bearer {visitor_token_issue(uuid.uuid4())}"


def assert_envelope_response(response: httpx.Response, allowed: set[int]) -> None:
    assert response.status_code in allowed, (response.status_code, response.text[:300])
    if response.status_code >= 400:
        assert_in_envelope(response)


def count(label: str) -> None:
    SEEN[label] = SEEN.get(label, 0) + 1


@pytest.mark.parametrize("identity", ["app", "visitor"])
def test_fuzz_body_sizes_around_the_cap(edge_server: ServerCluster, identity: str) -> None:
    base, conversation = edge_server.urls[0], edge_server.conversation  # type: ignore[attr-defined]
    sizes = st.one_of(
        st.sampled_from([MAX_BODY - 1, MAX_BODY, MAX_BODY + 1, 2_621_440, 2_621_441]),
        st.integers(min_value=1, max_value=12 * 1024 * 1024),
    )
    paths = st.sampled_from(["messages", f"conversations/{conversation}/read"])

    @edge_settings()
    @given(size=sizes, path=paths)
    def run(size: int, path: str) -> None:
        note(f"{identity} POST {path} {size} bytes")
        body = b'{"conversationId":"%s"}' % conversation.encode()
        body += b" " * max(0, size - len(body))
        response = httpx.post(
            f"{base}/inbox/v2/{path}",
            headers={
                "Authorization": edge_credential(edge_server, identity),
                "Content-Type": "application/json",
            },
            content=body,
            timeout=60,
        )
        count(f"edges {edge_server.server} body")
        if len(body) > MAX_BODY:
            assert_envelope_response(response, {413})
        else:
            assert_envelope_response(response, {200, 400, 403, 404})

    run()


@pytest.mark.parametrize("identity", ["app", "visitor"])
def test_fuzz_query_parameter_counts(edge_server: ServerCluster, identity: str) -> None:
    base, conversation = edge_server.urls[0], edge_server.conversation  # type: ignore[attr-defined]
    counts = st.one_of(
        st.sampled_from([MAX_FIELDS - 1, MAX_FIELDS, MAX_FIELDS + 1]),
        st.integers(min_value=0, max_value=3 * MAX_FIELDS),
    )

    @edge_settings()
    @given(number=counts, path=st.sampled_from(["messages", "conversations"]))
    def run(number: int, path: str) -> None:
        note(f"{identity} GET {path} with {number} parameters")
        # One short name, repeated (Django counts every occurrence): 3,000 of them keep the
        # request line under daphne's 16,352 bytes (docs/deployment.md).
        params = [("conversationId", conversation)] + [("p", "")] * number
        response = httpx.get(
            f"{base}/inbox/v2/{path}",
            params=params,
            headers={"Authorization": edge_credential(edge_server, identity)},
            timeout=30,
        )
        count(f"edges {edge_server.server} params")
        if identity == "visitor" and path == "conversations":
            # Refused before its query string is read: a visitor may not list conversations.
            assert_envelope_response(response, {403})
        elif len(params) > MAX_FIELDS:
            assert_envelope_response(response, {400})
        else:
            assert_envelope_response(response, {200, 400, 403, 404})

    run()


# Our extensions for staff users only (saved replies, a staff user's notification settings).
STAFF_ONLY_PATHS = ("/inbox/v2/saved-replies", "/inbox/v2/notifications")


def test_fuzz_paths_next_to_the_schemas(edge_server: ServerCluster) -> None:
    base = edge_server.urls[0]
    schema = schemathesis.openapi.from_url(f"{base}/api/schema/?format=json", timeout=30)
    conversation = edge_server.conversation  # type: ignore[attr-defined]
    paths = sorted(
        {
            re.sub(r"\{[^}]+\}", conversation, result.ok().path)
            for result in schema.include(path_regex="^/inbox/").get_all_operations()
        }
    )
    variants = st.sampled_from(["/", "/x", "//", "/../nothing"])

    @edge_settings(examples=60)
    @given(path=st.sampled_from(paths), suffix=variants, method=st.sampled_from(METHODS))
    def run(path: str, suffix: str, method: str) -> None:
        note(f"{method} {path}{suffix}")
        response = httpx.request(
            method,
            f"{base}{path}{suffix}",
            headers={"Authorization": edge_server.key},  # type: ignore[attr-defined]
            json={},
            timeout=30,
        )
        count(f"edges {edge_server.server} paths")
        # Unknown paths are 404 and wrong methods 405, in the envelope; "/../nothing" is
        # normalised by the client to a sibling path, which is unknown too, or a known one.
        # Under the staff-only endpoints a known one refuses the app's key (403) before anything.
        expected = {200, 400, 404, 405}
        if path.startswith(STAFF_ONLY_PATHS):
            expected.add(403)
        assert_envelope_response(response, expected)

    run()
    print({label: seen for label, seen in SEEN.items() if label.startswith("edges")})
