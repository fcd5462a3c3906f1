"""What a picture sent for verification may be, told from its first bytes: the media types, the size
limits, the format sniffing. Kept apart from photo.py so that the verify function's import (its cold
start) needs only this: photo.py and its decoders are imported by the request that sends a picture.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

MiB = 1024 * 1024

# Media types a picture may be sent as, and the PIL format each must turn out to be (by magic bytes).
IMAGE_TYPES: Mapping[str, str] = {
    "image/jpeg": "JPEG",
    "image/jpg": "JPEG",
    "image/pjpeg": "JPEG",
    "image/png": "PNG",
    "image/webp": "WEBP",
}
HEIF_TYPES = frozenset(
    {"image/heic", "image/heif", "image/heic-sequence", "image/heif-sequence", "image/avif"}
)
HEIF_BRANDS = frozenset(
    {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1", b"avif", b"avis"}
)


@dataclass(frozen=True)
class PhotoLimits:
    """Bounds on one picture. Defaults fit a 48-megapixel phone JPEG and a 4K screenshot, nothing near
    a bomb. `decode_side` was measured on the synthetic photo set (tests/photo_specimens.py): at 2000
    as many licence photos are read as at full size (22 of 24; 1600 and below lose the far shot on the
    first pass), and a 12 MP photo is read and verified in about a third of the CPU time of a plain
    full decode and zxing (42 ms against 116 ms, bench/bench_photo.py)."""

    max_bytes: int = 4 * MiB  # the API's: a Lambda takes 6 MB of event, the body in base64
    max_pixels: int = 50_000_000  # JPEG: a 48 MP phone photo is 48.8 M
    max_pixels_lossless: int = 16_000_000  # PNG/WebP decode in full (no reduced-scale decode): screenshots
    max_side: int = 12_000
    decode_side: int = 2000  # first pass: the long side, reduced to this (or the next JPEG scale above)
    full_side: int = 4100  # the last retry: up to this long side (a 12 MP photo at full size)


DEFAULT_PHOTO_LIMITS = PhotoLimits()
CLI_PHOTO_LIMITS = PhotoLimits(max_bytes=40 * MiB)  # a phone's original file, read from disk


def sniff_format(data: bytes) -> str | None:
    """The picture format by its magic bytes: JPEG, PNG, WEBP, HEIF, or None."""
    if data[:3] == b"\xff\xd8\xff":
        return "JPEG"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "PNG"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    if data[4:8] == b"ftyp" and data[8:12] in HEIF_BRANDS:
        return "HEIF"
    return None


def is_image(data: bytes) -> bool:
    """Whether `data` starts like a picture this module reads or explains (CLI: image or PDF?)."""
    return sniff_format(data) is not None
