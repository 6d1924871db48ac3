"""What an uploaded file is, from its first bytes: never from the client's Content-Type or name.

Only types listed in ``SNIFFABLE_TYPES`` can ever be recognised, so nothing a browser would run
(HTML, SVG, XML, scripts, executables) can be allowed by settings: such a file sniffs as None.
Pure functions, no Django.
"""

from __future__ import annotations

import codecs
import re
from typing import Final

RASTER_IMAGE_TYPES: Final = ("image/png", "image/jpeg", "image/gif", "image/webp")
"""The only types ever shown inline; everything else is served as a download."""

SNIFFABLE_TYPES: Final = (*RASTER_IMAGE_TYPES, "application/pdf", "text/plain")

EXTENSIONS: Final = {
    "image/png": "png",
    "image/jpeg": "jpg",
    "image/gif": "gif",
    "image/webp": "webp",
    "application/pdf": "pdf",
    "text/plain": "txt",
}

SNIFF_BYTES: Final = 4096
"""How much of a file is read to tell its type."""

_SIGNATURES: Final = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"%PDF-", "application/pdf"),
)
# Text that a browser, an XML viewer or a shell would treat as more than text: HTML (whatever
# its case or where it starts), SVG/XML, and "#!" scripts. Refused even as text/plain.
_MARKUP: Final = re.compile(
    rb"<\s*(!doctype|html|head|body|script|svg|iframe|object|embed|meta|\?xml)", re.IGNORECASE
)
# Control characters other than tab, newline, form feed and carriage return: binary data.
_BINARY: Final = re.compile(rb"[\x00-\x08\x0b\x0e-\x1f\x7f]")


def sniff_type(head: bytes) -> str | None:
    """The type of a file starting with ``head`` (its first ``SNIFF_BYTES``), or None."""
    for signature, mime_type in _SIGNATURES:
        if head.startswith(signature):
            return mime_type
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head and _is_plain_text(head):
        return "text/plain"
    return None


def _is_plain_text(head: bytes) -> bool:
    if head.startswith(b"#!") or _BINARY.search(head) or _MARKUP.search(head):
        return False
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        # The sample may end inside a multi-byte character: not final.
        decoder.decode(head.removeprefix(codecs.BOM_UTF8), final=False)
    except UnicodeDecodeError:
        return False
    return True
