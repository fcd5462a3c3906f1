"""Local PaddleOCR model directories made from the PP-OCR ONNX models that the rapidocr wheel bundles.

paddleocr 3.x with `engine="onnxruntime"` loads `<dir>/inference.onnx` and reads `<dir>/inference.yml`
(Global.model_name, PreProcess, PostProcess). Nothing is downloaded: each .onnx is symlinked from the
installed rapidocr package (found without importing it, so its OpenCV need not be installed) and the
yml is written here with the settings of PaddleOCR's published inference.yml for that model family.
The recognition dictionary is read from the ONNX model's own metadata, so it always matches.

Run: python -m infra.paddle_models DEST   (prints the det / rec / cls directories)
"""

from __future__ import annotations

import argparse
import importlib.util
import re
import sys
from pathlib import Path
from typing import Any

import yaml
from onestop.materials.ocr import PaddleModelDirs

# Detection and recognition pre/post-processing of PaddleOCR's published PP-OCRv5/v6 inference.yml
# (paddlex keeps the same values in modules/base/utils/pdparams2safetensors/inference_meta.py).
_IMAGENET = {"mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225], "scale": "1./255."}
_DET: dict[str, Any] = {
    "PreProcess": {
        "transform_ops": [
            {"DecodeImage": {"channel_first": False, "img_mode": "BGR"}},
            {"DetLabelEncode": None},
            {"DetResizeForTest": {"resize_long": 960}},
            {"NormalizeImage": {**_IMAGENET, "order": "hwc"}},
            {"ToCHWImage": None},
            {"KeepKeys": {"keep_keys": ["image", "shape", "polys", "ignore_tags"]}},
        ]
    },
    "PostProcess": {
        "name": "DBPostProcess",
        "thresh": 0.3,
        "box_thresh": 0.6,
        "max_candidates": 1000,
        "unclip_ratio": 1.5,
    },
}
_REC: dict[str, Any] = {
    "PreProcess": {
        "transform_ops": [
            {"DecodeImage": {"channel_first": False, "img_mode": "BGR"}},
            {"MultiLabelEncode": {"gtc_encode": "NRTRLabelEncode"}},
            {"RecResizeImg": {"image_shape": [3, 48, 320]}},
            {"KeepKeys": {"keep_keys": ["image", "label_ctc", "label_gtc", "length", "valid_ratio"]}},
        ]
    },
    "PostProcess": {"name": "CTCLabelDecode"},
}
# rapidocr bundles the PP-OCR v2.0 direction classifier (input 3 x 48 x 192, normalised to [-1, 1],
# labels 0 / 180). paddlex only accepts registered model names, so it runs under the name of the
# small PP-LCNet text-line classifier, with this yml giving the v2.0 model's own input.
CLS_NAME = "PP-LCNet_x0_25_textline_ori"
_CLS: dict[str, Any] = {
    "PreProcess": {
        "transform_ops": [
            {"ResizeImage": {"size": [192, 48]}},  # width, height
            {"NormalizeImage": {"mean": [0.5] * 3, "std": [0.5] * 3, "scale": 1 / 255, "order": ""}},
            {"ToCHWImage": None},
        ]
    },
    "PostProcess": {"Topk": {"topk": 1, "label_list": ["0_degree", "180_degree"]}},
}

# rapidocr's file names (PP-OCRv6_det_small.onnx) against paddlex's model names (PP-OCRv6_small_det).
_PPOCR_FILE = re.compile(r"PP-OCRv(?P<version>\d+)_(?P<task>det|rec)_(?P<size>[a-z]+)$")


def bundled_model_dir() -> Path:
    """The `models` folder of the installed rapidocr package (located, not imported)."""
    spec = importlib.util.find_spec("rapidocr")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("rapidocr is not installed: it carries the ONNX models (pip install rapidocr)")
    return Path(next(iter(spec.submodule_search_locations))) / "models"


def _ppocr_model(source: Path, task: str) -> tuple[Path, str]:
    for path in sorted(source.glob("*.onnx")):
        match = _PPOCR_FILE.search(path.stem)
        if match and match["task"] == task:
            return path, f"PP-OCRv{match['version']}_{match['size']}_{task}"
    raise FileNotFoundError(f"no PP-OCR {task} model (PP-OCRv*_{task}_*.onnx) in {source}")


def _cls_model(source: Path) -> Path:
    found = sorted(source.glob("*_cls*.onnx"))
    if not found:
        raise FileNotFoundError(f"no text direction classifier (*_cls*.onnx) in {source}")
    return found[0]


def _characters(onnx_path: Path) -> list[str]:
    """The recognition dictionary embedded in the model (rapidocr's models carry it as `character`)."""
    import onnxruntime

    session = onnxruntime.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    text = session.get_modelmeta().custom_metadata_map.get("character")
    if not text:
        raise ValueError(f"{onnx_path} has no `character` metadata; cannot build its dictionary")
    chars = text.split("\n")
    # CTC output = blank + dictionary + space: check before writing a dictionary that would misread.
    classes = session.get_outputs()[0].shape[-1]
    if isinstance(classes, int) and classes != len(chars) + 2:
        raise ValueError(f"{onnx_path}: {classes} classes but {len(chars)} characters + blank + space")
    return chars


def _write(directory: Path, onnx_path: Path, model_name: str, config: dict[str, Any]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    link = directory / "inference.onnx"
    if link.is_symlink() or link.exists():
        link.unlink()
    link.symlink_to(onnx_path.resolve())
    data = {"Global": {"model_name": model_name}, **config}
    with (directory / "inference.yml").open("w", encoding="utf-8") as handle:
        yaml.safe_dump(data, handle, allow_unicode=True, sort_keys=False)
    return directory


def prepare(dest: Path, source: Path | None = None, with_cls: bool = True) -> PaddleModelDirs:
    """Write det / rec (/ cls) model directories under `dest` from the models in `source`."""
    source = source or bundled_model_dir()
    det_onnx, det_name = _ppocr_model(source, "det")
    rec_onnx, rec_name = _ppocr_model(source, "rec")
    rec_config = {**_REC, "PostProcess": {**_REC["PostProcess"], "character_dict": _characters(rec_onnx)}}
    det = _write(dest / det_name, det_onnx, det_name, _DET)
    rec = _write(dest / rec_name, rec_onnx, rec_name, rec_config)
    cls = _write(dest / "textline_ori", _cls_model(source), CLS_NAME, _CLS) if with_cls else None
    return PaddleModelDirs(det=det, rec=rec, cls=cls, det_name=det_name, rec_name=rec_name, cls_name=CLS_NAME)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dest", type=Path, help="folder to write the model directories into")
    parser.add_argument("--source", type=Path, help="folder of .onnx files (default: rapidocr's)")
    parser.add_argument("--no-cls", action="store_true", help="skip the text direction classifier")
    args = parser.parse_args(argv)
    dirs = prepare(args.dest, args.source, with_cls=not args.no_cls)
    print(f"det {dirs.det_name}: {dirs.det}")
    print(f"rec {dirs.rec_name}: {dirs.rec}")
    if dirs.cls is not None:
        print(f"cls {dirs.cls_name}: {dirs.cls}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
