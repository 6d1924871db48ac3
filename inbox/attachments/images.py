"""Uploaded raster images: checked by decoding them, measured, and re-encoded without metadata.

Re-encoding strips EXIF (GPS, camera serials), XMP, ICC comments and anything appended after
the image data (HTML or a ZIP hidden in a "PNG"), after applying the EXIF orientation so that
photos keep facing up.
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


def clean_image(file: IO[bytes], *, mime_type: str) -> CleanImage:
    """Decode ``file`` (an image of ``mime_type``), and return it re-encoded without metadata."""
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
    except ImageRefused:
        raise
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Warning) as exc:
        raise ImageRefused("is not a valid image") from exc
    except Image.DecompressionBombError as exc:
        raise ImageRefused(f"is larger than {MAX_IMAGE_PIXELS} pixels") from exc
    return CleanImage(data=out.getvalue(), width=image.width, height=image.height)
