"""Every limit at its boundary: exactly `max` is accepted, `max + 1` is refused.

Each test pins one limit so that a `>` turned into `>=` (refuses `max`) or a few KiB of slack (accepts
`max + 1`) fails it. The test ids name the limit. Limits enforced by an AWS adapter (S3 reads,
presigned POST policies, the upload ticket, the ingest of an S3 object) are pinned against moto in
tests/integration/test_limits_boundaries.py.
"""

from __future__ import annotations

import base64
import io
from datetime import date, timedelta
from typing import Any

import pytest
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2
from onestop.applications.models import ApplicationStatus
from onestop.errors import InvalidInput, MalformedRequest, PayloadTooLarge, Reason
from onestop.http.verify_api import read_pdf_body
from onestop.materials.images import ImageRejected, load_image
from onestop.materials.limits import DEFAULT_LIMITS, Limits, MiB
from onestop.materials.pdftext import PdfRejected, analyse_pdf
from onestop.materials.pipeline import process_upload
from onestop.quality.kpis import MAX_PERIOD_DAYS, Period
from onestop.quality.models import CaseStep, ReviewLevel
from onestop.quality.reviews import MAX_COMMENT, MAX_NOTE
from PIL import Image
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas

from infra import samples
from tests.unit.test_quality_reviews import ALICE, GOOD, REVIEWER, application, opened_case, service

KiB = 1024


def test_the_default_limits_are_the_documented_ones() -> None:
    # The figures the tests below pin at their boundaries (and that the runbook and the template cite).
    assert DEFAULT_LIMITS.max_bytes == 20 * MiB == 20_971_520
    assert DEFAULT_LIMITS.max_pages == 50
    assert DEFAULT_LIMITS.max_pixels == 50_000_000
    assert (MAX_PERIOD_DAYS, MAX_COMMENT, MAX_NOTE) == (366, 1000, 2000)


# ------------------------------------------------------------------------- file size (materials)


@pytest.fixture(scope="module")
def certificate_pdf() -> bytes:
    """A small PDF with a text layer: processed without OCR."""
    return samples.site_certificate_pdf("深圳市前海星河技术有限公司")


def _size_refused(outcome: Any) -> bool:
    return bool(outcome.status == "rejected" and outcome.reason.code == "file_too_large")


@pytest.mark.parametrize("slack", [0, 1], ids=["max_bytes-at-max", "max_bytes-at-max+1"])
def test_max_bytes_in_the_pipeline(certificate_pdf: bytes, slack: int) -> None:
    limit = len(certificate_pdf) - slack  # slack 1: the file is one byte over the limit
    outcome = process_upload(certificate_pdf, expected_material_type="other", limits=Limits(max_bytes=limit))
    if slack == 0:
        assert outcome.status in ("catalogued", "needs_attention"), outcome.reason.en
        assert outcome.normalised_pdf is not None
    else:
        assert _size_refused(outcome)
        assert outcome.size == limit + 1
        assert outcome.normalised_pdf is None


