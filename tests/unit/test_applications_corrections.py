"""Reviewer corrections (issue 14 item 7), the domain alone: what a correction settles, which values
the catalogue's validators take, what counts as a replay, and the "zero error" figures."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from onestop.applications.corrections import (
    MATERIAL_TYPE,
    CorrectionInput,
    _evidence_with,
    _field_change,
    _settled,
    _type_change,
    check_value,
    correct,
)
from onestop.applications.models import (
    Applicant,
    Application,
    ApplicationStatus,
    Classification,
    Evidence,
    FieldCorrection,
    Material,
    MaterialStatus,
)
from onestop.catalogue import load_catalogue
from onestop.errors import Conflict, InvalidInput, MalformedRequest, Reason
from onestop.identifiers.uscc import compose_uscc
from onestop.quality.corrections import material_corrections, type_as_read

CATALOGUE = load_catalogue()
USCC = compose_uscc("91440300", "MA5F0001")
TODAY = datetime(2026, 6, 1, tzinfo=UTC).date()
AT = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)
UNSURE = Reason("field_uncertain", "置信度低。", "Low confidence.", "legal_representative")
MISMATCH = Reason("material_type_mismatch", "类型不符。", "Not the slot's type.", None)


def spec(type_code: str, name: str) -> Any:
    found = next(t for t in CATALOGUE.material_types if t.code == type_code).field(name)
    assert found is not None, (type_code, name)
    return found


def application(status: ApplicationStatus = ApplicationStatus.SUBMITTED) -> Application:
    return Application(
        id="a" * 32,
        item_code="outbound-investment-filing",
        item_name_zh="境外投资备案",
        item_name_en="Outbound investment filing",
        owner_sub="alice",
        applicant=Applicant(kind="enterprise", code=USCC, name="深圳市示例贸易有限公司"),
        status=status,
        version=2,
        created_at=AT,
        updated_at=AT,
        evidence=[Evidence(slot="business_licence", upload_id="b" * 32, sha256="c" * 64, version_id="v1")],
    )


def licence(**changes: Any) -> Material:
    base: dict[str, Any] = {
        "application_id": "a" * 32,
        "slot": "business_licence",
        "upload_id": "b" * 32,
        "status": MaterialStatus.NEEDS_ATTENTION,
        "classification": Classification(material_type="business_licence", confidence=0.9),
        "fields": {"uscc": USCC, "legal_representative": "张三丰"},
        "problems": [UNSURE],
    }
    return Material(**{**base, **changes})


# ----------------------------------------------------------------------------- values


@pytest.mark.parametrize(
    ("type_code", "field", "typed", "stored"),
    [
        ("business_licence", "uscc", f" {USCC.lower()} ", USCC),
        ("business_licence", "established_date", "2019年6月18日", "2019-06-18"),
        ("business_licence", "business_term", "2019-06-18 至 长期", "2019-06-18至长期"),
        ("business_licence", "legal_representative", "张  三", "张三"),  # OCR-style blanks between CJK
    ],
)
def test_a_value_is_stored_as_the_catalogues_validator_cleans_it(
    type_code: str, field: str, typed: str, stored: str
) -> None:
    checked = check_value(spec(type_code, field), field, typed, today=TODAY)
    assert checked.problems == ()
    assert checked.value == stored


@pytest.mark.parametrize(
    ("field", "typed"),
    [
        ("uscc", USCC[:-1] + ("0" if USCC[-1] != "0" else "1")),  # the check character
        ("uscc", "12345"),
        ("established_date", "2019-02-30"),
        ("legal_representative", "   "),
        ("legal_representative", "x" * 3000),
    ],
)
def test_a_value_failing_the_validator_is_refused_with_reasons(field: str, typed: str) -> None:
    checked = check_value(spec("business_licence", field), field, typed, today=TODAY)
    assert checked.value is None
    assert checked.problems
    assert all(p.zh and p.en for p in checked.problems)


def test_a_field_the_catalogue_does_not_describe_takes_plain_text() -> None:
    assert check_value(None, "old_field", "  any  text ").value == "any text"


# ----------------------------------------------------------------------------- changes


def test_a_value_correction_settles_the_problems_on_its_field_only() -> None:
    other = Reason("date_unreadable", "日期无法识别。", "Unreadable date.", "established_date")
    before = licence(problems=[UNSURE, other])
    after, old, new, resolved = _field_change(
        CATALOGUE, application(), before, "legal_representative", "张三", TODAY
    )
    assert (old, new) == ("张三丰", "张三")
    assert resolved == [UNSURE]
    assert after.problems == [other]
    c = FieldCorrection(
        id="1",
        field="legal_representative",
        old=old,
        new=new,
        reason="r",
        actor="rev",
        actor_role="reviewer",
        at=AT,
    )
    settled = _settled(after, before, c, resolved, AT)
    assert settled.status == MaterialStatus.NEEDS_ATTENTION  # the date is still open
    assert settled.reason is not None
    assert settled.reason.field == "established_date"
    assert settled.fields_as_read == {"uscc": USCC, "legal_representative": "张三丰"}
    assert settled.resolved_problems == [UNSURE]


def test_the_reading_as_first_read_is_kept_across_corrections() -> None:
    first = licence(
        fields_as_read={"legal_representative": "张三丰"}, fields={"legal_representative": "张三"}
    )
    after, *_ = _field_change(CATALOGUE, application(), first, "legal_representative", "张叁", TODAY)
    c = FieldCorrection(
        id="2", field="legal_representative", new="张叁", reason="r", actor="a", actor_role="r", at=AT
    )
    assert _settled(after, first, c, [], AT).fields_as_read == {"legal_representative": "张三丰"}


def test_an_unknown_field_is_malformed_and_names_what_may_be_corrected() -> None:
    with pytest.raises(MalformedRequest) as caught:
        _field_change(CATALOGUE, application(), licence(), "shoe_size", "42", TODAY)
    assert caught.value.code == "unknown_field"
    assert "legal_representative" in caught.value.en


def test_a_corrected_code_that_is_not_the_applicants_is_an_open_problem() -> None:
    other = compose_uscc("91440300", "MA5F0002")
    after, *_ = _field_change(CATALOGUE, application(), licence(problems=[]), "uscc", other, TODAY)
    assert [p.code for p in after.problems] == ["uscc_not_applicant"]


def test_a_type_correction_settles_the_type_verdicts() -> None:
    before = licence(problems=[MISMATCH, UNSURE], classification=Classification(material_type="other"))
    after, old, new, resolved = _type_change(CATALOGUE, before, "business_licence")
    assert (old, new) == ("other", "business_licence")
    assert resolved == [MISMATCH]
    assert after.classification is not None
    assert after.classification.material_type == "business_licence"
    with pytest.raises(InvalidInput):
        _type_change(CATALOGUE, before, "no_such_type")


def test_a_rejected_file_may_only_have_an_overridable_verdict_overridden_by_its_type() -> None:
    refused = Reason("not_a_document", "不是材料。", "Not a document.")
    rejected = licence(status=MaterialStatus.REJECTED, reason=refused, problems=[], classification=None)
    _, old, _, resolved = _type_change(CATALOGUE, rejected, "business_licence")
    assert old is None
    assert resolved == [refused]
    with pytest.raises(Conflict):
        _field_change(CATALOGUE, application(), rejected, "legal_representative", "张三", TODAY)
    unreadable = rejected.model_copy(update={"reason": Reason("pdf_corrupt", "损坏。", "Damaged.")})
    with pytest.raises(Conflict):
        _type_change(CATALOGUE, unreadable, "business_licence")


def test_the_pinned_hashes_stay_and_the_correction_is_listed_beside_them() -> None:
    c = FieldCorrection(
        id="3", field="uscc", old="x", new=USCC, reason="r", actor="a", actor_role="reviewer", at=AT
    )
    corrected = licence(corrections=[c])
    [entry] = _evidence_with(application().evidence, corrected)
    assert (entry.sha256, entry.version_id) == ("c" * 64, "v1")
    assert entry.corrections == [c]
    # an overridden rejection that was never pinned joins the set
    assert len(_evidence_with([], corrected)) == 1


# ----------------------------------------------------------------------------- the use case


class _Repo:
    """Only what `correct` reads and writes (the Dynamo adapter is tested against moto)."""

    def __init__(self, app: Application, materials: list[Material]) -> None:
        from onestop.applications.ports import ApplicationBundle

        self.bundle = ApplicationBundle(app, materials, [])
        self.writes: list[tuple[Any, ...]] = []

    def load(self, application_id: str) -> Any:
        return self.bundle if application_id == self.bundle.application.id else None

    def apply_correction(self, *args: Any) -> None:
        self.writes.append(args)


def _deps(repo: _Repo) -> Any:
    from dataclasses import replace

    from onestop.applications.deps import ApplicationDeps

    deps = ApplicationDeps(repository=repo, catalogue=CATALOGUE, uploads=None, publisher=None, clock=None)  # type: ignore[arg-type]
    return replace(deps, now=lambda: AT, new_id=lambda: "f" * 32)


def _reviewer() -> Any:
    from onestop.applications.identity import Principal, Role

    return Principal(sub="rev", roles=frozenset({Role.REVIEWER}))


def test_the_same_statement_twice_writes_nothing_the_second_time() -> None:
    already = licence(problems=[], fields={"uscc": USCC, "legal_representative": "张三"})
    repo = _Repo(application(), [already])
    result = correct(
        _deps(repo), _reviewer(), "a" * 32, "b" * 32, CorrectionInput("legal_representative", "张三", "r")
    )
    assert result.applied is False
    assert repo.writes == []


def test_a_correction_moves_the_version_on_and_audits_old_and_new() -> None:
    repo = _Repo(application(), [licence()])
    result = correct(
        _deps(repo), _reviewer(), "a" * 32, "b" * 32, CorrectionInput("legal_representative", "张三", "r")
    )
    assert result.applied is True
    [(before, after, _, material, event)] = repo.writes
    assert after.version == before.version + 1
    assert event.n == after.version
    assert (event.actor, event.actor_role, event.action) == ("rev", "reviewer", "correct_field")
    assert event.comment is not None
    assert event.comment.endswith("legal_representative: 张三丰 → 张三")
    assert material.status == MaterialStatus.CATALOGUED
    assert after.evidence[0].corrections[0].new == "张三"


@pytest.mark.parametrize("status", [ApplicationStatus.DRAFT, ApplicationStatus.APPROVED])
def test_only_an_application_with_the_reviewers_is_corrected(status: ApplicationStatus) -> None:
    repo = _Repo(application(status), [licence()])
    with pytest.raises(Conflict):
        correct(
            _deps(repo), _reviewer(), "a" * 32, "b" * 32, CorrectionInput("legal_representative", "张三", "r")
        )


# ----------------------------------------------------------------------------- the "zero error" figure


def _stored(type_code: str, *corrections: tuple[str, str | None, str]) -> dict[str, Any]:
    return {
        "classification": {"material_type": type_code},
        "corrections": [{"field": f, "old": o, "new": n} for f, o, n in corrections],
    }


def test_the_correction_rate_counts_materials_changed_by_the_type_as_read() -> None:
    materials = [
        _stored("business_licence", ("legal_representative", "张三丰", "张三"), ("address", "a", "b")),
        _stored("business_licence", ("uscc", USCC, USCC)),  # a confirmation is not an error
        _stored("business_licence"),
        _stored("business_licence", (MATERIAL_TYPE, "application_form", "business_licence")),
        _stored("other"),
    ]
    assert type_as_read(materials[3]) == "application_form"
    report = material_corrections(materials, CATALOGUE)
    figures = {f.material_type: f for f in report.by_type}
    bl = figures["business_licence"]
    assert (bl.catalogued, bl.corrected, bl.confirmations) == (3, 1, 1)
    assert bl.field_corrections == {"address": 1, "legal_representative": 1}
    assert bl.correction_rate == round(1 / 3, 4)
    assert bl.zero_error_rate == round(1 - round(1 / 3, 4), 4)
    assert figures["application_form"].type_corrections == 1
    assert figures["application_form"].correction_rate == 1.0
    assert figures["other"].correction_rate == 0.0
    assert (report.totals.catalogued, report.totals.corrected) == (5, 2)
    assert report.totals.correction_rate == 0.4


def test_no_materials_no_rate() -> None:
    report = material_corrections([], CATALOGUE)
    assert report.by_type == []
    assert report.totals.correction_rate is None
    assert report.totals.zero_error_rate is None


# ----------------------------------------------------------------------------- into the licence


def test_the_licence_lists_the_corrected_values_marked_as_the_reviewers() -> None:
    from onestop.events import ApplicationApproved
    from onestop.licences.issuer import approval_from_event
    from onestop.licences.models import CORRECTED_BY_REVIEWER, EvidenceRef

    c = FieldCorrection(
        id="4",
        field="legal_representative",
        old="张三丰",
        new="张三",
        reason="原件",
        actor="rev",
        actor_role="reviewer",
        at=AT,
    )
    pinned = Evidence(slot="business_licence", upload_id="b" * 32, sha256="c" * 64, corrections=[c])
    plain = Evidence(slot="application", upload_id="d" * 32, sha256="e" * 64)
    detail = ApplicationApproved(
        application_id="a" * 32,
        item_code="refined-oil-retail-qualification",
        applicant={"kind": "enterprise", "code": USCC, "name": "深圳市示例贸易有限公司"},
        approved_at="2026-06-01T02:00:00Z",
        evidence=[e.model_dump() for e in (pinned, plain)],
    ).detail()
    assert "corrections" not in detail["evidence"][1]  # the wire as it was when nothing was corrected
    found = approval_from_event(ApplicationApproved.parse(detail), CATALOGUE)
    assert found is not None
    corrected, untouched = found[0].evidence
    assert untouched.corrections == ()
    listed = corrected.as_dict()["corrections"]
    assert [(x["field"], x["old"], x["new"], x["actor"]) for x in listed] == [
        ("legal_representative", "张三丰", "张三", "rev")
    ]
    assert listed[0]["note"] == CORRECTED_BY_REVIEWER
    assert corrected.sha256 == "c" * 64  # the bytes' hash as pinned
    assert EvidenceRef.from_dict(corrected.as_dict()) == corrected
    assert "corrections" not in untouched.as_dict()
