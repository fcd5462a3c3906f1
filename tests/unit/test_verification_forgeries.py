"""Attack suite of issue 12: every attack class built from a genuine licence (verification_forgeries),
run through `verify_pdf`, with the verdict and reason code the verifier must give.

Two kinds of tests:
- verdict tests (`test_verdict`, `test_rendering_cross_check`, and a few with details): what the
  verifier must say; several fail against the verifier of today, which is what issue 12 is about;
- builder tests: that each attack really is what it claims (renders differently, the junk fields are
  there, the timestamp tokens are genuine, the wrapped byte range names the signed bytes...).
"""

from __future__ import annotations

import fnmatch
import io
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

import pytest
from asn1crypto import cms
from onestop.licences.pki import to_asn1
from onestop.verification import Check, TrustAnchors, VerificationReport, verify_pdf
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import ValidationContext, validate_pdf_timestamp

from tests.unit import test_verification_support as S
from tests.unit import verification_forgeries as F

pytestmark = pytest.mark.timeout(600)

# ----------------------------------------------------------------------------- trust anchors


def anchors(pki: S.DevPki, tsa: F.Tsa | None = None, *, roots_only: bool = False) -> TrustAnchors:
    """The one place the suite builds trust anchors: the bureau root, its published seal, and the TSA
    anchors (the root of `tsa`). `roots_only` is what `onestop verify --trust ROOT.pem` loads."""
    roots = (to_asn1(pki.root_cert),)
    if roots_only:
        return TrustAnchors(roots=roots)
    extra: dict[str, Any] = {"tsa": (to_asn1(tsa.root),)} if tsa else {}
    try:
        return TrustAnchors(roots=roots, seals=(to_asn1(pki.seal_cert),), **extra)
    except TypeError:  # a TrustAnchors without TSA anchors (before issue 12)
        return TrustAnchors(roots=roots, seals=(to_asn1(pki.seal_cert),))


# ----------------------------------------------------------------------------- expected verdicts

Allowed = frozenset[tuple[str, str]]  # (verdict, code pattern) pairs, fnmatch patterns


def fail(*codes: str) -> Allowed:
    return frozenset(("fail", c) for c in codes or ("*",))


def unknown(*codes: str) -> Allowed:
    return frozenset(("unknown", c) for c in codes or ("*",))


def passes(*codes: str) -> Allowed:
    return frozenset(("pass", c) for c in codes or ("*",))


NOT_PASS = fail() | unknown()
FIELD_FORGERY = fail("annotation_added_after_sealing", "timestamp_not_invisible", "timestamp_invalid")
ISSUER_NOT_CLAIMED = unknown("issuer_not_checked") | fail()


@dataclass
class Case:
    """One attacked file, the licence whose registry record the verifier is given, what must happen."""

    data: bytes
    licence: S.Licence
    expect: Mapping[Check, Allowed]
    trust: str = "full"  # "full" (root, published seal, TSA anchors) or "roots_only"
    sealed_len: int = 0  # end of the sealed revision (default: the licence's sealed file)
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.sealed_len = self.sealed_len or len(self.licence.sealed)


def matches(verdict: str, code: str, allowed: Allowed) -> bool:
    return any(verdict == v and fnmatch.fnmatchcase(code, pattern) for v, pattern in allowed)


# ----------------------------------------------------------------------------- the suite, built once


STYLES: tuple[F.RectStyle, ...] = ("string", "numeric", "zero_ap")


