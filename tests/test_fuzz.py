"""API fuzzing with schemathesis against our own OpenAPI schema, served by a real server process
on loopback: no 5xx, every response matches the schema (status, content type, body, headers),
schema-invalid requests are refused, and every error is in Wix's envelope.

Bounded: a fixed number of examples per operation, identity and generation mode. Each example
calls as an app (unthrottled) or as a fresh visitor (so rate limits do not mask the handlers).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, note, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import checks
from schemathesis.generation import GenerationMode

from inbox.identity import visitor_token_issue
from tests.servers import ServerCluster, asgi_servers

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
    content_type = (response.headers.get("content-type") or [""])[0]  # schemathesis: lists
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
