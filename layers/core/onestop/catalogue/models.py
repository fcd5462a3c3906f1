"""Service catalogue models: service items, their material lists, material types.

The catalogue is data (``items.yaml``, ``material_types.yaml``); these models validate it at load so
that a typo in the data fails the deploy's tests, not an applicant's submission.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from onestop.errors import InvalidInput, NotFound, Reason
from onestop.identifiers import uscc_problems

Format = Literal["pdf", "jpeg", "png", "tiff"]
Requirement = Literal["required", "conditional", "optional"]
OnlineDepth = Literal["I", "II", "III", "IV"]
Grade = Literal["A", "B", "C", "D"]
ApplicantKind = Literal["enterprise", "person"]
Validator = Literal[
    "uscc",
    "resident_id",
    "date",
    "date_range",
    "text",
    "money",
    "phone",
    "person_name",
    "enterprise_name",
    "party",  # a person or an enterprise (a lessor, an applicant)
    "address",
    "authority",
    "sex",
    "ethnicity",
]
# Where a label's value is printed: to its right on the same line, below it, or either (right first).
ValuePosition = Literal["right", "below", "right_or_below"]
CharClass = Literal["cjk", "latin", "digit", "punct", "space"]
CrossCheck = Literal["applicant_code", "applicant_name"]

# The shared vocabulary (helper brief): classifier, extractors and catalogue speak these exactly.
MaterialTypeCode = Literal[
    "business_licence",
    "resident_id_card",
    "application_form",
    "site_certificate",
    "articles_of_association",
    "land_use_certificate",
    "site_plan",
    "safety_approval",
    "fire_approval",
    "name_preapproval",
    "power_of_attorney",
    "environmental_approval",
    "financial_statement",
    "qualification_certificate",
    # Documents some item's "other" slot holds (issue 14): typed so that they can be recognised.
    "technology_contract",
    "labour_contract",
    "planning_permit",
    "supply_agreement",
    "management_rules",
    "equipment_list",
    "commitment_letter",
    "custody_agreement",
    "investment_resolution",
    # Known documents that are no material of any item: recognised so that the pipeline can say so.
    "train_ticket",
    "invoice",
    "lab_report",
    "other",
]
FieldName = Literal[
    "uscc",
    "enterprise_name",
    "legal_representative",
    "address",
    "registered_capital",
    "established_date",
    "business_term",
    "business_scope",
    "person_name",
    "sex",
    "ethnicity",
    "birth_date",
    "id_number",
    "issuing_authority",
    "valid_from",
    "valid_until",
    "applicant_name",
    "contact_phone",
    "lessor",
    "lessee",
    "lease_term",
    "validity",
    "party_a",
    "party_b",
    "contract_number",
    "contract_term",
    "contract_amount",
    "signing_date",
]

_SNAKE = re.compile(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)*")
_ITEM_CODE = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_TYPE_CODE = re.compile(r"[0-9A-HJ-NP-RTUW-Y]{18}[0-9]{3}")
# Upper bound for any single upload; the presigned policy and the ingest re-check use the slot's own limit.
MAX_UPLOAD_BYTES = 50 * 1024 * 1024


class Category(StrEnum):
    """The five kinds of government power a service item can exercise."""

    administrative_licensing = "administrative_licensing"
    administrative_inspection = "administrative_inspection"
    administrative_confirmation = "administrative_confirmation"
    public_service = "public_service"
    other_power = "other_power"

    @property
    def name_zh(self) -> str:
        return _CATEGORY_NAMES[self][0]

    @property
    def name_en(self) -> str:
        return _CATEGORY_NAMES[self][1]


_CATEGORY_NAMES: dict[Category, tuple[str, str]] = {
    Category.administrative_licensing: ("行政许可", "Administrative licensing"),
    Category.administrative_inspection: ("行政检查", "Administrative inspection"),
    Category.administrative_confirmation: ("行政确认", "Administrative confirmation"),
    Category.public_service: ("公共服务", "Public service"),
    Category.other_power: ("其他行政权力", "Other administrative power"),
}


class _Model(BaseModel):
    # defer_build: validators are built when the catalogue is first loaded, not at every cold start.
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True, defer_build=True)


def _check_type_code(value: str) -> str:
    """A GB/T 36904 licence type code: the defining body's USCC + a 3-digit sequence."""
    if not _TYPE_CODE.fullmatch(value):
        raise ValueError(f"licence type code {value!r} must be an 18-character USCC followed by 3 digits")
    problems = uscc_problems(value[:18])
    if problems:
        raise ValueError(f"licence type code {value!r}: defining body USCC invalid: {problems[0].en}")
    return value