class Suite:
    """Every attack file of issue 12, built once per module; reports and renderings cached."""

    def __init__(self) -> None:
        self.pki = S.make_pki()
        self.licence = S.make_licence(self.pki)
        self.tsa = F.bureau_tsa(self.pki)
        self._reports: dict[str, VerificationReport] = {}
        self._same: dict[str, bool] = {}

    @cached_property
    def cases(self) -> dict[str, Case]:
        lic, pki, tsa, sealed = self.licence, self.pki, self.tsa, self.licence.sealed
        INT, IS, ST, ID = Check.INTEGRITY, Check.ISSUER, Check.STATUS, Check.IDENTIFIER
        out: dict[str, Case] = {}

        # 1. visible forgeries under the no-changes seal
        kinds: dict[str, tuple[F.Kind, ...]] = {
            "square": ("square",),
            "ink": ("ink",),
            "link": ("link",),
            "square_ink": ("square", "ink"),
        }
        for kname, k in kinds.items():
            for style in STYLES:
                out[f"visible_{kname}_{style}"] = Case(
                    F.visible_forgery(sealed, k, style), lic, {INT: FIELD_FORGERY, ST: NOT_PASS}
                )

        # 2. document timestamps
        stamped = F.add_timestamp(sealed, tsa)
        genuine = {INT: passes("intact_with_validation_data"), ST: passes("valid_with_validation_updates")}
        out["timestamp_genuine"] = Case(stamped, lic, {**genuine, IS: passes(), ID: passes()})
        out["timestamp_genuine_dss"] = Case(F.add_validation_data(stamped, pki, tsa), lic, genuine)
        out["dss_only"] = Case(F.add_validation_data(sealed, pki), lic, genuine)
        out["timestamp_self_made_tsa"] = Case(
            F.add_timestamp(sealed, F.self_made_tsa()), lic, {INT: fail("timestamp_untrusted")}
        )
        backdated = F.self_made_tsa(not_before=datetime(2000, 1, 1, tzinfo=UTC))
        out["timestamp_2001"] = Case(
            F.add_timestamp(sealed, backdated, at=datetime(2001, 5, 5, 12, tzinfo=UTC)),
            lic,
            {INT: fail("timestamp_untrusted", "timestamp_time_implausible")},
        )
        out["timestamp_cms_not_token"] = Case(
            F.cms_as_timestamp(sealed, S.impostor_signer(pki, claim_root=False)),
            lic,
            {INT: fail("timestamp_invalid")},
        )
        out["timestamps_five"] = Case(
            F.add_timestamps(sealed, tsa, 5), lic, {INT: fail("too_many_timestamps")}
        )
        for count in (2_000, 21_000):
            out[f"junk_timestamp_fields_{count}"] = Case(
                F.junk_timestamp_fields(sealed, count),
                lic,
                {INT: fail("too_many_signature_fields", "too_many_timestamps")},
            )

        # 3. metadata rewritten after sealing
        changed = {INT: fail("metadata_changed_after_sealing"), ST: NOT_PASS}
        out["xmp_replaced"] = Case(F.replace_xmp(sealed), lic, changed)
        for key in F.INFO_FORGERIES:
            out[f"info_{key[1:].lower()}"] = Case(F.change_info(sealed, key), lic, changed)

        # 4. sealed with the bureau's time-stamping certificate
        tsa_sealed = F.seal_with_tsa_certificate(lic)
        out["tsa_certificate_seal_roots_only"] = Case(
            tsa_sealed,
            lic,
            {IS: unknown("seal_publication_not_checked") | fail("extended_key_usage")},
            trust="roots_only",
            sealed_len=len(tsa_sealed),
        )
        out["tsa_certificate_seal"] = Case(
            tsa_sealed, lic, {IS: fail("unpublished_seal", "extended_key_usage")}, sealed_len=len(tsa_sealed)
        )

        # 5. the signature itself
        donor = S.make_licence(pki, S.metadata("20250000002"))
        broken = {INT: fail(), IS: ISSUER_NOT_CLAIMED, ST: NOT_PASS}
        out["transplanted_cms"] = Case(F.transplant_cms(sealed, donor.sealed), lic, broken)
        out["zeroed_signature_value"] = Case(F.zero_signature_value(sealed), lic, broken)
        out["wrapped_byte_range"] = Case(F.wrap_byte_range(sealed), lic, broken)
        out["forged_byte_range_short"] = Case(F.forged_byte_range(sealed, "short"), lic, broken)
        out["forged_byte_range_gap"] = Case(F.forged_byte_range(sealed, "gap"), lic, broken)

        # 6. cost
        out["huge_contents_update"] = Case(
            F.huge_contents_update(sealed), lic, {INT: fail("contents_too_large")}
        )
        resealed = F.seal_with_reservation(lic.unsigned, pki, lic.seal_box, 3_800_000)
        out["huge_contents_seal"] = Case(
            # The registry holds this very file here, so status may say so; the report is invalid anyway.
            resealed,
            replace(lic, sealed=resealed),
            {INT: fail("contents_too_large")},
        )

        # 7. reasons
        out["hybrid_xref_update"] = Case(
            F.hybrid_xref_update(sealed), lic, {INT: fail("xref_manipulated", "*_after_sealing")}
        )
        out["nesting_10000"] = Case(
            F.deeply_nested_update(sealed), lic, {INT: fail("nesting_too_deep", "pdf_unreadable")}
        )
        shadow_sealed, shadow = F.shadow_hide(lic)
        out["shadow_hide"] = Case(shadow, replace(lic, sealed=shadow_sealed), {INT: fail("*_after_sealing")})
        out["seal_field_unlisted"] = Case(F.remove_seal_field(sealed), lic, {INT: fail("seal_removed")})
        out["seal_field_retyped"] = Case(
            F.remove_seal_field(sealed, "retyped"), lic, {INT: fail("seal_removed")}
        )
        for name, org in F.BUREAU_CONFUSABLES.items():
            data = F.confusable_impostor(lic, org)
            out[f"impostor_{name}"] = Case(data, lic, {IS: fail("impersonation")}, sealed_len=len(data))
        wrong, right = F.wrong_check_character(pki)
        out["wrong_check_character"] = Case(wrong.sealed, wrong, {ID: fail()}, extra={"right": right})

        # 8. edges
        for name, eol in (("lf", b"\n"), ("crlf", b"\r\n"), ("crlf_crlf", b"\r\n\r\n")):
            out[f"eol_after_eof_{name}"] = Case(F.after_eof(sealed, eol), lic, {INT: passes(), ST: passes()})
        for name, byte in (("space", b" "), ("nul", b"\0")):
            out[f"{name}_after_eof"] = Case(F.after_eof(sealed, byte), lic, {INT: fail("data_after_eof")})
        out["contents_padding_changed"] = Case(
            F.change_contents_padding(sealed), lic, {INT: fail("contents_padding")}
        )
        return out

    def report(self, name: str) -> VerificationReport:
        if name not in self._reports:
            case = self.cases[name]
            pki = case.licence.pki
            trust = anchors(pki, roots_only=True) if case.trust == "roots_only" else anchors(pki, self.tsa)
            self._reports[name] = verify_pdf(
                case.data, trust=trust, registry_lookup=S.registry(S.record_for(case.licence))
            )
        return self._reports[name]

    def renders_same(self, name: str) -> bool:
        if name not in self._same:
            case = self.cases[name]
            self._same[name] = F.renders_same(case.data, case.sealed_len)
        return self._same[name]


