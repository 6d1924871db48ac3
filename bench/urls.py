"""The project's URLs plus ``bench/plain-insert``: a plain Django view doing the single INSERT
of a message, the floor that benchmark 7 divides the send path's throughput by; plus the
conventional stack's REST endpoint (bench/conventional.py)."""

from __future__ import annotations

import itertools
import os
import uuid

from django.http import HttpRequest, JsonResponse
from django.urls import path
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from bench import conventional
from inbox.models import Message
from project.urls import urlpatterns as project_urlpatterns

# Unique per process, far from the microsecond sequences the app allocates.
_sequences = itertools.count(os.getpid() * 1_000_000_000 + 1)
_SENDER = uuid.uuid4()


@csrf_exempt
def plain_insert(request: HttpRequest) -> JsonResponse:
    """One INSERT of a message row, the same pool and connection handling as the app's views."""
    message = Message.objects.create(
        conversation_id=request.GET["conversationId"],
        sequence=next(_sequences),
        direction=Message.Direction.BUSINESS_TO_PARTICIPANT,
        visibility=Message.Visibility.BUSINESS_AND_PARTICIPANT,
        content_type=Message.ContentType.BASIC,
        content={"basic": {"items": [{"text": "bench"}]}},
        preview_text="bench",
        sender_kind=Message.SenderKind.APP,
        sender_id=_SENDER,
        created_at=timezone.now(),
    )
    return JsonResponse({"id": str(message.pk)})


urlpatterns = [
    path("bench/plain-insert", plain_insert),
    *conventional.urlpatterns,
    *project_urlpatterns,
]
