"""The file formats the catalogue accepts, the content types and extensions that carry them, and the
safe file name an upload is stored under."""

from __future__ import annotations

import re
import unicodedata

FORMAT_CONTENT_TYPES = {
    "pdf": "application/pdf",
    "jpeg": "image/jpeg",
    "png": "image/png",
    "tiff": "image/tiff",
}
EXTENSION_FORMATS = {
    ".pdf": "pdf",
    ".jpg": "jpeg",
    ".jpeg": "jpeg",
    ".png": "png",
    ".tif": "tiff",
    ".tiff": "tiff",
}
# Browsers and older tools also send these for JPEG.
CONTENT_TYPE_FORMATS = {v: k for k, v in FORMAT_CONTENT_TYPES.items()} | {
    "image/jpg": "jpeg",
    "image/pjpeg": "jpeg",
}


def sanitise_filename(filename: str) -> str:
    """A safe last path segment for an object key: no directories, no control or odd characters."""
    name = unicodedata.normalize("NFKC", filename).replace("\\", "/").rsplit("/", 1)[-1]
    name = re.sub(r"[^\w.\-]+", "_", name, flags=re.UNICODE).strip("._")
    stem, dot, ext = name.rpartition(".")
    if not dot:
        stem, ext = name, ""
    stem = stem[:80] or "file"
    ext = ext[:10].lower()
    return f"{stem}.{ext}" if ext else stem
