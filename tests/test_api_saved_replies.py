"""Saved replies (issue 16): ``/v2/saved-replies`` and their admin. Shared replies are every
staff user's and need the saved-reply model permissions to write; a personal reply is its owner's
alone and does not exist for anyone else; apps, members and visitors never reach either."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from rest_framework.test import APIClient

from inbox.models import SavedReply, user_wire_id
from inbox.replies import services
from tests.conftest import API, assert_app_error, field_violations

URL = f"{API}/saved-replies"


def logged_in(user: Any) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


def inbox_user(make_user: Any, username: str, *codenames: str) -> Any:
    """A staff user who may open the inbox, plus the named ``inbox`` permissions."""
    user = make_user(username, staff=True, perms=False)
    user.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="inbox", codename__in=["view_message", *codenames]
        )
    )
    return type(user).objects.get(pk=user.pk)


@pytest.fixture
def ana(make_user: Any) -> Any:
    """Staff with every inbox permission (shared replies included)."""
    return make_user("ana", staff=True)


@pytest.fixture
def bo(make_user: Any) -> Any:
    """Staff who may open the inbox, and nothing about shared replies."""
    return inbox_user(make_user, "bo")


@pytest.fixture
def replies(ana: Any, bo: Any) -> dict[str, SavedReply]:
    return {
        "shared": services.saved_reply_create(
            user=ana, title="Refunds", text="Hi {first_name}, refunds take 5 days.", shared=True
        ),
        "ana": services.saved_reply_create(user=ana, title="Ana's sign-off", text="Cheers, Ana"),
        "bo": services.saved_reply_create(user=bo, title="Bo's greeting", text="BO-PRIVATE hello"),
    }


def titles(response: Any) -> list[str]:
    assert response.status_code == 200, response.content
    return [reply["title"] for reply in response.json()["savedReplies"]]


@pytest.mark.django_db
def test_a_staff_user_lists_the_shared_replies_and_their_own_by_title(ana, bo, replies):
    assert titles(logged_in(ana).get(URL)) == ["Ana's sign-off", "Refunds"]
    listed = logged_in(bo).get(URL)
    assert titles(listed) == ["Bo's greeting", "Refunds"]
    shared, own = sorted(listed.json()["savedReplies"], key=lambda reply: reply["shared"])[::-1]
    assert shared == {
        "id": str(replies["shared"].pk),
        "title": "Refunds",
        "text": "Hi {first_name}, refunds take 5 days.",
        "shared": True,
        "owner": None,
        "createdDate": shared["createdDate"],
        "updatedDate": shared["updatedDate"],
    }
    assert shared["createdDate"].endswith("Z")
    assert own["owner"] == {"wixUserId": str(user_wire_id(bo.pk)), "name": "bo"}
    assert own["shared"] is False


@pytest.mark.django_db
def test_search_matches_title_or_text_ignoring_case_and_limit_caps_the_list(ana, replies):
    client = logged_in(ana)
    assert titles(client.get(URL, {"search": "REFUND"})) == ["Refunds"]
    assert titles(client.get(URL, {"search": "cheers"})) == ["Ana's sign-off"]
    # A colleague's personal reply is not found by its text either.
    assert titles(client.get(URL, {"search": "BO-PRIVATE"})) == []
    assert titles(client.get(URL, {"paging.limit": "1"})) == ["Ana's sign-off"]
    assert field_violations(client.get(URL, {"paging.limit": "0"})) == {"paging.limit": "MIN"}
    assert field_violations(client.get(URL, {"search": "x" * 201})) == {"search": "MAX_LENGTH"}


@pytest.mark.django_db
def test_any_inbox_user_saves_personal_replies_without_further_permission(bo):
    client = logged_in(bo)
    created = client.post(URL, {"title": "  Hours ", "text": "  We open at 9.\n"}, format="json")
    assert created.status_code == 200, created.content
    body = created.json()["savedReply"]
    assert (body["title"], body["text"], body["shared"]) == ("Hours", "  We open at 9.\n", False)
    changed = client.patch(f"{URL}/{body['id']}", {"text": "We open at 10."}, format="json")
    assert changed.status_code == 200, changed.content
    assert changed.json()["savedReply"]["text"] == "We open at 10."
    assert client.delete(f"{URL}/{body['id']}").json() == {}
    assert not SavedReply.objects.exists()


@pytest.mark.django_db
def test_shared_replies_need_the_saved_reply_permissions(make_user, ana, bo, replies):
    shared = replies["shared"]
    client = logged_in(bo)
    refused = client.post(URL, {"title": "Team", "text": "t", "shared": True}, format="json")
    assert_app_error(refused, 403, "PERMISSION_DENIED")
    assert not SavedReply.objects.filter(title="Team").exists()
    # Sharing a personal reply is creating a shared one.
    sharing = client.patch(f"{URL}/{replies['bo'].pk}", {"shared": True}, format="json")
    assert_app_error(sharing, 403, "PERMISSION_DENIED")
    assert_app_error(
        client.patch(f"{URL}/{shared.pk}", {"text": "changed"}, format="json"),
        403,
        "PERMISSION_DENIED",
    )
    assert_app_error(client.delete(f"{URL}/{shared.pk}"), 403, "PERMISSION_DENIED")
    # Taking a shared reply as one's own is changing it.
    assert_app_error(
        client.patch(f"{URL}/{shared.pk}", {"shared": False}, format="json"),
        403,
        "PERMISSION_DENIED",
    )
    shared.refresh_from_db()
    assert (shared.text, shared.owner_id) == ("Hi {first_name}, refunds take 5 days.", None)
    assert SavedReply.objects.get(pk=replies["bo"].pk).owner_id == bo.pk

    editor = logged_in(inbox_user(make_user, "editor", "change_savedreply"))
    changed = editor.patch(f"{URL}/{shared.pk}", {"text": "Refunds: 3 days."}, format="json")
    assert changed.json()["savedReply"]["text"] == "Refunds: 3 days."
    assert_app_error(editor.delete(f"{URL}/{shared.pk}"), 403, "PERMISSION_DENIED")
    remover = logged_in(inbox_user(make_user, "remover", "delete_savedreply"))
    assert remover.delete(f"{URL}/{shared.pk}").json() == {}
    assert not SavedReply.objects.filter(pk=shared.pk).exists()


@pytest.mark.django_db
def test_sharing_and_taking_back_with_the_permissions(ana):
    client = logged_in(ana)
    made = client.post(URL, {"title": "T", "text": "x", "shared": True}, format="json").json()
    assert made["savedReply"]["shared"] is True and made["savedReply"]["owner"] is None
    mine = client.patch(f"{URL}/{made['savedReply']['id']}", {"shared": False}, format="json")
    assert mine.json()["savedReply"]["owner"]["wixUserId"] == str(user_wire_id(ana.pk))


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["every_permission", "superuser"])
def test_a_colleagues_personal_reply_does_not_exist_for_anyone_else(who, ana, make_user, replies):
    """Not even for a staff user with every permission, or a superuser; the answer is the
    unknown id's."""
    user = ana
    if who == "superuser":
        user = make_user("root", staff=True, perms=False)
        user.is_superuser = True
        user.save()
    client = logged_in(user)
    private = replies["bo"]
    assert "Bo's greeting" not in titles(client.get(URL))
    for response in (
        client.get(f"{URL}/{private.pk}"),
        client.patch(f"{URL}/{private.pk}", {"text": "mine now"}, format="json"),
        client.patch(f"{URL}/{private.pk}", {"shared": True}, format="json"),
        client.delete(f"{URL}/{private.pk}"),
        client.get(f"{URL}/{uuid.uuid4()}"),
        client.get(f"{URL}/not-a-guid"),
    ):
        body = assert_app_error(response, 404, "SAVED_REPLY_NOT_FOUND")
        assert "BO-PRIVATE" not in str(body)
    private.refresh_from_db()
    assert (private.text, private.owner_id) == ("BO-PRIVATE hello", replies["bo"].owner_id)


