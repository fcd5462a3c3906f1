"""PDF text layer, encryption, damaged and repaired files, and the worker's time and memory guards.

Corpus PDFs: pdfminer.six samples (MIT repo), py-pdf/pypdf resources (BSD-3), py-pdf/sample-files
(CC-BY-SA-4.0), qpdf qtest files (Apache-2.0); see ../shared/corpus/MANIFEST.md.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from onestop.materials.limits import Limits
from onestop.materials.pdftext import PdfRejected, analyse_pdf, is_real_text, text_quality

from tests.materials_specimens import text_pdf_bytes
from tests.robustness.hostile_files import pdf_zlib_bomb
from tests.robustness.hostile_pdfs import many_pages

LIMITS = Limits()
LICENCE_LINES = ["营业执照", "统一社会信用代码 91440300MA5G7Q2K0X"]
PDFS = "02_pdfs"


def test_text_quality_spots_pypdf_cjk_mojibake() -> None:
    # What pypdf 7.1 extracts from pdfminer issue_566_test_1 (the buyer is really 黎荣).
    assert not is_real_text("ISSUE Date˖2019-4-25 Buyer˖哾㦓\n")
    assert is_real_text("甲方：中国饮料有限公司（盖章）")
    assert is_real_text("Lorem ipsum dolor sit amet")
    assert not is_real_text("  1 \n")
    assert text_quality("\ue000\ue001abc")["suspicious"] == 2


@pytest.mark.timeout(60)
def test_born_digital_text_layer_needs_no_rendering() -> None:
    analysis = analyse_pdf(text_pdf_bytes(LICENCE_LINES), LIMITS)
    assert analysis.pages == 1
    assert analysis.page_real == (True,)
    assert "营业执照" in analysis.page_text[0]
    assert analysis.images == {}
    assert analysis.clean_pdf is not None
    assert analysis.clean_pdf.startswith(b"%PDF")


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    "name",
    [
        "encrypted/pdfminer_rc4-40.pdf",
        "encrypted/pypdf_r6-both-passwords_aes256.pdf",
        "encrypted/sf_005_libreoffice-writer-password.pdf",
    ],
)
def test_password_protected_rejected_with_the_actionable_reason(corpus: Path, name: str) -> None:
    with pytest.raises(PdfRejected) as info:
        analyse_pdf((corpus / PDFS / name).read_bytes(), LIMITS)
    reason = info.value.reason
    assert reason.code == "pdf_password_protected"
    assert reason.zh == "PDF 有密码保护，请上传未加密的版本"
    assert reason.en == "the PDF is password-protected; upload an unprotected copy"


@pytest.mark.parametrize(
    ("name", "status"),
    [
        ("encrypted/sf_005_libreoffice-writer-password.pdf", "password_protected"),
        ("malformed/qpdf_bad1.pdf", None),
    ],
)
def test_pdfium_fallback_tells_a_password_by_its_error_code(
    corpus: Path, name: str, status: str | None
) -> None:
    # The pdfium path runs when pypdf cannot open a file; PDFium says "password" by FPDF_ERR_PASSWORD.
    from onestop.materials._pdfworker import _open_pdfium

    path = corpus / PDFS / name
    result: dict[str, object] = {"errors": []}
    _open_pdfium(path.read_bytes(), result)
    assert result.get("status") == status


@pytest.mark.timeout(60)
def test_empty_user_password_opens_and_is_flagged(corpus: Path) -> None:
    analysis = analyse_pdf(
        (corpus / PDFS / "encrypted/pypdf_r6-owner-password_aes256.pdf").read_bytes(), LIMITS
    )
    assert analysis.encrypted
    assert analysis.opened_with_empty_password
    assert "pdf encryption test" in analysis.page_text[0]
    assert "pdf_encrypted_no_password" in [n.code for n in analysis.notes]
    assert analysis.clean_pdf is not None
    assert b"/Encrypt" not in analysis.clean_pdf


@pytest.mark.timeout(60)
def test_a_looping_xref_chain_is_damaged(corpus: Path) -> None:
    """Issue 14: the /Prev chain of the updates loops, so which revision is current cannot be told;
    the parsers stop at the loop and read one version, which used to be catalogued as the document."""
    with pytest.raises(PdfRejected) as info:
        analyse_pdf((corpus / PDFS / "malformed/qpdf_append-xref-loop.pdf").read_bytes(), LIMITS)
    assert info.value.reason.code == "pdf_damaged"
    assert any("loops" in d for d in info.value.details), info.value.details


@pytest.mark.timeout(60)
def test_no_cross_reference_at_all_is_damaged(corpus: Path) -> None:
    """No startxref and recursive form XObjects: pdfium guessed one page from the loose objects."""
    with pytest.raises(PdfRejected) as info:
        analyse_pdf((corpus / PDFS / "malformed/pdfminer_issue-1113-evil-xobjects.pdf").read_bytes(), LIMITS)
    assert info.value.reason.code == "pdf_damaged"
    assert any("startxref" in d for d in info.value.details), info.value.details


@pytest.mark.timeout(60)
def test_a_complete_file_without_cross_reference_is_rebuilt_and_noted(corpus: Path) -> None:
    """pdfminer's simple3: every object and the trailer are there, only xref and startxref are not."""
    analysis = analyse_pdf((corpus / PDFS / "cjk/pdfminer_simple3_ja.pdf").read_bytes(), LIMITS)
    assert "あいうえお" in analysis.page_text[0]
    assert "pdf_repaired" in [n.code for n in analysis.notes]


