"""``python manage.py inbox_demo``: demo data and logins for ``make run``.

Idempotent: running it again keeps the data it made before and prints the logins again.
"""

import uuid
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.management.base import BaseCommand

from inbox import services
from inbox.content import normalize_content
from inbox.identity import Caller, CallerKind
from inbox.models import Conversation, Participant, user_wire_id

STAFF = ("staff", "staff-demo-pw")
MEMBER = ("member", "member-demo-pw")
DEMO_NAMESPACE = uuid.UUID("0d3c5b2a-1f4e-4b7a-9c8d-6e5f4a3b2c1d")

# (participant kind, name, [(direction, visibility, content, silent)])
B2P, P2B = "BUSINESS_TO_PARTICIPANT", "PARTICIPANT_TO_BUSINESS"
BOTH, BUSINESS = "BUSINESS_AND_PARTICIPANT", "BUSINESS"
DEMO: list[tuple[str, str, list[tuple[str, str, dict[str, Any]]]]] = [
    (
        Participant.Kind.ANONYMOUS_VISITOR,
        "Visitor from Lisbon",
        [
            (P2B, BOTH, {"basic": {"items": [{"text": "Hi! Do you ship to Portugal?"}]}}),
            (B2P, BOTH, {"basic": {"items": [{"text": "We do: 3-5 business days."}]}}),
            (B2P, BUSINESS, {"basic": {"items": [{"text": "Internal: check DHL rates."}]}}),
            (
                B2P,
                BOTH,
                {
                    "template": {
                        "title": "Summer sale",
                        "imageUrl": "https://picsum.photos/seed/inbox/400/200",
                        "textLines": ["20% off everything", "Until Sunday"],
                        "buttons": [
                            {"label": "Shop now", "launchUrl": "https://example.com/sale"},
                            {
                                "label": "Notify me",
                                "postbackProperties": {"interactionId": "notify"},
                            },
                        ],
                    }
                },
            ),
        ],
    ),
    (
        Participant.Kind.CONTACT,
        "Ana Contact",
        [
            (
                P2B,
                BUSINESS,
                {
                    "form": {
                        "title": "Contact form",
                        "description": "Submitted from /contact",
                        "fields": [
                            {"name": "Email", "value": "ana@example.com"},
                            {"name": "Message", "value": "Please call me back."},
                        ],
                    }
                },
            ),
            (P2B, BUSINESS, {"minimal": {"text": "Booked a spa appointment"}}),
            (
                B2P,
                BOTH,
                {
                    "basic": {
                        "items": [
                            {"text": "Here is our brochure."},
                            {
                                "file": {
                                    "url": "https://example.com/brochure.pdf",
                                    "filename": "brochure.pdf",
                                    "mimeType": "application/pdf",
                                }
                            },
                            {
                                "image": {
                                    "url": "https://picsum.photos/seed/spa/320/200",
                                    "width": 320,
                                    "height": 200,
                                }
                            },
                        ]
                    }
                },
            ),
        ],
    ),
    (
        Participant.Kind.MEMBER,
        "Member Demo",
        [
            (P2B, BOTH, {"basic": {"items": [{"text": "Where is my order #1042?"}]}}),
            (B2P, BUSINESS, {"system": {"text": "Order #1042 shipped\nTracking: 1Z999"}}),
        ],
    ),
]


class Command(BaseCommand):
    help = "Load demo conversations (every content type and visibility) and demo logins."

    def handle(self, *args: Any, **options: Any) -> None:
        user_model = get_user_model()
        staff, _ = user_model.objects.get_or_create(
            username=STAFF[0],
            defaults={"is_staff": True, "first_name": "Sam", "last_name": "Staff"},
        )
        staff.is_staff = True
        staff.set_password(STAFF[1])
        staff.save()
        staff.user_permissions.add(*Permission.objects.filter(content_type__app_label="inbox"))
        member, _ = user_model.objects.get_or_create(
            username=MEMBER[0], defaults={"first_name": "Member", "last_name": "Demo"}
        )
        member.set_password(MEMBER[1])
        member.save()
        if not Conversation.objects.exists():
            self._load(staff, member)
        self.stdout.write(self.style.SUCCESS("Demo data ready. Logins:"))
        self.stdout.write(
            f"  staff inbox:  http://127.0.0.1:8000/admin/inbox/staffinbox/  {STAFF[0]} / {STAFF[1]}"
        )
        self.stdout.write(
            f"  member:       http://127.0.0.1:8000/accounts/login/  {MEMBER[0]} / {MEMBER[1]}"
        )
        self.stdout.write("  API docs:     http://127.0.0.1:8000/api/docs/")

    def _load(self, staff: Any, member: Any) -> None:
        staff_caller = Caller(kind=CallerKind.STAFF, id=user_wire_id(staff.pk), user=staff)
        for index, (kind, name, messages) in enumerate(DEMO):
            if kind == Participant.Kind.MEMBER:
                external_id, user = user_wire_id(member.pk), member
            else:
                external_id, user = uuid.uuid5(DEMO_NAMESPACE, str(index)), None
            conversation, _ = services.conversation_get_or_create(
                kind=kind, external_id=external_id, user=user, display_name=name
            )
            for direction, visibility, content in messages:
                services.message_send(
                    caller=staff_caller,
                    conversation=conversation,
                    draft=services.MessageDraft(
                        direction=direction,
                        visibility=visibility,
                        content=normalize_content(content, allow_system=True),
                        silent="system" in content,
                    ),
                    send_as=(
                        services.SendAs.PARTICIPANT if direction == P2B else services.SendAs.CALLER
                    ),
                )