class FieldSpec(_Model):
    """One field to extract from a material type: where its value is printed and how to validate it.

    `labels` are the label variants printed on the document (spaces inside a label are tolerated);
    the first is the usual one. A date range may be split into two other fields (`parts`).
    """

    name: FieldName
    label_zh: str = Field(min_length=1)
    label_en: str = Field(min_length=1)
    labels: list[str] = []
    value: ValuePosition = "right_or_below"
    multiline: bool = False
    required: bool = False
    validator: Validator = "text"
    min_length: int = Field(default=1, ge=1)
    max_length: int = Field(default=200, ge=1)
    chars: list[CharClass] = []  # allowed character classes for "text"; empty: any
    cross_check: CrossCheck | None = None
    min_confidence: float | None = Field(default=None, ge=0, le=1)
    parts: tuple[FieldName, FieldName] | None = None  # date_range: (from field, until field)
    expired_code: str | None = None  # date_range/date: problem code when the end date has passed
    side: str | None = None  # the side of the document (MaterialType.sides) this field is printed on
    anywhere: bool = False  # uscc/resident_id: also found unlabelled anywhere in the text

    @model_validator(mode="after")
    def _consistent(self) -> FieldSpec:
        if self.parts is not None and self.validator != "date_range":
            raise ValueError(f"field {self.name}: only a date_range field has parts")
        if self.min_length > self.max_length:
            raise ValueError(f"field {self.name}: min_length > max_length")
        if self.anywhere and self.validator not in ("uscc", "resident_id"):
            raise ValueError(f"field {self.name}: only a uscc or resident_id field can be found anywhere")
        return self

    @property
    def label_variants(self) -> list[str]:
        """The printed labels to look for (`labels`, else the display label)."""
        return list(self.labels) or [self.label_zh]


class SideSpec(_Model):
    """One side of a two-sided document (ID card front and back): fields carrying `side: code`."""

    code: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name_zh: str = Field(min_length=1)
    name_en: str = Field(min_length=1)


class Cue(_Model):
    """A word the classifier looks for and how much it counts: a title word (weight >= 3) alone is
    enough, field labels add up. Written in the data as `word` (weight 1) or `word: weight`."""

    word: str = Field(min_length=1)
    weight: float = Field(default=1.0, gt=0, le=10)

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: object) -> object:
        if isinstance(value, str):
            return {"word": value}
        if isinstance(value, dict) and len(value) == 1 and "word" not in value:
            ((word, weight),) = value.items()
            return {"word": word, "weight": weight}
        return value


class MaterialType(_Model):
    """A kind of document (营业执照, 身份证 …): what it looks like and what to read from it."""

    code: MaterialTypeCode
    name_zh: str = Field(min_length=1)
    name_en: str = Field(min_length=1)
    formats: list[Format] = Field(min_length=1)
    fields: list[FieldSpec] = []
    cues_zh: list[Cue] = []
    grade: Grade | None = None
    # False: a known document that is no material of any item (a ticket, a receipt): recognised so
    # that an upload of one is named, never catalogued silently; no slot may be typed with it.
    is_material: bool = True
    sides: list[SideSpec] = []
    # Labels printed on the document whose values are not read: they end a neighbouring value (类型).
    other_labels: list[str] = []

    @model_validator(mode="after")
    def _unique_fields(self) -> MaterialType:
        names = [f.name for f in self.fields] + [p for f in self.fields for p in (f.parts or ())]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"material type {self.code}: duplicate fields {dupes}")
        side_codes = {s.code for s in self.sides}
        for f in self.fields:
            if (f.side is None) != (not side_codes) or (f.side is not None and f.side not in side_codes):
                raise ValueError(
                    f"material type {self.code}, field {f.name}: side {f.side!r} must name one of "
                    f"the type's sides {sorted(side_codes)} (and only a type with sides gives one)"
                )
        return self

    def field(self, name: str) -> FieldSpec | None:
        """The spec of field `name`, or None when this type does not carry it."""
        return next((f for f in self.fields if f.name == name), None)


