"""The OcrEngine protocol, the RapidOCR engine's identity and reading order; PaddleOCR when installed."""

from __future__ import annotations

import numpy as np
import pytest
from onestop.materials.ocr import (
    OcrEngine,
    OcrLine,
    PaddleModelDirs,
    PaddleOcrEngine,
    RapidOcrEngine,
    get_rapid_engine,
    paddleocr_available,
    reading_order,
)


def _line(text: str, x: float, y: float, w: float = 100, h: float = 20) -> OcrLine:
    return OcrLine(text, ((x, y), (x + w, y), (x + w, y + h), (x, y + h)), 0.99)


def test_reading_order_rows_then_columns() -> None:
    lines = [_line("c", 300, 102), _line("d", 10, 200), _line("a", 10, 100), _line("b", 150, 98)]
    assert [ln.text for ln in reading_order(lines, 500, 300)] == ["a", "b", "c", "d"]


def test_reading_order_of_an_upside_down_page() -> None:
    # Page 500 x 300 turned 180 degrees: the first row sits at the bottom, read right to left.
    lines = [_line("second", 390, 100), _line("first-left", 390, 200), _line("first-right", 10, 200)]
    ordered = reading_order(lines, 500, 300, upside_down=True)
    assert [ln.text for ln in ordered] == ["first-left", "first-right", "second"]


def test_reading_order_tolerates_skew() -> None:
    # A 3-degree skew: the right-hand value sits 20 px higher than its label on the same row.
    import math

    t = math.tan(math.radians(-3))
    lines = []
    for row, y in enumerate((100, 160, 220)):
        for col, x in enumerate((50, 400)):
            dy = x * t
            lines.append(
                OcrLine(
                    f"r{row}c{col}",
                    (
                        (x, y + dy),
                        (x + 300, y + dy + 300 * t),
                        (x + 300, y + dy + 300 * t + 30),
                        (x, y + dy + 30),
                    ),
                    0.99,
                )
            )
    ordered = [ln.text for ln in reading_order(lines[::-1], 800, 400)]
    assert ordered == ["r0c0", "r0c1", "r1c0", "r1c1", "r2c0", "r2c1"]


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_rapid_engine_is_one_per_process_and_reports_versions() -> None:
    engine = get_rapid_engine()
    assert engine is get_rapid_engine()
    assert isinstance(engine, OcrEngine)
    versions = engine.versions()
    assert versions["engine"] == "rapidocr"
    assert versions["rapidocr"].startswith("3.")
    assert versions["onnxruntime"]
    for task in ("det", "rec", "cls"):
        assert ".onnx sha256:" in versions[f"{task}_model"]


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_blank_image_has_no_lines() -> None:
    assert get_rapid_engine().recognise(np.full((300, 400, 3), 255, dtype=np.uint8)) == []


def test_rapid_engine_rejects_non_rgb() -> None:
    engine = get_rapid_engine()
    with pytest.raises(ValueError, match="RGB"):
        engine.recognise(np.zeros((10, 10, 4), dtype=np.uint8))
    assert isinstance(engine, RapidOcrEngine)


@pytest.mark.skipif(not paddleocr_available(), reason="paddleocr (optional extra) is not installed")
def test_paddle_engine_needs_local_models(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(FileNotFoundError):
        PaddleOcrEngine(PaddleModelDirs(det=tmp_path / "det", rec=tmp_path / "rec"))


@pytest.mark.skipif(paddleocr_available(), reason="checks the message when paddleocr is missing")
def test_paddle_engine_says_it_is_optional(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(RuntimeError, match="not installed"):
        PaddleOcrEngine(PaddleModelDirs(det=tmp_path, rec=tmp_path))
