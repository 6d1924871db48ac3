"""Participants, conversations and messages.

Invariants live in the database as named constraints so that they hold whatever code path (or
process) writes: one conversation per participant, one participant per external id, a strictly
increasing and unique ``sequence`` per conversation, one message per idempotency key.
"""

import hashlib
import uuid
from datetime import datetime
from typing import Any, NamedTuple

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from inbox.content import CONTENT_TYPES

# Namespace for the name-based UUIDs we derive (conversation ids, user ids on the wire, event ids).
INBOX_NAMESPACE = uuid.UUID("5b1f7a3e-8d0c-4e6b-9a57-2f0c1d9e4b21")


def user_wire_id(user_pk: object) -> uuid.UUID:
    """The GUID a Django user has on the wire (``wixUserId`` for staff, ``memberId`` for members).

    Derived, not stored: the same user always maps to the same GUID in every process.
    """
    return uuid.uuid5(INBOX_NAMESPACE, f"user:{user_pk}")


def user_display_name(user: Any) -> str:
    """How the inbox names a Django user: the full name, else the username. A custom user model
    (AbstractBaseUser) need not have ``get_full_name``; every one has ``get_username``."""
    full_name = getattr(user, "get_full_name", None)
    return str((full_name() if callable(full_name) else "") or user.get_username())


class App(models.Model):
    """An API client. Only a SHA-256 hash of its key is stored; the key is shown once."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=200)
    key_prefix = models.CharField(
        max_length=16, editable=False, help_text="First characters of the key, to recognise it."
    )
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "API app"

    def __str__(self) -> str:
        return self.name

    @staticmethod
    def hash_key(raw_key: str) -> str:
        # Keys carry 256 random bits, so a fast hash is enough: there is nothing to brute-force.
        return hashlib.sha256(raw_key.encode()).hexdigest()


class _KindNames(NamedTuple):
    wire_key: str
    id_field: str
    short_label: str


def placeholder_display_name(kind: str, external_id: uuid.UUID) -> str:
    """The display name of a participant nobody named ("Visitor 3f2a1b")."""
    return f"{Participant.Kind(kind).short_label} {external_id.hex[:6]}"


class Participant(models.Model):
    """The person on the other side of the business: a visitor, a contact or a member."""

    class Kind(models.TextChoices):
        ANONYMOUS_VISITOR = "ANONYMOUS_VISITOR", _("Anonymous visitor")
        CONTACT = "CONTACT", _("Contact")
        MEMBER = "MEMBER", _("Member")

        @property
        def wire_key(self) -> str:
            """The key of this kind's GUID on the wire (``participantId``, a sender, ``readBy``)."""
            return _KIND_NAMES[self].wire_key

        @property
        def id_field(self) -> str:
            """The field of ``Participant`` holding this kind's GUID."""
            return _KIND_NAMES[self].id_field

        @property
        def short_label(self) -> str:
            """The word a default display name starts with ("Visitor 3f2a1b")."""
            return _KIND_NAMES[self].short_label

        @classmethod
        def for_wire_key(cls, wire_key: str) -> "Participant.Kind":
            for kind in cls:
                if kind.wire_key == wire_key:
                    return kind
            raise KeyError(wire_key)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    anonymous_visitor_id = models.UUIDField(null=True, blank=True, unique=True)
    contact_id = models.UUIDField(null=True, blank=True, unique=True)
    member_id = models.UUIDField(null=True, blank=True, unique=True)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="inbox_participant",
    )
    display_name = models.CharField(max_length=255, blank=True)
    avatar_url = models.URLField(max_length=2000, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            # The id that names a participant on the wire must be there for its kind.
            models.CheckConstraint(
                name="inbox_participant_kind_has_id",
                condition=(
                    Q(kind="ANONYMOUS_VISITOR", anonymous_visitor_id__isnull=False)
                    | Q(kind="CONTACT", contact_id__isnull=False)
                    | Q(kind="MEMBER", member_id__isnull=False)
                ),
            ),
        ]

    def __str__(self) -> str:
        return self.display_name or f"{self.get_kind_display()} {self.external_id}"

    @property
    def external_id(self) -> uuid.UUID:
        value: uuid.UUID | None = getattr(self, self.Kind(self.kind).id_field)
        assert value is not None
        return value

    @property
    def wire_key(self) -> str:
        return self.Kind(self.kind).wire_key

    @property
    def is_named(self) -> bool:
        """Was the display name given (by the API, or a user's name) rather than made up?"""
        name = self.display_name
        return bool(name) and name != placeholder_display_name(self.kind, self.external_id)


_KIND_NAMES = {
    Participant.Kind.ANONYMOUS_VISITOR: _KindNames(
        "anonymousVisitorId", "anonymous_visitor_id", "Visitor"
    ),
    Participant.Kind.CONTACT: _KindNames("contactId", "contact_id", "Contact"),
    Participant.Kind.MEMBER: _KindNames("memberId", "member_id", "Member"),
}


