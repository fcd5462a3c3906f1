"""Photographs of printed licences, made synthetically, for the photo-verification tests and the bench.

A licence is issued through the real issue path (`issue_licence` with the in-memory ports of the unit
tests and the dev PKI), rasterised with pypdfium2 as a printer would, then "photographed": laid on a
desk, seen in perspective, rotated, blurred (focus and motion), lit unevenly, with glare, noise, JPEG
at several qualities, at several scales up to a 12-megapixel phone photo, stored sideways with an EXIF
orientation tag; and as a phone screenshot, forwarded through a chat app. Deterministic: every random
choice comes from a seeded generator. No tests here.

    from tests.photo_specimens import issued_licence, photo_set
    licence = issued_licence()
    for spec in photo_set(licence.pdf): ...
"""

from __future__ import annotations

import io
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cache
from typing import Any

import numpy as np
from onestop.licences.issuance import issue_licence
from onestop.licences.models import LicenceRecord
from onestop.licences.pki import DevPki, make_dev_pki
from onestop.licences.signers import LocalKeySigner
from PIL import Image, ImageDraw, ImageFilter

from tests.unit.test_licence_support import (
    APPROVED_AT,
    BUREAU,
    ISSUER,
    OIL_LICENCE,
    MemoryBlobStore,
    MemoryRegistry,
    RecordingPublisher,
    approval,
)

A4_MM = (210.0, 297.0)
TWELVE_MP = (3000, 4000)  # a phone's 4:3 sensor held upright: 12.0 megapixels


@dataclass(frozen=True)
class IssuedLicence:
    """A licence issued through `issue_licence`: its record, sealed PDF and the ports that hold it."""

    record: LicenceRecord
    pdf: bytes
    registry: MemoryRegistry
    store: MemoryBlobStore
    pki: DevPki


@cache
def dev_pki() -> DevPki:
    """The bureau's dev PKI, made the day before the approval the licences are issued at."""
    return make_dev_pki(BUREAU, now=APPROVED_AT - timedelta(days=1))


def issued_licence(application_id: str = "photo-0001", **changes: Any) -> IssuedLicence:
    """Issue one licence through the real issue path (the in-memory ports; `changes` alter the approval)."""
    registry, store, pki = MemoryRegistry(), MemoryBlobStore(), dev_pki()
    record = issue_licence(
        approval(application_id, **changes),
        licence_type=OIL_LICENCE,
        issuer=ISSUER,
        registry=registry,
        store=store,
        signer=LocalKeySigner.from_dev_pki(pki),
        publisher=RecordingPublisher(),
        now=APPROVED_AT,
    )
    assert record.pdf is not None
    pdf = store.get(record.pdf.key, version_id=record.pdf.version_id).body
    return IssuedLicence(record, pdf, registry, store, pki)


def rasterise(pdf: bytes, dpi: float = 220.0) -> Image.Image:
    """Page 1 as a printer at `dpi` would put it on paper (RGB)."""
    import pypdfium2

    doc = pypdfium2.PdfDocument(pdf)
    try:
        bitmap = doc[0].render(scale=dpi / 72.0)
        return bitmap.to_pil().convert("RGB")
    finally:
        doc.close()


def qr_box(page: Image.Image) -> tuple[float, float, float, float]:
    """Where the QR code is on a clean raster (left, top, right, bottom): to aim glare and thumbs at it."""
    import zxingcpp

    found = zxingcpp.read_barcodes(page.convert("L"), formats=zxingcpp.BarcodeFormat.QRCode)
    assert found, "no QR code on the clean raster of the licence"
    p = found[0].position
    xs = [p.top_left.x, p.top_right.x, p.bottom_left.x, p.bottom_right.x]
    ys = [p.top_left.y, p.top_right.y, p.bottom_left.y, p.bottom_right.y]
    return (float(min(xs)), float(min(ys)), float(max(xs)), float(max(ys)))


# ----------------------------------------------------------------------------- the camera