def test_max_bytes_default_20_mib() -> None:
    # Not a document at all: at 20 MiB exactly the size check lets it through to the type check,
    # one byte more and the size check refuses it. Neither reads further (no OCR, no PDF worker).
    at_max = b"junk" * (20 * MiB // 4)
    assert len(at_max) == 20 * MiB
    accepted = process_upload(at_max)
    assert (accepted.status, accepted.reason.code) == ("rejected", "unsupported_type")
    over = process_upload(at_max + b"j")
    assert _size_refused(over)
    assert over.size == 20 * MiB + 1
    assert "20 MB" in over.reason.en


# ------------------------------------------------------------------------- PDF pages


def _pdf_with_pages(n: int) -> bytes:
    out = io.BytesIO()
    c = canvas.Canvas(out, pagesize=A4)
    for i in range(n):
        c.drawString(72, 760, f"Page {i + 1} of {n}: site use certificate")
        c.showPage()
    c.save()
    return out.getvalue()


@pytest.mark.parametrize("pages", [3, 4], ids=["max_pages-at-max", "max_pages-at-max+1"])
def test_max_pages_configured(pages: int) -> None:
    limits = Limits(max_pages=3)
    if pages == 3:
        assert analyse_pdf(_pdf_with_pages(pages), limits).pages == 3
    else:
        with pytest.raises(PdfRejected) as refused:
            analyse_pdf(_pdf_with_pages(pages), limits)
        assert refused.value.reason.code == "pdf_too_many_pages"
        assert "4" in refused.value.reason.en
        assert "3" in refused.value.reason.en


@pytest.mark.parametrize("pages", [50, 51], ids=["max_pages-default-at-max", "max_pages-default-at-max+1"])
def test_max_pages_default_50(pages: int) -> None:
    outcome = process_upload(_pdf_with_pages(pages), expected_material_type="other")
    if pages == 50:
        assert outcome.reason.code != "pdf_too_many_pages"
        assert outcome.pages == 50
    else:
        assert (outcome.status, outcome.reason.code) == ("rejected", "pdf_too_many_pages")


# ------------------------------------------------------------------------- image pixels


def _png(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("L", (width, height), 255).save(out, format="PNG")
    return out.getvalue()


@pytest.mark.parametrize(
    ("width", "height"),
    [(100, 50), (5000, 1), (1, 5000), (5001, 1), (1, 5001)],
    ids=[
        "max_pixels-at-max",
        "max_pixels-at-max-one-row",
        "max_pixels-at-max-one-column",
        "max_pixels-at-max+1-wide",
        "max_pixels-at-max+1-tall",
    ],
)
def test_max_pixels_configured(width: int, height: int) -> None:
    limits = Limits(max_pixels=5000)
    data = _png(width, height)
    if width * height <= 5000:
        loaded = load_image(data, limits)
        assert loaded.rgb.shape[:2] == (height, width)
    else:
        with pytest.raises(ImageRejected) as refused:
            load_image(data, limits)
        assert refused.value.reason.code == "image_too_large"


@pytest.mark.parametrize(
    ("width", "height"),
    [(100, 50), (5001, 1)],
    ids=["max_pixels-pipeline-at-max", "max_pixels-pipeline-at-max+1"],
)
def test_max_pixels_through_the_pipeline(width: int, height: int) -> None:
    # A blank image: within the limit it is decoded and then found to hold no document.
    outcome = process_upload(_png(width, height), limits=Limits(max_pixels=5000))
    expected = "not_a_document" if width * height == 5000 else "image_too_large"
    assert (outcome.status, outcome.reason.code) == ("rejected", expected)


# ------------------------------------------------------------------------- POST /verify body size


def _verify_event(body: bytes, *, as_base64: bool) -> APIGatewayProxyEventV2:
    text = base64.b64encode(body).decode() if as_base64 else body.decode("latin-1")
    return APIGatewayProxyEventV2(
        {"headers": {"content-type": "application/pdf"}, "body": text, "isBase64Encoded": as_base64}
    )


def _pdf_of(size: int) -> bytes:
    return (b"%PDF-1.7\n" + b"%" * size)[:size]


@pytest.mark.parametrize("as_base64", [True, False], ids=["base64", "raw"])
def test_verify_body_size_at_max_and_max_plus_one(as_base64: bool) -> None:
    limit = 1000
    assert read_pdf_body(_verify_event(_pdf_of(limit), as_base64=as_base64), limit) == _pdf_of(limit)
    with pytest.raises(PayloadTooLarge) as refused:
        read_pdf_body(_verify_event(_pdf_of(limit + 1), as_base64=as_base64), limit)
    assert refused.value.code == "pdf_too_large"
    assert refused.value.http_status == 413
    assert refused.value.extra == {"max_bytes": limit}


@pytest.mark.parametrize("limit", [1000, 1001, 1002], ids=lambda n: f"verify-base64-bound-limit-{n}")
def test_verify_base64_body_is_measured_before_decoding(limit: int) -> None:
    # n bytes take at most (n + 2) // 3 * 4 base64 characters, 4 more are tolerated (line endings):
    # for 1000, 1001 and 1002 bytes that is 334 · 4 + 4 = 1340. A longer body is refused unread; one of
    # exactly 1340 characters is decoded (and, not being base64, refused as not a PDF).
    def event(chars: int) -> APIGatewayProxyEventV2:
        return APIGatewayProxyEventV2(
            {"headers": {"content-type": "application/pdf"}, "body": "!" * chars, "isBase64Encoded": True}
        )

    with pytest.raises(InvalidInput) as not_pdf:
        read_pdf_body(event(1340), limit)
    assert not_pdf.value.code == "not_a_pdf"
    with pytest.raises(PayloadTooLarge) as refused:
        read_pdf_body(event(1341), limit)
    assert refused.value.extra == {"max_bytes": limit}


# ------------------------------------------------------------------------- KPI period, review texts


@pytest.mark.parametrize(
    "days", [MAX_PERIOD_DAYS, MAX_PERIOD_DAYS + 1], ids=["period-at-max", "period-at-max+1"]
)
def test_kpi_period_length(days: int) -> None:
    start = date(2024, 1, 1)  # 2024 has 366 days: the whole leap year is one period
    end = start + timedelta(days=days - 1)
    if days == MAX_PERIOD_DAYS:
        assert end == date(2024, 12, 31)
        assert Period.of(start, end) == Period(start, end)
    else:
        with pytest.raises(InvalidInput) as refused:
            Period.of(start, end)
        assert [(r.code, r.field) for r in refused.value.details] == [("period_too_long", "to")]


@pytest.mark.parametrize("length", [MAX_COMMENT, MAX_COMMENT + 1], ids=["comment-at-max", "comment-at-max+1"])
def test_review_comment_length(length: int) -> None:
    svc = service(application("a1", ApplicationStatus.APPROVED))
    comment = "长" * length
    if length == MAX_COMMENT:
        assert svc.submit(ALICE, "a1", ReviewLevel.SATISFIED, GOOD, comment).review.comment == comment
    else:
        with pytest.raises(InvalidInput) as refused:
            svc.submit(ALICE, "a1", ReviewLevel.SATISFIED, GOOD, comment)
        assert [(r.code, r.field) for r in refused.value.details] == [("comment_too_long", "comment")]


@pytest.mark.parametrize(
    "length",
    [1, MAX_NOTE, MAX_NOTE + 1, 0],
    ids=["note-at-min", "note-at-max", "note-at-max+1", "note-empty"],
)
def test_case_note_length(length: int) -> None:
    svc, _, case_id = opened_case()
    note = "核" * length
    if 1 <= length <= MAX_NOTE:
        assert svc.record_step(REVIEWER, case_id, CaseStep.VERIFY, note).steps[-1].note == note
    else:
        with pytest.raises(InvalidInput) as refused:
            svc.record_step(REVIEWER, case_id, CaseStep.VERIFY, note)
        assert [(r.code, r.field) for r in refused.value.details] == [("note_required", "note")]


# ------------------------------------------------------------------------- HTTP request bodies


def test_json_depth_counts_brackets_outside_strings_only() -> None:
    from onestop.http.bodies import json_depth

    assert json_depth('"[[[["') == 0
    assert json_depth("1") == 0
    assert json_depth("{}") == 1
    assert json_depth('{"a": [1, {"b": "]]]]"}], "c": {}}') == 3
    # An escaped quote does not end a string, an escaped backslash does not escape the quote after it.
    assert json_depth(r'["\"[[[", "\\", [[]]]') == 3
    assert json_depth("[" * 100_000 + "]" * 100_000) == 100_000
    # A deeper sibling after a closed one: depth falls by one per bracket, not back to the top.
    assert json_depth("[[[],[[]]]]") == 4


def _nested(depth: int) -> str:
    """A JSON object nesting exactly `depth` levels."""
    return '{"a":' * (depth - 1) + "{}" + "}" * (depth - 1)


@pytest.mark.parametrize("over", [0, 1], ids=["MAX_JSON_DEPTH-at-max", "MAX_JSON_DEPTH-at-max+1"])
def test_json_body_depth_limit(over: int) -> None:
    from onestop.http.bodies import MAX_JSON_DEPTH, json_body, json_depth

    text = _nested(MAX_JSON_DEPTH + over)
    assert json_depth(text) == MAX_JSON_DEPTH + over
    if over:
        with pytest.raises(MalformedRequest) as refused:
            json_body(text)
        assert (refused.value.code, refused.value.http_status) == ("malformed_json", 400)
        assert refused.value.extra == {"max_depth": MAX_JSON_DEPTH}
        assert refused.value.details == [
            Reason("body_too_deep", "嵌套层数过多。", "Nested too deeply.", "body")
        ]
        assert f"nests {MAX_JSON_DEPTH + 1} levels deep" in refused.value.en
        assert f"嵌套 {MAX_JSON_DEPTH + 1} 层" in refused.value.zh
    else:
        assert isinstance(json_body(text), dict)


@pytest.mark.parametrize("over", [0, 1], ids=["MAX_BODY_BYTES-at-max", "MAX_BODY_BYTES-at-max+1"])
def test_json_body_size_limit_counts_utf8_bytes(over: int) -> None:
    from onestop.http.bodies import MAX_BODY_BYTES, json_body

    assert MAX_BODY_BYTES == 65_536
    # 3 UTF-8 bytes per character: a limit counted in characters would let three times as much in.
    head, tail = '{"note": "', '"}'
    room = MAX_BODY_BYTES - len(head) - len(tail)
    text = head + "证" * (room // 3) + "a" * (room % 3 + over) + tail
    assert len(text.encode()) == MAX_BODY_BYTES + over
    if over:
        with pytest.raises(PayloadTooLarge) as refused:
            json_body(text)
        assert refused.value.code == "body_too_large"
        assert refused.value.extra == {"max_bytes": MAX_BODY_BYTES}
        assert refused.value.details == [
            Reason("body_too_large", "请求体过大。", "Request body too large.", "body")
        ]
        assert f"is {MAX_BODY_BYTES + 1} bytes" in refused.value.en
        assert f"请求体为 {MAX_BODY_BYTES + 1} 字节" in refused.value.zh
    else:
        assert len(json_body(text)["note"]) == room // 3 + room % 3


def test_a_null_body_is_malformed_json_at_its_first_character() -> None:
    import json

    from onestop.http.bodies import json_body

    with pytest.raises(json.JSONDecodeError) as refused:
        json_body("null")
    assert (refused.value.doc, refused.value.pos) == ("null", 0)
