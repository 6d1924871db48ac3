"""Request and response shapes of the saved replies API (our extension to Wix's)."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from inbox.api.schema import AssigneeSerializer
from inbox.replies.models import TEXT_MAX_LENGTH, TITLE_MAX_LENGTH, SavedReply
from inbox.wire import assignee_json, iso_millis

LIST_DEFAULT_LIMIT = 100
LIST_MAX_LIMIT = 500
SEARCH_MAX_LENGTH = 200


class ListPagingSerializer(serializers.Serializer[Any]):
    limit = serializers.IntegerField(min_value=1, max_value=LIST_MAX_LIMIT, required=False)


class ListRequestSerializer(serializers.Serializer[Any]):
    search = serializers.CharField(
        max_length=SEARCH_MAX_LENGTH,
        required=False,
        allow_blank=True,
        help_text="Only replies whose title or text contains this (ignoring case).",
    )
    paging = ListPagingSerializer(required=False)


class SavedReplyRequestSerializer(serializers.Serializer[Any]):
    title = serializers.CharField(max_length=TITLE_MAX_LENGTH)
    # Kept as typed: leading spaces and blank lines are part of a reply.
    text = serializers.CharField(
        max_length=TEXT_MAX_LENGTH,
        trim_whitespace=False,
        help_text="May hold {name}, {first_name}, {name|fallback} (docs/staff-inbox.md).",
    )
    shared = serializers.BooleanField(
        required=False,
        help_text="Visible to every staff user (needs inbox.add_savedreply); default false.",
    )


class SavedReplyUpdateSerializer(SavedReplyRequestSerializer):
    title = serializers.CharField(max_length=TITLE_MAX_LENGTH, required=False)
    text = serializers.CharField(max_length=TEXT_MAX_LENGTH, trim_whitespace=False, required=False)


class SavedReplySerializer(serializers.Serializer[Any]):
    id = serializers.UUIDField()
    title = serializers.CharField()
    text = serializers.CharField()
    shared = serializers.BooleanField()
    owner = AssigneeSerializer(allow_null=True, help_text="Null for a shared reply.")
    createdDate = serializers.DateTimeField()
    updatedDate = serializers.DateTimeField()


class SavedReplyResponseSerializer(serializers.Serializer[Any]):
    savedReply = SavedReplySerializer()


class SavedReplyListResponseSerializer(serializers.Serializer[Any]):
    savedReplies = SavedReplySerializer(many=True)


def saved_reply_json(reply: SavedReply) -> dict[str, Any]:
    return {
        "id": str(reply.pk),
        "title": reply.title,
        "text": reply.text,
        "shared": reply.is_shared,
        "owner": assignee_json(reply.owner),
        "createdDate": iso_millis(reply.created_at),
        "updatedDate": iso_millis(reply.updated_at),
    }
