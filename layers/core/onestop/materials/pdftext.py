"""Text of an uploaded PDF: the real text layer where there is one, rendered page images elsewhere.

Parsing an untrusted PDF can loop (xref /Prev cycles), recurse (self-referencing form XObjects) or
inflate (zlib bombs). It therefore runs in a worker process (`onestop.sandbox` running `_pdfworker`, a
fresh interpreter whose whole address space is capped at `Limits.pdf_worker_memory_bytes`) with a
wall-clock timeout, so it can never hang or exhaust the ingest function; decode caps inside the worker
stop bombs long before the cap. The worker is reused across files: starting one per PDF cost ~150 ms
(see docs/decisions.md and docs/benchmarks.md).

Damage: a file whose structure is broken beyond a faithful repair (a looping page tree or chain of
cross-reference sections, no cross-reference at all, a rebuilt cross-reference that lost objects) is
rejected as `pdf_damaged`; a wrong cross-reference offset that pypdf rebuilds, with nothing lost and
both readers agreeing on the pages, is accepted with the note `pdf_repaired`.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from onestop.errors import Reason
from onestop.sandbox import Sandbox, SandboxCrashed, SandboxTimeout, shared_sandbox

from ._pdfworker import is_real_text, quiet, run_job, text_quality
from .limits import Deadline, Limits
from .sniff import looks_like_headless_pdf

__all__ = [
    "DAMAGED",
    "PdfAnalysis",
    "PdfRejected",
    "analyse_pdf",
    "is_real_text",
    "looks_like_headless_pdf",
    "text_quality",
]

PASSWORD_PROTECTED = Reason(
    "pdf_password_protected",
    "PDF 有密码保护，请上传未加密的版本",
    "the PDF is password-protected; upload an unprotected copy",
)
DAMAGED = Reason(
    "pdf_damaged",
    "PDF 文件已损坏（文件结构不完整或自相矛盾，可能是下载或传输不完整），无法可靠读取；"
    "请从原始文件重新导出 PDF（或重新扫描纸质材料）后上传。",
    "The PDF is damaged (its structure is incomplete or contradicts itself, for example after an "
    "interrupted download or transfer) and cannot be read reliably; export the PDF again from the "
    "original file (or scan the paper document again) and upload it.",
)
REPAIRED = Reason(
    "pdf_repaired",
    "PDF 文件的交叉引用表有误，已自动修复且内容完整；如材料显示有缺失，请重新导出后上传。",
    "The PDF's cross-reference table was wrong and has been repaired with nothing lost; if anything "
    "in the material looks missing, export it again and upload it.",
)
TOO_COMPLEX = Reason(
    "pdf_too_complex",
    "PDF 文件结构异常或过于复杂，无法在限定时间和内存内处理；请重新导出（如“打印为 PDF”）后上传。",
    "The PDF's structure is abnormal or too complex to process within the time and memory limits; "
    "re-export it (for example with 'print to PDF') and upload it again.",
)
NO_PAGES = Reason(
    "pdf_no_pages",
    "PDF 文件没有任何页面；请上传包含材料内容的文件。",
    "The PDF has no pages; upload a file that contains the document.",
)


def too_many_pages(pages: int, limit: int) -> Reason:
    return Reason(
        "pdf_too_many_pages",
        f"PDF 共 {pages} 页，超过单个材料 {limit} 页的上限；请只上传该材料本身，或拆分后分别上传。",
        f"The PDF has {pages} pages, over the limit of {limit} for one material; upload only this "
        "document, or split it.",
    )


class PdfRejected(Exception):
    """The PDF cannot be used; `reason` tells the applicant what to do."""

    def __init__(self, reason: Reason, details: tuple[str, ...] = ()) -> None:
        super().__init__(f"{reason.code}: {reason.en}")
        self.reason = reason
        self.details = details


@dataclass(frozen=True)
class PdfAnalysis:
    """What the worker found. `images` holds rendered RGB pages (by index) that need OCR."""

    pages: int
    page_text: tuple[str, ...]
    page_real: tuple[bool, ...]
    images: dict[int, np.ndarray]
    clean_pdf: bytes | None
    parser: str
    encrypted: bool
    opened_with_empty_password: bool
    removed_attachments: tuple[str, ...]
    removed_active_content: int
    errors: tuple[str, ...] = ()
    notes: tuple[Reason, ...] = field(default=())


SANDBOX = "pdf-ingest"


_PRELOAD = ("pypdf", "pypdfium2", "onestop.materials._pdfworker")


def _sandbox(memory_bytes: int) -> Sandbox:
    """The shared ingest worker: a fresh interpreter (not a fork of this OCR-laden process) whose
    whole address space is `memory_bytes`."""
    return shared_sandbox(SANDBOX, memory_bytes, quiet, fresh_interpreter=True, preload=_PRELOAD)


def _load_page(outdir: Path, info: dict[str, int | str]) -> np.ndarray:
    raw = np.frombuffer((outdir / str(info["file"])).read_bytes(), dtype=np.uint8)
    height, width, stride = int(info["height"]), int(info["width"]), int(info["stride"])
    channels = int(info["channels"])
    rows = raw[: height * stride].reshape(height, stride)[:, : width * channels]
    pixels = rows.reshape(height, width, channels)
    mode = str(info["mode"])
    if channels == 1:
        return np.repeat(pixels, 3, axis=2)
    rgb = pixels[:, :, :3]
    if mode.startswith("BGR"):
        rgb = rgb[:, :, ::-1]
    return np.ascontiguousarray(rgb)


def analyse_pdf(data: bytes, limits: Limits, deadline: Deadline | None = None) -> PdfAnalysis:
    """Run the worker on `data`; raise `PdfRejected` for encrypted, corrupt, oversized or hostile files."""
    params = {
        "max_pages": limits.max_pages,
        "max_ocr_pages": limits.max_ocr_pages,
        "render_dpi": limits.render_dpi,
        "max_render_pixels": limits.max_render_pixels,
        "max_stream_bytes": limits.pdf_max_stream_bytes,
        "max_decoded_bytes": limits.pdf_max_decoded_bytes,
        "max_pixels": limits.max_pixels,
    }
    timeout = limits.pdf_worker_timeout_s
    if deadline is not None:
        timeout = max(1.0, min(timeout, deadline.remaining))
    with tempfile.TemporaryDirectory(prefix="onestop-pdf-") as tmp:
        outdir = Path(tmp)
        try:
            result = _sandbox(limits.pdf_worker_memory_bytes).run(run_job, (data, params, tmp), timeout)
        except SandboxTimeout as exc:
            raise PdfRejected(TOO_COMPLEX, (f"worker timed out after {timeout:g} s",)) from exc
        except SandboxCrashed as exc:  # the memory cap (MemoryError or killed), or a crash in a parser
            raise PdfRejected(TOO_COMPLEX, (f"worker failed: {exc}",)) from exc
        status = result.get("status")
        errors = tuple(result.get("errors", ()))
        if status == "password_protected":
            raise PdfRejected(PASSWORD_PROTECTED, errors)
        if status == "damaged":
            raise PdfRejected(DAMAGED, errors)
        if status == "too_complex":
            raise PdfRejected(TOO_COMPLEX, errors)
        if status == "no_pages":
            raise PdfRejected(NO_PAGES, errors)
        if status == "too_many_pages":
            raise PdfRejected(too_many_pages(int(result["pages"]), limits.max_pages), errors)
        images = {int(info["index"]): _load_page(outdir, info) for info in result.get("rendered", [])}
        clean = (outdir / "clean.pdf").read_bytes() if result.get("clean") else None
    notes: list[Reason] = []
    if result.get("repaired"):
        notes.append(REPAIRED)
    if result.get("opened_with_empty_password"):
        notes.append(
            Reason(
                "pdf_encrypted_no_password",
                "PDF 已加密但无需密码即可打开（可能限制了打印或复制）；规范化后的文件已去除加密。",
                "The PDF is encrypted but opens without a password (it may restrict printing or copying); "
                "the normalised copy is not encrypted.",
            )
        )
    if result.get("removed_attachments"):
        names = "、".join(result["removed_attachments"][:5])
        names_en = ", ".join(result["removed_attachments"][:5])
        notes.append(
            Reason(
                "pdf_attachments_removed",
                f"PDF 内嵌的附件（{names}）未纳入规范化文件；如附件是材料的一部分，请单独上传。",
                f"Files embedded in the PDF ({names_en}) were left out of "
                "the normalised copy; upload them separately if they are part of the material.",
            )
        )
    if result.get("removed_active_content"):
        notes.append(
            Reason(
                "pdf_active_content_removed",
                "PDF 中的脚本或自动动作已被移除。",
                "Scripts and automatic actions in the PDF were removed.",
            )
        )
    unrendered = [i for i, real in enumerate(result["page_real"]) if not real and i not in images]
    if unrendered:
        shown = ", ".join(str(i + 1) for i in unrendered[:10])
        notes.append(
            Reason(
                "pdf_pages_not_ocr",
                f"第 {shown} 页没有可用的文字层，且未能识别（页数超过识别上限或无法渲染）。",
                f"Page(s) {shown} have no usable text layer and were not OCR'd (over the OCR page limit "
                "or could not be rendered).",
            )
        )
    return PdfAnalysis(
        pages=int(result["pages"]),
        page_text=tuple(result["page_text"]),
        page_real=tuple(bool(x) for x in result["page_real"]),
        images=images,
        clean_pdf=clean,
        parser=str(result.get("parser")),
        encrypted=bool(result.get("encrypted")),
        opened_with_empty_password=bool(result.get("opened_with_empty_password")),
        removed_attachments=tuple(result.get("removed_attachments", ())),
        removed_active_content=int(result.get("removed_active_content", 0)),
        errors=errors,
        notes=tuple(notes),
    )
