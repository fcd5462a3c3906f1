"""Verify from a picture (verification/photo.py): a licence issued through the real issue path, printed
(pypdfium2), photographed synthetically (tests/photo_specimens.py) and read back with zxing-cpp; the
paper verdicts (no readable QR, a URL-only QR on and off the bureau's site, another licence's status);
pictures that are attacks (decompression bombs, HEIC, damaged files) refused before decoding."""

from __future__ import annotations

import io
import struct
import time
import zlib
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from onestop.errors import InvalidInput, PayloadTooLarge
from onestop.licences.models import LicenceStatus
from onestop.licences.pki import to_asn1
from onestop.licences.render import render_licence
from onestop.verification import TrustAnchors
from onestop.verification.photo import (
    NO_QR,
    PhotoDependencies,
    PhotoLimits,
    QrRead,
    UnsupportedImage,
    check_photo,
    judge_url,
    read_qr_codes,
)
from PIL import Image

from tests import photo_specimens as P

BASE = P.ISSUER.public_base_url  # https://onestop.example.gov.cn
AT = P.APPROVED_AT + timedelta(days=30)

# Measured over the synthetic set (24 pictures with the QR code in them, tests/photo_specimens.py):
# 22 read; the two that are not are a badly out-of-focus shot (sigma 5 px at 12 MP) and a glare
# spot as wide as the code. One more may be lost to a change in zxing-cpp or Pillow without alarm.
DECODE_FLOOR = 21
MUST_READ = (
    "phone_12mp",
    "phone_12mp_exif_rotated",
    "perspective_strong",
    "rotated_90",
    "upside_down",
    "low_light_noisy",
    "screenshot_png",
    "screenshot_forwarded",
)


@pytest.fixture(scope="module")
def licence() -> P.IssuedLicence:
    return P.issued_licence()


@pytest.fixture(scope="module")
def trust(licence: P.IssuedLicence) -> TrustAnchors:
    return TrustAnchors(roots=(to_asn1(licence.pki.root_cert),), seals=(to_asn1(licence.pki.seal_cert),))


class Photos(dict[str, P.PhotoSpecimen]):
    """The synthetic pictures of the licence, each made when first asked for (a 12 MP one takes
    seconds): single tests do not pay for the whole set."""

    def __init__(self, pdf: bytes) -> None:
        super().__init__()
        self.pdf = pdf

    def __missing__(self, name: str) -> P.PhotoSpecimen:
        self[name] = P.specimen(self.pdf, name)
        return self[name]

    def all(self) -> dict[str, P.PhotoSpecimen]:
        return {name: self[name] for name in P.PHOTO_NAMES}


@pytest.fixture(scope="module")
def photos(licence: P.IssuedLicence) -> Photos:
    return Photos(licence.pdf)


def deps(
    trust: TrustAnchors, lookup: Any = None, *, base: str | None = BASE, limits: PhotoLimits | None = None
) -> PhotoDependencies:
    return PhotoDependencies(trust, {}, AT, lookup, base, limits or PhotoLimits(max_bytes=40 << 20))


def url_licence(licence: P.IssuedLicence, url: str) -> bytes:
    """A licence whose QR code holds only `url` (as printed before credentials, or by a forger),
    as a phone screenshot."""
    rendered = render_licence(licence.record.metadata, verify_url=url)
    return P.screenshot(P.rasterise(rendered.pdf, dpi=150))


# ----------------------------------------------------------------------------- reading


@pytest.mark.slow  # makes the 24 pictures, half of them 12 MP: about a minute on 2 cores
def test_decode_success_rate_over_the_synthetic_photo_set(photos: Photos) -> None:
    limits = PhotoLimits(max_bytes=40 << 20)
    read = {name: read_qr_codes(s.data, limits) for name, s in photos.all().items()}
    ok = sorted(n for n, r in read.items() if r.texts and r.texts[0].startswith("OS1:"))
    print(f"decode success {len(ok)}/{len(read)}; not read: {sorted(set(read) - set(ok))}")
    assert len(ok) >= DECODE_FLOOR, sorted(set(read) - set(ok))
    assert set(MUST_READ) <= set(ok)


def test_a_12_megapixel_photo_of_the_paper_verifies_with_four_ticks(
    licence: P.IssuedLicence, trust: TrustAnchors, photos: Photos
) -> None:
    spec = photos["phone_12mp"]
    assert Image.open(io.BytesIO(spec.data)).size == (3000, 4000)
    verdict = check_photo(spec.data, deps(trust, licence.registry.get))
    assert verdict.verdict == "valid", verdict.as_dict()
    assert [(t.name, t.ok) for t in verdict.ticks] == [
        ("integrity", True),
        ("issuer", True),
        ("status", True),
        ("registry", True),
    ]
    body = verdict.as_dict()
    assert body["kind"] == "photo"
    assert body["valid"] is True
    assert body["credential"]["licence_id"] == licence.record.licence_id
    assert body["image"]["pass"] == 1
    assert body["image"]["decoded_side"] <= 2000


