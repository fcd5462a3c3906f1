"""Checks on the raw bytes, made before any PDF parsing: cheap, bounded, independent of pyHanko.

- Only end-of-line bytes may follow the last `%%EOF` (ISO 32000 allows an EOL there; mail and download
  tools add one); anything else is data appended to the file.
- Structural caps: revisions, signature fields, document timestamps, nesting — a file over a cap fails
  fast with a reason instead of costing seconds of parsing.
- A signature's `/ByteRange` is `[0 a b c]` inside the file, the gap is exactly the `/Contents` hex
  string, that string is not over the size cap, and the padding after the DER signature is zeros.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .report import Check, CheckResult, failed

KiB = 1024
EOL = b"\r\n"
_HEX = re.compile(rb"[0-9A-Fa-f]*")
_DEEP_ARRAYS = re.compile(rb"(?:\[\s*){128}")
_DEEP_DICTS = re.compile(rb"(?:<<\s*(?:/[^\s/<>\[\]()]+\s*)?){128}")


@dataclass(frozen=True)
class StructureLimits:
    """Caps on what a licence file may contain. Our seals are ~3 KB of DER (with a TSA token ~8 KB)."""

    max_revisions: int = 8
    max_signature_fields: int = 8  # seals and document timestamps together
    max_timestamps: int = 4
    max_contents_bytes: int = 32 * KiB  # the DER signature in /Contents (hex is twice that)


DEFAULT_STRUCTURE = StructureLimits()


def _fail(code: str, zh: str, en: str, **details: Any) -> CheckResult:
    return failed(Check.INTEGRITY, code, zh, en, **details)


def content_end(data: bytes) -> int | None:
    """The offset just after the last `%%EOF`, or None when there is none."""
    at = data.rfind(b"%%EOF")
    return at + 5 if at >= 0 else None


def trailing_problem(data: bytes) -> CheckResult | None:
    """Anything but end-of-line bytes after the last %%EOF is data appended to the file."""
    end = content_end(data)
    if end is None:
        return _fail(
            "pdf_damaged",
            "PDF文件没有文件结束标记（%%EOF），结构损坏，无法核验签章。",
            "The PDF has no end-of-file marker (%%EOF); its structure is damaged and its seal "
            "cannot be checked.",
        )
    tail = data[end:]
    if tail.strip(EOL) and any(token in tail for token in (b" obj", b"xref", b"trailer", b"endstream")):
        return _fail(
            "pdf_damaged",
            "文件最后一次更新没有完整的文件结束标记，文件被截断或被追加了内容，无法核验签章。",
            "The file's last update has no complete end-of-file marker: the file was cut short or appended "
            "to, and its seal cannot be checked.",
            trailing_bytes=len(tail),
        )
    if tail.strip(EOL):
        return _fail(
            "data_after_eof",
            "文件末尾（%%EOF之后）被追加了数据，文件已被改动。",
            "Data was appended after the end of the file (%%EOF); the file was altered.",
            trailing_bytes=len(tail),
        )
    return None


def cap_problem(data: bytes, limits: StructureLimits) -> CheckResult | None:
    """Caps counted on the raw bytes (an upper bound: objects in object streams are counted later)."""
    revisions = data.count(b"startxref")
    if revisions > limits.max_revisions:
        return _fail(
            "too_many_revisions",
            f"文件有{revisions}次增量更新，超过{limits.max_revisions}次的上限，不是电子证照原件。",
            f"The file has {revisions} revisions, over the limit of {limits.max_revisions}; "
            "it is not an original e-licence.",
            revisions=revisions,
        )
    stamps = data.count(b"/DocTimeStamp")
    if stamps > limits.max_timestamps:
        return too_many_timestamps(stamps, limits)
    fields = data.count(b"/ByteRange")
    if fields > limits.max_signature_fields:
        return too_many_fields(fields, limits)
    if _DEEP_ARRAYS.search(data) or _DEEP_DICTS.search(data):
        return nesting_too_deep()
    # A hex string longer than any signature may be: refused before the parser spends seconds on it.
    longest = 2 * limits.max_contents_bytes + 2
    huge = re.search(rb"<[0-9A-Fa-f\s]{%d}" % longest, data)
    if huge is not None:
        end = data.find(b">", huge.start())
        size = ((end if end > 0 else len(data)) - huge.start()) // 2
        return contents_too_large(size, limits)
    return None


def too_many_timestamps(count: int, limits: StructureLimits) -> CheckResult:
    return _fail(
        "too_many_timestamps",
        f"文件含有{count}个文档时间戳，超过{limits.max_timestamps}个的上限，不是电子证照原件。",
        f"The file has {count} document timestamps, over the limit of {limits.max_timestamps}; "
        "it is not an original e-licence.",
        timestamps=count,
    )


def too_many_fields(count: int, limits: StructureLimits) -> CheckResult:
    return _fail(
        "too_many_signature_fields",
        f"文件含有{count}个签名域，超过{limits.max_signature_fields}个的上限，不是电子证照原件。",
        f"The file has {count} signature fields, over the limit of {limits.max_signature_fields}; "
        "it is not an original e-licence.",
        signature_fields=count,
    )


def nesting_too_deep() -> CheckResult:
    return _fail(
        "nesting_too_deep",
        "文件中的对象嵌套层数异常之深，是恶意构造的文件。",
        "Objects in the file are nested abnormally deep; the file is maliciously crafted.",
    )


def der_length(der: bytes) -> int | None:
    """Total length of the DER element at the start of `der` (tag, length, content), or None."""
    if len(der) < 2 or der[0] != 0x30:
        return None
    first = der[1]
    if first < 0x80:
        return 2 + first
    count = first & 0x7F
    if count == 0 or count > 4 or len(der) < 2 + count:
        return None
    return 2 + count + int.from_bytes(der[2 : 2 + count], "big")


def contents_too_large(size: int, limits: StructureLimits) -> CheckResult:
    return _fail(
        "contents_too_large",
        f"签名值（/Contents）大小为{size // KiB} KB，远超电子印章的正常大小"
        f"（上限{limits.max_contents_bytes // KiB} KB），文件是恶意构造的。",
        f"The signature value (/Contents) is {size // KiB} KB, far beyond a seal's size "
        f"(limit {limits.max_contents_bytes // KiB} KB); the file is maliciously crafted.",
        contents_bytes=size,
    )


def contents_problem(contents: bytes, limits: StructureLimits) -> CheckResult | None:
    """`/Contents` within the size cap, a DER signature followed only by zero padding."""
    if len(contents) > limits.max_contents_bytes:
        return contents_too_large(len(contents), limits)
    total = der_length(contents)
    if total is None or total > len(contents):
        return None  # not DER at all: the CMS parser gives the precise reason
    if contents[total:].strip(b"\x00"):
        return _fail(
            "contents_padding",
            "签名值（/Contents）中签名数据之后的填充区被写入了非零数据，文件已被改动。",
            "The padding after the signature inside /Contents holds non-zero bytes; the file was altered.",
            padding_bytes=len(contents) - total,
        )
    return None


def byte_range_problem(data: bytes, byte_range: Any, contents: bytes) -> str | None:
    """The PDF-Insecurity checks on `/ByteRange` against the raw bytes; an English error or None."""
    if not isinstance(byte_range, (list, tuple)) or len(byte_range) != 4:
        return "the byte range is not four integers"
    if not all(isinstance(x, int) and not isinstance(x, bool) for x in byte_range):
        return "the byte range is not four integers"
    start, len1, start2, len2 = (int(x) for x in byte_range)
    if start != 0:
        return "the byte range does not start at the beginning of the file"
    if len1 <= 0 or start2 <= len1 or len2 < 0:
        return "the byte range does not describe [0 a b c] with a < b"
    if start2 + len2 > len(data):
        return "the byte range reaches beyond the end of the file"
    gap = data[len1:start2]
    hex_digits = gap[1:-1]
    if len(gap) < 2 or gap[:1] != b"<" or gap[-1:] != b">":
        return "the unsigned gap is not exactly one hex string"
    if not _HEX.fullmatch(hex_digits):
        return "the unsigned gap holds characters that are not hex digits"
    if len(hex_digits) % 2:
        return "the unsigned gap holds an odd number of hex digits"
    if bytes.fromhex(hex_digits.decode("ascii")) != bytes(contents):
        return "the unsigned gap is not the signature's /Contents"
    return None