def conversation_id_for(kind: str, external_id: uuid.UUID) -> uuid.UUID:
    """Name-based UUID (v3, as Wix's ids are) of the one conversation of a participant.

    Deterministic, so two concurrent get-or-create calls race on the same primary key and the
    database lets only one of them insert.
    """
    return uuid.uuid3(INBOX_NAMESPACE, f"conversation:{kind}:{external_id}")


class Conversation(models.Model):
    """All messages between the business and one participant."""

    class Status(models.TextChoices):
        OPEN = "OPEN", _("Open")
        # Out of the way until ``snoozed_until``; then it counts as open again by itself.
        SNOOZED = "SNOOZED", _("Snoozed")
        CLOSED = "CLOSED", _("Closed")

    # The inbox-list summary of the last non-silent message, which a merge carries over.
    SUMMARY_FIELDS = (
        "last_message_sequence",
        "last_message_preview",
        "last_message_direction",
        "last_message_visibility",
        "last_activity_at",
    )

    id = models.UUIDField(primary_key=True, editable=False)
    participant = models.OneToOneField(
        Participant, on_delete=models.PROTECT, related_name="conversation"
    )
    channels = models.JSONField(default=list, blank=True)
    # Sequence allocator: the highest sequence ever given to a message here (silent ones too).
    last_sequence = models.BigIntegerField(default=0, editable=False)
    # Summary for the inbox list; silent messages leave it alone.
    last_message_sequence = models.BigIntegerField(default=0, editable=False)
    last_message_preview = models.CharField(max_length=256, blank=True, editable=False)
    last_message_direction = models.CharField(max_length=32, blank=True, editable=False)
    last_message_visibility = models.CharField(max_length=32, blank=True, editable=False)
    last_activity_at = models.DateTimeField(null=True, blank=True, editable=False)
    # How far the participant has read (drives "seen" marks on the staff page).
    participant_read_sequence = models.BigIntegerField(default=0, editable=False)
    # Set when this conversation was merged into another; the old id then resolves to it.
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="merged_from"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # Where the team stands with it (ours, not Wix's). Changed through ``conversation_set_status``
    # and by a participant's message, which reopens it.
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    snoozed_until = models.DateTimeField(null=True, blank=True)
    # The staff user working it (``conversation_assign``). It grants nothing: who sees what is
    # decided by the selectors alone.
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="inbox_assigned_conversations",
    )

    class Meta:
        indexes = [
            # Staff conversation list: newest activity first, with the id as tie-breaker cursor.
            models.Index(fields=["-last_activity_at", "-id"], name="inbox_conv_activity_idx"),
            # The same list filtered by status (open, snoozed, closed).
            models.Index(
                fields=["status", "-last_activity_at", "-id"], name="inbox_conv_status_idx"
            ),
            # The same list filtered by assignee ("mine", "unassigned").
            models.Index(
                fields=["assignee", "-last_activity_at", "-id"],
                name="inbox_conv_assignee_idx",
            ),
            # Business-stream resume: conversations with messages after a position
            # (WHERE last_sequence > since - window) without scanning every conversation.
            models.Index(fields=["last_sequence"], name="inbox_conv_last_sequence_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                name="inbox_conversation_summary_within_allocator",
                condition=Q(last_message_sequence__lte=models.F("last_sequence")),
            ),
            models.CheckConstraint(
                name="inbox_conversation_status_valid",
                condition=Q(status__in=["OPEN", "SNOOZED", "CLOSED"]),
            ),
            # A snooze has an end, and only a snoozed conversation has one.
            models.CheckConstraint(
                name="inbox_conversation_snooze_has_end",
                condition=Q(status="SNOOZED", snoozed_until__isnull=False)
                | (~Q(status="SNOOZED") & Q(snoozed_until__isnull=True)),
            ),
        ]

    def __str__(self) -> str:
        return f"Conversation with {self.participant}"

    def status_at(self, moment: datetime) -> str:
        """The status as of ``moment``: a snooze that has run out counts as open, with no write
        (checked on read, so no task runner is needed for snoozes to end)."""
        if (
            self.status == self.Status.SNOOZED
            and self.snoozed_until is not None
            and self.snoozed_until <= moment
        ):
            return self.Status.OPEN
        return self.status