def test_exif_orientation_is_applied_before_reading(photos: Photos) -> None:
    spec = photos["phone_12mp_exif_rotated"]
    stored = Image.open(io.BytesIO(spec.data))
    assert stored.size == (4000, 3000)
    assert stored.getexif()[0x0112] == 6
    read = read_qr_codes(spec.data, PhotoLimits(max_bytes=40 << 20))
    assert (read.width, read.height) == (3000, 4000)  # upright, as the camera meant it
    assert read.texts


def test_a_revoked_licence_photographed_is_revoked(
    licence: P.IssuedLicence, trust: TrustAnchors, photos: Photos
) -> None:
    revoked = replace(licence.record, status=LicenceStatus.REVOKED)
    verdict = check_photo(photos["screenshot_png"].data, deps(trust, lambda _id: revoked))
    assert verdict.verdict == "revoked"
    assert verdict.ticks[0].ok is True  # the credential itself is genuine
    assert "撤销" in verdict.message_zh
    assert "revoked" in verdict.message_en


def test_a_credential_signed_by_another_key_is_an_unknown_issuer(
    licence: P.IssuedLicence, photos: Photos
) -> None:
    other = P.make_dev_pki(P.BUREAU, now=P.APPROVED_AT - timedelta(days=1))  # same names, other keys
    elsewhere = TrustAnchors(roots=(to_asn1(other.root_cert),), seals=(to_asn1(other.seal_cert),))
    verdict = check_photo(photos["screenshot_png"].data, deps(elsewhere, licence.registry.get))
    assert verdict.verdict == "unknown_issuer"
    assert not verdict.valid


# ----------------------------------------------------------------------------- paper verdicts


@pytest.mark.parametrize("name", P.UNREADABLE_NAMES)
def test_no_readable_qr_code_says_hold_it_flat_and_in_focus(
    licence: P.IssuedLicence, trust: TrustAnchors, name: str
) -> None:
    verdict = check_photo(P.specimen(licence.pdf, name).data, deps(trust, licence.registry.get))
    assert verdict.verdict == "no_qr"
    assert verdict.source == "none"
    assert (verdict.message_zh, verdict.message_en) == NO_QR
    assert verdict.message_zh == "未能读取二维码：请将二维码放平、对准焦距后重拍"
    assert verdict.message_en == (
        "No readable QR code: hold the QR code flat and in focus and take the picture again"
    )
    assert verdict.read is not None
    assert verdict.read.passes == 0


def test_a_url_only_qr_off_the_bureaus_site_is_a_forgery_warning_naming_the_host(
    licence: P.IssuedLicence, trust: TrustAnchors
) -> None:
    fake = f"https://onestop-example-gov.cn.verify-licence.top/verify/{licence.record.licence_id}"
    verdict = check_photo(url_licence(licence, fake), deps(trust, licence.registry.get))
    assert verdict.verdict == "off_domain"
    assert not verdict.valid
    assert verdict.host == "onestop-example-gov.cn.verify-licence.top"
    assert "onestop-example-gov.cn.verify-licence.top" in verdict.message_zh
    assert "onestop.example.gov.cn" in verdict.message_en
    assert "伪造" in verdict.message_zh
    assert "forged" in verdict.message_en
    assert [(t.name, t.ok) for t in verdict.ticks] == [("integrity", False), ("issuer", False)]


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        # the bureau's host as user info: the browser goes to evil.example
        ("https://onestop.example.gov.cn@evil.example/verify/x", "evil.example"),
        # a backslash: Python reads the host after "@", browsers (WHATWG) stop at "\": evil.example
        ("https://evil.example\\@onestop.example.gov.cn/verify/x", "evil.example"),
        ("https://onestop.example.gov.cn.evil.example/verify/x", "onestop.example.gov.cn.evil.example"),
        ("https://evil-onestop.example.gov.cn/verify/x", "evil-onestop.example.gov.cn"),
        ("https://verify.onestop.example.gov.cn/verify/x", "verify.onestop.example.gov.cn"),
        # a Cyrillic "о" in the host: shown as DNS sees it, punycode
        ("https://\u043enestop.example.gov.cn/verify/x", "xn--nestop-vqf.example.gov.cn"),
        ("http://onestop.example.gov.cn/verify/x", "onestop.example.gov.cn"),  # not over TLS
        ("https://onestop.example.gov.cn:8443/verify/x", "onestop.example.gov.cn"),
        ("https://onestop.example.gov.cn /verify/x", "onestop.example.gov.cn%20"),
    ],
)
def test_url_tricks_are_off_the_bureaus_site(trust: TrustAnchors, url: str, shown: str) -> None:
    verdict = judge_url(url, deps(trust, lambda _id: None), AT)
    assert verdict.verdict == "off_domain", url
    assert verdict.host == shown
    assert shown in verdict.message_zh
    assert shown in verdict.message_en


