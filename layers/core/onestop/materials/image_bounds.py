"""Where an uploaded JPEG or PNG ends, so that bytes appended after it are never copied into the
catalogued PDF (issue 14: an MP3 appended to a JPEG went into the PDF byte for byte).

Decoders stop at the image's end and ignore what follows, so nothing else finds these bytes; img2pdf
passes the data stream through as is. Both formats say where they end: PNG with its IEND chunk, JPEG
with EOI after the last scan (segments before a scan carry their length, so an EXIF thumbnail's own
EOI inside APP1 is stepped over).
"""

from __future__ import annotations

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Markers without a length field: SOI, EOI, TEM and the restart markers RST0-7.
_STANDALONE = {0xD8, 0xD9, 0x01, *range(0xD0, 0xD8)}


def image_end(data: bytes, kind: str, start: int = 0) -> int | None:
    """The offset just past the image that begins at `start`, or None when its end cannot be found
    (then nothing is cut: a decoder that reads the image will say what is wrong with it)."""
    if kind == "png":
        return _png_end(data, start)
    if kind == "jpeg":
        return _jpeg_end(data, start)
    return None


def _png_end(data: bytes, start: int) -> int | None:
    if data[start : start + 8] != _PNG_SIGNATURE:
        return None
    at = start + 8
    while at + 12 <= len(data):
        length = int.from_bytes(data[at : at + 4], "big")
        kind = data[at + 4 : at + 8]
        end = at + 12 + length  # length, type, data, CRC
        if end > len(data):
            return None
        if kind == b"IEND":
            return end
        at = end
    return None


def _jpeg_end(data: bytes, start: int) -> int | None:
    if data[start : start + 2] != b"\xff\xd8":
        return None
    at = start + 2
    size = len(data)
    while at + 1 < size:
        if data[at] != 0xFF:
            return None  # not at a marker: the structure is not what it claims
        marker = data[at + 1]
        if marker == 0xFF:  # fill byte before a marker
            at += 1
            continue
        if marker == 0xD9:
            return at + 2
        if marker in _STANDALONE:
            at += 2
            continue
        if at + 4 > size:
            return None
        at += 2 + int.from_bytes(data[at + 2 : at + 4], "big")
        if marker == 0xDA:  # start of scan: entropy-coded data up to the next real marker
            scanned = _after_scan(data, at)
            if scanned is None:
                return None
            at = scanned
    return None


def _after_scan(data: bytes, at: int) -> int | None:
    """The offset of the first marker after entropy-coded data (0xFF00 is a stuffed byte, RSTn
    markers belong to the scan)."""
    size = len(data)
    while True:
        at = data.find(b"\xff", at)
        if at < 0 or at + 1 >= size:
            return None
        following = data[at + 1]
        if following == 0x00 or 0xD0 <= following <= 0xD7 or following == 0xFF:
            at += 1 if following == 0xFF else 2
            continue
        return at