@pytest.mark.django_db
def test_bad_input_is_refused_and_changes_nothing(ana, replies):
    client = logged_in(ana)
    assert field_violations(client.post(URL, {"text": "x"}, format="json")) == {
        "title": "REQUIRED_FIELD"
    }
    assert field_violations(client.post(URL, {"title": "   ", "text": "x"}, format="json")) == {
        "title": "MIN_LENGTH"
    }
    assert field_violations(
        client.post(URL, {"title": "t" * 101, "text": "x" * 16385}, format="json")
    ) == {"title": "MAX_LENGTH", "text": "MAX_LENGTH"}
    assert field_violations(client.post(URL, {"title": "t", "text": " \n "}, format="json")) == {
        "text": "MIN_LENGTH"
    }
    assert field_violations(
        client.post(URL, {"title": "t", "text": "x", "shared": "maybe"}, format="json")
    ) == {"shared": "FORMAT"}
    shared = replies["shared"]
    assert field_violations(
        client.patch(f"{URL}/{shared.pk}", {"title": "", "text": "new"}, format="json")
    ) == {"title": "MIN_LENGTH"}
    shared.refresh_from_db()
    assert shared.title == "Refunds" and shared.text.startswith("Hi {first_name}")
    assert SavedReply.objects.count() == 3


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["app", "member", "visitor", "staff_without_inbox", "nobody"])
def test_only_staff_who_may_open_the_inbox_reach_saved_replies(
    who, app_client, member_client, make_visitor, make_user, replies
):
    client = {
        "app": lambda: app_client,
        "member": lambda: member_client,
        "visitor": lambda: make_visitor()[1],
        "staff_without_inbox": lambda: logged_in(make_user(staff=True, perms=False)),
        "nobody": APIClient,
    }[who]()
    shared = replies["shared"]
    expected = (401, "UNAUTHENTICATED") if who == "nobody" else (403, "PERMISSION_DENIED")
    for response in (
        client.get(URL),
        client.post(URL, {"title": "x", "text": "y"}, format="json"),
        client.get(f"{URL}/{shared.pk}"),
        client.patch(f"{URL}/{shared.pk}", {"text": "z"}, format="json"),
        client.delete(f"{URL}/{shared.pk}"),
    ):
        body = assert_app_error(response, *expected)
        assert "refunds" not in str(body).lower()
    assert SavedReply.objects.count() == 3


