"""E-mail notifications end to end: a real server, the task worker as a real process and a real
SMTP server (aiosmtpd) on loopback that receives the e-mails; plus the unsubscribe page, the staff
opt-in endpoint and the e-mails' translations in-process.

The delays are a few seconds here (``NOTIFY_*_AFTER``). "No e-mail" is never proven by waiting:
the test waits until the worker has decided (the conversation's notification thread is no
longer scheduled and has moved past the message), then proves with a later e-mail to the same
address (one worker runs tasks in order) or with the thread's state that nothing was sent.
"""

from __future__ import annotations

import contextlib
import email
import email.policy
import json
import re
import secrets
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from django.test import override_settings

from inbox.models import Message, NotificationThread
from inbox.notifications import emails
from inbox.notifications.tokens import Subscriber, read_unsubscribe_token, unsubscribe_token
from tests.servers import ServerCluster, asgi_servers, free_port

SITE = "http://shop.example"
ASSIGNED_YOU = "assigned you a conversation"
WAIT = 60.0


# The SMTP server ---------------------------------------------------------------------------


@dataclass
class Mailbox:
    """Every e-mail the loopback SMTP server accepted, parsed, in arrival order."""

    received: list[EmailMessage] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        with self.lock:
            self.received.append(parsed)
        return "250 Message accepted for delivery"

    def to(self, address: str, subject: str = "") -> list[EmailMessage]:
        """The e-mails to ``address`` (whose subject contains ``subject``)."""
        with self.lock:
            return [m for m in self.received if m["To"] == address and subject in str(m["Subject"])]

    def wait_for(self, address: str, count: int, subject: str = "") -> list[EmailMessage]:
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            found = self.to(address, subject)
            if len(found) >= count:
                return found
            time.sleep(0.1)
        raise AssertionError(f"{address} got {len(self.to(address, subject))} e-mails, not {count}")


@contextlib.contextmanager
def smtp_server() -> Iterator[tuple[Mailbox, int]]:
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield mailbox, controller.port
    finally:
        controller.stop()


def text_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content()).replace("\r\n", "\n")


def html_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("html",))
    assert part is not None
    return str(part.get_content())


# The site ------------------------------------------------------------------------------------