CASE_NAMES = [
    *(
        f"visible_{k}_{s}"
        for k in ("square", "ink", "link", "square_ink")
        for s in ("string", "numeric", "zero_ap")
    ),
    "timestamp_genuine",
    "timestamp_genuine_dss",
    "dss_only",
    "timestamp_self_made_tsa",
    "timestamp_2001",
    "timestamp_cms_not_token",
    "timestamps_five",
    "junk_timestamp_fields_2000",
    "junk_timestamp_fields_21000",
    "xmp_replaced",
    *(f"info_{k[1:].lower()}" for k in F.INFO_FORGERIES),
    "tsa_certificate_seal_roots_only",
    "tsa_certificate_seal",
    "transplanted_cms",
    "zeroed_signature_value",
    "wrapped_byte_range",
    "forged_byte_range_short",
    "forged_byte_range_gap",
    "huge_contents_update",
    "huge_contents_seal",
    "hybrid_xref_update",
    "nesting_10000",
    "shadow_hide",
    "seal_field_unlisted",
    "seal_field_retyped",
    *(f"impostor_{k}" for k in F.BUREAU_CONFUSABLES),
    "wrong_check_character",
    "eol_after_eof_lf",
    "eol_after_eof_crlf",
    "eol_after_eof_crlf_crlf",
    "space_after_eof",
    "nul_after_eof",
    "contents_padding_changed",
]
VISIBLE = [n for n in CASE_NAMES if n.startswith("visible_") and not n.startswith("visible_link_")]
LINKS = ["visible_link_string", "visible_link_numeric"]
GENUINE_UPDATES = ["timestamp_genuine", "timestamp_genuine_dss", "dss_only"]


@pytest.fixture(scope="module")
def suite() -> Suite:
    return Suite()


def verdicts(report: VerificationReport) -> dict[str, tuple[str, str]]:
    return {c.check.value: (c.verdict.value, c.code) for c in report.checks}


def result(report: VerificationReport, check: Check) -> Any:
    return next(c for c in report.checks if c.check is check)


# ----------------------------------------------------------------------------- verdicts (issue 12)


def test_case_list_is_complete(suite: Suite) -> None:
    assert sorted(CASE_NAMES) == sorted(suite.cases)


