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


# --- PaddleOCR: run by `make test-paddle` in its own venv (paddleocr pins opencv-contrib-python) ----

needs_paddle = pytest.mark.skipif(
    not paddleocr_available(),
    reason="paddleocr is not in this venv: `make test-paddle` (run by `make test`) runs these in its own",
)


@pytest.fixture(scope="session")
def paddle_models(tmp_path_factory: pytest.TempPathFactory) -> PaddleModelDirs:
    from infra.paddle_models import prepare

    return prepare(tmp_path_factory.mktemp("paddle-models"))


@pytest.fixture(scope="session")
def paddle_engine(paddle_models: PaddleModelDirs) -> PaddleOcrEngine:
    return PaddleOcrEngine(paddle_models)


def test_paddle_model_dirs_come_from_the_bundled_models(paddle_models: PaddleModelDirs) -> None:
    import yaml

    for directory, name in (
        (paddle_models.det, paddle_models.det_name),
        (paddle_models.rec, paddle_models.rec_name),
        (paddle_models.cls, paddle_models.cls_name),
    ):
        assert directory is not None
        assert (directory / "inference.onnx").resolve().parent.name == "models"  # rapidocr's folder
        config = yaml.safe_load((directory / "inference.yml").read_text(encoding="utf-8"))
        assert config["Global"]["model_name"] == name
    assert str(paddle_models.det_name).endswith("_det")
    rec = yaml.safe_load((paddle_models.rec / "inference.yml").read_text(encoding="utf-8"))
    characters = rec["PostProcess"]["character_dict"]
    assert len(characters) > 6000
    assert {"营", "业", "执", "照", "A", "9"} <= set(characters)


@needs_paddle
def test_paddle_model_dirs_match_paddlex_own_settings(paddle_models: PaddleModelDirs) -> None:
    """Our inference.yml must say what paddlex itself writes for these models (drift guard)."""
    import yaml
    from paddlex.modules.base.utils.pdparams2safetensors.inference_meta import build_inference_meta

    for directory, name in (
        (paddle_models.det, paddle_models.det_name),
        (paddle_models.rec, paddle_models.rec_name),
    ):
        ours = yaml.safe_load((directory / "inference.yml").read_text(encoding="utf-8"))
        theirs = build_inference_meta(name)
        ours["PostProcess"].pop("character_dict", None)
        assert ours["PostProcess"] == theirs["PostProcess"]
        # paddlex writes the normalisation scale as the string "1./255."; yaml keeps it a string.
        assert ours["PreProcess"] == theirs["PreProcess"]


@needs_paddle
def test_paddle_engine_needs_local_models(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(FileNotFoundError):
        PaddleOcrEngine(PaddleModelDirs(det=tmp_path / "det", rec=tmp_path / "rec"))


def _texts(lines: list[OcrLine]) -> list[str]:
    return [line.text.replace(" ", "") for line in lines]


@needs_paddle
@pytest.mark.slow
@pytest.mark.timeout(300)
def test_paddle_engine_reads_a_business_licence(paddle_engine: PaddleOcrEngine) -> None:
    from tests.materials_specimens import COMPANY, LICENCE_USCC, business_licence

    specimen = business_licence()
    lines = paddle_engine.recognise(np.asarray(specimen.image.convert("RGB")))
    texts = _texts(lines)
    assert texts[0] == "营业执照"  # reading order: the title first
    for wanted in (LICENCE_USCC, COMPANY, "张三丰", "深圳市南山区粤海街道科技园路1号", "2019年03月15日"):
        assert wanted in texts, (wanted, texts)
    assert "".join(texts) == "".join(specimen.lines)  # every character, in order
    assert all(0.5 <= line.confidence <= 1.0 for line in lines)
    versions = paddle_engine.versions()
    assert versions["engine"] == "paddleocr"
    assert versions["paddleocr"].startswith("3.")
    for task in ("det", "rec", "cls"):
        assert " sha256:" in versions[f"{task}_model"]


@needs_paddle
@pytest.mark.slow
@pytest.mark.timeout(300)
def test_paddle_engine_reads_an_upside_down_page(paddle_engine: PaddleOcrEngine) -> None:
    from tests.materials_specimens import LICENCE_USCC, business_licence

    page = np.asarray(business_licence().image.convert("RGB"))
    lines = paddle_engine.recognise(np.ascontiguousarray(page[::-1, ::-1]))
    texts = _texts(lines)
    assert texts[0] == "营业执照"
    assert LICENCE_USCC in texts
    # The box starts at the text's own top-left, which is the turned image's lower right.
    title = lines[0].box
    assert title[0][0] > title[1][0]
    assert title[0][1] > title[3][1]


@pytest.mark.skipif(
    paddleocr_available(), reason="checks the message given when paddleocr is missing; here it is installed"
)
def test_paddle_engine_says_it_is_optional(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(RuntimeError, match="not installed"):
        PaddleOcrEngine(PaddleModelDirs(det=tmp_path, rec=tmp_path))
