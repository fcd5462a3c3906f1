"""The cached static layout of the licence renderer (issue 16 item 5): each licence type and issuer
keeps its own template, no field of one licence reaches the next, the width table measures what
reportlab measures, and a long signed-credential QR payload renders decodable and inside its box."""

from __future__ import annotations

import io
import itertools
import subprocess

import pypdfium2
import pytest
import zxingcpp
from onestop.identifiers.licence_id import make_licence_id
from onestop.licences import render
from onestop.licences.models import HolderKind, LicenceMetadata
from onestop.licences.render import QR_MAX, ROWS_FLOOR, qr_modules, qr_size, render_licence
from pypdf import PdfReader
from reportlab.pdfbase import pdfmetrics

from tests.unit.test_licence_support import BUREAU_USCC, PERSON_ID, TYPE_CODE, require_tool, sample_metadata

OIL = {
    "name_zh": "成品油零售经营批准证书",
    "name_en": "Approval Certificate for Retail Sale of Refined Oil Products",
}
FOOD = {
    "name_zh": "食品经营许可证",
    "name_en": "Food Business Licence",
}
OTHER_ISSUER = {
    "issuer_name": "深圳市市场监督管理局",
    "issuer_name_en": "Shenzhen Administration for Market Regulation",
}


def _meta(serial: str, **changes: object) -> LicenceMetadata:
    licence_id = make_licence_id(TYPE_CODE, BUREAU_USCC, serial)
    return sample_metadata(licence_id=licence_id, number=f"440300-{serial}", **changes)


def _url(meta: LicenceMetadata) -> str:
    return f"https://onestop.example.gov.cn/verify/{meta.licence_id}"


def _text(pdf: bytes) -> str:
    require_tool("pdftotext")
    done = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", "-", "-"], input=pdf, capture_output=True, check=True
    )
    return " ".join(done.stdout.decode("utf-8").split())  # wrapped lines joined


def _pdf_info(pdf: bytes) -> dict[str, str]:
    info = PdfReader(io.BytesIO(pdf)).metadata
    return {} if info is None else {str(k): str(v) for k, v in info.items()}


def test_two_types_rendered_alternately_each_show_their_own_title_and_issuer() -> None:
    oil = _meta("20250000101", **OIL)
    food = _meta("20250000102", **FOOD, **OTHER_ISSUER)
    texts = [_text(render_licence(m, verify_url=_url(m)).pdf) for m in (oil, food, oil, food)]
    for text in texts[0::2]:
        assert OIL["name_zh"] in text
        assert OIL["name_en"] in text
        assert "Shenzhen Municipal Commerce Bureau;" in text  # the footer note names the issuer
        assert FOOD["name_zh"] not in text
        assert FOOD["name_en"] not in text
        assert OTHER_ISSUER["issuer_name"] not in text
        assert OTHER_ISSUER["issuer_name_en"] not in text
    for text in texts[1::2]:
        assert FOOD["name_zh"] in text
        assert FOOD["name_en"] in text
        assert f"{OTHER_ISSUER['issuer_name_en']};" in text
        assert OIL["name_zh"] not in text
        assert OIL["name_en"] not in text
        assert "深圳市商务局" not in text
        assert "Commerce Bureau" not in text
    assert texts[0] == texts[2]
    assert texts[1] == texts[3]


def test_a_template_is_keyed_on_every_static_text() -> None:
    """Same type and issuer but one English name changed: a cache keyed on the type code or the
    Chinese title alone would show the first licence's English title on the second."""
    first = _meta("20250000103", **OIL)
    renamed = _meta("20250000104", name_zh=OIL["name_zh"], name_en="Refined Oil Retail Approval")
    moved = _meta("20250000105", **OIL, issuer_name="深圳市商务局", issuer_name_en="Shenzhen Commerce Bureau")
    a, b, c = (_text(render_licence(m, verify_url=_url(m)).pdf) for m in (first, renamed, moved))
    assert OIL["name_en"] in a
    assert "Refined Oil Retail Approval" not in a
    assert "Refined Oil Retail Approval" in b
    assert OIL["name_en"] not in b
    assert "Sealed electronically by the Shenzhen Commerce Bureau;" in c
    assert "Shenzhen Municipal Commerce Bureau;" not in c


