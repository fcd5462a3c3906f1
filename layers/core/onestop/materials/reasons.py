"""Reasons about a file as a whole, shared by the upload gate and the pipeline.

Kept apart from pipeline.py so that the gate (in the API function) never imports the OCR stack.
"""

from __future__ import annotations

from onestop.errors import Reason


def empty_reason() -> Reason:
    return Reason("file_empty", "文件是空的；请重新上传。", "The file is empty; upload it again.")


def too_large_reason(size: int, limit: int) -> Reason:
    return Reason(
        "file_too_large",
        f"文件大小 {size / 1048576:.1f} MB，超过 {limit / 1048576:.0f} MB 的上限；"
        "请压缩或降低扫描分辨率后上传。",
        f"The file is {size / 1048576:.1f} MB, over the {limit / 1048576:.0f} MB limit; compress it or "
        "scan at a lower resolution.",
    )
