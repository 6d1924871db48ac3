"""Uploaded raster images: checked by decoding them, measured, and re-encoded without metadata.

Re-encoding strips EXIF (GPS, camera serials), XMP, ICC comments and anything appended after
the image data (HTML or a ZIP hidden in a "PNG"), after applying the EXIF orientation so that
photos keep facing up. The thumbnail is made from the same decoded (clean) image, in the same
format (an animated GIF's is its first frame).
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from typing import IO, Final

from PIL import Image, ImageOps, UnidentifiedImageError

# A decoded image takes about 4 bytes per pixel in memory: 40 million pixels is ~160 MB, and
# more than any photo a phone takes today (a 200 MP sensor excepted).
MAX_IMAGE_PIXELS: Final = 40_000_000

_PILLOW_FORMATS: Final = {
    "image/png": "PNG",
    "image/jpeg": "JPEG",
    "image/gif": "GIF",
    "image/webp": "WEBP",
}


class ImageRefused(Exception):
    """The file is not a decodable image of the type it sniffed as, or is too large."""


@dataclass(frozen=True)
class CleanImage:
    data: bytes
    width: int
    height: int
    # A smaller copy that fits in the thumbnail square; None when the image already does.
    thumbnail: bytes | None


def clean_image(file: IO[bytes], *, mime_type: str, thumbnail_size: int) -> CleanImage:
    """Decode ``file`` (an image of ``mime_type``), and return it re-encoded without metadata,
    with a thumbnail that fits in ``thumbnail_size`` × ``thumbnail_size`` pixels."""
    expected = _PILLOW_FORMATS[mime_type]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image: Image.Image = Image.open(file, formats=[expected])
            if image.width * image.height > MAX_IMAGE_PIXELS:
                raise ImageRefused(f"is larger than {MAX_IMAGE_PIXELS} pixels")
            image.load()
            animated = bool(getattr(image, "is_animated", False))
            out = io.BytesIO()
            if animated:
                image.info.pop("comment", None)
                image.save(out, format=expected, save_all=True)
            else:
                upright = ImageOps.exif_transpose(image)
                upright.info = {
                    key: value for key, value in image.info.items() if key == "transparency"
                }
                options = {"quality": 90} if expected in ("JPEG", "WEBP") else {}
                upright.save(out, format=expected, **options)
                image = upright
            thumbnail = _thumbnail(image, expected, thumbnail_size)
    except ImageRefused:
        raise
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Warning) as exc:
        raise ImageRefused("is not a valid image") from exc
    except Image.DecompressionBombError as exc:
        raise ImageRefused(f"is larger than {MAX_IMAGE_PIXELS} pixels") from exc
    return CleanImage(
        data=out.getvalue(), width=image.width, height=image.height, thumbnail=thumbnail
    )


def _thumbnail(image: Image.Image, expected: str, size: int) -> bytes | None:
    if image.width <= size and image.height <= size:
        return None
    image.seek(0)  # an animated image's first frame
    small = image.copy()
    small.thumbnail((size, size), Image.Resampling.LANCZOS)
    small.info = {key: value for key, value in image.info.items() if key == "transparency"}
    out = io.BytesIO()
    options = {"quality": 85} if expected in ("JPEG", "WEBP") else {}
    small.save(out, format=expected, **options)
    return out.getvalue()