def test_a_url_only_qr_on_the_bureaus_site_is_looked_up_like_get_verify(
    licence: P.IssuedLicence, trust: TrustAnchors
) -> None:
    url = P.ISSUER.verify_url(licence.record.licence_id)
    verdict = check_photo(url_licence(licence, url), deps(trust, licence.registry.get))
    assert verdict.verdict == "url_only"
    assert not verdict.valid
    ticks = {t.name: t.ok for t in verdict.ticks}
    assert ticks == {"integrity": None, "issuer": None, "status": True, "registry": True}
    assert verdict.licence is not None
    assert verdict.licence["masked"] is True
    assert verdict.licence["number"] == licence.record.metadata.number
    assert "逐项核对" in verdict.message_zh
    assert "item by item" in verdict.message_en


def test_url_only_verdicts_follow_the_registry(licence: P.IssuedLicence, trust: TrustAnchors) -> None:
    record = licence.record
    url = P.ISSUER.verify_url(record.licence_id)
    suspended = replace(record, status=LicenceStatus.SUSPENDED)
    assert judge_url(url, deps(trust, lambda _id: suspended), AT).verdict == "suspended"
    superseded = replace(record, status=LicenceStatus.SUPERSEDED, superseded_by="x")
    assert judge_url(url, deps(trust, lambda _id: superseded), AT).verdict == "superseded"
    missing = judge_url(url, deps(trust, lambda _id: None), AT)
    assert missing.verdict == "invalid"
    assert "伪造" in missing.message_zh
    flipped = url[:-1] + ("A" if url[-1] != "A" else "B")  # the id's check character no longer fits
    malformed = judge_url(flipped, deps(trust, licence.registry.get), AT)
    assert malformed.verdict == "invalid"
    assert "forged" in malformed.message_en

    def down(_id: str) -> Any:
        raise ConnectionError("registry down")

    assert judge_url(url, deps(trust, down), AT).verdict == "status_unknown"
    offline = judge_url(url, deps(trust, None), AT)
    assert offline.verdict == "status_unknown"
    assert "离线" in offline.message_zh
    no_site = judge_url("https://anything.example/verify/x", deps(trust, None, base=None), AT)
    assert no_site.verdict == "status_unknown"
    assert "anything.example" in no_site.message_en
    home = judge_url(BASE + "/about", deps(trust, licence.registry.get), AT)
    assert home.verdict == "not_a_licence"


def test_a_qr_code_that_is_no_licences_is_said_so(trust: TrustAnchors) -> None:
    read = QrRead(("WIFI:S:cafe;T:WPA;P:secret;;",), 100, 100, "PNG", 1, 100, 1.0)
    from onestop.verification.photo import judge_qr_texts

    verdict = judge_qr_texts(read, deps(trust))
    assert verdict.verdict == "not_a_licence"
    assert "WIFI:S:cafe" in verdict.message_zh


def test_a_genuine_url_beside_a_look_alike_counts_the_bureaus(
    trust: TrustAnchors, licence: P.IssuedLicence
) -> None:
    from onestop.verification.photo import judge_qr_texts

    genuine = P.ISSUER.verify_url(licence.record.licence_id)
    read = QrRead(("https://evil.example/v", genuine), 100, 100, "PNG", 1, 100, 1.0)
    assert judge_qr_texts(read, deps(trust, licence.registry.get)).verdict == "url_only"


# ----------------------------------------------------------------------------- hostile pictures


