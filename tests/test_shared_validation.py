"""Request validation shares one DRF serializer per class and process between threads
(inbox.api.serializers.validate); every thread must still get its own answer."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

from inbox.api.errors import flatten_drf_errors
from inbox.api.serializers import SendMessageRequestSerializer, validate


def fresh(data: object) -> tuple[object, object]:
    serializer = SendMessageRequestSerializer(data=data)
    if serializer.is_valid():
        return dict(serializer.validated_data), []
    return {}, flatten_drf_errors(serializer.errors)


def bodies() -> list[object]:
    good = {
        "conversationId": str(uuid.uuid4()),
        "message": {"direction": "BUSINESS_TO_PARTICIPANT", "content": {"basic": {}}},
    }
    return [
        good,
        {**good, "sendAs": "ROBOT"},
        {"conversationId": 42, "message": {"direction": "SIDEWAYS"}},
        {**good, "silent": True, "typingDelay": 1.5},
        {"message": "not an object"},
        [],
        {},
    ]


def test_a_shared_serializer_answers_like_a_fresh_one_under_threads():
    cases = bodies() * 60
    expected = [fresh(body) for body in cases]
    with ThreadPoolExecutor(max_workers=8) as pool:
        got = list(pool.map(lambda body: validate(SendMessageRequestSerializer, body), cases))
    assert [(dict(values), violations) for values, violations in got] == [
        (dict(values), violations) for values, violations in expected
    ]
    assert any(violations for _, violations in got) and any(not v for _, v in got)
