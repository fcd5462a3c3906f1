"""What the ingest PDF worker runs on an untrusted PDF: text layer, page rasters, and a clean rewrite.

`pdftext.analyse_pdf` runs `run_job` in a worker process (`onestop.sandbox`, a fresh interpreter) that
it kills on timeout and whose address space is capped, so an xref loop, recursion or a zlib bomb costs
one worker and never the ingest function. Rendered pages and the clean copy are written to OUTDIR; the
result is a dict whose "status" is ok, password_protected, damaged, too_complex, no_pages or
too_many_pages.

pypdf reads the file first and vets it: damage (a looping page tree or cross-reference chain, no
cross-reference at all, a repair that lost objects) and bombs (streams past the decode caps, images
declaring more pixels than allowed) are refused before PDFium, which decodes without limits, sees a page.
"""

from __future__ import annotations

import io
import logging
import re
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
        # Spacing modifier letters (U+02B0-02FF) stand in for CJK punctuation in broken CMaps, control
        # pictures (U+2400-243F) for kana of a CID font read without its CMap (pdfminer simple3).
        if broken or 0x02B0 <= code <= 0x02FF or 0x2400 <= code <= 0x243F:
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


class _RepairLog(logging.Handler):
    """pypdf says what it repaired (or could not) as warnings on its loggers; the worker reads them."""

    MAX = 2000

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[tuple[str, str]] = []  # (message template, message)

    def emit(self, record: logging.LogRecord) -> None:
        if len(self.records) < self.MAX:
            self.records.append((str(record.msg), record.getMessage()[:200]))


REPAIR_LOG = _RepairLog()

# pypdf's (7.x) warning templates: a rebuilt or corrected cross-reference, which is a repair ...
_XREF_REPAIRS = (
    "incorrect startxref pointer",
    "rebuild xref",
    "not zero-indexed",
    "Ignoring wrong pointing object",
    "Negative startxref pointer",
)
# ... a loop in the chain of updates (which revision is current cannot be told): damage ...
_XREF_LOOP = "Circular xref chain"
# ... and a reference to an object that is not there. Legal in a sound file (it reads as null), but
# after a rebuilt cross-reference it means the rebuild lost that object.
_MISSING_OBJECT = re.compile(r"Object (\d+) (\d+) not defined")


def _repairs() -> list[str]:
    return [message for template, message in REPAIR_LOG.records if any(r in template for r in _XREF_REPAIRS)]


def xref_damage(rebuilt: bool = False) -> str | None:
    """Damage to the cross-reference that pypdf reported while reading, or None (see REPAIR_LOG).
    `rebuilt`: the cross-reference was rebuilt before pypdf read the file (by PDFium)."""
    for template, message in REPAIR_LOG.records:
        if _XREF_LOOP in template:
            return f"the chain of cross-reference sections loops ({message})"
    if rebuilt or _repairs():
        for _, message in REPAIR_LOG.records:
            missing = _MISSING_OBJECT.search(message)
            if missing:
                return (
                    f"the cross-reference was rebuilt and object {missing[1]} {missing[2]}, which the "
                    "document uses, is not in the file"
                )
    return None


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
        damage = xref_damage() or page_tree_damage(reader, max_nodes)
        if damage is not None:
            result["errors"].append(damage)
            result["status"] = "damaged"
            return None
        _ = len(reader.pages)
        return reader
    except RecursionError:
        raise
    except Exception as exc:  # a broken file may raise anything: no cross-reference, no trailer, ...
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


class Hostile(Exception):
    """The file would make PDFium decode more than the caps allow (a bomb)."""


class Damaged(Exception):
    """The file's structure is broken in a way no reader can show faithfully."""


MAX_FORM_DEPTH = 32  # forms inside forms: real files nest a few; PDFium gives up deeper


_SKIP_KEYS = frozenset({"/Parent", "/P", "/Dest", "/A", "/Next", "/First", "/Last", "/Prev", "/StructParent"})