@dataclass
class Site:
    cluster: ServerCluster
    mailbox: Mailbox
    key: str

    @property
    def api(self) -> str:
        return self.cluster.urls[0] + "/inbox"

    def shell(self, script: str) -> Any:
        return json.loads(self.cluster.manage("shell", "-c", script).strip().splitlines()[-1])

    def user(self, name: str, *, staff: bool = False, perms: bool = True) -> dict[str, str]:
        """A user with an address and a logged-in session; a member also gets its conversation."""
        script = f"""
import json
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client
from inbox import services
from inbox.identity import user_wire_id
user = get_user_model().objects.create_user(
    username={name!r}, email={name + "@example.com"!r}, password="pw-123456",
    is_staff={staff!r})
if {staff and perms!r}:
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="inbox"))
out = {{"address": user.email, "pk": str(user.pk), "wixUserId": str(user_wire_id(user.pk))}}
if not {staff!r}:
    conversation, _ = services.conversation_get_or_create(
        kind="MEMBER", external_id=user_wire_id(user.pk), user=user)
    out["conversation"] = str(conversation.pk)
client = Client()
client.force_login(user)
out["session"] = client.cookies["sessionid"].value
print(json.dumps(out))
"""
        return dict(self.shell(script))

    def session_call(self, session: str, method: str, path: str, body: Any) -> httpx.Response:
        csrf = secrets.token_hex(16)
        return httpx.request(
            method,
            self.api + path,
            json=body,
            cookies={"sessionid": session, "csrftoken": csrf},
            headers={"X-CSRFToken": csrf},
            timeout=30,
        )

    def business_send(self, conversation: str, text: str, **options: Any) -> dict[str, Any]:
        visibility = options.pop("visibility", "BUSINESS_AND_PARTICIPANT")
        silent = options.pop("silent", False)
        response = httpx.post(
            self.api + "/v2/messages",
            json={
                "conversationId": conversation,
                "message": {
                    "direction": "BUSINESS_TO_PARTICIPANT",
                    "visibility": visibility,
                    "silent": silent,
                    "content": {"basic": {"items": [{"text": text}]}},
                },
                **options,
            },
            headers={"Authorization": self.key},
            timeout=30,
        )
        assert response.status_code == 200, response.text
        return dict(response.json()["message"])

    def participant_send(self, session: str, text: str) -> dict[str, Any]:
        response = self.session_call(
            session,
            "POST",
            "/v2/messages",
            {
                "message": {
                    "direction": "PARTICIPANT_TO_BUSINESS",
                    "content": {"basic": {"items": [{"text": text}]}},
                }
            },
        )
        assert response.status_code == 200, response.text
        return dict(response.json()["message"])

    def read(self, session: str, conversation: str, sequence: str) -> None:
        response = self.session_call(
            session, "POST", f"/v2/conversations/{conversation}/read", {"sequence": sequence}
        )
        assert response.status_code == 200, response.text

    def assign(self, session: str, conversation: str, wix_user_id: str | None) -> None:
        response = self.session_call(
            session,
            "POST",
            f"/v2/conversations/{conversation}/assignee",
            {"wixUserId": wix_user_id},
        )
        assert response.status_code == 200, response.text

    def opt_in(self, session: str) -> None:
        response = self.session_call(
            session, "PATCH", "/v2/notifications/settings", {"emailUnread": True}
        )
        assert response.status_code == 200, response.text

    def assignment_tasks(self, conversation: str) -> list[str]:
        """The assignees (user pks) of the assignment e-mail tasks enqueued for ``conversation``."""
        script = f"""
import json
from django_tasks_db.models import DBTaskResult
rows = DBTaskResult.objects.filter(task_path="inbox.notifications.tasks.notify_assignment")
print(json.dumps([r.args_kwargs["args"][1] for r in rows
    if r.args_kwargs["args"][0] == {conversation!r}]))
"""
        return list(self.shell(script))

    def thread(self, conversation: str, audience: str) -> dict[str, Any] | None:
        script = f"""
import json
from inbox.models import NotificationThread as T
t = T.objects.filter(conversation_id={conversation!r}, audience={audience!r}).first()
print(json.dumps(t and {{"scheduled": t.scheduled_for is not None,
    "notified": t.notified_sequence, "sent": t.emails_sent}}))
"""
        found = self.shell(script)
        return dict(found) if found else None

    def wait_decided(self, conversation: str, audience: str, sequence: str) -> dict[str, Any]:
        """Wait until the worker has looked at the batch holding message ``sequence``."""
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            state = self.thread(conversation, audience)
            if state and not state["scheduled"] and state["notified"] >= int(sequence):
                return state
            time.sleep(0.3)
        raise AssertionError(f"the batch of {conversation} was not decided: {state}")


@pytest.fixture(scope="module")
def site() -> Iterator[Site]:
    with smtp_server() as (mailbox, port):
        env = {
            "DJANGO_EMAIL_HOST": "127.0.0.1",
            "DJANGO_EMAIL_PORT": str(port),
            "INBOX_NOTIFY_SITE_URL": SITE,
            "INBOX_NOTIFY_CHAT_URL": "/chat/?c={conversationId}",
            "INBOX_NOTIFY_PARTICIPANT_AFTER": "4",
            "INBOX_NOTIFY_STAFF_AFTER": "4",
        }
        with asgi_servers(1, extra_env=env, background=True) as cluster:
            yield Site(cluster=cluster, mailbox=mailbox, key=cluster.create_app_key())


def on_the_site(test: Any) -> Any:
    """The tests that run against the module's server, worker and SMTP server."""
    return pytest.mark.multiprocess(pytest.mark.slow(test))


# Participants ------------------------------------------------------------------------------


