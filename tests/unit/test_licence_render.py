"""Licence rendering: one A4 page, Chinese text extractable (pdftotext and pypdf), QR code readable,
embedded pre-subset font, characters outside the font reported rather than crashing."""

from __future__ import annotations

import io
import subprocess
from importlib import resources

import cv2
import numpy as np
import pypdfium2
import pytest
from onestop.identifiers.licence_id import make_licence_id
from onestop.licences.models import HolderKind, LicenceMetadata
from onestop.licences.render import FONT_FILE, render_licence
from pypdf import PdfReader
from reportlab.pdfbase.ttfonts import TTFontFile

from tests.unit.test_licence_support import (
    BUREAU_USCC,
    HOLDER_USCC,
    PERSON_ID,
    TYPE_CODE,
    require_tool,
    sample_metadata,
)

LICENCE_ID = make_licence_id(TYPE_CODE, BUREAU_USCC, "20250000001")
VERIFY_URL = f"https://onestop.example.gov.cn/verify/{LICENCE_ID}"


def _meta(**changes: object) -> LicenceMetadata:
    base: dict[str, object] = {
        "licence_id": LICENCE_ID,
        "extra": (("经营地址", "深圳市南山区深南大道9999号"),),
    }
    return sample_metadata(**{**base, **changes})


@pytest.fixture(scope="module")
def rendered() -> bytes:
    out = render_licence(_meta(), verify_url=VERIFY_URL)
    assert out.fallback_chars == frozenset()
    return out.pdf


def _pdftotext(pdf: bytes) -> str:
    require_tool("pdftotext")
    done = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", "-", "-"], input=pdf, capture_output=True, check=True
    )
    return done.stdout.decode("utf-8")


EXPECTED_TEXT = [
    "成品油零售经营批准证书",
    "证照编号：440300-20250000001",
    "深圳市鹏城能源有限公司",
    HOLDER_USCC,
    "统一社会信用代码",
    "成品油零售经营资格审批",
    "2025年3月14日 至 2030年3月13日",
    "深圳市商务局",
    "经营地址",
    LICENCE_ID,
    "Shenzhen Municipal Commerce Bureau",
]


def test_one_a4_page(rendered: bytes) -> None:
    reader = PdfReader(io.BytesIO(rendered))
    assert len(reader.pages) == 1
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (595, 842)


@pytest.mark.parametrize("needle", EXPECTED_TEXT)
def test_pdftotext_reads_the_fields_back(rendered: bytes, needle: str) -> None:
    assert needle in _pdftotext(rendered)


def test_pypdf_reads_the_chinese_back(rendered: bytes) -> None:
    text = PdfReader(io.BytesIO(rendered)).pages[0].extract_text()
    for needle in ("成品油零售经营批准证书", "深圳市鹏城能源有限公司", "持证主体", "颁发机构", LICENCE_ID):
        assert needle in text


def test_font_is_embedded_as_a_subset(rendered: bytes) -> None:
    require_tool("pdffonts")
    done = subprocess.run(["pdffonts", "-"], input=rendered, capture_output=True, check=True)
    report = done.stdout.decode()
    lines = [line for line in report.splitlines() if "OnestopCJK" in line]
    assert lines, report
    for line in lines:
        name, ftype, _enc, emb, sub, uni, *_ = line.split()
        assert "+" in name
        assert "TrueType" in ftype
        assert (emb, sub, uni) == ("yes", "yes", "yes"), line


def test_qr_code_carries_the_verification_url(rendered: bytes) -> None:
    page = pypdfium2.PdfDocument(rendered)[0]
    image = page.render(scale=4).to_numpy()
    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image
    decoded, _points, _ = cv2.QRCodeDetector().detectAndDecode(np.ascontiguousarray(gray))
    assert decoded == VERIFY_URL


def test_seal_is_drawn_in_red_inside_the_reported_box() -> None:
    out = render_licence(_meta(), verify_url=VERIFY_URL)
    llx, lly, urx, ury = out.seal_box
    assert 0 < llx < urx <= 595
    assert 0 < lly < ury <= 842
    scale = 2
    img = pypdfium2.PdfDocument(out.pdf)[0].render(scale=scale).to_numpy()
    h = img.shape[0]
    crop = img[h - ury * scale : h - lly * scale, llx * scale : urx * scale, :3].astype(int)
    # pypdfium2 renders BGR(A): strongly red pixels have a high R and low G and B
    red = (crop[..., 2] > 180) & (crop[..., 1] < 90) & (crop[..., 0] < 90)
    assert red.mean() > 0.05  # rim, star and lettering


def test_characters_outside_the_font_fall_back_and_are_reported() -> None:
    out = render_licence(_meta(holder_name="深圳市堃燊𠮷能源有限公司"), verify_url=VERIFY_URL)
    assert {"堃", "燊", "𠮷"} <= out.fallback_chars
    text = _pdftotext(out.pdf)
    assert "深圳市" in text
    assert "能源有限公司" in text


def test_person_holder_and_long_term_validity() -> None:
    out = render_licence(
        _meta(holder_kind=HolderKind.PERSON, holder_code=PERSON_ID, holder_name="李小明", valid_until=None),
        verify_url=VERIFY_URL,
    )
    text = _pdftotext(out.pdf)
    assert "公民身份号码" in text
    assert "（代码类型 111）" in text
    assert "长期有效" in text


def test_shipped_font_is_small_and_covers_gb2312_level_1_and_the_catalogue() -> None:
    font_file = resources.files("onestop.licences").joinpath("fonts", FONT_FILE)
    with resources.as_file(font_file) as path:
        assert path.stat().st_size < 5 * 1024 * 1024
        font = TTFontFile(str(path))
    assert "glyf" in font.table  # TrueType outlines: reportlab cannot embed CFF
    cmap = font.charToGlyph
    # GB 2312 level 1: rows 16-55; row 55 ends at D7F9
    level1 = {
        bytes([hi, lo]).decode("gb2312")
        for hi in range(0xB0, 0xD8)
        for lo in range(0xA1, 0xFF)
        if (hi, lo) < (0xD7, 0xFA)
    }
    assert len(level1) == 3755
    assert all(ord(c) in cmap for c in level1)
    from onestop.catalogue.loader import load_catalogue

    catalogue = load_catalogue()
    names = "".join(item.name_zh + (item.licence.name_zh if item.licence else "") for item in catalogue.items)
    missing = {c for c in names if not c.isascii() and ord(c) not in cmap}
    assert not missing, f"re-run infra/fonts/make_subset.py: {''.join(sorted(missing))}"


def test_too_many_item_lines_are_left_off_and_reported_never_the_essentials() -> None:
    extra = tuple((f"附加事项{i}", "深圳市南山区深南大道9999号" * 3) for i in range(8))
    out = render_licence(_meta(extra=extra), verify_url=VERIFY_URL)
    assert out.omitted_rows
    assert set(out.omitted_rows) <= {label for label, _ in extra}
    text = _pdftotext(out.pdf)
    for needle in ("有效期限", "颁发机构", "颁发日期", "Version 001", "附加事项0"):
        assert needle in text
    for label in out.omitted_rows:
        assert label not in text