class Message(models.Model):
    """One message. ``content`` holds the exact Wix ``content`` JSON."""

    class Direction(models.TextChoices):
        BUSINESS_TO_PARTICIPANT = "BUSINESS_TO_PARTICIPANT", "Business to participant"
        PARTICIPANT_TO_BUSINESS = "PARTICIPANT_TO_BUSINESS", "Participant to business"

    class Visibility(models.TextChoices):
        BUSINESS_AND_PARTICIPANT = "BUSINESS_AND_PARTICIPANT", "Business and participant"
        BUSINESS = "BUSINESS", "Business only (internal)"

    # One choice per entry of the content-type table. django-stubs types only the class form.
    ContentType = models.TextChoices(  # type: ignore[call-overload]
        "ContentType", [(spec.value, (spec.value, spec.label)) for spec in CONTENT_TYPES]
    )

    class SenderKind(models.TextChoices):
        ANONYMOUS_VISITOR = Participant.Kind.ANONYMOUS_VISITOR.wire_key, "Anonymous visitor"
        MEMBER = Participant.Kind.MEMBER.wire_key, "Member"
        CONTACT = Participant.Kind.CONTACT.wire_key, "Contact"
        BUSINESS_USER = "wixUserId", "Business user"
        APP = "appId", "App"

    id = models.BigAutoField(primary_key=True)
    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="messages"
    )
    sequence = models.BigIntegerField(editable=False)
    direction = models.CharField(max_length=32, choices=Direction.choices)
    visibility = models.CharField(max_length=32, choices=Visibility.choices)
    content_type = models.CharField(max_length=16, choices=ContentType.choices)
    content = models.JSONField()
    preview_text = models.CharField(max_length=256, blank=True)
    sender_kind = models.CharField(max_length=32, choices=SenderKind.choices, editable=False)
    sender_id = models.UUIDField(editable=False)
    sender_contact_id = models.UUIDField(null=True, blank=True, editable=False)
    app_id = models.UUIDField(null=True, blank=True, editable=False)
    silent = models.BooleanField(default=False)
    badges = models.JSONField(default=list, blank=True)
    target_channels = models.JSONField(default=list, blank=True)
    source_channel = models.CharField(max_length=32, default="UNKNOWN_CHANNEL_TYPE")
    target_channel_ids = models.JSONField(default=list, blank=True)
    source_channel_id = models.CharField(max_length=100, null=True, blank=True)
    created_at = models.DateTimeField(editable=False)
    # Idempotency-Key support: the key is unique per caller (scope); the fingerprint tells a
    # retry of the same request from a different request reusing the key.
    idempotency_scope = models.CharField(max_length=80, null=True, blank=True, editable=False)
    idempotency_key = models.CharField(max_length=255, null=True, blank=True, editable=False)
    request_fingerprint = models.CharField(max_length=64, blank=True, editable=False)

    class Meta:
        constraints = [
            # Serves every message list (WHERE conversation = ? ORDER BY sequence) and makes the
            # sequence unique per conversation whatever process writes.
            models.UniqueConstraint(
                fields=["conversation", "sequence"], name="inbox_message_conversation_sequence"
            ),
            models.UniqueConstraint(
                fields=["idempotency_scope", "idempotency_key"],
                condition=Q(idempotency_key__isnull=False),
                name="inbox_message_idempotency_key",
            ),
            models.CheckConstraint(
                name="inbox_message_sequence_positive", condition=Q(sequence__gt=0)
            ),
            models.CheckConstraint(
                name="inbox_message_direction_valid",
                condition=Q(direction__in=["BUSINESS_TO_PARTICIPANT", "PARTICIPANT_TO_BUSINESS"]),
            ),
            models.CheckConstraint(
                name="inbox_message_visibility_valid",
                condition=Q(visibility__in=["BUSINESS_AND_PARTICIPANT", "BUSINESS"]),
            ),
        ]
        indexes = [
            # Participant-visible lists (visibility = BUSINESS_AND_PARTICIPANT) page by sequence
            # without reading internal notes.
            models.Index(
                fields=["conversation", "visibility", "sequence"], name="inbox_msg_conv_vis_seq_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.sequence} {self.preview_text[:40]}"


class ReadCursor(models.Model):
    """How far one staff user has read one conversation."""

    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="read_cursors"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="inbox_read_cursors"
    )
    sequence = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            # One cursor per (conversation, user); also serves the unread-count lookup.
            models.UniqueConstraint(
                fields=["conversation", "user"], name="inbox_readcursor_conversation_user"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} read {self.conversation_id} up to {self.sequence}"


class StaffInbox(Conversation):
    """The staff inbox page of the admin. A proxy with no table of its own: it gives the page its
    entry on the admin index, under the app, like any model."""

    class Meta:
        proxy = True
        verbose_name = _("staff inbox")
        verbose_name_plural = _("staff inbox")


def adopt_saved(target: models.Model, source: models.Model) -> None:
    """Make ``target`` the row ``source`` is: a ModelAdmin that lets a service create the row logs
    and answers about the ``obj`` it was given, which the service never saw."""
    for model_field in type(source)._meta.concrete_fields:
        setattr(target, model_field.attname, getattr(source, model_field.attname))
    target._state = source._state


# Models of the app's sub-packages, imported so that Django registers them under ``inbox``.
from inbox.attachments.models import Attachment  # noqa: E402, F401
from inbox.notifications.models import (  # noqa: E402, F401
    NotificationThread,
    ParticipantEmailOptOut,
    StaffNotificationSettings,
)
from inbox.outbox.models import OutboxEvent  # noqa: E402, F401
from inbox.presence.models import AwayReply, StaffPresence  # noqa: E402, F401
from inbox.replies.models import SavedReply  # noqa: E402, F401
from inbox.webhooks.models import (  # noqa: E402, F401
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookSigningKey,
)