class LicenceSpec(_Model):
    """The e-licence an item issues on approval."""

    type_code: str
    name_zh: str = Field(min_length=1)
    name_en: str = Field(min_length=1)
    validity_years: int | None = Field(default=None, ge=1, le=50)  # None: valid until revoked
    # "new": approval issues a new licence (new serial). "new_version": approval replaces the holder's
    # current licence of this type with its next version (same serial, version + 1; old one superseded).
    issues: Literal["new", "new_version"] = "new"

    @field_validator("type_code")
    @classmethod
    def _type_code_shape(cls, v: str) -> str:
        return _check_type_code(v)


class MaterialRequirement(_Model):
    """One line of an item's material list (a "slot" the applicant fills with one or more files)."""

    slot: str
    material_type: MaterialTypeCode
    name_zh: str = Field(min_length=1)
    name_en: str = Field(min_length=1)
    requirement: Requirement
    condition_zh: str | None = None
    condition_en: str | None = None
    # How many files when this material is provided (required, or conditional and the condition applies).
    min_count: int = Field(default=1, ge=1)
    max_count: int = Field(default=1, ge=1, le=50)
    formats: list[Format] = Field(min_length=1)
    max_bytes: int = Field(default=10 * 1024 * 1024, ge=1024, le=MAX_UPLOAD_BYTES)
    elicence_replaceable: bool = False
    elicence_type_code: str | None = None
    # The slot takes photographs (outlet photos, a card sample), not only documents: an upload that
    # does not look like a document is then no problem.
    accepts_photos: bool = False
    # Known non-material documents this slot takes as well (e.g. purchase receipts: invoice).
    also_accepts: list[MaterialTypeCode] = []

    @field_validator("slot")
    @classmethod
    def _snake_case(cls, v: str) -> str:
        if not _SNAKE.fullmatch(v):
            raise ValueError(f"slot {v!r} must be snake_case (a-z, 0-9, _)")
        return v

    @field_validator("elicence_type_code")
    @classmethod
    def _type_code_shape(cls, v: str | None) -> str | None:
        return None if v is None else _check_type_code(v)

    @model_validator(mode="after")
    def _consistent(self) -> MaterialRequirement:
        has_condition = bool(self.condition_zh) and bool(self.condition_en)
        if self.requirement == "conditional" and not has_condition:
            raise ValueError(f"slot {self.slot}: a conditional material needs condition_zh and condition_en")
        if self.requirement != "conditional" and (self.condition_zh or self.condition_en):
            raise ValueError(f"slot {self.slot}: only a conditional material has a condition")
        if self.min_count > self.max_count:
            raise ValueError(f"slot {self.slot}: min_count {self.min_count} > max_count {self.max_count}")
        if self.elicence_type_code and not self.elicence_replaceable:
            raise ValueError(f"slot {self.slot}: elicence_type_code given but elicence_replaceable is false")
        if len(set(self.formats)) != len(self.formats):
            raise ValueError(f"slot {self.slot}: duplicate formats")
        return self


