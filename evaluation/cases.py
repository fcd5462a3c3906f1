"""The labelled set: what is uploaded, into which slot, for which applicant, and the truth about it."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORPUS = (ROOT.parent / "shared" / "corpus" / "01_ocr_images").resolve()

CONDITIONS = (
    "clean",
    "rot90",
    "rot180",
    "rot270",
    "skew",
    "blur",
    "jpeg30",
    "scale50",
    "perspective",
    "seal_watermark",
    "photo",
)
QUICK_CONDITIONS = ("clean", "rot90", "rot180", "skew", "jpeg30", "photo")
# Non-documents, unrelated documents and the collage: enough to see whether they are catalogued.
OTHER_CONDITIONS = ("clean", "rot90", "jpeg30")
QUICK_DOCUMENTS = (
    "business_licence",
    "business_licence_blank_rep",
    "id_card_front",
    "id_card_back",
    "application_form",
    "technology_contract",
)


@dataclass(frozen=True)
class EvalApplicant:
    """The applicant the upload belongs to (fits onestop.materials.fields.ApplicantLike)."""

    kind: str
    code: str
    name: str


@dataclass(frozen=True)
class Case:
    """One upload and its truth.

    kind: document | unrelated | non_document | collage. truth_type: the material type the file is
    (None when it is no document of the catalogue). rotation: the counter-clockwise turn applied to
    the upright page (0 when upright, None when unknown). text: the full text in reading order when
    the label gives it; lines: truth lines for the order-free measure."""

    name: str
    source: str  # "specimen" | "corpus"
    document: str
    condition: str
    data: bytes
    filename: str
    slot_type: str | None
    kind: str
    truth_type: str | None
    applicant: EvalApplicant | None = None
    text: str | None = None
    lines: tuple[str, ...] = ()
    fields: dict[str, str] = field(default_factory=dict)
    lenient: frozenset[str] = frozenset()
    must_flag: frozenset[str] = frozenset()  # printed values known to be invalid: right = a problem on it
    rotation: int | None = 0

    @property
    def damaged(self) -> bool:
        return self.condition != "clean"


def specimen_cases(
    documents: Iterable[str] | None = None,
    conditions: Iterable[str] = CONDITIONS,
    others: Iterable[str] | None = None,
    other_conditions: Iterable[str] = OTHER_CONDITIONS,
) -> Iterator[Case]:
    """Cases of tests/document_specimens.py: each document under each condition."""
    from tests.document_specimens import DOCUMENTS, OTHERS, ROTATION, damage

    chosen = [
        (n, DOCUMENTS[n], tuple(conditions)) for n in (documents if documents is not None else DOCUMENTS)
    ]
    chosen += [(n, OTHERS[n], tuple(other_conditions)) for n in (others if others is not None else OTHERS)]
    for name, make, conds in chosen:
        spec = make()
        applicant = EvalApplicant(*spec.applicant) if spec.applicant else None
        slot_type, formats = spec.slot_type, None
        if spec.slot is not None:
            slot_type, formats = slot_of(*spec.slot)
        for condition in conds:
            data, filename = damage(spec.image, condition)
            if formats is not None and _kind(filename) not in formats:
                # A slot that takes PDF only gets what an applicant would upload there: the scan as PDF.
                data, filename = _as_pdf(data), "scan.pdf"
            yield Case(
                name=f"{name}/{condition}",
                source="specimen",
                document=name,
                condition=condition,
                data=data,
                filename=filename,
                slot_type=slot_type,
                kind=spec.kind,
                truth_type=spec.material_type,
                applicant=applicant,
                text="\n".join(spec.lines) if spec.kind != "collage" else None,
                lines=spec.lines,
                fields=dict(spec.fields),
                lenient=spec.lenient,
                rotation=ROTATION.get(condition, 0),
            )


def slot_of(item_code: str, slot: str) -> tuple[str, tuple[str, ...]]:
    """The material type and formats of a slot, from the catalogue the pipeline under test reads."""
    from importlib import resources

    import yaml

    text = resources.files("onestop.catalogue").joinpath("items.yaml").read_text(encoding="utf-8")
    for item in yaml.safe_load(text)["items"]:
        if item["code"] == item_code:
            for material in item["materials"]:
                if material["slot"] == slot:
                    return material["material_type"], tuple(material.get("formats") or ())
    raise KeyError(f"no slot {slot} in item {item_code}")


def _kind(filename: str) -> str:
    suffix = filename.rsplit(".", 1)[-1].lower()
    return {"jpg": "jpeg", "jpeg": "jpeg", "png": "png", "pdf": "pdf"}[suffix]


def _as_pdf(image: bytes) -> bytes:
    """The image as the only page of a PDF, its bytes embedded as they are (img2pdf: no re-encoding)."""
    import img2pdf

    layout = img2pdf.get_fixed_dpi_layout_fun((150, 150))
    return bytes(img2pdf.convert(image, layout_fun=layout, rotation=img2pdf.Rotation.ifvalid))


# Corpus classes: the kind of file and the slot it is uploaded into (an unrelated document goes into
# a typed slot, where it must be called a mismatch; a non-document into an "other" slot, where it must
# still not be catalogued).
_CORPUS_CLASSES = {
    "id_card_front_specimen": ("document", "resident_id_card", "resident_id_card"),
    "train_ticket": ("unrelated", "train_ticket", "business_licence"),
    "vat_special_invoice": ("unrelated", "invoice", "business_licence"),
    "vat_electronic_normal_invoice": ("unrelated", "invoice", "business_licence"),
    "vat_normal_invoice_photo": ("unrelated", "invoice", "business_licence"),
    "book_page_photo": ("unrelated", None, "business_licence"),
}
_ID_LABELS = {
    "姓名": "person_name",
    "性别": "sex",
    "民族": "ethnicity",
    "出生": "birth_date",
    "住址": "address",
    "公民身份号码": "id_number",
}


def corpus_cases(files: Iterable[str] | None = None) -> Iterator[Case]:
    """Cases of the labelled corpus images (labels.jsonl); nothing when the corpus is not there."""
    labels = CORPUS / "labels.jsonl"
    if not labels.is_file():
        return
    wanted = set(files) if files is not None else None
    for raw in labels.read_text(encoding="utf-8").splitlines():
        if not raw.strip():
            continue
        label = json.loads(raw)
        name = label["file"]
        if wanted is not None and name not in wanted:
            continue
        kind, truth_type, slot = _CORPUS_CLASSES.get(label["doc_class"], ("non_document", None, "other"))
        fields: dict[str, str] = {}
        if truth_type == "resident_id_card":
            fields = {_ID_LABELS[k]: v for k, v in label.get("fields", {}).items() if k in _ID_LABELS}
        text = label.get("text")
        lines: tuple[str, ...] = ()
        if text:
            lines = tuple(line for line in text.splitlines() if line.strip())
        elif label.get("first_line"):
            lines = (label["first_line"],)
        elif label.get("fields") and kind == "unrelated":
            lines = tuple(str(v) for v in label["fields"].values())
        yield Case(
            name=f"corpus/{name}",
            source="corpus",
            document=name,
            condition="as found",
            data=(CORPUS / name).read_bytes(),
            filename=name,
            slot_type=slot,
            kind=kind,
            truth_type=truth_type,
            text=text,
            lines=lines,
            fields=fields,
            # The specimen card's number fails its check character and contradicts 出生 (MANIFEST.md).
            must_flag=frozenset({"id_number"}) if truth_type == "resident_id_card" else frozenset(),
            rotation=int(label.get("rotation_deg", 0)) if kind == "document" else None,
        )