@pytest.mark.parametrize("name", CASE_NAMES)
def test_verdict(suite: Suite, name: str) -> None:
    report = suite.report(name)
    got = verdicts(report)
    for check, allowed in suite.cases[name].expect.items():
        verdict, code = got[check.value]
        assert matches(verdict, code, allowed), (name, check.value, got, sorted(allowed))
    if any(not matches(*got[c.value], passes()) for c in suite.cases[name].expect):
        assert not report.valid, got


@pytest.mark.parametrize("name", CASE_NAMES)
def test_rendering_cross_check(suite: Suite, name: str) -> None:
    """Issue 12 item 7: where the whole file renders differently from its sealed revision, integrity fails."""
    if suite.renders_same(name):
        return
    report = suite.report(name)
    assert result(report, Check.INTEGRITY).verdict.value == "fail", verdicts(report)


def test_genuine_timestamp_is_listed(suite: Suite) -> None:
    integrity = result(suite.report("timestamp_genuine"), Check.INTEGRITY)
    stamps = integrity.details.get("timestamps")
    assert isinstance(stamps, list), dict(integrity.details)
    assert len(stamps) == 1
    assert isinstance(stamps[0], dict)
    assert stamps[0].get("time")
    assert stamps[0].get("tsa")


@pytest.mark.parametrize("name", ["eol_after_eof_lf", "eol_after_eof_crlf", "eol_after_eof_crlf_crlf"])
def test_trailing_eol_is_not_the_exact_original(suite: Suite, name: str) -> None:
    status = result(suite.report(name), Check.STATUS)
    assert status.verdict.value == "pass", verdicts(suite.report(name))
    assert status.details["file_sha256"] != status.details["registered_sha256"]


def test_wrong_check_character_is_not_disclosed(suite: Suite) -> None:
    right = suite.cases["wrong_check_character"].extra["right"]
    identifier = result(suite.report("wrong_check_character"), Check.IDENTIFIER)
    assert identifier.verdict.value == "fail"
    disclosed = re.compile(rf"(should\s+be|expected|应为)\W*{re.escape(right)}", re.IGNORECASE)
    assert not disclosed.search(identifier.reason_en), identifier.reason_en
    assert not disclosed.search(identifier.reason_zh), identifier.reason_zh


# ----------------------------------------------------------------------------- the builders themselves


@pytest.mark.parametrize("name", VISIBLE)
def test_visible_forgery_renders_differently(suite: Suite, name: str) -> None:
    assert F.renders_same(suite.licence.sealed, len(suite.licence.sealed))
    assert not suite.renders_same(name)


@pytest.mark.parametrize("name", LINKS)
def test_forged_link_is_active_over_the_qr_code(suite: Suite, name: str) -> None:
    x, y = (F.QR_BOX[0] + F.QR_BOX[2]) / 2, (F.QR_BOX[1] + F.QR_BOX[3]) / 2
    assert F.links_at(suite.licence.sealed, x, y) == []
    assert F.links_at(suite.cases[name].data, x, y) == [F.EVIL_URL]


def _new_annotations(data: bytes, before: bytes) -> list[generic.DictionaryObject]:
    old = set(re.findall(rb"(\d+) 0 obj", before))
    reader = PdfFileReader(io.BytesIO(data), strict=False)
    page = reader.root["/Pages"]["/Kids"][0].get_object()
    refs = page["/Annots"]
    return [refs[i] for i in range(len(refs)) if str(refs.raw_get(i).idnum).encode() not in old]


@pytest.mark.parametrize("name", [n for n in CASE_NAMES if n.startswith("visible_")])
def test_visible_forgery_fields_are_doc_timestamps(suite: Suite, name: str) -> None:
    data = suite.cases[name].data
    assert data.startswith(suite.licence.sealed)
    annots = _new_annotations(data, suite.licence.sealed)
    reader = PdfFileReader(io.BytesIO(data), strict=False)
    field_names = [f.get_object()["/T"] for f in reader.root["/AcroForm"]["/Fields"]]
    assert annots
    for annot in annots:
        assert annot["/FT"] == "/Sig"
        assert annot["/V"]["/Type"] == "/DocTimeStamp"
        assert annot["/T"] in field_names
        assert annot["/Subtype"] in {"/Square", "/Ink", "/Link"}
        rect = annot.raw_get("/Rect")
        if name.endswith("_string"):
            assert isinstance(rect[0], (generic.TextStringObject, generic.ByteStringObject))
        elif name.endswith("_zero_ap"):
            assert rect[0] == rect[2]
            assert rect[1] == rect[3]
            assert "/AP" in annot
        else:
            assert rect[2] > rect[0]
            assert rect[3] > rect[1]