class ServiceItem(_Model):
    """A service item (事项) of the bureau, as an applicant portal lists it."""

    code: str
    name_zh: str = Field(min_length=1)
    name_en: str = Field(min_length=1)
    category: Category
    department: str = Field(min_length=1)
    department_en: str = Field(min_length=1)
    legal_basis: list[str] = Field(min_length=1)
    statutory_limit_days: int = Field(ge=1, le=365)  # working days
    promised_limit_days: int = Field(ge=1, le=365)  # working days
    online_depth: OnlineDepth
    visits_required: int = Field(ge=0, le=5)
    fee: str = Field(min_length=1)
    applicant_kinds: list[ApplicantKind] = Field(default_factory=lambda: list[ApplicantKind](["enterprise"]))
    # Incomplete materials: tell everything missing at once within this many working days (补正告知).
    correction_notice_days: int = Field(default=5, ge=0, le=20)
    on_site_review: bool = False
    public_notice_days: int | None = Field(default=None, ge=1)
    licence: LicenceSpec | None = None
    materials: list[MaterialRequirement] = Field(min_length=1)

    @field_validator("code")
    @classmethod
    def _code_shape(cls, v: str) -> str:
        if not _ITEM_CODE.fullmatch(v):
            raise ValueError(f"item code {v!r} must be lower-case kebab-case (a-z, 0-9, -)")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> ServiceItem:
        where = f"item {self.code}"
        if self.promised_limit_days > self.statutory_limit_days:
            raise ValueError(
                f"{where}: promised limit {self.promised_limit_days} exceeds statutory "
                f"limit {self.statutory_limit_days} working days"
            )
        if self.online_depth == "IV" and self.visits_required != 0:
            raise ValueError(f"{where}: online depth IV means fully online, so visits_required must be 0")
        slots = [m.slot for m in self.materials]
        dupes = sorted({s for s in slots if slots.count(s) > 1})
        if dupes:
            raise ValueError(f"{where}: duplicate material slots {dupes}")
        if not any(m.requirement == "required" for m in self.materials):
            raise ValueError(f"{where}: at least one material must be required")
        if len(set(self.applicant_kinds)) != len(self.applicant_kinds) or not self.applicant_kinds:
            raise ValueError(f"{where}: applicant_kinds must be a non-empty list without repeats")
        return self

    def material(self, slot: str) -> MaterialRequirement:
        """The material requirement in `slot`; raises `NotFound` when the item has no such slot."""
        for m in self.materials:
            if m.slot == slot:
                return m
        raise NotFound(
            "material_slot_not_found",
            f"事项「{self.name_zh}」没有名为 {slot} 的材料。",
            f"The item '{self.name_en}' has no material called {slot}.",
            [
                Reason(
                    "material_slot_not_found",
                    "可用的材料：" + "、".join(f"{m.slot}（{m.name_zh}）" for m in self.materials),
                    "Available materials: " + ", ".join(m.slot for m in self.materials),
                    "material",
                )
            ],
        )


class Authority(_Model):
    """The bureau that runs the catalogue and issues its licences."""

    name_zh: str = Field(min_length=1)
    name_en: str = Field(min_length=1)
    uscc: str
    division_code: str = Field(pattern=r"^[0-9]{6}$")
    # The bureau's published list of powers and public services: how many items it handles per
    # category, catalogued here or not (the KPI page's coverage: catalogued / listed).
    service_items: dict[Category, int] = {}
    # The list's published total (None: the sum of `service_items`).
    service_items_total: int | None = Field(default=None, ge=0)

    @field_validator("service_items")
    @classmethod
    def _counts(cls, v: dict[Category, int]) -> dict[Category, int]:
        negative = sorted(c.value for c, n in v.items() if n < 0)
        if negative:
            raise ValueError(f"service_items: counts must not be negative ({', '.join(negative)})")
        return v

    @field_validator("uscc")
    @classmethod
    def _valid_uscc(cls, v: str) -> str:
        problems = uscc_problems(v)
        if problems:
            raise ValueError(f"authority USCC {v!r} invalid: {problems[0].en}")
        return v


