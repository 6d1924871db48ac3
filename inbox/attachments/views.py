"""``POST v2/attachments`` (upload) and ``GET v2/attachments/{id}/content`` (download): our
extension of Wix's API, in the OpenAPI schema with the other endpoints."""

from __future__ import annotations

from typing import Any

from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.http import FileResponse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, inline_serializer
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from inbox.api.schema import extend_schema
from inbox.api.throttling import CallerRateThrottle, UploadRateThrottle
from inbox.api.views import InboxViewSet, _idempotency_key, _uuid_path
from inbox.attachments import services
from inbox.attachments.models import Attachment
from inbox.attachments.selectors import attachment_for_download
from inbox.attachments.sniffing import RASTER_IMAGE_TYPES
from inbox.conf import inbox_settings
from inbox.exceptions import (
    RULE_FORMAT,
    RULE_NOT_ALLOWED,
    RULE_REQUIRED,
    AttachmentTooLarge,
    PermissionDenied,
    ValidationFailed,
)
from inbox.identity import Caller

# What a multipart body may hold around its file: boundaries, part headers, conversationId.
_MULTIPART_OVERHEAD = 64 * 1024
_FIELDS = ("conversationId", "file")
# Served files never run anything on the site's origin: no script, no plugin, no framing, and
# (sandbox) an opaque origin even when opened directly.
_DOWNLOAD_CSP = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox"


class _SizeCappedUpload(FileUploadHandler):
    """Stops reading an uploaded file as soon as it grows past ``ATTACHMENT_MAX_BYTES``.

    First in the chain, so the handlers after it (memory, then a temporary file) never hold
    more than the cap; a file cut off here is closed and its temporary file deleted.
    """

    def __init__(self, request: Any = None) -> None:
        super().__init__(request)
        self.limit = int(inbox_settings.ATTACHMENT_MAX_BYTES)
        self.exceeded = False

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes | None:
        if start + len(raw_data) > self.limit:
            self.exceeded = True
            raise StopUpload(connection_reset=False)
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None


def attachment_json(attachment: Attachment) -> dict[str, Any]:
    return {
        "id": str(attachment.pk),
        "conversationId": str(attachment.conversation_id),
        "filename": attachment.filename,
        "mimeType": attachment.mime_type,
        "fileSize": str(attachment.size),
        "width": attachment.width,
        "height": attachment.height,
    }


_ATTACHMENT_SCHEMA = inline_serializer(
    "Attachment",
    {
        "id": serializers.UUIDField(),
        "conversationId": serializers.UUIDField(),
        "filename": serializers.CharField(),
        "mimeType": serializers.CharField(help_text="Found by content sniffing."),
        "fileSize": serializers.CharField(help_text="Size in bytes (int64 as a string)."),
        "width": serializers.IntegerField(allow_null=True),
        "height": serializers.IntegerField(allow_null=True),
    },
)


_LINK_PARAMETERS = [
    OpenApiParameter("expires", OpenApiTypes.INT, required=True),
    OpenApiParameter("v", OpenApiTypes.STR, required=True),
    OpenApiParameter("sig", OpenApiTypes.STR, required=True),
]


