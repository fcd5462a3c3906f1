"""What the ingest PDF worker runs on an untrusted PDF: text layer, page rasters, and a clean rewrite.

`pdftext.analyse_pdf` runs `run_job` in a forked worker (`onestop.sandbox`) that it kills on timeout
and whose address space is capped, so an xref loop, recursion or a zlib bomb costs one worker and never
the ingest function. Rendered pages and the clean copy are written to OUTDIR; the result is a dict.
"""

from __future__ import annotations

import io
import logging
import sys
import unicodedata
import warnings
from pathlib import Path
from typing import Any

# --- text quality (shared with pdftext; no heavy imports) -------------------------------------------

# Characters that real text in these documents is made of.
_MEANINGFUL_CATEGORIES = {"Lu", "Ll", "Lt", "Lo", "Nd"}


def _is_rare_cjk(ch: str) -> bool:
    """A CJK ideograph outside GB 2312 and Big5: in a mis-decoded text layer most 'characters' are these."""
    code = ord(ch)
    if 0x3400 <= code <= 0x4DBF or 0x20000 <= code <= 0x2FFFF:  # extension A and beyond
        return True
    if 0x4E00 <= code <= 0x9FFF:
        for codec in ("gb2312", "big5"):
            try:
                ch.encode(codec)
                return False
            except UnicodeEncodeError:
                continue
        return True
    return False


def text_quality(text: str) -> dict[str, int]:
    """Counts used to decide whether a text layer is real: meaningful, suspicious, CJK characters."""
    meaningful = suspicious = cjk = 0
    for ch in text:
        code = ord(ch)
        category = unicodedata.category(ch)
        broken = ch == "\ufffd" or category in ("Co", "Cs") or (category == "Cc" and ch not in "\n\r\t")
        # Spacing modifier letters (U+02B0-02FF) stand in for CJK punctuation in broken CMaps.
        if broken or 0x02B0 <= code <= 0x02FF:
            suspicious += 1
        elif _is_rare_cjk(ch):
            suspicious += 1
            cjk += 1
        elif category in _MEANINGFUL_CATEGORIES:
            meaningful += 1
            if 0x4E00 <= code <= 0x9FFF:
                cjk += 1
    return {"meaningful": meaningful, "suspicious": suspicious, "cjk": cjk}


MIN_REAL_CHARS = 8


def is_real_text(text: str) -> bool:
    """Enough meaningful characters and few that look like a mis-decoded font (mojibake)."""
    q = text_quality(text)
    if q["meaningful"] < MIN_REAL_CHARS:
        return False
    return not (q["suspicious"] >= 2 and q["suspicious"] > 0.03 * (q["meaningful"] + q["suspicious"]))


# --- the worker ------------------------------------------------------------------------------------


def _open_pypdf(data: bytes, result: dict[str, Any], max_nodes: int) -> Any:
    from pypdf import PdfReader

    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            result["encrypted"] = True
            if not reader.decrypt(""):
                result["status"] = "password_protected"
                return None
            result["opened_with_empty_password"] = True
        # Before the pages are listed: a parser that meets a loop gives up (pypdf) or papers over it
        # (pdfium counts pages that are not there); either way the file is damaged, and said so.
        damage = page_tree_damage(reader, max_nodes)
        if damage is not None:
            result["errors"].append(damage)
            result["status"] = "corrupt"
            return None
        _ = len(reader.pages)
        return reader
    except Exception as exc:  # a broken file may raise anything; the pdfium path gets a chance
        result["errors"].append(f"pypdf: {type(exc).__name__}: {str(exc)[:200]}")
        return None


MAX_PAGE_TREE_DEPTH = 64  # real files nest a few levels; deeper is a crafted file