@pytest.mark.parametrize("name", GENUINE_UPDATES)
def test_genuine_validation_updates_render_the_same(suite: Suite, name: str) -> None:
    assert suite.renders_same(name)


def _timestamps(data: bytes) -> list[Any]:
    return list(PdfFileReader(io.BytesIO(data), strict=False).embedded_timestamp_signatures)


def test_genuine_timestamp_token_validates(suite: Suite) -> None:
    (stamp,) = _timestamps(suite.cases["timestamp_genuine"].data)
    context = ValidationContext(trust_roots=[to_asn1(suite.pki.root_cert)])
    status = validate_pdf_timestamp(stamp, validation_context=context)
    assert status.intact
    assert status.valid
    assert status.trusted


def test_self_made_timestamps_are_genuine_tokens_of_another_tsa(suite: Suite) -> None:
    (stamp,) = _timestamps(suite.cases["timestamp_self_made_tsa"].data)
    status = validate_pdf_timestamp(stamp, validation_context=ValidationContext(trust_roots=[]))
    assert status.intact
    assert not status.trusted
    (old,) = _timestamps(suite.cases["timestamp_2001"].data)
    tst = old.signed_data["encap_content_info"]["content"].parsed
    assert tst["gen_time"].native.year == 2001


def test_cms_typed_doc_timestamp_is_not_a_token(suite: Suite) -> None:
    data = suite.cases["timestamp_cms_not_token"].data
    assert b"/DocTimeStamp" in data[len(suite.licence.sealed) :]
    der = F._cms(data)
    content = cms.ContentInfo.load(der)["content"]
    assert content["encap_content_info"]["content_type"].native == "data"


def test_five_timestamps_are_five_updates(suite: Suite) -> None:
    data = suite.cases["timestamps_five"].data
    assert len(_timestamps(data)) == 5
    assert data.count(b"%%EOF") == suite.licence.sealed.count(b"%%EOF") + 5


@pytest.mark.parametrize("count", [2_000, 21_000])
def test_junk_timestamp_fields_are_there(suite: Suite, count: int) -> None:
    start = time.perf_counter()
    data = F.junk_timestamp_fields(suite.licence.sealed, count)
    assert time.perf_counter() - start < 5
    assert len(data) <= 5_000_000
    assert data == suite.cases[f"junk_timestamp_fields_{count}"].data
    assert data.count(b"%%EOF") == suite.licence.sealed.count(b"%%EOF") + 1
    reader = PdfFileReader(io.BytesIO(data), strict=False)
    fields_ = reader.root["/AcroForm"]["/Fields"]
    assert len(fields_) == count + 1
    last = fields_[count].get_object()
    assert last["/FT"] == "/Sig"
    assert last["/V"]["/Type"] == "/DocTimeStamp"


def test_metadata_builders_change_what_they_say(suite: Suite) -> None:
    xmp = PdfFileReader(io.BytesIO(suite.cases["xmp_replaced"].data), strict=False).root["/Metadata"].data
    assert b"29990000001" in xmp
    assert suite.licence.meta.licence_id.encode() not in xmp
    for key, value in F.INFO_FORGERIES.items():
        data = suite.cases[f"info_{key[1:].lower()}"].data
        info = PdfFileReader(io.BytesIO(data), strict=False).trailer_view["/Info"]
        assert info[key] == value
        before = PdfFileReader(io.BytesIO(suite.licence.sealed), strict=False).trailer_view["/Info"]
        assert before.get(key) != value


def test_tsa_certificate_seal_is_cryptographically_sound(suite: Suite) -> None:
    from pyhanko.sign.validation import validate_pdf_signature

    data = suite.cases["tsa_certificate_seal"].data
    (sig,) = PdfFileReader(io.BytesIO(data), strict=False).embedded_regular_signatures
    ekus = sig.signer_cert.extended_key_usage_value.native
    assert ekus == ["time_stamping"]
    status = validate_pdf_signature(sig, ValidationContext(trust_roots=[to_asn1(suite.pki.root_cert)]))
    assert status.intact
    assert status.valid


def _signature_value(pdf: bytes) -> bytes:
    value = cms.ContentInfo.load(F._cms(pdf))["content"]["signer_infos"][0]["signature"].native
    assert isinstance(value, bytes)
    return value