def _png_header(width: int, height: int) -> bytes:
    """A PNG that declares `width` x `height` greyscale pixels and carries a few bytes of data."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\0" * 1024))
        + chunk(b"IEND", b"")
    )


def _jpeg_declaring(width: int, height: int) -> bytes:
    """A real small JPEG whose frame header (SOF0) is rewritten to declare `width` x `height`."""
    buf = io.BytesIO()
    Image.new("L", (16, 16), 255).save(buf, "JPEG")
    data = bytearray(buf.getvalue())
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


@pytest.mark.parametrize(
    ("data", "declared"),
    [
        (_png_header(100_000, 100_000), "10,000,000,000"),  # PIL's own limit trips first
        (_png_header(5000, 4000), "5000"),  # 20 MP: over the 16 MP a lossless picture may have
        (_jpeg_declaring(60_000, 1000), "60000"),  # 60 MP of JPEG, over 50 MP
        (_jpeg_declaring(13_000, 100), "13000"),  # a side over 12 000
    ],
)
def test_a_decompression_bomb_is_refused_fast_without_decoding(
    trust: TrustAnchors, data: bytes, declared: str
) -> None:
    t0 = time.perf_counter()
    with pytest.raises(InvalidInput) as caught:
        check_photo(data, deps(trust))
    elapsed = time.perf_counter() - t0
    assert elapsed < 0.1, elapsed  # decoding 10^10 pixels would take minutes and 10 GB
    exc = caught.value
    assert exc.code == "image_pixels_over_limit"
    assert declared in exc.zh
    assert declared in exc.en
    assert "解压炸弹" in exc.zh
    assert "decompression bomb" in exc.en


def test_pil_alone_would_have_decoded_the_20_megapixel_png() -> None:
    # The control for the test above: the 20 MP PNG is under PIL's own bomb limit, so the refusal is ours.
    assert Image.MAX_IMAGE_PIXELS > 5000 * 4000
    Image.open(io.BytesIO(_png_header(5000, 4000)))  # opens without PIL's warning or error


def test_heic_is_refused_with_what_to_do_instead(trust: TrustAnchors) -> None:
    heic = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\0" * 64
    with pytest.raises(UnsupportedImage) as caught:
        check_photo(heic, deps(trust))
    assert caught.value.http_status == 415
    assert "兼容性最佳" in caught.value.zh
    assert "Most Compatible" in caught.value.en


@pytest.mark.parametrize(
    ("data", "word"),
    [
        (b"GIF89a" + b"\0" * 100, "signature"),
        (b"", "empty"),
        (b"\xff\xd8\xff\xe0" + b"\0" * 50, "damaged"),  # a JPEG signature, then nothing readable
    ],
)
def test_what_is_not_a_readable_picture_is_refused(trust: TrustAnchors, data: bytes, word: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        check_photo(data, deps(trust))
    assert caught.value.code == "not_an_image"
    assert word in caught.value.en + " ".join(d.en for d in caught.value.details)


def test_a_truncated_photo_is_refused_as_damaged(trust: TrustAnchors, photos: Photos) -> None:
    data = photos["low_res_2mp"].data
    with pytest.raises(InvalidInput) as caught:
        check_photo(data[: len(data) // 2], deps(trust))
    assert "damaged" in " ".join(d.en for d in caught.value.details)


def test_a_picture_over_the_byte_limit_is_refused_before_opening(trust: TrustAnchors) -> None:
    with pytest.raises(PayloadTooLarge) as caught:
        check_photo(b"\xff\xd8\xff" + b"\0" * 2048, deps(trust, limits=PhotoLimits(max_bytes=1024)))
    assert caught.value.code == "image_too_large"


def test_a_multi_picture_jpeg_from_a_phone_is_read_at_reduced_scale(
    photos: Photos, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Phones store portrait and depth shots as MPO: a JPEG with more pictures appended; Pillow opens
    # it as "MPO". It must still be decoded at reduced DCT scale (draft), not in full.
    from PIL.JpegImagePlugin import JpegImageFile

    first = Image.open(io.BytesIO(photos["phone_12mp"].data))
    buf = io.BytesIO()
    first.save(buf, "MPO", save_all=True, append_images=[first.resize((300, 400))])
    drafts: list[tuple[str, tuple[int, int]]] = []
    real_draft = JpegImageFile.draft

    def spy(self: Any, mode: str, size: tuple[int, int]) -> Any:
        drafts.append((self.format, size))
        return real_draft(self, mode, size)

    monkeypatch.setattr(JpegImageFile, "draft", spy)
    read = read_qr_codes(buf.getvalue(), PhotoLimits(max_bytes=40 << 20))
    assert read.format == "MPO"
    assert read.texts
    assert drafts == [("MPO", (1500, 2000))]


def test_a_qr_code_on_a_transparent_background_is_read(licence: P.IssuedLicence) -> None:
    # A QR code exported as a PNG with a transparent background (black modules, nothing else): its
    # transparent pixels are black in RGB; it must be read as it is shown, on white.
    import numpy as np

    grey = np.asarray(P.rasterise(licence.pdf, dpi=150).convert("L"))
    rgba = np.zeros((*grey.shape, 4), dtype=np.uint8)  # transparent black everywhere
    rgba[grey < 128, 3] = 255  # the dark modules (and text) opaque black
    buf = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(buf, "PNG")
    read = read_qr_codes(buf.getvalue())
    assert read.texts
    assert read.texts[0].startswith("OS1:")
