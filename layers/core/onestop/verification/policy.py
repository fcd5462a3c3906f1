"""Our own post-seal policy: what may follow the sealed revision, decided by allowlist.

A licence is sealed with DocMDP "no changes". After the sealed revision we accept exactly two kinds of
incremental update, and every object each update writes must be accounted for by one of them:

- validation data: the `/DSS` dictionary and what it references (certificates, OCSP responses, CRLs,
  VRI entries), the catalog gaining or changing `/DSS` (and `/Extensions`, `/Version`);
- document timestamps: a new signature field whose value is typed `/DocTimeStamp` and whose widget is
  provably invisible (`/Subtype /Widget`, no `/Rect` or four *numbers* of zero area, no appearance, no
  action), with the AcroForm `/Fields` and the page `/Annots` arrays gaining exactly that field. The
  timestamps themselves are validated elsewhere (`timestamps.py`).

Plus the bookkeeping every incremental writer does: `/ModDate` and `/Producer` in `/Info`, the
modification date and producer in the XMP packet, and the update's own xref (stream) and object
streams. Everything else is a finding: a changed page, an annotation, a form field, an action, an
outline, a name tree, metadata, a redefined or orphan object, an object freed, an xref entry pointing
outside its revision, bytes no xref lists, a hybrid xref. pyHanko's difference analysis stays as a
second opinion (checks.py); it is never the only one: it counted a `/Rect` holding a string as zero
area and let a visible overlay through.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.reader import HistoricalResolver, PdfFileReader
from pyhanko.pdf_utils.xref import ObjStreamRef, XRefSectionType

MAX_WALK = 4096  # objects visited per revision when collecting DSS data or page trees
MAX_PAGES = 64  # a licence has one page; anything this large is not one of ours

# Codes, most telling first: the report names the first kind found and lists all of them.
ANNOTATION = "annotation_added_after_sealing"
FIELD = "form_field_added_after_sealing"
PAGE = "page_changed_after_sealing"
METADATA = "metadata_changed_after_sealing"
DOCUMENT = "document_changed_after_sealing"
TIMESTAMP_VISIBLE = "timestamp_not_invisible"
SEAL_REMOVED = "seal_removed"
XREF = "xref_manipulated"
REDEFINED = "object_changed_after_sealing"
ORPHAN = "orphan_object_after_sealing"
PRIORITY = (
    SEAL_REMOVED,
    ANNOTATION,
    TIMESTAMP_VISIBLE,
    FIELD,
    PAGE,
    METADATA,
    DOCUMENT,
    XREF,
    REDEFINED,
    ORPHAN,
)

# Keys the catalog may gain or change in an allowed update.
_CATALOG_ALLOWED = frozenset({"/DSS", "/Extensions", "/Version", "/AcroForm"})
_INFO_ALLOWED = frozenset({"/ModDate", "/Producer"})
_ACROFORM_ALLOWED = frozenset({"/Fields", "/SigFlags"})
_CATALOG_NAMED = {
    "/OpenAction": "an action run when the document opens",
    "/AA": "document actions",
    "/Names": "the name tree (JavaScript, embedded files, destinations)",
    "/Outlines": "the outline (bookmarks)",
    "/Metadata": "the XMP metadata reference",
    "/Pages": "the page tree",
    "/Perms": "the DocMDP permissions",
}
_TIMESTAMP_WIDGET_KEYS = frozenset(
    {"/FT", "/T", "/TU", "/TM", "/Type", "/Subtype", "/F", "/Rect", "/P", "/V", "/Ff"}
)
_TIMESTAMP_VALUE_KEYS = frozenset(
    {"/Type", "/Filter", "/SubFilter", "/Contents", "/ByteRange", "/M", "/Name", "/Reason", "/Location",
     "/ContactInfo", "/Prop_Build", "/Prop_AuthTime", "/Prop_AuthType"}
)  # fmt: skip
# XMP properties any incremental writer updates; removed before comparing two packets.
_XMP_BOOKKEEPING = re.compile(
    rb"""\s(?:xmp:ModifyDate|xmp:MetadataDate|pdf:Producer|x:xmptk)\s*=\s*(?:"[^"]*"|'[^']*')"""
    rb"|<(xmp:ModifyDate|xmp:MetadataDate|pdf:Producer)>[^<]*</\1>"
)
_OBJ_HEADER = re.compile(rb"(\d{1,10})\s+(\d{1,5})\s+obj\b")
_COMMENT_OR_SPACE = re.compile(rb"(?:[\x00\t\n\x0c\r ]+|%[^\r\n]*)*")