def test_signature_attack_builders(suite: Suite) -> None:
    sealed = suite.licence.sealed
    span = F.contents_span(sealed)
    transplanted = suite.cases["transplanted_cms"].data
    assert len(transplanted) == len(sealed)
    assert F._cms(transplanted) != F._cms(sealed)
    assert transplanted[: span[0]] == sealed[: span[0]]

    zeroed = suite.cases["zeroed_signature_value"].data
    sig, genuine_sig = _signature_value(zeroed), _signature_value(sealed)
    assert len(sig) == len(genuine_sig)
    r_len = sig[3]
    s_len = sig[5 + r_len]
    assert sig[4 : 4 + r_len] == bytes(r_len)
    assert sig[6 + r_len : 6 + r_len + s_len] == bytes(s_len)
    assert F.der_length(zeroed) == F.der_length(sealed)

    for name in ("forged_byte_range_short", "forged_byte_range_gap"):
        forged = suite.cases[name].data
        assert len(forged) == len(sealed)
        assert S.byte_range(forged) != S.byte_range(sealed)


def test_wrapped_byte_range_names_the_signed_bytes(suite: Suite) -> None:
    sealed, data = suite.licence.sealed, suite.cases["wrapped_byte_range"].data
    a, b, c, d = S.byte_range(sealed)
    wa, wb, wc, wd = re.findall(rb"/ByteRange \[(\d+) (\d+) (\d+) (\d+)\]", data)[0]
    wa, wb, wc, wd = int(wa), int(wb), int(wc), int(wd)
    assert (wa, wb, wd) == (a, b, d)
    assert wc > c
    assert wc + wd == len(data)
    assert data[wa : wa + wb] + data[wc : wc + wd] == sealed[a : a + b] + sealed[c : c + d]
    assert not suite.renders_same("wrapped_byte_range")


def test_huge_contents(suite: Suite) -> None:
    for name in ("huge_contents_update", "huge_contents_seal"):
        data = suite.cases[name].data
        assert len(data) <= 5_000_000
        start, end = F.contents_span(data)
        assert end - start >= 3_800_000


def test_reason_builders(suite: Suite) -> None:
    hybrid = suite.cases["hybrid_xref_update"].data
    assert b"/XRefStm" in hybrid[len(suite.licence.sealed) :]
    assert not suite.renders_same("hybrid_xref_update")
    nested = suite.cases["nesting_10000"].data
    assert b"[" * 10_000 in nested
    shadow = suite.cases["shadow_hide"]
    assert F.render_page(shadow.licence.sealed) == F.render_page(suite.licence.sealed)
    assert not suite.renders_same("shadow_hide")
    appended = shadow.data[shadow.sealed_len :]
    assert len(re.findall(rb"\d+ 0 obj", appended)) == 1
    unlisted = PdfFileReader(io.BytesIO(suite.cases["seal_field_unlisted"].data), strict=False)
    assert len(unlisted.root["/AcroForm"]["/Fields"]) == 0
    retyped = PdfFileReader(io.BytesIO(suite.cases["seal_field_retyped"].data), strict=False)
    assert retyped.root["/AcroForm"]["/Fields"][0]["/FT"] == "/Tx"


@pytest.mark.parametrize("name", list(F.BUREAU_CONFUSABLES))
def test_impostor_names_are_confusable(suite: Suite, name: str) -> None:
    data = suite.cases[f"impostor_{name}"].data
    (sig,) = PdfFileReader(io.BytesIO(data), strict=False).embedded_regular_signatures
    org = sig.signer_cert.subject.native["organization_name"]
    assert org == F.BUREAU_CONFUSABLES[name]
    assert org != S.BUREAU.name_zh


def test_wrong_check_character_licence(suite: Suite) -> None:
    case = suite.cases["wrong_check_character"]
    assert case.licence.meta.licence_id[-1] != case.extra["right"]
    info = PdfFileReader(io.BytesIO(case.data), strict=False).trailer_view["/Info"]
    assert info["/Subject"] == case.licence.meta.licence_id


def test_edge_builders(suite: Suite) -> None:
    sealed = suite.licence.sealed
    assert suite.cases["eol_after_eof_crlf"].data == sealed + b"\r\n"
    assert suite.cases["nul_after_eof"].data == sealed + b"\0"
    padded = suite.cases["contents_padding_changed"].data
    assert F._cms(padded) == F._cms(sealed)
    assert sum(x != y for x, y in zip(padded, sealed, strict=True)) == 1
