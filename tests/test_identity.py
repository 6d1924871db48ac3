"""Who is calling (contract §2): API keys, visitor tokens, staff and member sessions, and the 401s
for missing, wrong, revoked and expired credentials.
"""

from __future__ import annotations

import time
import uuid

import pytest
from django.core import signing
from django.test import override_settings
from rest_framework.test import APIClient

from inbox import services
from inbox.identity import (
    VISITOR_TOKEN_PREFIX,
    VISITOR_TOKEN_SALT,
    CallerKind,
    caller_for_credential,
    caller_for_user,
    visitor_token_issue,
    visitor_token_read,
)
from inbox.models import App, user_wire_id
from tests.conftest import API, assert_app_error

HOUR = 3600


class PastSigner(signing.TimestampSigner):
    """Signs as if it were an hour ago: a real, correctly signed token that has aged."""

    def timestamp(self) -> str:
        return signing.b62_encode(int(time.time()) - HOUR)


def aged_visitor_token(visitor_id: uuid.UUID) -> str:
    token = PastSigner(salt=VISITOR_TOKEN_SALT).sign_object(
        {"v": str(visitor_id)}, serializer=signing.JSONSerializer
    )
    return VISITOR_TOKEN_PREFIX + token


def get_or_create_as(authorization: str | None) -> object:
    client = APIClient()
    if authorization is not None:
        client.credentials(HTTP_AUTHORIZATION=authorization)
    return client.post(f"{API}/conversations", {}, format="json")


# --- API keys ----------------------------------------------------------------------------------


@pytest.mark.parametrize("form", ["{key}", "Bearer {key}", "bearer {key}", "  Bearer   {key}  "])
def test_api_key_authenticates_raw_or_as_bearer(app_key, form):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=form.format(key=app_key))
    response = client.post(
        f"{API}/conversations", {"participantId": {"contactId": str(uuid.uuid4())}}, format="json"
    )
    assert response.status_code == 200, response.content


@pytest.mark.parametrize(
    "authorization",
    [
        "ibx_not-a-real-key",
        "Bearer ibx_not-a-real-key",
        "Bearer",
        "Basic dXNlcjpwYXNz",
        "Token abc",
        "vt.garbage",
        "Bearer vt.",
        "\u00e9\u00e8",
    ],
)
def test_invalid_credentials_are_401(db, authorization):
    response = get_or_create_as(authorization)
    assert_app_error(response, 401, "UNAUTHENTICATED")
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_no_credentials_is_401(db):
    assert_app_error(get_or_create_as(None), 401, "UNAUTHENTICATED")


def test_revoked_app_key_is_401(app_key):
    App.objects.update(is_active=False)
    response = get_or_create_as(app_key)
    assert_app_error(response, 401, "UNAUTHENTICATED")


def test_key_of_one_app_does_not_name_another(db):
    app, key = services.app_create(name="one")
    other, other_key = services.app_create(name="two")
    assert caller_for_credential(key).id == app.pk
    assert caller_for_credential(other_key).id == other.pk
    assert caller_for_credential(key[:-1]) is None
    assert caller_for_credential(key + "x") is None


# --- visitor tokens ----------------------------------------------------------------------------


def test_visitor_token_round_trip():
    visitor_id = uuid.uuid4()
    token = visitor_token_issue(visitor_id)
    assert token.startswith(VISITOR_TOKEN_PREFIX)
    assert visitor_token_read(token) == visitor_id
    caller = caller_for_credential(f"Bearer {token}")
    assert caller is not None and caller.kind is CallerKind.VISITOR and caller.id == visitor_id


def test_tampered_visitor_tokens_are_refused():
    visitor_id = uuid.uuid4()
    token = visitor_token_issue(visitor_id)
    body, signature = token.rsplit(":", 1)
    forged_payload = signing.dumps({"v": str(uuid.uuid4())}, salt=VISITOR_TOKEN_SALT)
    for forged in (
        token[:-1] + ("A" if token[-1] != "A" else "B"),
        body + ":" + signature[::-1],
        # A validly signed payload for another purpose (salt) is not a visitor token.
        VISITOR_TOKEN_PREFIX + signing.dumps({"v": str(visitor_id)}, salt="another"),
        VISITOR_TOKEN_PREFIX
        + signing.dumps({"v": str(visitor_id)}, key="x" * 50, salt=VISITOR_TOKEN_SALT),
        VISITOR_TOKEN_PREFIX + signing.dumps({"v": "not-a-uuid"}, salt=VISITOR_TOKEN_SALT),
        VISITOR_TOKEN_PREFIX + signing.dumps({"w": str(visitor_id)}, salt=VISITOR_TOKEN_SALT),
        VISITOR_TOKEN_PREFIX + signing.dumps(["v"], salt=VISITOR_TOKEN_SALT),
        forged_payload,  # right signature, missing prefix
    ):
        assert visitor_token_read(forged) is None, forged