@dataclass(frozen=True)
class Finding:
    """One thing a later update did that the policy does not allow."""

    code: str
    revision: int
    what: str
    ref: str | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code, "revision": self.revision, "what": self.what}
        if self.ref:
            out["object"] = self.ref
        return out


@dataclass(frozen=True)
class TimestampField:
    """A document timestamp field the policy admitted structurally (validated later)."""

    name: str
    field_ref: generic.Reference
    revision: int


@dataclass
class UpdateReview:
    """The verdict of the policy over every revision after the sealed one."""

    updates: int
    findings: list[Finding] = field(default_factory=list)
    timestamps: list[TimestampField] = field(default_factory=list)
    dss_revisions: list[int] = field(default_factory=list)

    @property
    def allowed(self) -> bool:
        return not self.findings

    def first(self) -> Finding:
        return min(self.findings, key=lambda f: PRIORITY.index(f.code) if f.code in PRIORITY else 99)


def _raw(obj: Any, key: str) -> Any:
    """`obj[key]` without dereferencing, None when absent or when `obj` is not a dictionary."""
    if not isinstance(obj, generic.DictionaryObject) or key not in obj:
        return None
    return obj.raw_get(key)


def _ref(ref: generic.Reference | None) -> str | None:
    return f"{ref.idnum} {ref.generation} R" if ref is not None else None


def _deref(value: Any, resolver: HistoricalResolver) -> Any:
    if isinstance(value, generic.IndirectObject):
        return _resolve(resolver, value.reference)
    return value


def _as_ref(value: Any) -> generic.Reference | None:
    return value.reference if isinstance(value, generic.IndirectObject) else None


def _resolve(resolver: HistoricalResolver, ref: generic.Reference) -> Any:
    try:
        return resolver.get_object(ref)
    except Exception:
        return None


def _is_number(x: Any) -> bool:
    return isinstance(x, (generic.NumberObject, generic.FloatObject)) and not isinstance(x, bool)


def _zero_area_rect(rect: Any) -> bool:
    """No /Rect, or four numbers enclosing zero area. A string "number" is NOT zero area: viewers
    (PDFium) parse it and draw the annotation."""
    if rect is None:
        return True
    if not isinstance(rect, generic.ArrayObject) or len(rect) != 4 or not all(_is_number(x) for x in rect):
        return False
    x1, y1, x2, y2 = (float(x) for x in rect)
    return x1 == x2 or y1 == y2


def _ref_list(value: Any, resolver: HistoricalResolver) -> list[generic.Reference] | None:
    """An array of indirect references (as /Fields and /Annots must be), else None."""
    array = _deref(value, resolver)
    if array is None:
        return []
    if not isinstance(array, generic.ArrayObject):
        return None
    refs = [_as_ref(x) for x in array]
    return None if any(r is None for r in refs) else [r for r in refs if r is not None]


def _changed_keys(old: generic.DictionaryObject, new: generic.DictionaryObject) -> set[str]:
    keys = set(old.keys()) | set(new.keys())
    return {k for k in keys if _raw(old, k) != _raw(new, k)}


def _pages(resolver: HistoricalResolver, root: Any) -> dict[generic.Reference, generic.DictionaryObject]:
    """Page references of the page tree (bounded walk)."""
    out: dict[generic.Reference, generic.DictionaryObject] = {}
    pages = _raw(root, "/Pages")
    stack = [pages]
    visited = 0
    while stack and visited < MAX_WALK and len(out) <= MAX_PAGES:
        node_ref = stack.pop()
        visited += 1
        ref = _as_ref(node_ref)
        node = _deref(node_ref, resolver)
        if not isinstance(node, generic.DictionaryObject):
            continue
        if node.get("/Type") == "/Page" and ref is not None:
            out[ref] = node
        kids = _deref(_raw(node, "/Kids"), resolver)
        if isinstance(kids, generic.ArrayObject):
            stack.extend(reversed(list(kids)))
    return out


