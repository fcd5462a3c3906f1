"""Expected ingest outcomes for the shared corpus (../shared/corpus, see its MANIFEST.md for sources and
licences: pdfminer.six (MIT), py-pdf/pypdf (BSD-3), py-pdf/sample-files (CC-BY-SA-4.0), qpdf
(Apache-2.0), python-pillow/Pillow (MIT-CMU)).

status, reason code, and text that must be found (None: no text check). Files were uploaded into a slot
with no expected type, so readable documents of no known type end in needs_attention.
"""

from __future__ import annotations

from typing import NamedTuple


class Expected(NamedTuple):
    status: str
    reason: str
    text: str | None = None
    note: str | None = None


PDFS: dict[str, Expected] = {
    "cjk/pdfminer_issue_566_test_1_zh.pdf": Expected("needs_attention", "needs_attention", "黎荣"),
    "cjk/pdfminer_issue_566_test_2_zh_contract.pdf": Expected(
        "needs_attention", "needs_attention", "甲方：中国饮料有限公司（盖章）"
    ),
    "cjk/pdfminer_simple3_ja.pdf": Expected("needs_attention", "needs_attention", "あいうえお"),
    "cjk/pypdf_multilang.pdf": Expected("needs_attention", "needs_attention", "你好世界"),
    "encrypted/pdfminer_rc4-40.pdf": Expected("rejected", "pdf_password_protected"),
    "encrypted/pypdf_r6-both-passwords_aes256.pdf": Expected("rejected", "pdf_password_protected"),
    "encrypted/pypdf_r6-owner-password_aes256.pdf": Expected(
        "needs_attention", "needs_attention", "pdf encryption test", note="pdf_encrypted_no_password"
    ),
    "encrypted/sf_005_libreoffice-writer-password.pdf": Expected("rejected", "pdf_password_protected"),
    # No cross-reference, and form XObjects that draw each other in a loop (issue 14): damaged.
    "malformed/pdfminer_issue-1113-evil-xobjects.pdf": Expected("rejected", "pdf_damaged"),
    "malformed/pdfminer_zen_of_python_corrupted.pdf": Expected(
        "needs_attention", "needs_attention", "Beautiful is better than ugly"
    ),
    "malformed/pypdf_issue-297_broken-xref.pdf": Expected(
        "needs_attention", "needs_attention", "test example", note="pdf_active_content_removed"
    ),
    # The chain of update sections loops: which revision is current cannot be told (issue 14).
    "malformed/qpdf_append-xref-loop.pdf": Expected("rejected", "pdf_damaged"),
    "malformed/qpdf_bad1.pdf": Expected("rejected", "unsupported_type"),
    # No header, but PDF syntax from the first byte: a damaged PDF, not another type (issue 14).
    "malformed/qpdf_issue-147.pdf": Expected("rejected", "pdf_damaged"),
    "normal/sf_001_minimal-document.pdf": Expected("needs_attention", "needs_attention", "Lorem ipsum"),
    "normal/sf_002_libreoffice-writer.pdf": Expected("needs_attention", "needs_attention", "Lorem ipsum"),
    "normal/sf_019_grayscale-image-only.pdf": Expected("rejected", "not_a_document"),
    "normal/sf_025_with-attachment.pdf": Expected(
        "needs_attention", "needs_attention", "Lorem ipsum", note="pdf_attachments_removed"
    ),
}

TRICKY_IMAGES: dict[str, Expected] = {
    "pillow_broken.png": Expected("rejected", "image_unreadable"),
    "pillow_decompression_bomb.gif": Expected("rejected", "unsupported_type"),
    "pillow_decompression_bomb.ico": Expected("rejected", "unsupported_type"),
    "pillow_decompression_bomb_extents.gif": Expected("rejected", "unsupported_type"),
    "pillow_junk_jpeg_header.jpg": Expected("needs_attention", "needs_attention", "362569"),
    "pillow_png_decompression_dos.png": Expected("rejected", "image_malformed"),
    "pillow_truncated_image.png": Expected("rejected", "image_truncated"),
    "pillow_truncated_jpeg.jpg": Expected("rejected", "image_truncated"),
}