class _Preflight:
    """Decode, under pypdf's caps, every stream PDFium would decode to show the pages: contents, forms,
    fonts, patterns, shadings, colour profiles, annotation appearances. Images are not decoded (PDFium
    decodes at most their declared size): their declared pixels are checked instead. A bomb raises
    `Hostile` here, before PDFium parses the page."""

    def __init__(self, max_stream: int, max_total: int, max_pixels: int, max_nodes: int) -> None:
        self.max_stream, self.max_total, self.max_pixels = max_stream, max_total, max_pixels
        self.nodes_left = max_nodes
        self.decoded = 0
        self.seen: set[int] = set()
        self.forms_clear: set[int] = set()

    def page(self, index: int, page: Any) -> None:
        from pypdf.errors import LimitReachedError

        try:
            self._forms(page.get("/Resources"), ())
            self._walk([page.raw_get(key) for key in ("/Contents", "/Resources", "/Annots") if key in page])
        except LimitReachedError as exc:
            raise Hostile(f"page {index + 1}: {exc}") from exc
        except Hostile as exc:
            raise Hostile(f"page {index + 1}: {exc}") from exc
        except Damaged as exc:
            raise Damaged(f"page {index + 1}: {exc}") from exc

    def _forms(self, resources: Any, path: tuple[int, ...]) -> None:
        """Form XObjects that draw themselves, directly or through others (a loop PDFium and pypdf
        each cut off somewhere of their own choosing), or nest past MAX_FORM_DEPTH."""
        from pypdf.generic import DictionaryObject, IndirectObject

        resources = resources.get_object() if isinstance(resources, IndirectObject) else resources
        if not isinstance(resources, DictionaryObject):
            return
        xobjects = resources.get("/XObject")
        if not isinstance(xobjects, DictionaryObject):
            return
        for ref in xobjects.values():
            if not isinstance(ref, IndirectObject) or ref.idnum in self.forms_clear:
                continue
            if ref.idnum in path:
                chain = " -> ".join(str(n) for n in (*path[path.index(ref.idnum) :], ref.idnum))
                raise Damaged(f"form XObjects draw each other in a loop (objects {chain})")
            form = ref.get_object()
            if not isinstance(form, DictionaryObject) or form.get("/Subtype") != "/Form":
                continue
            if len(path) >= MAX_FORM_DEPTH:
                raise Hostile(f"form XObjects nested deeper than {MAX_FORM_DEPTH} levels")
            self._forms(form.get("/Resources"), (*path, ref.idnum))
            self.forms_clear.add(ref.idnum)

    def _walk(self, stack: list[Any]) -> None:
        from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, StreamObject

        containers = (IndirectObject, DictionaryObject, ArrayObject)
        while stack and self.nodes_left > 0:  # past the budget PDFium is left to the memory cap
            item = stack.pop()
            if isinstance(item, IndirectObject):
                key = (item.idnum << 16) | item.generation
                if key in self.seen:
                    continue
                self.seen.add(key)
                self.nodes_left -= 1
                try:
                    item = item.get_object()
                except RecursionError:
                    raise
                except Exception:  # noqa: S112 - an unreadable object: PDFium skips it as well
                    continue
            if isinstance(item, StreamObject):
                self._stream(item)
            # Only what can lead to a stream: numbers, names and strings (a font's /W array holds
            # thousands) are not worth a visit.
            if isinstance(item, DictionaryObject):
                stack.extend(v for k, v in item.items() if k not in _SKIP_KEYS and isinstance(v, containers))
            elif isinstance(item, ArrayObject):
                stack.extend(v for v in item if isinstance(v, containers))

    def _stream(self, stream: Any) -> None:
        from pypdf.errors import LimitReachedError

        if stream.get("/Subtype") == "/Image" or ("/Width" in stream and "/Height" in stream):
            width, height = stream.get("/Width"), stream.get("/Height")
            if isinstance(width, int) and isinstance(height, int) and width * height > self.max_pixels:
                raise Hostile(f"an image declares {width} x {height} pixels (limit {self.max_pixels:,})")
            encoded = _encoded_image_size(stream)
            if encoded is not None and encoded[0] * encoded[1] > self.max_pixels:
                width, height = encoded  # PDFium decodes at the JPEG's own size: 30 s and 360 MB for 65,000²
                raise Hostile(
                    f"an embedded JPEG declares {width} x {height} pixels (limit {self.max_pixels:,})"
                )
            return
        cached = getattr(stream, "decoded_self", None)
        try:
            size = len(stream.get_data())
        except (LimitReachedError, RecursionError, MemoryError):
            raise
        except Exception:  # an unknown filter or broken data: nothing for PDFium to inflate either
            return
        finally:
            if cached is None and hasattr(stream, "decoded_self"):
                stream.decoded_self = None  # keep the memory of what was only measured
        if size > self.max_stream:
            raise Hostile(f"a stream decodes to {size:,} bytes (limit {self.max_stream:,})")
        self.decoded += size
        if self.decoded > self.max_total:
            raise Hostile(f"the streams of the file decode to more than {self.max_total:,} bytes")


def _encoded_image_size(stream: Any) -> tuple[int, int] | None:
    """The size a JPEG / JPEG 2000 image stream declares in its own header (which may differ from the
    dictionary's /Width and /Height), or None. Pillow reads the header only."""
    from PIL import Image

    filters = stream.get("/Filter")
    names = [filters] if isinstance(filters, str) else list(filters or [])
    if len(names) != 1 or names[0] not in ("/DCTDecode", "/DCT", "/JPXDecode"):
        return None
    previous, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None  # the header is all that is read
    try:
        with Image.open(io.BytesIO(getattr(stream, "_data", b""))) as image:
            return image.size
    except Exception:  # not readable: PDFium will not draw it either
        return None
    finally:
        Image.MAX_IMAGE_PIXELS = previous


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