def _reachable(value: Any, resolver: HistoricalResolver, limit: int = MAX_WALK) -> set[generic.Reference]:
    """Every indirect object reachable from `value` (bounded): the DSS subtree."""
    seen: set[generic.Reference] = set()
    stack = [value]
    while stack and len(seen) < limit:
        item = stack.pop()
        ref = _as_ref(item)
        if ref is not None:
            if ref in seen:
                continue
            seen.add(ref)
            item = _resolve(resolver, ref)
        if isinstance(item, generic.StreamObject):
            stack.extend(v for k, v in item.items() if k not in ("/Length",))
        elif isinstance(item, generic.DictionaryObject):
            stack.extend(item.values())
        elif isinstance(item, generic.ArrayObject):
            stack.extend(item)
    return seen


def _xmp_bytes(stream: Any) -> bytes | None:
    if not isinstance(stream, generic.StreamObject):
        return None
    try:
        return bytes(stream.data)
    except Exception:
        return None


def _xmp_same(old: Any, new: Any) -> bool:
    a, b = _xmp_bytes(old), _xmp_bytes(new)
    if a is None or b is None:
        return False
    return _XMP_BOOKKEEPING.sub(b"", a) == _XMP_BOOKKEEPING.sub(b"", b)


def _annotation_kind(obj: Any) -> str | None:
    if isinstance(obj, generic.DictionaryObject) and (
        "/Subtype" in obj and ("/Rect" in obj or obj.get("/Type") == "/Annot")
    ):
        return str(obj.get("/Subtype"))
    return None


