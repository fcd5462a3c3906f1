"""Opening images: bombs, truncation, EXIF orientation, transparency, frames.

Corpus files: Pillow Tests/images (MIT-CMU), RapidOCR python/tests/test_files (Apache-2.0); see MANIFEST.md.
"""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from onestop.materials.images import ImageRejected, load_image
from onestop.materials.limits import Limits, pixel_limit
from PIL import Image

LIMITS = Limits()


def _png_declaring(width: int, height: int) -> bytes:
    """A tiny PNG whose header declares width x height (the pixel data is a few bytes)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\x00"))
        + chunk(b"IEND", b"")
    )


@pytest.mark.timeout(30)
@pytest.mark.parametrize("name", ["pillow_decompression_bomb.gif", "pillow_decompression_bomb.ico"])
def test_corpus_bombs_rejected_without_decoding(corpus: Path, name: str) -> None:
    with pytest.raises(ImageRejected) as info:
        load_image((corpus / "04_tricky_images" / name).read_bytes(), LIMITS)
    assert info.value.reason.code == "image_too_large"
    assert info.value.reason.zh
    assert info.value.reason.en


@pytest.mark.timeout(30)
def test_png_declaring_huge_size_is_a_bomb() -> None:
    with pytest.raises(ImageRejected) as info:
        load_image(_png_declaring(30000, 30000), LIMITS)
    assert info.value.reason.code == "image_too_large"


@pytest.mark.timeout(30)
def test_limit_is_the_configured_one_not_pillows_double() -> None:
    # Pillow only raises above 2 x MAX_IMAGE_PIXELS; we refuse at the limit itself.
    small = Limits(max_pixels=10_000)
    with pytest.raises(ImageRejected):
        load_image(_png_declaring(150, 100), small)
    assert Image.MAX_IMAGE_PIXELS != 10_000  # restored after the call


@pytest.mark.timeout(30)
def test_bomb_in_a_later_gif_frame(corpus: Path) -> None:
    data = (corpus / "04_tricky_images/pillow_decompression_bomb_extents.gif").read_bytes()
    with pytest.raises(ImageRejected) as info:
        load_image(data, Limits(max_pixels=5_000))
    assert info.value.reason.code == "image_too_large"
    loaded = load_image(data, LIMITS)  # under the default limit: first frame only, and said so
    assert loaded.frames > 1
    assert "first_frame_only" in [n.code for n in loaded.notes]


def test_pixel_limit_context_restores_global_and_errors_on_warning() -> None:
    before = Image.MAX_IMAGE_PIXELS
    with pixel_limit(10_000):
        assert Image.MAX_IMAGE_PIXELS == 10_000
        # 15,000 pixels: Pillow only warns (it raises above 20,000); inside the context that is an error.
        with pytest.raises(Image.DecompressionBombWarning):
            Image.open(io.BytesIO(_png_declaring(150, 100)))
    assert before == Image.MAX_IMAGE_PIXELS


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("pillow_truncated_image.png", "image_truncated"),
        ("pillow_truncated_jpeg.jpg", "image_truncated"),
        ("pillow_broken.png", "image_unreadable"),
        ("pillow_png_decompression_dos.png", "image_malformed"),
    ],
)
def test_corpus_broken_images(corpus: Path, name: str, code: str) -> None:
    with pytest.raises(ImageRejected) as info:
        load_image((corpus / "04_tricky_images" / name).read_bytes(), LIMITS)
    assert info.value.reason.code == code


def test_exif_orientation_applied(corpus: Path) -> None:
    raw = (corpus / "01_ocr_images/rapidocr_img_exif_orientation.jpg").read_bytes()
    stored = np.asarray(Image.open(io.BytesIO(raw)).convert("RGB"))
    loaded = load_image(raw, LIMITS)
    assert loaded.exif_orientation == 3
    # Orientation 3 = turned 180 degrees: the upright pixels are the stored ones reversed both ways.
    assert np.array_equal(loaded.rgb, stored[::-1, ::-1])
    assert "exif_orientation_applied" in [n.code for n in loaded.notes]


def test_transparent_background_becomes_white(corpus: Path) -> None:
    loaded = load_image((corpus / "01_ocr_images/rapidocr_black_font_transparent.png").read_bytes(), LIMITS)
    assert loaded.had_alpha
    corner = loaded.rgb[0, 0]
    assert tuple(int(c) for c in corner) == (255, 255, 255)
    assert int(loaded.rgb.min()) < 60  # the black glyphs are still there


def test_multi_frame_tiff_first_frame_only() -> None:
    buffer = io.BytesIO()
    frames = [Image.new("RGB", (40, 30), colour) for colour in ("white", "black", "red")]
    frames[0].save(buffer, format="TIFF", save_all=True, append_images=frames[1:])
    loaded = load_image(buffer.getvalue(), LIMITS)
    assert loaded.frames == 3
    assert loaded.rgb.shape == (30, 40, 3)
    assert int(loaded.rgb.min()) == 255  # frame 0 is white
    assert "first_frame_only" in [n.code for n in loaded.notes]


def test_sixteen_bit_greyscale_is_stretched_not_clipped() -> None:
    pixels = np.full((10, 10), 1000, dtype=np.uint16)
    pixels[0, 0] = 4000
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    loaded = load_image(buffer.getvalue(), LIMITS)
    assert loaded.rgb[0, 0, 0] == 255
    assert 50 < loaded.rgb[5, 5, 0] < 80