# --- admin ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_admin_shows_shared_and_own_replies_and_checks_sharing(client, ana, bo, replies):
    client.force_login(bo)
    changelist = client.get("/admin/inbox/savedreply/")
    assert changelist.status_code == 200
    html = changelist.content.decode()
    assert "Refunds" in html and "Bo&#x27;s greeting" in html and "Ana&#x27;s" not in html
    assert client.get(f"/admin/inbox/savedreply/{replies['ana'].pk}/change/").status_code == 302
    # Bo may read the shared reply but not change it.
    shared_page = client.get(f"/admin/inbox/savedreply/{replies['shared'].pk}/change/")
    assert shared_page.status_code == 200 and 'name="_save"' not in shared_page.content.decode()

    refused = client.post(
        "/admin/inbox/savedreply/add/", {"title": "Team", "text": "t", "shared": "on"}
    )
    assert refused.status_code == 200  # the form again, with the error on "shared"
    assert "permission to add them" in refused.content.decode()
    assert not SavedReply.objects.filter(title="Team").exists()
    added = client.post("/admin/inbox/savedreply/add/", {"title": "Mine", "text": "t"})
    assert added.status_code == 302
    assert SavedReply.objects.get(title="Mine").owner_id == bo.pk

    # Deleting the shared reply from the list is refused too, and deletes nothing.
    client.post(
        "/admin/inbox/savedreply/",
        {"action": "delete_selected", "_selected_action": [replies["shared"].pk], "post": "yes"},
    )
    assert SavedReply.objects.filter(pk=replies["shared"].pk).exists()

    client.force_login(ana)
    shared = client.post(
        "/admin/inbox/savedreply/add/", {"title": "Team", "text": "t", "shared": "on"}
    )
    assert shared.status_code == 302
    assert SavedReply.objects.get(title="Team").owner_id is None