def _perspective_coeffs(dst: list[tuple[float, float]], src: list[tuple[float, float]]) -> list[float]:
    """PIL's PERSPECTIVE coefficients mapping output points `dst` to input points `src`."""
    rows: list[list[float]] = []
    rhs: list[float] = []
    for (x, y), (u, v) in zip(dst, src, strict=True):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y])
        rhs += [u, v]
    return [float(c) for c in np.linalg.solve(np.array(rows), np.array(rhs))]


def _desk(size: tuple[int, int], rng: random.Random) -> Image.Image:
    """A wooden-ish desk: a brown base with grain along it (drawn small, scaled up: grain is smooth)."""
    w, h = size
    sw, sh = max(w // 4, 2), max(h // 4, 2)
    base = np.array([120, 92, 64], dtype=np.float32) + rng.uniform(-15, 15)
    coarse = np.random.default_rng(rng.randrange(2**32)).normal(0, 1, (max(sh // 10, 2), max(sw // 2, 2)))
    grain = np.asarray(
        Image.fromarray(((coarse - coarse.min()) / (np.ptp(coarse) + 1e-9) * 255).astype(np.uint8)).resize(
            (sw, sh), Image.Resampling.BILINEAR
        ),
        dtype=np.float32,
    )
    small = Image.fromarray(np.clip(base + (grain[..., None] - 128) * 0.18, 0, 255).astype(np.uint8), "RGB")
    return small.resize((w, h), Image.Resampling.BILINEAR)


@dataclass(frozen=True)
class Shot:
    """How one photograph is taken. Sizes in pixels of the stored image; angles in degrees."""

    frame: tuple[int, int] = TWELVE_MP
    fill: float = 0.86  # the page's height over the frame's (before perspective)
    rotate: float = 0.0  # in-plane rotation of the page in the frame
    tilt: float = 0.04  # perspective: how much the far edge shrinks (fraction of the width)
    skew: float = 0.0  # perspective sideways (fraction of the width)
    blur: float = 0.0  # Gaussian sigma (focus), pixels of the stored frame
    motion: int = 0  # length of a horizontal motion blur, pixels
    light: float = 0.0  # uneven lighting: how much darker the far corner is (0..1)
    glare: tuple[float, float, float] | None = None  # (x, y, radius) on the page, fractions of its width
    glare_on_qr: float | None = None  # a glare centred on the QR code, radius in QR widths
    noise: float = 2.0  # sensor noise sigma (0..255)
    exposure: float = 1.0
    thumb_on_qr: bool = False  # a thumb over the QR code (nothing to read)
    exif_orientation: int | None = None  # store the pixels turned, with this EXIF Orientation tag
    format: str = "JPEG"
    quality: int = 88
    seed: int = 1


def photograph(page: Image.Image, shot: Shot) -> bytes:
    """The page on a desk, as a phone camera stores it."""
    rng = random.Random(shot.seed)
    fw, fh = shot.frame
    pw, ph = page.size
    page = page.copy()
    box = qr_box(page)
    if shot.thumb_on_qr:
        draw = ImageDraw.Draw(page)
        qx0, qy0, qx1, qy1 = box
        qw = qx1 - qx0
        draw.ellipse((qx0 - 0.2 * qw, qy0 + 0.15 * qw, qx1 + 0.1 * qw, qy1 + 0.9 * qw), fill=(214, 160, 132))
    # the page's corners in the frame: scaled, tilted (far edge narrower), skewed, rotated about the centre
    scale = shot.fill * fh / ph
    hw, hh = pw * scale / 2, ph * scale / 2
    shrink = shot.tilt * hw
    shift = shot.skew * hw * 2
    corners = [(-hw + shrink + shift, -hh), (hw - shrink + shift, -hh), (hw, hh), (-hw, hh)]
    theta = math.radians(shot.rotate)
    cx, cy = fw / 2 + rng.uniform(-0.02, 0.02) * fw, fh / 2 + rng.uniform(-0.02, 0.02) * fh
    dst = [
        (cx + x * math.cos(theta) - y * math.sin(theta), cy + x * math.sin(theta) + y * math.cos(theta))
        for x, y in corners
    ]
    src = [(0.0, 0.0), (float(pw), 0.0), (float(pw), float(ph)), (0.0, float(ph))]
    coeffs = _perspective_coeffs(dst, src)
    # one warp of the page with an opaque alpha: outside the page the warp leaves alpha 0 (the desk)
    warped = page.convert("RGBA").transform(
        (fw, fh), Image.Transform.PERSPECTIVE, coeffs, Image.Resampling.BILINEAR
    )
    frame = _desk((fw, fh), rng)
    frame.paste(warped, (0, 0), warped)
    # light, glare and noise on a small grid scaled up (smooth fields), added in int16: fast at 12 MP
    img = np.asarray(frame, dtype=np.int16)
    gain = np.full((fh // 8, fw // 8), shot.exposure, dtype=np.float32)
    lift = np.zeros_like(gain)
    yy, xx = np.mgrid[0 : fh // 8, 0 : fw // 8].astype(np.float32) * 8
    if shot.light:
        gain *= 1.0 - shot.light * (xx / fw * 0.5 + yy / fh * 0.5)
    for gx, gy, gr in _glares(shot, box, pw, coeffs):
        lift += 330.0 * np.exp(-(((xx - gx) ** 2 + (yy - gy) ** 2) / (2 * (gr / 2) ** 2)))
    field_gain = _upscale(gain, (fw, fh), 100.0)
    field_lift = _upscale(lift, (fw, fh), 1.0)
    img = (img * field_gain[..., None] // 100 + field_lift[..., None]).astype(np.int16)
    if shot.noise:
        # Gaussian around 128, one channel, two pixels a grain (demosaiced sensor noise is not per pixel)
        noise = Image.effect_noise((fw // 2, fh // 2), shot.noise).resize((fw, fh), Image.Resampling.NEAREST)
        img += np.asarray(noise, dtype=np.int16)[..., None] - 128
    out = Image.fromarray(np.clip(img, 0, 255).astype(np.uint8), "RGB")
    if shot.blur:
        out = out.filter(ImageFilter.GaussianBlur(shot.blur))
    if shot.motion:
        out = _motion_blur(out, shot.motion)
    return _store(out, shot)


def _glares(
    shot: Shot, box: tuple[float, float, float, float], pw: int, coeffs: list[float]
) -> list[tuple[float, float, float]]:
    """Glare spots in frame coordinates: (x, y, radius)."""
    spots: list[tuple[float, float, float]] = []
    if shot.glare:
        fx, fy, fr = shot.glare
        spots.append((fx * pw, fy * pw * math.sqrt(2), fr * pw))
    if shot.glare_on_qr is not None:
        qx0, qy0, qx1, qy1 = box
        spots.append(((qx0 + qx1) / 2, (qy0 + qy1) / 2, shot.glare_on_qr * (qx1 - qx0)))
    return [_to_frame(x, y, r, coeffs) for x, y, r in spots]


def _to_frame(x: float, y: float, r: float, coeffs: list[float]) -> tuple[float, float, float]:
    """Map a page point to the frame (inverting PIL's output-to-input perspective numerically)."""
    a, b, c, d, e, f, g, h = coeffs
    m = np.array([[a, b, c], [d, e, f], [g, h, 1.0]])
    inv = np.linalg.inv(m)
    px, py, pz = inv @ np.array([x, y, 1.0])
    ux, uy, uz = inv @ np.array([x + r, y, 1.0])
    fx, fy = px / pz, py / pz
    return float(fx), float(fy), float(math.hypot(ux / uz - fx, uy / uz - fy))


def _upscale(small: np.ndarray, size: tuple[int, int], unit: float) -> np.ndarray:
    """A smooth field computed on a coarse grid, at full size, as int16 in `unit`s."""
    scaled = np.clip(small * unit, 0, 32000).astype(np.float32)
    return np.asarray(Image.fromarray(scaled, "F").resize(size, Image.Resampling.BILINEAR)).astype(np.int16)


def _motion_blur(img: Image.Image, length: int) -> Image.Image:
    """A horizontal smear of `length` pixels (hand shake during the exposure): a running mean."""
    arr = np.asarray(img, dtype=np.int32)
    padded = np.pad(arr, ((0, 0), (length // 2 + 1, length - length // 2), (0, 0)), mode="edge")
    sums = np.cumsum(padded, axis=1)
    out = (sums[:, length:-1] - sums[:, : -length - 1]) // length
    return Image.fromarray(out[:, : arr.shape[1]].astype(np.uint8), "RGB")


def _store(img: Image.Image, shot: Shot) -> bytes:
    buf = io.BytesIO()
    kwargs: dict[str, Any] = {}
    if shot.exif_orientation is not None:
        # The camera stores the sensor's pixels and says in EXIF how to turn them upright.
        turn = {3: Image.Transpose.ROTATE_180, 6: Image.Transpose.ROTATE_90, 8: Image.Transpose.ROTATE_270}
        img = img.transpose(turn[shot.exif_orientation])
        exif = Image.Exif()
        exif[0x0112] = shot.exif_orientation
        kwargs["exif"] = exif.tobytes()
    if shot.format == "JPEG":
        img.save(buf, "JPEG", quality=shot.quality, **kwargs)
    elif shot.format == "WEBP":
        img.save(buf, "WEBP", quality=shot.quality, **kwargs)
    else:
        img.save(buf, shot.format, **kwargs)
    return buf.getvalue()


def screenshot(
    page: Image.Image, *, width: int = 1170, height: int = 2532, forwarded: int | None = None
) -> bytes:
    """A phone screenshot of the PDF open in a viewer (status bar, toolbar, the page fitted to the width).

    `forwarded`: the screenshot as a chat app passes it on: scaled to this width, JPEG quality 70.
    """
    screen = Image.new("RGB", (width, height), (242, 242, 247))
    draw = ImageDraw.Draw(screen)
    draw.rectangle((0, 0, width, 140), fill=(250, 250, 250))
    draw.rectangle((0, height - 180, width, height), fill=(250, 250, 250))
    fitted = page.resize(
        (width - 24, round(page.height * (width - 24) / page.width)), Image.Resampling.LANCZOS
    )
    screen.paste(fitted, (12, 160))
    buf = io.BytesIO()
    if forwarded:
        small = screen.resize((forwarded, round(height * forwarded / width)), Image.Resampling.LANCZOS)
        small.save(buf, "JPEG", quality=70)
    else:
        screen.save(buf, "PNG", optimize=True)
    return buf.getvalue()


# ----------------------------------------------------------------------------- the set


@dataclass(frozen=True)
class PhotoSpecimen:
    """One picture of the licence: its bytes, media type, and what it shows."""

    name: str
    data: bytes
    content_type: str
    note: str
    readable: bool = True  # False: the QR code is not in the picture to be read (thumb, desk)
    extra: dict[str, Any] = field(default_factory=dict)


CONTENT_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}

# name -> (shot, note). Frames are the stored image's size; 12 MP is 3000 x 4000.
SHOTS: dict[str, tuple[Shot, str]] = {
    "phone_12mp": (Shot(), "12-megapixel phone photo, page filling the frame, slight tilt"),
    "phone_12mp_exif_rotated": (
        Shot(exif_orientation=6, seed=2),
        "12 MP stored sideways with EXIF Orientation 6 (how phones save portrait shots)",
    ),
    "phone_12mp_q60": (Shot(quality=60, seed=3), "12 MP at JPEG quality 60"),
    "perspective_strong": (Shot(tilt=0.16, skew=0.05, seed=4), "taken at an angle: far edge 30 % narrower"),
    "perspective_sideways": (Shot(tilt=0.05, skew=-0.12, rotate=-4, seed=5), "sideways perspective"),
    "rotated_15": (Shot(rotate=15, fill=0.72, seed=6), "page turned 15 degrees on the desk"),
    "rotated_90": (Shot(rotate=90, fill=0.7, frame=(4000, 3000), seed=7), "landscape shot, page on its side"),
    "upside_down": (Shot(rotate=180, seed=8), "page upside down"),
    "blur_mild": (Shot(blur=2.0, seed=9), "slightly out of focus (sigma 2 px at 12 MP)"),
    "blur_strong": (Shot(blur=5.0, seed=10), "badly out of focus (sigma 5 px at 12 MP)"),
    "motion_blur": (Shot(motion=9, seed=11), "hand shake: 9 px horizontal motion blur at 12 MP"),
    "uneven_light": (Shot(light=0.55, seed=12), "lamp on one side: far corner 55 % darker"),
    "low_light_noisy": (Shot(exposure=0.55, noise=14.0, quality=75, seed=13), "dim room, noisy sensor"),
    "glare_beside_qr": (Shot(glare=(0.55, 0.55, 0.18), seed=14), "glare on the page beside the QR code"),
    "glare_on_qr_edge": (Shot(glare_on_qr=0.35, seed=15), "small glare spot on the QR code"),
    "glare_over_qr": (Shot(glare_on_qr=0.9, seed=16), "large glare over the QR code"),
    "far_small": (Shot(fill=0.3, seed=17), "12 MP, page 30 % of the frame height (taken from afar)"),
    "low_res_2mp": (Shot(frame=(1200, 1600), seed=18, quality=80), "2-megapixel camera, page filling it"),
    "low_res_1mp_far": (
        Shot(frame=(900, 1200), fill=0.7, seed=19, quality=75),
        "1 MP, page 70 % of the height",
    ),
    "jpeg_q25_5mp": (Shot(frame=(1920, 2560), quality=25, seed=20), "5 MP at JPEG quality 25"),
    "webp_5mp": (Shot(frame=(1920, 2560), format="WEBP", quality=75, seed=21), "5 MP saved as WebP"),
    "png_2mp": (Shot(frame=(1200, 1600), format="PNG", noise=1.0, seed=22), "2 MP saved as PNG"),
}

# pictures with no QR code to read: what the "no readable QR code" verdict is for
UNREADABLE: dict[str, tuple[Shot, str]] = {
    "thumb_over_qr": (Shot(thumb_on_qr=True, frame=(1500, 2000), seed=30), "a thumb covers the QR code"),
}


@cache
def _page(pdf: bytes) -> Image.Image:
    return rasterise(pdf)


def specimen(pdf: bytes, name: str) -> PhotoSpecimen:
    """One named picture of the licence `pdf` (see SHOTS, UNREADABLE, and the screenshots)."""
    page = _page(pdf)
    if name == "screenshot_png":
        return PhotoSpecimen(name, screenshot(page), "image/png", "phone screenshot of the PDF (1170 x 2532)")
    if name == "screenshot_forwarded":
        return PhotoSpecimen(
            name,
            screenshot(page, forwarded=720),
            "image/jpeg",
            "the screenshot forwarded by chat (720 px, q70)",
        )
    if name == "desk_only":
        buf = io.BytesIO()
        _desk((1200, 1600), random.Random(31)).save(buf, "JPEG", quality=85)
        return PhotoSpecimen(
            name, buf.getvalue(), "image/jpeg", "a photo of the desk, no licence", readable=False
        )
    readable = name in SHOTS
    shot, note = SHOTS[name] if readable else UNREADABLE[name]
    return PhotoSpecimen(name, photograph(page, shot), CONTENT_TYPES[shot.format], note, readable=readable)


PHOTO_NAMES: tuple[str, ...] = (*SHOTS, "screenshot_png", "screenshot_forwarded")
UNREADABLE_NAMES: tuple[str, ...] = (*UNREADABLE, "desk_only")


def photo_set(pdf: bytes, names: tuple[str, ...] = PHOTO_NAMES) -> list[PhotoSpecimen]:
    """The synthetic photos of `pdf` with a QR code in them (the decode success rate is over these)."""
    return [specimen(pdf, n) for n in names]


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    """`fn()` and its wall time in ms."""
    import time

    t0 = time.perf_counter()
    value = fn()
    return value, (time.perf_counter() - t0) * 1000.0