def _rebuild(data: bytes, result: dict[str, Any]) -> bytes:
    """pypdf found no usable cross-reference or trailer. A complete file (it ends with its %%EOF
    marker) that PDFium can open is rewritten by PDFium with a new cross-reference, to be read and
    vetted by pypdf like any other; a file cut short (no marker: an interrupted download or copy) is
    damaged, since what PDFium would show of it is a guess. PDFium also tells a password (its error
    code says so) from damage."""
    doc = _open_pdfium(data, result)
    if result["status"] != "ok":
        return data
    if b"%%EOF" not in data[-1024:]:
        result["errors"].append("the file ends without its %%EOF marker: it was cut short")
        result["status"] = "damaged"
        return data
    if doc is None:
        result["status"] = "damaged"
        return data
    try:
        buffer = io.BytesIO()
        doc.save(buffer)
        return buffer.getvalue()
    except Exception as exc:
        result["errors"].append(f"rebuild (pdfium): {type(exc).__name__}: {str(exc)[:120]}")
        result["status"] = "damaged"
        return data


def _decode_caps(params: dict[str, Any]) -> dict[str, Any]:
    """pypdf's own decoding limits (pypdf.Configuration), lowered from its 75 MB defaults to ours."""
    cap = int(params["max_stream_bytes"])
    return {
        "zlib_maximum_output_length": cap,
        "lzw_maximum_output_length": cap,
        "run_length_maximum_output_length": cap,
        "brotli_maximum_output_length": cap,
        "jbig2_maximum_output_length": cap,
        "array_based_stream_maximum_output_length": cap,
        "stream_decoding_work_maximum_length": 2 * cap,
        "maximum_declared_stream_length": cap,
        "image_maximum_buffer_size": cap,
    }


def analyse(data: bytes, params: dict[str, Any], outdir: Path) -> dict[str, Any]:
    from pypdf import apply_configuration

    REPAIR_LOG.records.clear()
    with apply_configuration(**_decode_caps(params)):
        return _analyse(data, params, outdir)


def _analyse(data: bytes, params: dict[str, Any], outdir: Path) -> dict[str, Any]:
    result: dict[str, Any] = {
        "status": "ok",
        "parser": None,
        "encrypted": False,
        "opened_with_empty_password": False,
        "repaired": [],
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
    max_nodes = 4 * params["max_pages"] + 64
    reader = _open_pypdf(data, result, max_nodes)
    if result["status"] != "ok":
        return result
    rebuilt = False
    if reader is None:
        data = _rebuild(data, result)
        if result["status"] != "ok":
            return result
        reader, rebuilt = _open_pypdf(data, result, max_nodes), True
        if result["status"] != "ok":
            return result
        if reader is None:
            result["status"] = "damaged"
            return result
    result["parser"] = "pypdf"
    pages = len(reader.pages)
    result["pages"] = pages
    if pages == 0:
        result["status"] = "no_pages"
        return result
    if pages > params["max_pages"]:
        result["status"] = "too_many_pages"
        return result
    preflight = _Preflight(
        params["max_stream_bytes"], params["max_decoded_bytes"], params["max_pixels"], max_nodes=50_000
    )
    try:
        for index in range(pages):
            preflight.page(index, reader.pages[index])
    except (Hostile, Damaged) as exc:
        result["errors"].append(str(exc))
        result["status"] = "too_complex" if isinstance(exc, Hostile) else "damaged"
        return result
    texts = [_page_text_pypdf(reader, index, result) for index in range(pages)]
    damage = xref_damage(rebuilt)  # text extraction resolved the objects the pages use
    if damage is not None:
        result["errors"].append(damage)
        result["status"] = "damaged"
        return result
    result["repaired"] = ["the cross-reference was missing; rebuilt from the objects"] if rebuilt else []
    result["repaired"] += _repairs()[:5]
    doc = _open_pdfium(data, result)
    if result["status"] != "ok":
        return result
    if result["repaired"] and doc is not None and len(doc) != pages:
        result["errors"].append(f"after the repair pypdf reads {pages} page(s) and PDFium {len(doc)}")
        result["status"] = "damaged"
        return result
    for index in range(pages):
        text = texts[index]
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
        result["clean"] = _rewrite_pypdf(reader, outdir, result)
    except Exception as exc:
        result["errors"].append(f"rewrite (pypdf): {type(exc).__name__}: {str(exc)[:120]}")
    if not result["clean"] and doc is not None:
        try:
            result["clean"] = _rewrite_pdfium(doc, outdir, result)
        except Exception as exc:
            result["errors"].append(f"rewrite (pdfium): {type(exc).__name__}: {str(exc)[:120]}")
    return result


def quiet() -> None:
    """Worker start-up: pypdf's warnings (every repair it makes) go to REPAIR_LOG, not to the log."""
    sys.setrecursionlimit(3000)
    logging.getLogger().setLevel(logging.ERROR)
    pypdf_log = logging.getLogger("pypdf")
    pypdf_log.setLevel(logging.WARNING)
    pypdf_log.propagate = False
    if REPAIR_LOG not in pypdf_log.handlers:
        pypdf_log.addHandler(REPAIR_LOG)
    warnings.simplefilter("ignore")


def run_job(data: bytes, params: dict[str, Any], outdir: str) -> dict[str, Any]:
    """`analyse` with recursion (objects that contain themselves) reported as damage (MemoryError ends
    the worker: see sandbox)."""
    try:
        return analyse(data, params, Path(outdir))
    except RecursionError:
        return {"status": "damaged", "errors": ["objects nested without end (recursion limit reached)"]}