def test_no_field_of_one_licence_leaks_into_the_next() -> None:
    a = _meta(
        "20250000201",
        holder_name="深圳市甲乙丙能源有限公司",
        extra=(("经营地址", "深圳市福田区福华路一号"),),
        item_name="成品油零售经营资格审批",
        version=3,
    )
    b = _meta(
        "20250000202",
        holder_kind=HolderKind.PERSON,
        holder_code=PERSON_ID,
        holder_name="李小明",
        extra=(("备注", "只在第二张证照上"),),
        valid_until=None,
    )
    pdf_a = render_licence(a, verify_url=_url(a)).pdf
    pdf_b = render_licence(b, verify_url=_url(b)).pdf
    text_b = _text(pdf_b)
    for value in (
        a.holder_name,
        a.holder_code,
        a.number,
        a.licence_id,
        "深圳市福田区福华路一号",
        "经营地址",
        "第 3 版",
        "2030年3月13日",
    ):
        assert value not in text_b, value
    for value in (b.holder_name, PERSON_ID, b.number, b.licence_id, "只在第二张证照上", "长期有效"):
        assert value in text_b, value
    info_b = _pdf_info(pdf_b)
    assert a.licence_id not in "".join(info_b.values())
    assert b.licence_id in info_b["/Subject"]
    # the QR of B carries B's link, not A's
    assert _decode_qr(pdf_b).text == _url(b)
    assert _decode_qr(pdf_a).text == _url(a)


def _decode_qr(pdf: bytes, scale: float = 2.0) -> zxingcpp.Result:
    image = pypdfium2.PdfDocument(pdf)[0].render(scale=scale).to_pil().convert("L")
    result = zxingcpp.read_barcode(image, formats=zxingcpp.BarcodeFormat.QRCode)
    assert result is not None, "no QR code read from the rendered page"
    assert result.valid
    return result


BASE45 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"


@pytest.mark.parametrize("length", [250, 400])
def test_long_credential_payload_is_decodable_and_fits(length: int) -> None:
    payload = "OS1:" + "".join(BASE45[(i * 7 + 3) % 45] for i in range(length - 4))
    meta = _meta("20250000301")
    out = render_licence(meta, verify_url=_url(meta), qr_text=payload)
    scale = 150 / 72  # a 150 dpi scan of the printed page
    result = _decode_qr(out.pdf, scale=scale)
    assert result.text == payload
    assert result.ec_level == "M"
    n, _ = qr_modules(payload)
    side = qr_size(n)
    assert side <= QR_MAX
    assert side / (n + 4) >= 1.6  # points per module: > 0.56 mm printed
    # where the symbol sits on the page (PDF points, y up): under the field rows, over the footer
    page_h = 842
    pos = result.position
    top = page_h - min(pos.top_left.y, pos.top_right.y) / scale
    bottom = page_h - max(pos.bottom_left.y, pos.bottom_right.y) / scale
    assert top < ROWS_FLOOR
    assert bottom > 125  # caption under it at bottom - 12, footer label at 100
    # the footer still prints the verify link, never the credential text
    text = _text(out.pdf)
    assert _url(meta) in text
    assert payload[:20] not in text


def test_width_table_measures_what_reportlab_measures() -> None:
    render._register_fonts()
    text = "深圳市堃燊能源 Co., Ltd. 𠮷 (No. 42)\u200b"
    clean = render._clean(text)
    expected = sum(pdfmetrics.stringWidth(chunk, font, 12) for font, chunk in render._runs(clean, set()))
    assert render.width(text, 12) == pytest.approx(expected, rel=1e-12)
    assert {font for font, _ in render._runs(clean, set())} == {render.FONT, render.FALLBACK_FONT}


def test_wrap_breaks_where_the_measured_width_runs_out() -> None:
    text = "这是一段很长的备注文字，用来检查换行 including some English words that wrap across the line"
    lines = render.wrap(text, 12.5, 200)
    assert "".join(line.replace(" ", "") for line in lines) == text.replace(" ", "")
    for line in lines:
        assert render.width(line, 12.5) <= 200
    for first, second in itertools.pairwise(lines):
        # greedy: the next line's first word would not have fitted on this one
        head = second.split(" ")[0] if second[0].isascii() else second[0]
        joiner = " " if second[0].isascii() and first[-1].isascii() else ""
        assert render.width(first + joiner + head, 12.5) > 200


def test_reportlab_runs_with_its_c_accelerator() -> None:
    """rl-accel (a declared dependency) replaces reportlab's pure-Python number formatting, glyph
    width sums and string escaping: without it a licence renders ~40 % slower."""
    from reportlab.lib.rl_accel import _c_funcs

    assert {"fp_str", "instanceStringWidthTTF", "escapePDF"} <= set(_c_funcs)