def page_tree_damage(reader: Any, max_nodes: int) -> str | None:
    """What is structurally wrong with the page tree, or None: a node reached twice (a loop, which
    parsers paper over by counting pages that are not there), a node that is not a dictionary, /Kids
    that is not an array, nesting past MAX_PAGE_TREE_DEPTH. Walks at most `max_nodes` nodes."""
    from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject

    catalog = reader.trailer["/Root"].get_object()
    stack: list[tuple[Any, int]] = [(catalog.raw_get("/Pages"), 0)] if "/Pages" in catalog else []
    seen: set[tuple[int, int]] = set()
    walked = 0
    while stack and walked < max_nodes:
        ref, depth = stack.pop()
        walked += 1
        if depth > MAX_PAGE_TREE_DEPTH:
            return f"page tree nested deeper than {MAX_PAGE_TREE_DEPTH} levels"
        if isinstance(ref, IndirectObject):
            if (ref.idnum, ref.generation) in seen:
                return f"page tree reaches object {ref.idnum} twice (a loop or a shared node)"
            seen.add((ref.idnum, ref.generation))
        node = ref.get_object() if ref is not None else None
        if not isinstance(node, DictionaryObject):
            return "page tree node is not a dictionary"
        if node.get("/Type") == "/Pages" or "/Kids" in node:
            kids = node.raw_get("/Kids") if "/Kids" in node else None
            kids = kids.get_object() if isinstance(kids, IndirectObject) else kids
            if not isinstance(kids, ArrayObject):
                return "page tree node's /Kids is not an array"
            stack.extend((kid, depth + 1) for kid in reversed(kids))
    return None


def _open_pdfium(data: bytes, result: dict[str, Any]) -> Any:
    import pypdfium2 as pdfium

    try:
        return pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        result["errors"].append(f"pdfium: {str(exc)[:200]}")
        if exc.err_code == pdfium.raw.FPDF_ERR_PASSWORD:
            result["encrypted"] = True
            result["status"] = "password_protected"
        return None


def _page_text_pypdf(reader: Any, index: int, result: dict[str, Any]) -> str:
    try:
        return reader.pages[index].extract_text() or ""
    except RecursionError:
        result["errors"].append(f"page {index + 1}: recursion in page content")
        return ""
    except Exception as exc:
        result["errors"].append(f"page {index + 1}: {type(exc).__name__}: {str(exc)[:120]}")
        return ""


def _page_text_pdfium(doc: Any, index: int, result: dict[str, Any]) -> str:
    try:
        page = doc[index]
        return str(page.get_textpage().get_text_range())
    except Exception as exc:
        result["errors"].append(f"page {index + 1} (pdfium): {type(exc).__name__}: {str(exc)[:120]}")
        return ""


def _render(doc: Any, index: int, params: dict[str, Any], outdir: Path) -> dict[str, Any] | None:
    page = doc[index]
    width_pt, height_pt = page.get_size()  # crop box, after /Rotate
    scale = params["render_dpi"] / 72.0
    pixels = width_pt * height_pt * scale * scale
    if pixels > params["max_render_pixels"]:
        scale *= (params["max_render_pixels"] / pixels) ** 0.5
    if width_pt * scale < 1 or height_pt * scale < 1:
        return None
    bitmap = page.render(scale=scale, rev_byteorder=True, may_draw_forms=True)
    width, height, stride = bitmap.width, bitmap.height, bitmap.stride
    channels = {"BGR": 3, "RGB": 3, "BGRA": 4, "RGBA": 4, "BGRX": 4, "RGBX": 4, "L": 1}.get(bitmap.mode, 4)
    name = f"page-{index}.raw"
    (outdir / name).write_bytes(bytes(bitmap.buffer))
    return {
        "index": index,
        "file": name,
        "width": width,
        "height": height,
        "stride": stride,
        "mode": bitmap.mode,
        "channels": channels,
    }


_ACTIVE_ACTIONS = ("/JavaScript", "/Launch", "/ImportData", "/SubmitForm", "/Rendition")


def _strip_active_content(writer: Any, result: dict[str, Any]) -> None:
    from pypdf.generic import NameObject

    removed_js = 0
    for page in writer.pages:
        if "/AA" in page:
            del page[NameObject("/AA")]
            removed_js += 1
        annots = page.get("/Annots")
        if annots is None:
            continue
        keep = []
        for ref in annots.get_object():
            annot = ref.get_object()
            subtype = annot.get("/Subtype")
            action = annot.get("/A")
            action = action.get_object() if action is not None else None
            kind = action.get("/S") if action is not None else None
            if subtype == "/FileAttachment":
                result["removed_attachments"].append(str(annot.get("/Contents") or "annotation"))
                continue
            if kind in _ACTIVE_ACTIONS or "/AA" in annot:
                removed_js += 1
                continue
            keep.append(ref)
        page[NameObject("/Annots")] = type(annots.get_object())(keep)
    result["removed_active_content"] += removed_js