@on_the_site
def test_three_business_messages_make_one_email_with_the_thread_and_a_link_back(site) -> None:
    mia = site.user("mia")
    conversation = mia["conversation"]
    for text in ("Your order shipped", "Tracking: ZX-42", "Anything else?"):
        last = site.business_send(conversation, text, sendNotifications=True)
    [got] = site.mailbox.wait_for(mia["address"], 1)
    state = site.wait_decided(conversation, "PARTICIPANT", last["sequence"])
    assert state["sent"] == 1 and len(site.mailbox.to(mia["address"])) == 1
    assert got["Subject"] == "New messages from Demo Shop (3)"
    text, html = text_of(got), html_of(got)
    for line in ("Your order shipped", "Tracking: ZX-42", "Anything else?"):
        assert f"* Demo Shop: {line}" in text
        assert line in html
    link = f"{SITE}/chat/?c={conversation}"
    assert link in text and f'href="{link}"' in html.replace("&amp;", "&")
    assert got["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    unsubscribe = rf"<{re.escape(SITE)}/inbox/notifications/unsubscribe/[^>\s]+>"
    assert re.fullmatch(unsubscribe, got["List-Unsubscribe"].strip())


@on_the_site
def test_messages_without_the_flag_silent_or_internal_never_email(site) -> None:
    noa = site.user("noa")
    conversation = noa["conversation"]
    site.business_send(conversation, "no flag")
    site.business_send(conversation, "quiet", sendNotifications=True, silent=True)
    site.business_send(conversation, "internal note", sendNotifications=True, visibility="BUSINESS")
    # None of them started a batch: there is nothing for a task to look at.
    assert site.thread(conversation, "PARTICIPANT") is None
    # A message with the flag starts a batch: the e-mail covers what the participant has not
    # seen and may see (the unflagged message too), never the silent or the internal one.
    site.business_send(conversation, "sentinel", sendNotifications=True)
    [got] = site.mailbox.wait_for(noa["address"], 1)
    text, html = text_of(got), html_of(got)
    assert got["Subject"] == "New messages from Demo Shop (2)"
    assert "* Demo Shop: no flag\n* Demo Shop: sentinel\n" in text
    assert "internal note" not in text + html and "quiet" not in text + html


@on_the_site
def test_a_participant_who_saw_the_messages_in_time_gets_no_email(site) -> None:
    ola = site.user("ola")
    conversation = ola["conversation"]
    seen = site.business_send(conversation, "seen in time", sendNotifications=True)
    site.read(ola["session"], conversation, seen["sequence"])
    state = site.wait_decided(conversation, "PARTICIPANT", seen["sequence"])
    assert state["sent"] == 0
    # The next batch, not seen, is e-mailed; it is the first e-mail this participant gets.
    later = site.business_send(conversation, "not seen", sendNotifications=True)
    [got] = site.mailbox.wait_for(ola["address"], 1)
    assert site.wait_decided(conversation, "PARTICIPANT", later["sequence"])["sent"] == 1
    assert "* Demo Shop: not seen" in text_of(got)
    assert "* Demo Shop: seen in time" not in text_of(got)


@on_the_site
def test_emails_of_one_conversation_thread_by_their_headers(site) -> None:
    pia = site.user("pia")
    conversation = pia["conversation"]
    first_message = site.business_send(conversation, "first batch", sendNotifications=True)
    [first] = site.mailbox.wait_for(pia["address"], 1)
    site.wait_decided(conversation, "PARTICIPANT", first_message["sequence"])
    site.business_send(conversation, "second batch", sendNotifications=True)
    _, second = site.mailbox.wait_for(pia["address"], 2)
    root = f"<inbox.participant.{conversation}@shop.example>"
    # (Long header values are folded onto a second line; unfolding leaves a leading space.)
    first_id, second_id = first["Message-ID"].strip(), second["Message-ID"].strip()
    assert first["In-Reply-To"].strip() == root and first["References"].strip() == root
    assert second["In-Reply-To"].strip() == first_id
    assert second["References"].split() == [root, first_id]
    assert len({root, first_id, second_id}) == 3


@on_the_site
def test_one_click_unsubscribe_is_honoured_and_only_post_changes_anything(site) -> None:
    rui = site.user("rui")
    conversation = rui["conversation"]
    site.business_send(conversation, "hello", sendNotifications=True)
    [got] = site.mailbox.wait_for(rui["address"], 1)
    # The e-mail names the public site; the test server serves the same path.
    url = got["List-Unsubscribe"].strip().strip("<>").replace(SITE, site.cluster.urls[0])
    opted_out = "from inbox.models import ParticipantEmailOptOut as O; print(O.objects.count())"
    before = site.shell(opted_out)
    page = httpx.get(url, timeout=30)
    assert page.status_code == 200 and 'method="post"' in page.text
    assert site.shell(opted_out) == before
    forged = httpx.post(url[:-3] + "xyz", data={"List-Unsubscribe": "One-Click"}, timeout=30)
    assert forged.status_code == 400 and site.shell(opted_out) == before
    # What a mail provider sends (RFC 8058): no cookie, no CSRF token.
    done = httpx.post(url, data={"List-Unsubscribe": "One-Click"}, timeout=30)
    assert done.status_code == 200 and site.shell(opted_out) == before + 1
    after = site.business_send(conversation, "after unsubscribing", sendNotifications=True)
    assert site.wait_decided(conversation, "PARTICIPANT", after["sequence"])["sent"] == 1
    assert len(site.mailbox.to(rui["address"])) == 1


# Staff ---------------------------------------------------------------------------------------


@on_the_site
def test_staff_who_opted_in_get_unread_participant_messages_unless_a_colleague_read_them(
    site,
) -> None:
    ana = site.user("ana", staff=True)
    ben = site.user("ben", staff=True)
    cy = site.user("cy", staff=True, perms=False)
    opt_in = site.session_call(
        ana["session"], "PATCH", "/v2/notifications/settings", {"emailUnread": True}
    )
    assert opt_in.status_code == 200 and opt_in.json() == {"settings": {"emailUnread": True}}
    assert site.session_call(ben["session"], "GET", "/v2/notifications/settings", None).json() == {
        "settings": {"emailUnread": False}
    }
    # Without the view permission there is no opting in over REST, nor e-mail by another way.
    refused = site.session_call(
        cy["session"], "PATCH", "/v2/notifications/settings", {"emailUnread": True}
    )
    assert refused.status_code == 403 and refused.json()["details"]
    site.shell(
        "from django.contrib.auth import get_user_model as U; from inbox.notifications import "
        "services as S; S.staff_notifications_update(user=U().objects.get(username='cy'), "
        "email_unread=True); print(1)"
    )
    dee = site.user("dee")
    conversation = dee["conversation"]

    # Read by Ben (who gets no e-mails himself) in time: nobody is e-mailed.
    read = site.participant_send(dee["session"], "Is my order late?")
    site.read(ben["session"], conversation, read["sequence"])
    assert site.wait_decided(conversation, "STAFF", read["sequence"])["sent"] == 0

    # Read by nobody: Ana, who opted in, gets one e-mail for the two messages.
    site.participant_send(dee["session"], "Hello?")
    unread = site.participant_send(dee["session"], "Anyone there?")
    [got] = site.mailbox.wait_for(ana["address"], 1)
    assert site.wait_decided(conversation, "STAFF", unread["sequence"])["sent"] == 1
    assert got["Subject"] == "Unread messages from dee: 2"
    text = text_of(got)
    assert "* dee: Hello?" in text and "* dee: Anyone there?" in text
    assert "* dee: Is my order late?" not in text
    assert f"{SITE}/admin/inbox/staffinbox/?conversation={conversation}" in text
    assert site.mailbox.to(ben["address"]) == [] and site.mailbox.to(cy["address"]) == []


def assignment_emails(site: Site, address: str, count: int) -> list[EmailMessage]:
    """Wait for ``count`` assignment e-mails to ``address``; the staff who opted in may get
    unread-message e-mails about the same conversations too, which these tests do not count."""
    return site.mailbox.wait_for(address, count, subject=ASSIGNED_YOU)


@on_the_site
def test_assigning_to_a_colleague_who_opted_in_emails_them_once_with_a_link_to_the_thread(
    site,
) -> None:
    eva = site.user("eva", staff=True)
    fay = site.user("fay", staff=True)
    site.opt_in(eva["session"])
    gus = site.user("gus")
    conversation = gus["conversation"]
    for text in ("first question", "second question", "third question"):
        site.participant_send(gus["session"], text)
    note = site.session_call(
        fay["session"],
        "POST",
        "/v2/messages",
        {
            "conversationId": conversation,
            "message": {
                "direction": "BUSINESS_TO_PARTICIPANT",
                "visibility": "BUSINESS",
                "content": {"basic": {"items": [{"text": "internal: refund approved"}]}},
            },
        },
    )
    assert note.status_code == 200, note.text
    site.assign(fay["session"], conversation, eva["wixUserId"])
    [got] = assignment_emails(site, eva["address"], 1)
    assert got["Subject"] == "fay assigned you a conversation with gus"
    text, html = text_of(got), html_of(got)
    assert "fay assigned you a conversation with gus." in text
    # The last two participant messages as context: not the first one, nor the staff's note.
    assert "gus: second question\ngus: third question\n" in text
    assert "second question" in html and "third question" in html
    assert "first question" not in text + html and "refund approved" not in text + html
    link = f"{SITE}/admin/inbox/staffinbox/?conversation={conversation}"
    assert link in text and f'href="{link}"' in html
    assert got["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    unsubscribe = rf"<{re.escape(SITE)}/inbox/notifications/unsubscribe/[^>\s]+>"
    assert re.fullmatch(unsubscribe, got["List-Unsubscribe"].strip())
    # One task, one e-mail: a later assignment's e-mail (the worker runs tasks in order) comes
    # after it with nothing between.
    assert len(site.assignment_tasks(conversation)) == 1
    other = site.user("hana")["conversation"]
    site.assign(fay["session"], other, eva["wixUserId"])
    first, second = assignment_emails(site, eva["address"], 2)
    assert first is got and "hana" in second["Subject"]
    assert site.mailbox.to(fay["address"]) == []


@on_the_site
def test_self_assignment_unassignment_and_a_colleague_who_did_not_opt_in_get_no_email(
    site,
) -> None:
    ida = site.user("ida", staff=True)
    jo = site.user("jo", staff=True)
    kai = site.user("kai", staff=True)
    site.opt_in(ida["session"])
    site.opt_in(jo["session"])
    lou = site.user("lou")
    conversation = lou["conversation"]
    site.participant_send(lou["session"], "hello?")
    site.assign(ida["session"], conversation, ida["wixUserId"])  # to herself
    site.assign(ida["session"], conversation, None)  # unassigned
    site.assign(ida["session"], conversation, kai["wixUserId"])  # kai did not opt in
    # None of them enqueued a task: there is nothing for the worker to send.
    assert site.assignment_tasks(conversation) == []
    # An assignment that does e-mail (to Jo) is run after anything enqueued before it; when it
    # has arrived, nobody else got an assignment e-mail about this conversation.
    site.assign(ida["session"], conversation, jo["wixUserId"])
    [got] = assignment_emails(site, jo["address"], 1)
    assert got["Subject"] == "ida assigned you a conversation with lou"
    assert site.assignment_tasks(conversation) == [jo["pk"]]
    assert site.mailbox.to(ida["address"], ASSIGNED_YOU) == []
    assert site.mailbox.to(kai["address"]) == []


# In-process: the unsubscribe token, the opt-in's bad input, translations ---------------------


def test_a_token_names_its_subscriber_and_nothing_else_reads_as_one() -> None:
    participant = Subscriber(participant_id=uuid.uuid4())
    assert read_unsubscribe_token(unsubscribe_token(participant)) == participant
    assert read_unsubscribe_token(unsubscribe_token(Subscriber(user_pk="7"))) == Subscriber(
        user_pk="7"
    )
    assert read_unsubscribe_token("nope") is None
    assert read_unsubscribe_token(unsubscribe_token(participant) + "x") is None


@pytest.mark.django_db
@pytest.mark.parametrize("body", [{}, {"emailUnread": "maybe"}, {"emailUnread": None}])
def test_a_bad_opt_in_body_is_a_field_violation_and_changes_nothing(staff_client, body) -> None:
    response = staff_client.patch("/inbox/v2/notifications/settings", body, format="json")
    assert response.status_code == 400
    assert response.json()["details"]["validationError"]["fieldViolations"][0]["field"] == (
        "emailUnread"
    )
    assert staff_client.get("/inbox/v2/notifications/settings").json() == {
        "settings": {"emailUnread": False}
    }


@pytest.mark.django_db
def test_apps_and_members_have_no_notification_settings(app_client, member_client) -> None:
    for client in (app_client, member_client):
        response = client.get("/inbox/v2/notifications/settings")
        assert response.status_code == 403
        assert response.json()["details"]["applicationError"]["code"] == "PERMISSION_DENIED"


EXPECTED = {
    "pt": ("Novas mensagens de Demo Shop (2)", "Responder aqui:", "Parar estes e-mails:"),
    "ar": ("رسائل جديدة من Demo Shop (2)", "ردّ هنا:", "أوقف هذه الرسائل:"),
}


@pytest.mark.django_db
@pytest.mark.parametrize("language", sorted(EXPECTED))
def test_emails_are_in_the_sites_language(language, make_conversation, send) -> None:
    conversation = make_conversation()
    for text in ("one", "two"):
        send(conversation.pk, text)
    new = list(Message.objects.filter(conversation=conversation).order_by("sequence"))
    batch = emails.Batch(
        conversation=conversation,
        audience=NotificationThread.Audience.PARTICIPANT,
        new=new,
        thread=new,
        number=1,
    )
    recipient = emails.Recipient(
        address="x@example.com", key="p1", subscriber=Subscriber(participant_id=uuid.uuid4())
    )
    with override_settings(
        LANGUAGE_CODE=language, INBOX={"BUSINESS_NAME": "Demo Shop", "NOTIFY_SITE_URL": SITE}
    ):
        message = emails.build(batch=batch, recipient=recipient)
    subject, reply, stop = EXPECTED[language]
    assert message.subject == subject
    assert reply in message.body and stop in message.body
    html, _type = message.alternatives[0]
    assert f'lang="{language}"' in str(html)
    assert ('dir="rtl"' in str(html)) is (language == "ar")


@pytest.mark.django_db
def test_a_name_with_line_breaks_cannot_add_a_header(make_conversation, send) -> None:
    from inbox.models import Participant

    conversation = make_conversation()
    Participant.objects.filter(pk=conversation.participant_id).update(
        display_name="Eve\r\nBcc: victim@example.com"
    )
    conversation.refresh_from_db()
    new = list(Message.objects.filter(pk=send(conversation.pk, "hi")["id"]))
    batch = emails.Batch(
        conversation=conversation,
        audience=NotificationThread.Audience.STAFF,
        new=new,
        thread=new,
        number=1,
    )
    recipient = emails.Recipient(
        address="ana@example.com", key="u1", subscriber=Subscriber(user_pk="1")
    )
    with override_settings(INBOX={"NOTIFY_SITE_URL": SITE}):
        message = emails.build(batch=batch, recipient=recipient).message()
    assert message["Subject"] == "Unread messages from Eve Bcc: victim@example.com: 1"
    assert message["Bcc"] is None


# In-process: when the assignment e-mail is (not) enqueued, and what the task checks again ------


def assigned_by_rest(client: Any, conversation: Any, user: Any, capture: Any) -> int:
    """Assign over REST, run what waits for the commit, and count the assignment tasks."""
    from django_tasks_db.models import DBTaskResult

    from inbox.models import user_wire_id

    with capture(execute=True):
        response = client.post(
            f"/inbox/v2/conversations/{conversation.pk}/assignee",
            {"wixUserId": str(user_wire_id(user.pk))},
            format="json",
        )
    assert response.status_code == 200, response.content
    return DBTaskResult.objects.filter(
        task_path="inbox.notifications.tasks.notify_assignment"
    ).count()


@pytest.fixture
def colleague(make_user) -> Any:
    from inbox.notifications.services import staff_notifications_update

    user = make_user("colleague", staff=True)
    user.email = "colleague@example.com"
    user.save()
    staff_notifications_update(user=user, email_unread=True)
    return user


@pytest.mark.django_db
def test_no_assignment_email_is_enqueued_while_notify_site_url_is_empty(
    staff_client, colleague, make_conversation, django_capture_on_commit_callbacks
) -> None:
    conversation = make_conversation()
    capture = django_capture_on_commit_callbacks
    with override_settings(INBOX={"NOTIFY_SITE_URL": ""}):
        assert assigned_by_rest(staff_client, conversation, colleague, capture) == 0
    other = make_conversation()
    with override_settings(INBOX={"NOTIFY_SITE_URL": SITE}):
        assert assigned_by_rest(staff_client, other, colleague, capture) == 1


@pytest.mark.django_db
def test_the_task_emails_only_a_current_assignee_who_may_still_be_emailed(
    staff_client, colleague, make_conversation, django_capture_on_commit_callbacks, send
) -> None:
    from django.core import mail

    from inbox.models import Conversation
    from inbox.notifications.services import (
        notifications_deliver_assignment,
        staff_notifications_update,
    )

    conversation = make_conversation()
    send(conversation.pk, "where is my parcel?", direction="PARTICIPANT_TO_BUSINESS")
    with override_settings(INBOX={"NOTIFY_SITE_URL": SITE}):
        assigned_by_rest(staff_client, conversation, colleague, django_capture_on_commit_callbacks)

        def deliver() -> int:
            return notifications_deliver_assignment(
                conversation_id=conversation.pk, assignee_pk=str(colleague.pk), assigned_by="staff"
            )

        assert deliver() == 1
        assert "where is my parcel?" in mail.outbox[-1].body
        # Reassigned meanwhile: the e-mail would be about a conversation no longer theirs.
        Conversation.objects.filter(pk=conversation.pk).update(assignee=None)
        assert deliver() == 0
        Conversation.objects.filter(pk=conversation.pk).update(assignee=colleague)
        # Opted out, or lost the view permission, since the assignment.
        staff_notifications_update(user=colleague, email_unread=False)
        assert deliver() == 0
        staff_notifications_update(user=colleague, email_unread=True)
        colleague.user_permissions.clear()
        assert deliver() == 0
    assert len(mail.outbox) == 1


ASSIGNED = {
    "pt": ("staff atribuiu a você uma conversa com Ana", "Abrir a conversa:"),
    "ar": ("أسند إليك staff محادثة مع Ana", "افتح المحادثة:"),
}


@pytest.mark.django_db
@pytest.mark.parametrize("language", sorted(ASSIGNED))
def test_assignment_emails_are_in_the_sites_language(language, make_conversation) -> None:
    from inbox.models import Participant

    conversation = make_conversation()
    Participant.objects.filter(pk=conversation.participant_id).update(display_name="Ana")
    conversation.refresh_from_db()
    recipient = emails.Recipient(
        address="x@example.com", key="u1", subscriber=Subscriber(user_pk="1")
    )
    with override_settings(LANGUAGE_CODE=language, INBOX={"NOTIFY_SITE_URL": SITE}):
        message = emails.build_assignment(
            assignment=emails.Assignment(
                conversation=conversation, assigned_by="staff", context=[]
            ),
            recipient=recipient,
        )
    subject, open_line = ASSIGNED[language]
    assert message.subject == subject
    assert open_line in message.body and EXPECTED[language][2] in message.body
    html, _type = message.alternatives[0]
    assert ('dir="rtl"' in str(html)) is (language == "ar")
