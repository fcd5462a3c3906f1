"""Opening uploaded images safely: bomb limits, EXIF orientation, transparency, frames, truncation."""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from onestop.errors import Reason

from .limits import Limits, pixel_limit
from .sniff import sniff

_EXIF_ORIENTATION = 0x0112


class ImageRejected(Exception):
    """The image cannot be used; `reason` says why in words the applicant can act on."""

    def __init__(self, reason: Reason) -> None:
        super().__init__(f"{reason.code}: {reason.en}")
        self.reason = reason


@dataclass(frozen=True)
class LoadedImage:
    """The first frame, upright (EXIF applied), RGB on white, plus what was done to get there."""

    rgb: np.ndarray
    format: str
    mode: str
    frames: int
    exif_orientation: int | None
    had_alpha: bool
    notes: tuple[Reason, ...] = ()

    @property
    def width(self) -> int:
        return int(self.rgb.shape[1])

    @property
    def height(self) -> int:
        return int(self.rgb.shape[0])


def too_many_pixels(max_pixels: int) -> Reason:
    return Reason(
        "image_too_large",
        f"图片像素过多（超过 {max_pixels:,} 像素），可能是异常文件；请上传分辨率较低的扫描件或照片。",
        f"The image has too many pixels (over {max_pixels:,}); it may be malformed. "
        "Upload a scan or photo at a lower resolution.",
    )


def _unreadable(detail: str = "") -> Reason:
    return Reason(
        "image_unreadable",
        "无法读取该图片文件，文件可能已损坏；请重新扫描或拍照后上传。",
        "The image file cannot be read; it may be damaged. Scan or photograph the document again "
        f"and upload it.{(' (' + detail + ')') if detail else ''}",
    )


TRUNCATED = Reason(
    "image_truncated",
    "图片文件不完整（上传可能被中断）；请重新上传完整的文件。",
    "The image file is incomplete (the upload may have been cut short); upload the whole file again.",
)


def _flatten_on_white(image: Image.Image) -> Image.Image:
    """Composite transparency onto white: documents are dark ink; a black backdrop would hide it."""
    rgba = image.convert("RGBA")
    background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    return Image.alpha_composite(background, rgba).convert("RGB")


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA", "La", "RGBa") or (
        image.mode in ("P", "L", "RGB") and "transparency" in image.info
    )


def _to_rgb(image: Image.Image) -> Image.Image:
    if _has_alpha(image):
        return _flatten_on_white(image)
    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        # 16-bit and float greyscale: stretch to 8 bits instead of clipping to white.
        values = np.asarray(image, dtype=np.float64)
        top = float(values.max()) or 1.0
        return Image.fromarray((values * (255.0 / top)).clip(0, 255).astype(np.uint8)).convert("RGB")
    return image.convert("RGB")


def load_image(data: bytes, limits: Limits) -> LoadedImage:
    """Decode `data` under `limits`; raise `ImageRejected` for bombs, truncated and unreadable files."""
    notes: list[Reason] = []
    sniffed = sniff(data)
    if sniffed.kind == "jpeg" and sniffed.offset:
        data = data[sniffed.offset :]  # junk before the SOI marker; Pillow wants the marker first
    try:
        with pixel_limit(limits.max_pixels):
            image = Image.open(io.BytesIO(data))
            width, height = image.size
            if width <= 0 or height <= 0 or width * height > limits.max_pixels:
                raise ImageRejected(too_many_pixels(limits.max_pixels))
            # Counting frames may walk every frame header; a bomb in a later frame shows up here.
            frames = int(getattr(image, "n_frames", 1) or 1)
            if frames > 1:
                image.seek(0)
            image.load()
            fmt = (image.format or "").upper()
            mode = image.mode
            orientation = image.getexif().get(_EXIF_ORIENTATION)
            had_alpha = _has_alpha(image)
            upright = ImageOps.exif_transpose(image)
            rgb = np.asarray(_to_rgb(upright), dtype=np.uint8)
    except ImageRejected:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageRejected(too_many_pixels(limits.max_pixels)) from exc
    except UnidentifiedImageError as exc:
        raise ImageRejected(_unreadable()) from exc
    except (OSError, ValueError, SyntaxError, EOFError, MemoryError) as exc:
        # Pillow raises a plain OSError for a truncated file and a plain ValueError for a text chunk
        # that inflates too far (no subclass, no code): its message is all there is to tell them by.
        text = str(exc).lower()
        if "truncated" in text or isinstance(exc, EOFError):
            raise ImageRejected(TRUNCATED) from exc
        if "too large" in text:  # PNG text chunks that inflate past Pillow's safety cap
            raise ImageRejected(
                Reason(
                    "image_malformed",
                    "图片文件内部数据异常（解压后过大），无法处理；请重新导出或拍照后上传。",
                    "The image contains data that inflates far beyond its size and cannot be processed; "
                    "export or photograph the document again.",
                )
            ) from exc
        raise ImageRejected(_unreadable(type(exc).__name__)) from exc
    if frames > 1:
        notes.append(
            Reason(
                "first_frame_only",
                f"该图片包含 {frames} 帧，只处理了第一帧；多页文件请上传 PDF。",
                f"The image has {frames} frames; only the first was used. "
                "Upload multi-page documents as PDF.",
            )
        )
    if orientation not in (None, 1):
        notes.append(
            Reason(
                "exif_orientation_applied",
                f"已按照片方向信息（EXIF {orientation}）旋转。",
                f"Turned upright using the photo's orientation tag (EXIF {orientation}).",
            )
        )
    if had_alpha:
        notes.append(
            Reason(
                "transparency_flattened",
                "透明背景已按白色处理。",
                "The transparent background was treated as white.",
            )
        )
    return LoadedImage(
        rgb=rgb,
        format=fmt,
        mode=mode,
        frames=frames,
        exif_orientation=int(orientation) if orientation else None,
        had_alpha=had_alpha,
        notes=tuple(notes),
    )