def test_control_pictures_are_mojibake() -> None:
    # What pypdf reads from simple3's kana (a CID font without its CMap).
    assert not is_real_text("HelloHello\u2422\u2424\u2426\u2428\u242a\u2422\u2424\u2426WorldWorld")


def test_a_pdf_without_its_header_is_told_from_other_files(corpus: Path) -> None:
    from onestop.materials.pdftext import looks_like_headless_pdf

    whole = text_pdf_bytes(LICENCE_LINES)
    assert looks_like_headless_pdf(whole[whole.index(b"\n") + 1 :])  # the %PDF-1.x line cut off
    assert looks_like_headless_pdf((corpus / PDFS / "malformed/qpdf_issue-147.pdf").read_bytes())
    assert not looks_like_headless_pdf((corpus / PDFS / "malformed/qpdf_bad1.pdf").read_bytes())  # "oops"
    assert not looks_like_headless_pdf(whole)  # it has its header
    assert not looks_like_headless_pdf("营业执照 统一社会信用代码 trailer park 12 objects".encode())


@pytest.mark.timeout(120)
def test_a_pdf_without_its_header_is_damaged_not_an_unknown_type() -> None:
    from onestop.materials.pipeline import process_upload

    whole = text_pdf_bytes(LICENCE_LINES)
    headless = whole[whole.index(b"\n") + 1 :]
    outcome = process_upload(
        headless, declared={"filename": "licence.pdf", "content_type": "application/pdf"}
    )
    assert outcome.status == "rejected"
    assert outcome.reason is not None
    assert outcome.reason.code == "pdf_damaged"


def test_the_damaged_reason_tells_the_applicant_what_to_do() -> None:
    from onestop.materials.pdftext import DAMAGED

    assert DAMAGED.code == "pdf_damaged"
    assert "重新导出" in DAMAGED.zh
    assert "扫描" in DAMAGED.zh
    assert "export" in DAMAGED.en
    assert "scan" in DAMAGED.en


@pytest.mark.timeout(60)
def test_a_truncated_download_is_damaged() -> None:
    whole = text_pdf_bytes(LICENCE_LINES)
    with pytest.raises(PdfRejected) as info:
        analyse_pdf(whole[: int(len(whole) * 0.7)], LIMITS)
    assert info.value.reason.code == "pdf_damaged"


def _wrong_startxref(data: bytes, shift: int = 7) -> bytes:
    at = data.rindex(b"startxref")
    head, tail = data[:at], data[at:]
    number = int(tail.split()[1])
    return head + tail.replace(b"%d" % number, b"%d" % (number + shift), 1)


@pytest.mark.timeout(60)
def test_a_wrong_startxref_is_repaired_without_loss_and_noted() -> None:
    analysis = analyse_pdf(_wrong_startxref(text_pdf_bytes(LICENCE_LINES)), LIMITS)
    assert "营业执照" in analysis.page_text[0]
    assert "pdf_repaired" in [n.code for n in analysis.notes]
    assert analysis.clean_pdf is not None


@pytest.mark.timeout(60)
def test_a_sound_file_is_not_called_repaired() -> None:
    assert analyse_pdf(text_pdf_bytes(LICENCE_LINES), LIMITS).notes == ()