class AttachmentViewSet(InboxViewSet):
    """Files in the conversation. Upload, then send a basic item naming the attachment:
    ``{"image": {"id": "<attachment id>"}}`` or ``{"file": {"id": …}}``, without a ``url``."""

    parser_classes = [MultiPartParser]
    # Uploads count against the caller's request budget and its budget of uploads.
    throttle_classes: list[Any] = [CallerRateThrottle, UploadRateThrottle]
    lookup_field = "attachment_id"
    lookup_value_regex = "[^/]+"

    def initialize_request(self, request: Any, *args: Any, **kwargs: Any) -> Request:
        # Not InboxViewSet's: its body adoption and caps are for JSON bodies of at most
        # MAX_BODY_BYTES. Uploads stream through the size cap, then to a temporary file.
        request.upload_handlers.insert(0, _SizeCappedUpload(request))
        return viewsets.ViewSet.initialize_request(self, request, *args, **kwargs)

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        _refuse_oversized_upload(request)
        viewsets.ViewSet.initial(self, request, *args, **kwargs)

    @extend_schema(
        operation_id="uploadAttachment",
        parameters=[
            OpenApiParameter(
                "Idempotency-Key",
                str,
                location=OpenApiParameter.HEADER,
                description="A retry with the same key returns the original attachment.",
            )
        ],
        request={
            "multipart/form-data": inline_serializer(
                "UploadAttachmentRequest",
                {
                    "conversationId": serializers.UUIDField(
                        required=False, help_text="Required for business callers."
                    ),
                    "file": serializers.FileField(),
                },
            )
        },
        responses={
            200: inline_serializer("UploadAttachmentResponse", {"attachment": _ATTACHMENT_SCHEMA})
        },
        summary="Upload a file or image into a conversation (our extension)",
    )
    def create(self, request: Request) -> Response:
        caller = self.caller
        if caller.is_business:
            self.require_business_write()
        unknown = [key for key in [*request.data, *request.FILES] if key not in _FIELDS]
        cap = request.upload_handlers[0]
        if isinstance(cap, _SizeCappedUpload) and cap.exceeded:
            raise AttachmentTooLarge.over(cap.limit)
        if unknown:
            raise ValidationFailed.single(unknown[0], "is not a known field", RULE_NOT_ALLOWED)
        files = request.FILES.getlist("file")
        if len(files) != 1:
            raise ValidationFailed.single("file", "must be exactly one file", RULE_REQUIRED)
        raw_conversation = request.data.get("conversationId")
        conversation_id = (
            _uuid_path(str(raw_conversation), "conversationId") if raw_conversation else None
        )
        upload = files[0]
        attachment = services.attachment_upload(
            caller=caller,
            conversation_id=conversation_id,
            file=upload,
            filename=upload.name or "",
            size=upload.size or 0,
            idempotency_key=_idempotency_key(request),
        )
        return Response({"attachment": attachment_json(attachment)})

    @extend_schema(
        operation_id="downloadAttachment",
        parameters=_LINK_PARAMETERS,
        responses={(200, "application/octet-stream"): OpenApiTypes.BINARY},
        summary="Fetch a sent attachment by its signed, expiring link (the item's url)",
    )
    @action(detail=True, methods=["get"], url_path="content", permission_classes=[])
    def content(self, request: Request, attachment_id: str) -> FileResponse:
        return self._serve(request, attachment_id, thumbnail=False)

    @extend_schema(
        operation_id="downloadAttachmentThumbnail",
        parameters=_LINK_PARAMETERS,
        responses={(200, "application/octet-stream"): OpenApiTypes.BINARY},
        summary="Fetch a sent image's thumbnail by its signed link (the item's thumbnailUrl)",
    )
    @action(detail=True, methods=["get"], url_path="thumbnail", permission_classes=[])
    def thumbnail(self, request: Request, attachment_id: str) -> FileResponse:
        return self._serve(request, attachment_id, thumbnail=True)

    def _serve(self, request: Request, attachment_id: str, *, thumbnail: bool) -> FileResponse:
        caller = request.auth if isinstance(request.auth, Caller) else None
        params = request.query_params
        attachment = attachment_for_download(
            attachment_id=attachment_id,
            expires=params.get("expires", ""),
            audience=params.get("v", ""),
            signature=params.get("sig", ""),
            caller=caller,
        )
        inline = attachment.mime_type in RASTER_IMAGE_TYPES
        if thumbnail and not inline:
            # Only images have thumbnails; the same refusal as any other wrong link.
            raise PermissionDenied(_("This link is not valid (expired, forged, or not yours)"))
        content_type = attachment.mime_type
        if content_type == "text/plain":
            content_type += "; charset=utf-8"
        response = FileResponse(
            attachment.open(thumbnail=thumbnail),
            as_attachment=not inline,
            filename=attachment.filename,
            content_type=content_type,
        )
        response["X-Content-Type-Options"] = "nosniff"
        response["Content-Security-Policy"] = _DOWNLOAD_CSP
        response["Cross-Origin-Resource-Policy"] = "same-site"
        # The link is the credential: private to the browser, never stored by shared caches.
        response["Cache-Control"] = "private, max-age=3600"
        response["Referrer-Policy"] = "no-referrer"
        return response


def _refuse_oversized_upload(request: Request) -> None:
    declared = request.META.get("CONTENT_LENGTH")
    if not declared:
        return
    limit = int(inbox_settings.ATTACHMENT_MAX_BYTES)
    try:
        too_big = int(declared) > limit + _MULTIPART_OVERHEAD
    except ValueError:
        raise ValidationFailed.single("Content-Length", "is malformed", RULE_FORMAT) from None
    if too_big:
        raise AttachmentTooLarge.over(limit)