def _rewrite_pypdf(reader: Any, outdir: Path, result: dict[str, Any]) -> bool:
    """Copy only the pages (not the catalogue's attachments, scripts, open actions) into a new file."""
    from pypdf import PdfWriter

    try:
        result["removed_attachments"].extend(sorted(reader.attachments))
    except Exception as exc:
        result["errors"].append(f"attachments: {type(exc).__name__}")
    root = reader.trailer.get("/Root")
    root = root.get_object() if root is not None else {}
    names = root.get("/Names")
    names = names.get_object() if names is not None else {}
    open_ref = root.get("/OpenAction")
    open_action: Any = open_ref.get_object() if open_ref is not None else None
    # An /OpenAction that only sets the initial view is harmless; scripts and launches are not.
    scripted_open = isinstance(open_action, dict) and open_action.get("/S") in _ACTIVE_ACTIONS
    if "/JavaScript" in names or scripted_open or "/AA" in root:
        result["removed_active_content"] += 1
    writer = PdfWriter()
    for page in reader.pages:
        writer.add_page(page)
    _strip_active_content(writer, result)
    buffer = io.BytesIO()
    writer.write(buffer)
    (outdir / "clean.pdf").write_bytes(buffer.getvalue())
    return True


def _rewrite_pdfium(doc: Any, outdir: Path, result: dict[str, Any]) -> bool:
    import pypdfium2 as pdfium

    clean = pdfium.PdfDocument.new()
    clean.import_pages(doc)
    buffer = io.BytesIO()
    clean.save(buffer)
    (outdir / "clean.pdf").write_bytes(buffer.getvalue())
    return True


def analyse(data: bytes, params: dict[str, Any], outdir: Path) -> dict[str, Any]:
    result: dict[str, Any] = {
        "status": "ok",
        "parser": None,
        "encrypted": False,
        "opened_with_empty_password": False,
        "pages": 0,
        "page_text": [],
        "page_real": [],
        "page_sizes": [],
        "rendered": [],
        "removed_attachments": [],
        "removed_active_content": 0,
        "errors": [],
        "clean": False,
    }
    reader = _open_pypdf(data, result, max_nodes=4 * params["max_pages"] + 64)
    if result["status"] in ("password_protected", "corrupt"):
        return result
    doc = _open_pdfium(data, result)
    if result["status"] == "password_protected":
        return result
    if reader is None and doc is None:
        result["status"] = "corrupt"
        return result
    result["parser"] = "pypdf" if reader is not None else "pdfium"
    pages = len(reader.pages) if reader is not None else len(doc)
    result["pages"] = pages
    if pages == 0:
        result["status"] = "no_pages"
        return result
    if pages > params["max_pages"]:
        result["status"] = "too_many_pages"
        return result
    for index in range(pages):
        text = _page_text_pypdf(reader, index, result) if reader is not None else ""
        if not is_real_text(text) and doc is not None:
            alt = _page_text_pdfium(doc, index, result)
            if is_real_text(alt):
                text = alt
        result["page_text"].append(text)
        result["page_real"].append(is_real_text(text))
        if doc is not None:
            try:
                width_pt, height_pt = doc[index].get_size()
                result["page_sizes"].append([width_pt, height_pt])
            except Exception:
                result["page_sizes"].append(None)
    to_render = [i for i, real in enumerate(result["page_real"]) if not real][: params["max_ocr_pages"]]
    if doc is not None:
        for index in to_render:
            try:
                rendered = _render(doc, index, params, outdir)
            except Exception as exc:
                result["errors"].append(f"render page {index + 1}: {type(exc).__name__}: {str(exc)[:120]}")
                continue
            if rendered is not None:
                result["rendered"].append(rendered)
    try:
        result["clean"] = _rewrite_pypdf(reader, outdir, result) if reader is not None else False
    except Exception as exc:
        result["errors"].append(f"rewrite (pypdf): {type(exc).__name__}: {str(exc)[:120]}")
    if not result["clean"] and doc is not None:
        try:
            result["clean"] = _rewrite_pdfium(doc, outdir, result)
        except Exception as exc:
            result["errors"].append(f"rewrite (pdfium): {type(exc).__name__}: {str(exc)[:120]}")
    return result


def quiet() -> None:
    """Worker start-up: pypdf logs every repair it makes; the result says what matters."""
    sys.setrecursionlimit(3000)
    logging.disable(logging.WARNING)
    warnings.simplefilter("ignore")


def run_job(data: bytes, params: dict[str, Any], outdir: str) -> dict[str, Any]:
    """`analyse` with recursion reported as a corrupt file (MemoryError ends the worker: see sandbox)."""
    try:
        return analyse(data, params, Path(outdir))
    except RecursionError:
        return {"status": "corrupt", "errors": ["recursion limit reached"]}
