"""FilterSets of the list endpoints. They narrow a selector's queryset; they never grant access."""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import Q, QuerySet
from django.utils import timezone

from inbox.exceptions import (
    RULE_ENUM,
    RULE_FORMAT,
    ValidationFailed,
    Violation,
    rule_for_error_code,
)
from inbox.identity import Caller
from inbox.models import Conversation, Participant

_BOOLEANS = {"true": "true", "1": "true", "false": "false", "0": "false"}


class ConversationFilter(django_filters.FilterSet):
    """``GET v2/conversations`` filters: ``unread``, ``participantKind`` and the text search
    ``q`` (participant display name or last message preview, case-insensitive), ``status`` as
    of now (a snooze that has run out is ``OPEN``; ``CLOSED`` is the archive) and ``assignee``
    (``me``: the calling staff user; ``none``: unassigned)."""

    unread = django_filters.BooleanFilter(method="filter_unread")
    participantKind = django_filters.ChoiceFilter(
        field_name="participant__kind", choices=Participant.Kind.choices
    )
    q = django_filters.CharFilter(method="filter_text", max_length=200)
    status = django_filters.ChoiceFilter(
        method="filter_status", choices=Conversation.Status.choices
    )
    assignee = django_filters.ChoiceFilter(
        method="filter_assignee", choices=[("me", "Mine"), ("none", "Unassigned")]
    )

    def __init__(self, *args: Any, caller: Caller, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.caller = caller

    class Meta:
        model = Conversation
        fields: list[str] = []

    def filter_unread(
        self, queryset: QuerySet[Conversation], name: str, value: bool | None
    ) -> QuerySet[Conversation]:
        # ``unread_count`` is the selector's per-reader annotation.
        if value is None:
            return queryset
        return queryset.filter(Q(unread_count__gt=0) if value else Q(unread_count=0))

    def filter_status(
        self, queryset: QuerySet[Conversation], name: str, value: str
    ) -> QuerySet[Conversation]:
        # On the stored columns (not an annotation), so inbox_conv_status_idx serves it.
        now = timezone.now()
        snoozed = Q(status=Conversation.Status.SNOOZED)
        if value == Conversation.Status.OPEN:
            return queryset.filter(
                Q(status=Conversation.Status.OPEN) | (snoozed & Q(snoozed_until__lte=now))
            )
        if value == Conversation.Status.SNOOZED:
            return queryset.filter(snoozed & Q(snoozed_until__gt=now))
        return queryset.filter(status=value)

    def filter_assignee(
        self, queryset: QuerySet[Conversation], name: str, value: str
    ) -> QuerySet[Conversation]:
        if value == "none":
            return queryset.filter(assignee__isnull=True)
        if self.caller.user is None:
            raise ValidationFailed.single(
                "assignee", "me is for staff users; an app is assigned nothing", RULE_ENUM
            )
        return queryset.filter(assignee=self.caller.user)

    def filter_text(
        self, queryset: QuerySet[Conversation], name: str, value: str
    ) -> QuerySet[Conversation]:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(participant__display_name__icontains=value) | Q(last_message_preview__icontains=value)
        )


def filter_conversations(
    queryset: QuerySet[Conversation], params: dict[str, Any], *, caller: Caller
) -> tuple[QuerySet[Conversation], dict[str, str]]:
    """Apply ``ConversationFilter`` to ``params`` (a parsed query); returns the narrowed queryset
    and the cleaned filter values (which a page cursor is bound to). Bad values: one 400."""
    data = {name: params[name] for name in ConversationFilter.base_filters if name in params}
    if not data:
        return queryset, {}  # the usual first page: no form to build (a tenth of its CPU)
    violations = [
        Violation(name, "must be a single value", RULE_FORMAT)
        for name, value in data.items()
        if not isinstance(value, str | bool)
    ]
    if "unread" in data and not violations:
        # Strict where the form field would quietly ignore an unknown value.
        unread = str(data["unread"]).lower()
        if unread not in _BOOLEANS:
            violations.append(Violation("unread", "must be true or false", RULE_FORMAT))
        data["unread"] = _BOOLEANS.get(unread, "")
    for name, choices in (
        ("participantKind", Participant.Kind.values),
        ("status", Conversation.Status.values),
        ("assignee", ["me", "none"]),
    ):
        if data.get(name) == "":
            # The form field reads an empty choice as "no filter"; the schema's enum has no "".
            violations.append(Violation(name, f"must be one of {', '.join(choices)}", RULE_ENUM))
    if violations:
        raise ValidationFailed(violations)
    filterset = ConversationFilter(data=data, queryset=queryset, caller=caller)
    if not filterset.is_valid():
        raise ValidationFailed(
            [
                Violation(
                    name,
                    str(error.message % (error.params or {})),
                    rule_for_error_code(error.code),
                )
                for name, errors in filterset.errors.as_data().items()
                for error in errors
            ]
        )
    cleaned = {
        name: str(value)
        for name, value in filterset.form.cleaned_data.items()
        if value not in (None, "")
    }
    return filterset.qs, cleaned
