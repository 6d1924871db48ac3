"""The conventional stack: the same send → deliver and message list as a Django developer would
build them without ``inbox``, served by the same worker processes in the same run, so every
table can show floor, conventional stack and ``inbox`` side by side (issue 17).

- ``POST bench/conventional/messages``: a DRF ``CreateAPIView`` + ``ModelSerializer`` on the
  same ``Message`` table, ``TokenAuthentication``, the save in ``transaction.atomic()`` and
  ``transaction.on_commit`` + ``async_to_sync(group_send)`` to the conversation's group.
- ``GET bench/conventional/messages?conversation=<id>``: a ``ListAPIView`` with the same
  ``ModelSerializer`` and DRF's ``CursorPagination`` (30 a page, newest first).
- ``ws bench/conventional/ws/<conversation id>/?token=<token>``: an
  ``AsyncJsonWebsocketConsumer`` checking the token, joining the group and relaying each
  ``chat.message``'s JSON, over channels-redis's ``RedisChannelLayer`` (the layer alias
  ``conventional`` of bench/settings.py).

DRF's defaults stay as a site gets them (JSON + browsable API renderers, default negotiation,
parsers and exception handler). It does less than ``inbox``: no per-conversation ordering across
processes (the sequence is a per-process counter), no idempotency, no visibility rules, no
outbox, no replay on reconnect.
"""

from __future__ import annotations

import itertools
import os
from typing import Any
from urllib.parse import parse_qs

from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from channels.layers import get_channel_layer
from django.db import transaction
from django.urls import path
from django.utils import timezone
from rest_framework import generics, serializers
from rest_framework.authentication import TokenAuthentication
from rest_framework.pagination import CursorPagination
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import JSONRenderer

from inbox.models import Message

LAYER = "conventional"
WS_PREFIX = "/bench/conventional/ws/"
# Unique per process, far from the microsecond sequences the app allocates.
_sequences = itertools.count(os.getpid() * 1_000_000_000 + 500_000_000)


def group_name(conversation_id: object) -> str:
    return f"conv_{conversation_id}"


class MessageSerializer(serializers.ModelSerializer[Message]):
    class Meta:
        model = Message
        fields = [
            "id",
            "conversation",
            "sequence",
            "direction",
            "visibility",
            "content_type",
            "content",
            "preview_text",
            "sender_kind",
            "sender_id",
            "created_at",
        ]
        read_only_fields = ["id", "sequence", "sender_kind", "sender_id", "created_at"]


class MessagePagination(CursorPagination):
    page_size = 30
    ordering = "-sequence"


class MessageListCreate(generics.ListCreateAPIView[Message]):
    serializer_class = MessageSerializer
    authentication_classes = [TokenAuthentication]
    permission_classes = [IsAuthenticated]
    pagination_class = MessagePagination

    def get_queryset(self) -> Any:
        return Message.objects.filter(conversation_id=self.request.query_params["conversation"])

    def perform_create(self, serializer: Any) -> None:
        with transaction.atomic():
            message = serializer.save(
                sequence=next(_sequences),
                sender_kind=Message.SenderKind.APP,
                sender_id=_sender_id(self.request.user.pk),
                created_at=timezone.now(),
            )
            # The serializer's data holds UUIDs, which the layer's msgpack refuses: send the JSON.
            text = JSONRenderer().render(MessageSerializer(message).data).decode()
            transaction.on_commit(
                lambda: async_to_sync(get_channel_layer(LAYER).group_send)(  # type: ignore[union-attr]
                    group_name(message.conversation_id), {"type": "chat.message", "text": text}
                )
            )


def _sender_id(user_pk: int) -> Any:
    import uuid

    return uuid.uuid5(uuid.NAMESPACE_OID, f"bench-user:{user_pk}")


class ConversationConsumer(AsyncJsonWebsocketConsumer):
    channel_layer_alias = LAYER

    async def connect(self) -> None:
        query = parse_qs(self.scope["query_string"].decode())
        if not await self._token_ok(query.get("token", [""])[0]):
            await self.close()
            return
        self.group = group_name(self.scope["url_route"]["kwargs"]["conversation_id"])
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()

    @database_sync_to_async
    def _token_ok(self, key: str) -> bool:
        from rest_framework.authtoken.models import Token

        return Token.objects.filter(key=key, user__is_active=True).exists()

    async def disconnect(self, code: int) -> None:
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def chat_message(self, event: dict[str, Any]) -> None:
        await self.send(text_data=event["text"])


urlpatterns = [path("bench/conventional/messages", MessageListCreate.as_view())]
websocket_urlpatterns = [
    path(f"{WS_PREFIX[1:]}<uuid:conversation_id>/", ConversationConsumer.as_asgi())
]


def create_token() -> str:
    """A user with a DRF token in the bench database (Django must be set up); the token's key."""
    from django.contrib.auth import get_user_model
    from rest_framework.authtoken.models import Token

    user = get_user_model().objects.create_user(f"bench-conventional-{os.getpid()}")
    return str(Token.objects.create(user=user).key)