@pytest.mark.timeout(60)
def test_a_repair_that_loses_an_object_is_damaged() -> None:
    """The xref points nowhere and the page's content object is not in the file: rebuilt, but lossy."""
    page = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 9 0 R >>"
    lossy = _wrong_startxref(_pdf(CATALOG, b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>", page))
    with pytest.raises(PdfRejected) as info:
        analyse_pdf(lossy, LIMITS)
    assert info.value.reason.code == "pdf_damaged"
    assert any("object 9" in d for d in info.value.details), info.value.details


@pytest.mark.timeout(60)
def test_mojibake_page_is_rendered_for_ocr(corpus: Path) -> None:
    analysis = analyse_pdf((corpus / PDFS / "cjk/pdfminer_issue_566_test_1_zh.pdf").read_bytes(), LIMITS)
    assert analysis.page_real == (False,)
    assert set(analysis.images) == {0}
    image = analysis.images[0]
    assert image.ndim == 3
    assert image.shape[2] == 3
    assert image.dtype.name == "uint8"
    assert 200 < int(image.mean()) < 256  # a white page with some ink, not garbage


@pytest.mark.timeout(60)
def test_attachments_left_out_and_flagged(corpus: Path) -> None:
    analysis = analyse_pdf((corpus / PDFS / "normal/sf_025_with-attachment.pdf").read_bytes(), LIMITS)
    assert analysis.removed_attachments == ("image.png",)
    assert analysis.clean_pdf is not None
    assert b"/EmbeddedFiles" not in analysis.clean_pdf
    assert "pdf_attachments_removed" in [n.code for n in analysis.notes]


@pytest.mark.timeout(60)
def test_javascript_open_action_removed(corpus: Path) -> None:
    analysis = analyse_pdf((corpus / PDFS / "malformed/pypdf_issue-297_broken-xref.pdf").read_bytes(), LIMITS)
    assert "test example" in analysis.page_text[0]
    # A wrong startxref that both readers rebuild to the same page: catalogued, and said so.
    assert "pdf_repaired" in [n.code for n in analysis.notes]
    assert analysis.removed_active_content >= 1
    assert analysis.clean_pdf is not None
    assert b"/JavaScript" not in analysis.clean_pdf


@pytest.mark.timeout(60)
def test_page_limit() -> None:
    with pytest.raises(PdfRejected) as info:
        analyse_pdf(many_pages(30), Limits(max_pages=10))
    assert info.value.reason.code == "pdf_too_many_pages"
    assert "30" in info.value.reason.en


@pytest.mark.timeout(60)
def test_worker_timeout_is_a_rejection_not_a_hang() -> None:
    # Inflating 512 MiB of page content takes the (warm, forked) worker far beyond the 50 ms allowed.
    with pytest.raises(PdfRejected) as info:
        analyse_pdf(pdf_zlib_bomb(512), Limits(pdf_worker_timeout_s=0.05))
    assert info.value.reason.code == "pdf_too_complex"
    assert "timed out" in info.value.details[0]
    # The killed worker is replaced: the next file is analysed normally.
    assert analyse_pdf(text_pdf_bytes(LICENCE_LINES), LIMITS).page_real == (True,)


@pytest.mark.timeout(60)
def test_worker_memory_limit_is_a_rejection() -> None:
    # A page whose content inflates to 256 MiB, with the stream cap lifted and 200 MiB in all allowed.
    tight = Limits(pdf_worker_memory_bytes=200 * 1024 * 1024, pdf_max_stream_bytes=1024 * 1024 * 1024)
    with pytest.raises(PdfRejected) as info:
        analyse_pdf(pdf_zlib_bomb(256), tight)
    assert info.value.reason.code == "pdf_too_complex"
    assert info.value.details[0].startswith("worker failed")  # MemoryError, or killed by the cap
    assert analyse_pdf(text_pdf_bytes(LICENCE_LINES), LIMITS).page_real == (True,)


@pytest.mark.timeout(60)
def test_garbage_after_header_is_damaged() -> None:
    with pytest.raises(PdfRejected) as info:
        analyse_pdf(b"%PDF-1.7\n" + bytes(range(256)) * 4, LIMITS)
    assert info.value.reason.code == "pdf_damaged"


def _pdf(*objects: bytes) -> bytes:
    """A PDF of `objects` (1 0 obj is the catalogue) with a correct cross-reference table."""
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % at for at in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


CATALOG = b"<< /Type /Catalog /Pages 2 0 R >>"
PAGE = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>"


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    ("pages_node", "damage"),
    [
        (b"<< /Type /Pages /Kids [2 0 R 3 0 R] /Count 2 >>", "reaches object 2 twice"),  # a loop
        (b"<< /Type /Pages /Kids [3 0 R 3 0 R] /Count 2 >>", "reaches object 3 twice"),  # one page twice
        (b"<< /Type /Pages /Kids 3 0 R /Count 1 >>", "/Kids is not an array"),
    ],
)
def test_a_damaged_page_tree_is_damaged_not_papered_over(pages_node: bytes, damage: str) -> None:
    """Issue 14: pdfium counted the pages of a looping tree and the file was catalogued."""
    with pytest.raises(PdfRejected) as info:
        analyse_pdf(_pdf(CATALOG, pages_node, PAGE), LIMITS)
    assert info.value.reason.code == "pdf_damaged"
    assert any(damage in d for d in info.value.details), info.value.details


@pytest.mark.timeout(60)
def test_a_sound_hand_made_tree_still_opens() -> None:
    sound = _pdf(CATALOG, b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>", PAGE)
    assert analyse_pdf(sound, LIMITS).pages == 1


@pytest.mark.timeout(60)
def test_a_page_tree_nested_too_deep_is_damaged() -> None:
    depth = 70
    nodes = [CATALOG]
    for level in range(depth):  # object 2 is the root of the tree, each node the next one's parent
        nodes.append(b"<< /Type /Pages /Kids [%d 0 R] /Count 1 >>" % (level + 3))
    nodes.append(PAGE)
    with pytest.raises(PdfRejected) as info:
        analyse_pdf(_pdf(*nodes), LIMITS)
    assert info.value.reason.code == "pdf_damaged"
    assert any("deeper than 64" in d for d in info.value.details), info.value.details