def test_expired_visitor_token_is_401(db):
    visitor_id = uuid.uuid4()
    token = aged_visitor_token(visitor_id)
    # An hour old is fine under the default lifetime (30 days) ...
    assert get_or_create_as(f"Bearer {token}").status_code == 200
    # ... and expired once the site shortens the lifetime below an hour.
    with override_settings(INBOX={"VISITOR_TOKEN_MAX_AGE": HOUR - 60}):
        assert visitor_token_read(token) is None
        assert_app_error(get_or_create_as(f"Bearer {token}"), 401, "UNAUTHENTICATED")
        # A fresh token still works under the short lifetime.
        fresh = visitor_token_issue(visitor_id)
        assert get_or_create_as(f"Bearer {fresh}").status_code == 200


def test_visitor_token_is_not_accepted_in_the_url(db):
    token = visitor_token_issue(uuid.uuid4())
    client = APIClient()
    for name in ("token", "access_token", "authorization"):
        response = client.post(f"{API}/conversations?{name}={token}", {}, format="json")
        assert_app_error(response, 401, "UNAUTHENTICATED")


def test_visitors_endpoint_issues_distinct_working_tokens(api, db):
    first = api.post(f"{API}/visitors").json()
    second = api.post(f"{API}/visitors").json()
    assert first["anonymousVisitorId"] != second["anonymousVisitorId"]
    assert visitor_token_read(first["token"]) == uuid.UUID(first["anonymousVisitorId"])
    # Issuing a token writes nothing: a visitor exists once it sends something.
    from inbox.models import Participant

    assert Participant.objects.count() == 0


# --- sessions ----------------------------------------------------------------------------------


def test_session_users_become_staff_or_member_callers(make_user):
    staff = make_user(staff=True)
    member = make_user()
    staff_caller = caller_for_user(staff)
    member_caller = caller_for_user(member)
    assert staff_caller.kind is CallerKind.STAFF and staff_caller.is_business
    assert staff_caller.id == user_wire_id(staff.pk)
    assert member_caller.kind is CallerKind.MEMBER and member_caller.is_participant
    assert member_caller.id == user_wire_id(member.pk)
    member.is_active = False
    assert caller_for_user(member) is None


def test_staff_rights_follow_model_permissions(make_user):
    assert caller_for_user(make_user(staff=True)).can_write_business()
    no_perms = caller_for_user(make_user(staff=True, perms=False))
    assert not no_perms.can_read_business() and not no_perms.can_write_business()


def test_inactive_session_user_is_401(make_user):
    user = make_user()
    client = APIClient()
    client.force_login(user)
    user.is_active = False
    user.save()
    assert_app_error(client.post(f"{API}/conversations", {}, format="json"), 401, "UNAUTHENTICATED")


def test_wrong_credentials_win_over_a_valid_session(member_client):
    member_client.credentials(HTTP_AUTHORIZATION="Bearer ibx_wrong")
    assert_app_error(
        member_client.post(f"{API}/conversations", {}, format="json"), 401, "UNAUTHENTICATED"
    )


# --- the per-process API-key cache -------------------------------------------------------------


@pytest.fixture
def clock(monkeypatch):
    """The key cache's clock, moved by hand."""
    from inbox.identity import app_key_cache

    now = [1000.0]
    monkeypatch.setattr(app_key_cache, "clock", lambda: now[0])
    app_key_cache.clear()
    yield now
    app_key_cache.clear()


def test_switching_an_app_off_refuses_its_key_at_once(app_key, clock):
    assert get_or_create_as(app_key).status_code == 400  # cached: no participantId, but known
    app = App.objects.get()
    services.app_update(app=app, name=app.name, is_active=False)
    assert_app_error(get_or_create_as(app_key), 401, "UNAUTHENTICATED")


def test_deleting_an_app_refuses_its_key_at_once(app_key, clock):
    assert get_or_create_as(app_key).status_code == 400
    App.objects.get().delete()
    assert_app_error(get_or_create_as(app_key), 401, "UNAUTHENTICATED")


def test_a_revocation_by_another_process_is_seen_within_the_cache_ttl(app_key, clock):
    # Another process's change sends no signal here: a bulk update stands in for it.
    assert get_or_create_as(app_key).status_code == 400
    App.objects.update(is_active=False)
    assert get_or_create_as(app_key).status_code == 400  # still cached
    clock[0] += 5.01
    assert_app_error(get_or_create_as(app_key), 401, "UNAUTHENTICATED")


@override_settings(INBOX={"API_KEY_CACHE_SECONDS": 0})
def test_without_the_cache_every_request_looks_the_key_up(app_key, clock):
    assert get_or_create_as(app_key).status_code == 400
    App.objects.update(is_active=False)
    assert_app_error(get_or_create_as(app_key), 401, "UNAUTHENTICATED")


def test_unknown_keys_are_not_cached(db, clock, django_assert_num_queries):
    from inbox.identity import app_key_cache

    for _ in range(3):
        assert_app_error(get_or_create_as("ibx_" + "x" * 40), 401, "UNAUTHENTICATED")
    assert app_key_cache._entries == {}


def test_a_cached_key_costs_no_query(app_key, clock, django_assert_num_queries):
    from inbox.identity import caller_for_credential

    caller_for_credential(app_key)
    with django_assert_num_queries(0):
        assert caller_for_credential(app_key) is not None