class Catalogue(_Model):
    """Every service item and material type, cross-checked; look-ups by code."""

    authority: Authority
    material_types: list[MaterialType] = Field(min_length=1)
    items: list[ServiceItem] = Field(min_length=1)
    # Words printed in a blank's place or naming a role ("签字", "(CARDHOLDER NAME)"): never a field's
    # value. Compared upper-cased, so the Latin ones are written in capitals.
    blank_words: frozenset[str] = Field(min_length=1)

    _items_by_code: dict[str, ServiceItem] = PrivateAttr(default_factory=dict)
    _types_by_code: dict[str, MaterialType] = PrivateAttr(default_factory=dict)

    @model_validator(mode="after")
    def _cross_references(self) -> Catalogue:
        problems: list[str] = []
        type_codes = [t.code for t in self.material_types]
        problems += [
            f"material type {c!r} defined twice" for c in sorted(set(type_codes)) if type_codes.count(c) > 1
        ]
        item_codes = [i.code for i in self.items]
        problems += [
            f"item code {c!r} used twice" for c in sorted(set(item_codes)) if item_codes.count(c) > 1
        ]
        issued: dict[str, list[ServiceItem]] = {}
        for i in self.items:
            if i.licence is not None:
                issued.setdefault(i.licence.type_code, []).append(i)
        for type_code, issuers in issued.items():
            first = [i.code for i in issuers if i.licence and i.licence.issues == "new"]
            if len(first) != 1:
                problems.append(
                    f"licence type {type_code}: exactly one item must issue it new (issues: new), "
                    f"found {first}"
                )
            names = {(i.licence.name_zh, i.licence.name_en) for i in issuers if i.licence}
            if len(names) > 1:
                problems.append(f"licence type {type_code}: items give it different names {sorted(names)}")
        listed = self.authority.service_items
        total = self.authority.service_items_total
        if total is not None and len(self.items) > total:
            problems.append(
                f"authority.service_items_total: {len(self.items)} items are catalogued but the bureau "
                f"lists only {total}"
            )
        for category, count in listed.items():
            catalogued = sum(1 for i in self.items if i.category == category)
            if catalogued > count:
                problems.append(
                    f"authority.service_items: {catalogued} items of category {category.value} are "
                    f"catalogued but the bureau lists only {count}"
                )
        types = {t.code: t for t in self.material_types}
        for item in self.items:
            for m in item.materials:
                where = f"item {item.code}, slot {m.slot}"
                mt = types.get(m.material_type)
                if mt is None:
                    problems.append(
                        f"{where}: unknown material type {m.material_type!r} "
                        f"(known: {', '.join(sorted(types))})"
                    )
                    continue
                if not mt.is_material:
                    problems.append(f"{where}: {mt.code} is no material type (is_material: false)")
                unknown = [c for c in m.also_accepts if c not in types or types[c].is_material]
                if unknown:
                    problems.append(f"{where}: also_accepts {unknown} are not known non-material types")
                extra = sorted(set(m.formats) - set(mt.formats))
                if extra:
                    problems.append(f"{where}: formats {extra} not accepted by material type {mt.code}")
                if m.elicence_type_code is not None and m.elicence_type_code not in issued:
                    problems.append(
                        f"{where}: elicence_type_code {m.elicence_type_code} is not a licence any item issues"
                    )
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def model_post_init(self, __context: object) -> None:
        self._items_by_code = {i.code: i for i in self.items}
        self._types_by_code = {t.code: t for t in self.material_types}

    def item(self, code: str) -> ServiceItem:
        """The item with `code`; raises `NotFound` (``item_not_found``)."""
        try:
            return self._items_by_code[code]
        except KeyError:
            raise NotFound(
                "item_not_found",
                f"未找到编码为 {code} 的服务事项。",
                f"There is no service item with code {code}.",
            ) from None

    def material_type(self, code: str) -> MaterialType:
        """The material type with `code`; raises `NotFound` (``material_type_not_found``)."""
        try:
            return self._types_by_code[code]
        except KeyError:
            raise NotFound(
                "material_type_not_found",
                f"未找到材料类型 {code}。",
                f"There is no material type {code}.",
            ) from None

    def licence_spec(self, type_code: str) -> LicenceSpec:
        """The spec of a licence type some item issues; raises `NotFound` (``licence_type_not_found``)."""
        for i in self.items:
            if i.licence is not None and i.licence.type_code == type_code and i.licence.issues == "new":
                return i.licence
        raise NotFound(
            "licence_type_not_found",
            f"本局不颁发类型代码为 {type_code} 的证照。",
            f"The bureau issues no licence of type {type_code}.",
        )

    def search(self, text: str | None = None, category: Category | str | None = None) -> list[ServiceItem]:
        """Items whose code, names, department or licence name contain every word of `text`
        (case-insensitive), optionally only of one `category`; catalogue order."""
        wanted: Category | None = None
        if category is not None:
            try:
                wanted = Category(category)
            except ValueError:
                raise InvalidInput(
                    "invalid_category",
                    f"未知的事项类别：{category}。",
                    f"Unknown item category: {category}.",
                    [
                        Reason(
                            "invalid_category",
                            "可选类别：" + "、".join(f"{c.value}（{c.name_zh}）" for c in Category),
                            "Categories: " + ", ".join(c.value for c in Category),
                            "category",
                        )
                    ],
                ) from None
        words = (text or "").casefold().split()
        out = []
        for item in self.items:
            if wanted is not None and item.category != wanted:
                continue
            haystack = " ".join(
                [item.code, item.name_zh, item.name_en, item.department, item.department_en]
                + ([item.licence.name_zh, item.licence.name_en] if item.licence else [])
            ).casefold()
            if all(w in haystack for w in words):
                out.append(item)
        return out
