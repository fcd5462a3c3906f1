"""The `make demo` scenario as a test: the whole flow over HTTP, every step asserted."""

from __future__ import annotations

from pathlib import Path

import pypdf
import pytest

from infra.local import LocalStack
from infra.local.demo import Report, scenario

pytestmark = pytest.mark.xdist_group("stack")


def test_whole_flow_from_upload_to_verified_licence(stack: LocalStack, tmp_path: Path) -> None:
    report = Report()
    scenario(stack, tmp_path, report)  # raises DemoFailure on any step that misbehaves
    licences = list(tmp_path.glob("licence-*.pdf"))
    assert len(licences) == 1
    text = pypdf.PdfReader(licences[0]).pages[0].extract_text()
    assert "技术进出口合同登记" in text or "市商务局" in text