class _RevisionReview:
    """The review of one revision `r` against `r - 1`."""

    def __init__(
        self, reader: PdfFileReader, data: bytes, r: int, seal_field: generic.Reference | None
    ) -> None:
        self.reader, self.data, self.r = reader, data, r
        self.old = reader.get_historical_resolver(r - 1)
        self.new = reader.get_historical_resolver(r)
        self.findings: list[Finding] = []
        self.accounted: set[generic.Reference] = set()
        self.timestamps: list[TimestampField] = []
        self.dss = False
        self.seal_field = seal_field

    def find(self, code: str, what: str, ref: generic.Reference | None = None) -> None:
        self.findings.append(Finding(code, self.r, what, _ref(ref)))

    # ------------------------------------------------------------------ xref layer

    def xref_layer(self) -> set[generic.Reference]:
        """The refs this revision writes, after checking that its xref describes only its own bytes."""
        xrefs = self.reader.xrefs
        meta = xrefs.get_xref_container_info(self.r)
        if meta.xref_section_type == XRefSectionType.HYBRID_MAIN:
            self.find(XREF, "a hybrid cross-reference section (table plus /XRefStm) in an update")
        lo = xrefs.get_startxref_for_revision(self.r - 1)
        hi = xrefs.get_startxref_for_revision(self.r)
        section = xrefs.get_xref_data(self.r)
        offsets: dict[int, generic.Reference] = {}
        for idnum, (generation, offset) in section.standard_xrefs.items():
            ref = generic.Reference(idnum, generation)
            if not lo < offset <= hi:
                self.find(XREF, f"an xref entry pointing outside its update (offset {offset})", ref)
            offsets[offset] = ref
        for idnum, loc in section.xrefs_in_objstm.items():
            if not isinstance(loc, ObjStreamRef) or loc.obj_stream_id not in section.standard_xrefs:
                self.find(XREF, "an object in an object stream of another revision", generic.Reference(idnum))
        for idnum, next_gen in section.freed.items():
            if next_gen > 0:
                self.find(REDEFINED, "an object was deleted (freed)", generic.Reference(idnum, next_gen - 1))
        self._unlisted_bytes(lo, hi, offsets, meta.stream_ref)
        self.accounted |= {generic.Reference(i, 0) for i in section.obj_streams_used}
        if meta.stream_ref is not None:
            self.accounted.add(meta.stream_ref)
        return set(xrefs.explicit_refs_in_revision(self.r))

    def _unlisted_bytes(
        self, lo: int, hi: int, offsets: dict[int, generic.Reference], xref_stream: generic.Reference | None
    ) -> None:
        """Between the previous %%EOF and this xref, only listed objects, whitespace and comments."""
        data = self.data
        eof = data.find(b"%%EOF", lo)
        pos = eof + 5 if 0 <= eof < hi else lo
        for offset in sorted(o for o in offsets if pos <= o < hi):
            if not _COMMENT_OR_SPACE.fullmatch(data, pos, offset):
                self.find(XREF, f"bytes no cross-reference section lists (offset {pos})")
                return
            end = data.find(b"endobj", offset, hi)
            if end < 0:
                self.find(XREF, f"an object without endobj (offset {offset})", offsets[offset])
                return
            pos = end + len(b"endobj")
        if xref_stream is None and not _COMMENT_OR_SPACE.fullmatch(data, pos, hi):
            self.find(XREF, f"bytes no cross-reference section lists (offset {pos})")

    # ------------------------------------------------------------------ objects

    def review(self) -> None:
        written = self.xref_layer()
        old_trailer, new_trailer = self.old.trailer_view, self.new.trailer_view
        for key in ("/Root", "/Info", "/Encrypt"):
            if _raw(old_trailer, key) != _raw(new_trailer, key):
                code = METADATA if key == "/Info" else DOCUMENT
                self.find(code, f"the trailer's {key} was replaced")
        root_ref = _as_ref(_raw(new_trailer, "/Root"))
        old_root = _deref(_raw(old_trailer, "/Root"), self.old)
        new_root = _deref(_raw(new_trailer, "/Root"), self.new)
        if not isinstance(old_root, generic.DictionaryObject) or not isinstance(
            new_root, generic.DictionaryObject
        ):
            self.find(DOCUMENT, "the document catalog is missing")
            return
        if root_ref is not None and root_ref in written:
            self.accounted.add(root_ref)
            self._catalog(old_root, new_root)
        new_fields = self._acroform(old_root, new_root, written)
        self._pages(old_root, new_root, written, new_fields)
        self._info(written)
        self._xmp(old_root, new_root, written)
        self._dss(new_root, written)
        for ref in sorted(written - self.accounted, key=lambda r: (r.idnum, r.generation)):
            self._unaccounted(ref)

    def _catalog(self, old: generic.DictionaryObject, new: generic.DictionaryObject) -> None:
        for key in sorted(_changed_keys(old, new)):
            if key not in _CATALOG_ALLOWED:
                what = _CATALOG_NAMED.get(key, f"the catalog entry {key}")
                self.find(METADATA if key == "/Metadata" else DOCUMENT, f"{what} changed")
            elif key == "/Version" and not isinstance(_raw(new, key), generic.NameObject):
                self.find(DOCUMENT, "the catalog /Version is not a name")
        if "/DSS" in new and _raw(old, "/DSS") != _raw(new, "/DSS"):
            self.dss = True

    def _acroform(
        self,
        old_root: generic.DictionaryObject,
        new_root: generic.DictionaryObject,
        written: set[generic.Reference],
    ) -> dict[generic.Reference, Any]:
        """New fields (checked as timestamps) after checking that the AcroForm only gained them."""
        old_form = _deref(_raw(old_root, "/AcroForm"), self.old)
        new_form = _deref(_raw(new_root, "/AcroForm"), self.new)
        form_ref = _as_ref(_raw(new_root, "/AcroForm"))
        if form_ref is not None and form_ref in written:
            self.accounted.add(form_ref)
        if not isinstance(new_form, generic.DictionaryObject):
            if isinstance(old_form, generic.DictionaryObject):
                self.find(SEAL_REMOVED, "the form holding the seal was removed")
            return {}
        old_form = old_form if isinstance(old_form, generic.DictionaryObject) else generic.DictionaryObject()
        for key in sorted(_changed_keys(old_form, new_form) - _ACROFORM_ALLOWED):
            self.find(FIELD, f"the form's {key} changed")
        fields_ref = _as_ref(_raw(new_form, "/Fields"))
        if fields_ref is not None and fields_ref in written:
            self.accounted.add(fields_ref)
        old_fields = _ref_list(_raw(old_form, "/Fields"), self.old) or []
        new_fields = _ref_list(_raw(new_form, "/Fields"), self.new)
        if new_fields is None:
            self.find(FIELD, "the form's /Fields is not an array of references")
            return {}
        missing = [f for f in old_fields if f not in new_fields]
        for ref in missing:
            what = (
                "the seal's signature field was removed"
                if ref == self.seal_field
                else "a form field was removed"
            )
            self.find(SEAL_REMOVED if ref == self.seal_field else FIELD, what, ref)
        if self.seal_field is not None and self.seal_field in written:
            self.find(SEAL_REMOVED, "the seal's signature field was rewritten", self.seal_field)
            self.accounted.add(self.seal_field)
        added: dict[generic.Reference, Any] = {}
        for ref in new_fields:
            if ref in old_fields:
                continue
            obj = _resolve(self.new, ref)
            added[ref] = obj
            self._new_field(ref, obj, written)
        return added

    def _new_field(self, ref: generic.Reference, obj: Any, written: set[generic.Reference]) -> None:
        if ref not in written:
            self.find(FIELD, "a field of an earlier revision was added to the form", ref)
            return
        self.accounted.add(ref)
        if self._existed(ref):
            self.find(REDEFINED, "an object of the sealed document was rewritten as a form field", ref)
            return
        if not isinstance(obj, generic.DictionaryObject):
            self.find(FIELD, "a form field that is not a dictionary", ref)
            return
        value_ref = _as_ref(_raw(obj, "/V"))
        value = _deref(_raw(obj, "/V"), self.new)
        is_timestamp = (
            obj.get("/FT") == "/Sig"
            and isinstance(value, generic.DictionaryObject)
            and value.get("/Type") == "/DocTimeStamp"
        )
        subtype = obj.get("/Subtype")
        if subtype is not None and subtype != "/Widget":
            self.find(ANNOTATION, f"a {subtype} annotation (posing as a form field) was added", ref)
            return
        if not is_timestamp:
            kind = "a signature" if obj.get("/FT") == "/Sig" else "a form field"
            self.find(FIELD, f"{kind} was added", ref)
            return
        problems = []
        if not _zero_area_rect(obj.get("/Rect")):
            problems.append("its /Rect is not four numbers enclosing zero area")
        extra = sorted(set(obj.keys()) - _TIMESTAMP_WIDGET_KEYS)
        if extra:
            problems.append(f"it carries {', '.join(extra)}")
        if value_ref is None or value_ref not in written or self._existed(value_ref):
            problems.append("its value is not a new object of the same update")
        elif isinstance(value, generic.DictionaryObject):
            extra_v = sorted(set(value.keys()) - _TIMESTAMP_VALUE_KEYS)
            if extra_v or value.get("/SubFilter") != "/ETSI.RFC3161":
                problems.append("its value is not a plain RFC 3161 document timestamp")
        if problems:
            self.find(
                TIMESTAMP_VISIBLE,
                "a document timestamp field that is not provably invisible: " + "; ".join(problems),
                ref,
            )
            return
        assert value_ref is not None
        self.accounted.add(value_ref)
        self.timestamps.append(TimestampField(str(obj.get("/T", "")), ref, self.r))

    def _pages(
        self,
        old_root: generic.DictionaryObject,
        new_root: generic.DictionaryObject,
        written: set[generic.Reference],
        new_fields: dict[generic.Reference, Any],
    ) -> None:
        old_pages = _pages(self.old, old_root)
        new_pages = _pages(self.new, new_root)
        if set(old_pages) != set(new_pages):
            self.find(PAGE, "pages were added or removed")
        admitted = {t.field_ref for t in self.timestamps}
        for ref, new_page in new_pages.items():
            old_page = old_pages.get(ref)
            if old_page is None:
                continue
            annots_ref = _as_ref(_raw(new_page, "/Annots"))
            if ref in written:
                self.accounted.add(ref)
                for key in sorted(_changed_keys(old_page, new_page) - {"/Annots"}):
                    self.find(PAGE, f"the page's {key} changed", ref)
            elif annots_ref is None or annots_ref not in written:
                continue
            if annots_ref is not None and annots_ref in written:
                self.accounted.add(annots_ref)
            old_annots = _ref_list(_raw(old_page, "/Annots"), self.old) or []
            new_annots = _ref_list(_raw(new_page, "/Annots"), self.new)
            if new_annots is None:
                self.find(ANNOTATION, "the page's /Annots is not an array of references", ref)
                continue
            if [a for a in new_annots if a in old_annots] != old_annots:
                self.find(ANNOTATION, "the page's annotations were removed or reordered", ref)
            for annot in new_annots:
                if annot in old_annots or annot in admitted:
                    continue
                if annot in new_fields:
                    continue  # already reported as a field
                obj = _resolve(self.new, annot)
                kind = _annotation_kind(obj) or "an object"
                self.find(ANNOTATION, f"{kind} was added to the page", annot)
                self.accounted.add(annot)

    def _info(self, written: set[generic.Reference]) -> None:
        info_ref = _as_ref(_raw(self.new.trailer_view, "/Info"))
        if info_ref is None or info_ref not in written:
            return
        self.accounted.add(info_ref)
        old, new = _resolve(self.old, info_ref), _resolve(self.new, info_ref)
        if not isinstance(old, generic.DictionaryObject) or not isinstance(new, generic.DictionaryObject):
            self.find(METADATA, "the document information dictionary was replaced", info_ref)
            return
        changed = sorted(_changed_keys(old, new) - _INFO_ALLOWED)
        if changed:
            self.find(METADATA, f"the document information {', '.join(changed)} changed", info_ref)

    def _xmp(
        self,
        old_root: generic.DictionaryObject,
        new_root: generic.DictionaryObject,
        written: set[generic.Reference],
    ) -> None:
        ref = _as_ref(_raw(new_root, "/Metadata"))
        if ref is None or ref not in written:
            return
        self.accounted.add(ref)
        if not _xmp_same(_resolve(self.old, ref), _resolve(self.new, ref)):
            self.find(METADATA, "the XMP metadata changed", ref)

    def _existed(self, ref: generic.Reference) -> bool:
        """The object was defined before this revision (so writing it now redefines it)."""
        return self.reader.xrefs.get_historical_ref(ref, self.r - 1) is not None

    def _dss(self, new_root: generic.DictionaryObject, written: set[generic.Reference]) -> None:
        dss = _raw(new_root, "/DSS")
        if dss is None:
            return
        subtree = _reachable(dss, self.new)
        if subtree & written:
            self.dss = True
        old_dss = _raw(_deref(_raw(self.old.trailer_view, "/Root"), self.old), "/DSS")
        old_subtree = _reachable(old_dss, self.old) if old_dss is not None else set()
        # Validation data is new, or an update of earlier validation data: an object of the sealed
        # document pulled under /DSS and rewritten there is a redefinition, not validation data.
        for ref in sorted(subtree & written, key=lambda r: (r.idnum, r.generation)):
            if self._existed(ref) and ref not in old_subtree:
                self.find(REDEFINED, "an object of the sealed document was rewritten as validation data", ref)
                self.accounted.add(ref)
        subtree -= self.accounted
        # Validation data may only reference validation data: anything in the DSS subtree that is a page,
        # an annotation or a field is not validation data.
        for ref in subtree & written:
            obj = _resolve(self.new, ref)
            if (
                isinstance(obj, generic.DictionaryObject)
                and not isinstance(obj, generic.StreamObject)
                and (
                    obj.get("/Type") in ("/Page", "/Pages", "/Catalog")
                    or _annotation_kind(obj)
                    or "/FT" in obj
                )
            ):
                self.find(DOCUMENT, "the validation data references document content", ref)
            self.accounted.add(ref)

    def _unaccounted(self, ref: generic.Reference) -> None:
        existed = self.reader.xrefs.get_historical_ref(ref, self.r - 1) is not None
        obj = _resolve(self.new, ref)
        kind = _annotation_kind(obj)
        if isinstance(obj, generic.DictionaryObject) and obj.get("/Type") in ("/Page", "/Pages"):
            self.find(PAGE, "a page object was rewritten", ref)
        elif isinstance(obj, generic.DictionaryObject) and "/FT" in obj:
            self.find(FIELD, "a form field was filled in or rewritten", ref)
        elif kind:
            self.find(ANNOTATION, f"a {kind} annotation was written", ref)
        elif existed:
            self.find(REDEFINED, "an object of the sealed document was redefined", ref)
        else:
            self.find(ORPHAN, "an object nothing allowed refers to was added", ref)


def review_updates(
    reader: PdfFileReader, data: bytes, sealed_revision: int, seal_field: generic.Reference | None
) -> UpdateReview:
    """Review every revision after `sealed_revision` (0-based) against the allowlist."""
    last = reader.xrefs.total_revisions - 1
    review = UpdateReview(updates=max(last - sealed_revision, 0))
    for r in range(sealed_revision + 1, last + 1):
        one = _RevisionReview(reader, data, r, seal_field)
        one.review()
        review.findings.extend(one.findings)
        review.timestamps.extend(one.timestamps)
        if one.dss:
            review.dss_revisions.append(r)
    return review


def iter_codes(review: UpdateReview) -> Iterator[str]:
    seen: set[str] = set()
    for f in review.findings:
        if f.code not in seen:
            seen.add(f.code)
            yield f.code
