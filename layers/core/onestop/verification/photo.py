"""Verify a printed licence from a picture: a phone photo of the paper, or a screenshot of the PDF.

The QR code is read with zxing-cpp and judged by what it holds:

- a signed credential (`OS1:…`, licences/credential.py): `check_credential` with the service's trust
  list, current status lists and registry (online) or the cached bundle and lists (offline CLI);
- a URL on the bureau's verify site (`{PUBLIC_BASE_URL}/verify/{id}`, the QR of licences issued before
  credentials): the number is looked up as `GET /verify/{id}` does; nothing printed is signed, so the
  verdict says to compare the paper with the registry's entry;
- any other URL: a forgery warning naming the host (a forged paper's QR leads to a look-alike site);
- no readable QR code: "hold the QR code flat and in focus and take the picture again".

Pictures are untrusted input. Before any pixel is decoded: a byte cap, the format from its magic bytes
(JPEG, PNG, WebP; HEIC is refused with what to do instead), and the pixel count the header declares
(a decompression bomb is refused in microseconds, not decoded). JPEGs are decoded straight at a reduced
scale (libjpeg's DCT scaling, `Image.draft`): a 12-megapixel photo decodes at 1/2 scale in a fraction of
the full decode, and zxing reads the QR code of a licence photo at that size. Only when the first pass
finds nothing are the retries made (sharpened; then the full resolution).

PIL and zxingcpp are imported inside the functions: the verify function imports this module, and only
a picture pays for them.
"""

from __future__ import annotations

import io
import re
import time
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import quote, unquote, urlsplit

from onestop.errors import DomainError, InvalidInput, PayloadTooLarge, Reason

from .image_types import (
    DEFAULT_PHOTO_LIMITS,
    MiB,
    PhotoLimits,
    sniff_format,
)

if TYPE_CHECKING:
    from PIL import Image

    from onestop.licences.status_list import StatusList

    from .anchors import TrustAnchors
    from .credential_check import CredentialVerdict, Tick
    from .status import RegistryLookup

MAX_CODES = 8  # a licence has one QR code; a picture of a sheet of codes is judged by its first few


class UnsupportedImage(DomainError):
    """A picture in a format that is not read here (HEIC, GIF, TIFF …): what to send instead."""

    http_status: ClassVar[int] = 415


# ----------------------------------------------------------------------------- refusals


def image_too_large(limit: int) -> PayloadTooLarge:
    mb = limit // MiB
    return PayloadTooLarge(
        "image_too_large",
        f"图片超过{mb} MB。请拍摄或截取较小的图片（二维码清晰即可），或直接上传电子证照PDF。",
        f"The picture is over {mb} MB. Send a smaller photo or screenshot (a sharp QR code is all that is "
        "needed), or the licence PDF itself.",
        [Reason("image_too_large", f"上限 {mb} MB。", f"The limit is {mb} MB.", "body")],
        extra={"max_bytes": limit},
    )


def not_an_image(detail_zh: str, detail_en: str) -> InvalidInput:
    return InvalidInput(
        "not_an_image",
        "上传的内容不是可读取的图片（JPEG、PNG或WebP）。",
        "The upload is not a picture that can be read (JPEG, PNG or WebP).",
        [Reason("not_an_image", detail_zh, detail_en, "body")],
    )


def _bomb(width: int | None, height: int | None, cap: int, pixels: int | None = None) -> InvalidInput:
    if width is not None:
        size_zh, size_en = f"{width}×{height} 像素", f"{width} x {height} pixels"
    else:
        size_zh, size_en = f"{pixels or 0:,} 像素", f"{pixels or 0:,} pixels"
    return InvalidInput(
        "image_pixels_over_limit",
        f"图片声明的尺寸为{size_zh}，超过上限（{cap // 1_000_000} 百万像素），未予解码。"
        "这样的文件通常是恶意构造的“解压炸弹”；请上传普通手机照片或截图。",
        f"The picture declares {size_en}, over the limit ({cap // 1_000_000} megapixels); it was not "
        "decoded. Files like this are usually crafted decompression bombs; send an ordinary phone photo "
        "or screenshot.",
        [Reason("image_pixels_over_limit", f"{size_zh}。", f"{size_en}.", "body")],
        extra={
            "width": width,
            "height": height,
            "pixels": pixels or (width or 0) * (height or 0),
            "max_pixels": cap,
        },
    )


def heif_refused(content_type: str = "image/heic") -> UnsupportedImage:
    return UnsupportedImage(
        "image_heic_unsupported",
        "暂不支持HEIC/HEIF格式的照片。请在手机相机设置中选择“兼容性最佳”（JPEG）后重拍，或截图后上传截图。",
        "HEIC/HEIF photos are not supported. Set the phone camera to 'Most Compatible' (JPEG) and take the "
        "picture again, or take a screenshot and send that.",
        [
            Reason(
                "image_heic_unsupported",
                f"收到的格式：{content_type}。",
                f"Received: {content_type}.",
                "content-type",
            )
        ],
    )


# ----------------------------------------------------------------------------- decoding


@dataclass(frozen=True)
class QrRead:
    """What the QR reader found in one picture, and what it took."""

    texts: tuple[str, ...]
    width: int  # the picture upright, as sent (declared size)
    height: int
    format: str
    passes: int  # 1: the first pass found it; 2: sharpened; 3: full resolution; 0 = nothing found
    decoded_side: int  # long side of the image the QR was found in (or of the last pass tried)
    ms: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "width": self.width,
            "height": self.height,
            "format": self.format.lower(),
            "qr_codes": len(self.texts),
            "pass": self.passes,
            "decoded_side": self.decoded_side,
            "ms": round(self.ms, 1),
        }


def _open(data: bytes, limits: PhotoLimits) -> Image.Image:
    """The picture opened lazily (header only), after the byte, format and declared-pixel checks."""
    from PIL import Image, UnidentifiedImageError

    if len(data) > limits.max_bytes:
        raise image_too_large(limits.max_bytes)
    if not data:
        raise not_an_image("请求体为空。", "The body is empty.")
    fmt = sniff_format(data)
    if fmt == "HEIF":
        raise heif_refused()
    if fmt is None:
        raise not_an_image(
            "文件开头不是JPEG、PNG或WebP的标识。",
            "The file does not start with a JPEG, PNG or WebP signature.",
        )
    try:
        # PIL's own bomb check (MAX_IMAGE_PIXELS) is a backstop: a warning made an error here, an
        # error past twice the limit. Ours below is tighter and names the size.
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=[fmt])
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        declared = re.search(r"\((\d+) pixels\)", str(exc))  # "Image size (N pixels) exceeds limit …"
        raise _bomb(None, None, limits.max_pixels, int(declared[1]) if declared else None) from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise not_an_image(
            "图片文件头已损坏。", f"The picture's header is damaged ({type(exc).__name__})."
        ) from None
    w, h = image.size
    cap = limits.max_pixels if fmt == "JPEG" else limits.max_pixels_lossless
    if w <= 0 or h <= 0 or w * h > cap or max(w, h) > limits.max_side:
        raise _bomb(w, h, cap)
    return image


def _upright_grey(image: Image.Image, side: int) -> Image.Image:
    """Greyscale, turned upright by its EXIF orientation, long side at most `side` (at least near it).

    A JPEG is decoded at the smallest DCT scale (1/2, 1/4, 1/8) that keeps the long side >= `side`.
    """
    from PIL import Image, ImageOps

    w, h = image.size
    if image.format in ("JPEG", "MPO") and max(w, h) > side:  # MPO: a phone JPEG with a depth map
        ratio = side / max(w, h)
        image.draft("L", (max(1, int(w * ratio)), max(1, int(h * ratio))))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image.load()
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombWarning) as exc:
        raise not_an_image(
            "图片数据不完整或已损坏，无法解码。", f"The picture's data is incomplete or damaged ({exc})."
        ) from None
    upright = ImageOps.exif_transpose(image) or image
    if upright.mode in ("RGBA", "LA", "PA") or "transparency" in upright.info:
        # Transparent pixels are black in their colour channels: read the picture as it is shown.
        rgba = upright.convert("RGBA")
        upright = Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255, 255)), rgba)
    grey = upright.convert("L")
    if max(grey.size) > side:
        grey.thumbnail((side, side), Image.Resampling.BILINEAR)
    return grey


def _read(grey: Image.Image) -> list[str]:
    import zxingcpp

    found = zxingcpp.read_barcodes(grey, formats=zxingcpp.BarcodeFormat.QRCode)
    return [r.text for r in found if r.valid and r.text]


def _sharpened(grey: Image.Image) -> Image.Image:
    from PIL import ImageFilter

    # Measured on the synthetic set: recovers out-of-focus shots and glare at the code's edge.
    return grey.filter(ImageFilter.UnsharpMask(radius=2, percent=250, threshold=2))


def read_qr_codes(data: bytes, limits: PhotoLimits = DEFAULT_PHOTO_LIMITS) -> QrRead:
    """Every QR code text in the picture `data` (deduplicated, in the reader's order).

    Raises PayloadTooLarge / InvalidInput / UnsupportedImage for what is not a readable picture.
    """
    t0 = time.perf_counter()
    image = _open(data, limits)
    fmt = str(image.format)
    w, h = image.size
    grey = _upright_grey(image, limits.decode_side)
    turned = (grey.size[0] < grey.size[1]) != (w < h) and w != h  # EXIF turned it a quarter
    width, height = (h, w) if turned else (w, h)
    texts = _read(grey)
    passes = 1
    if not texts:
        passes, texts = 2, _read(_sharpened(grey))
    if not texts and max(w, h) > max(grey.size):
        full = _upright_grey(_open(data, limits), min(max(w, h), limits.full_side))
        grey = full
        passes, texts = 3, _read(full) or _read(_sharpened(full))
    unique = tuple(dict.fromkeys(texts))[:MAX_CODES]
    return QrRead(
        texts=unique,
        width=width,
        height=height,
        format=fmt,
        passes=passes if unique else 0,
        decoded_side=max(grey.size),
        ms=(time.perf_counter() - t0) * 1000.0,
    )


# ----------------------------------------------------------------------------- verdicts


@dataclass(frozen=True)
class PhotoDependencies:
    """What judging a picture needs: the trust, the status lists, the time, the registry (online only)
    and the bureau's verify site (None when unknown: offline without it in the bundle)."""

    trust: TrustAnchors
    status_lists: Mapping[str, StatusList]
    at: datetime
    registry_lookup: RegistryLookup | None = None
    verify_base_url: str | None = None
    limits: PhotoLimits = DEFAULT_PHOTO_LIMITS


# Verdicts beyond check_credential's: no QR code; a URL off the bureau's site; a URL-only QR whose
# licence is registered and valid (nothing signed: compare the paper); a QR that is no licence's.
PHOTO_VERDICTS = ("no_qr", "off_domain", "url_only", "not_a_licence")


@dataclass(frozen=True)
class PhotoVerdict:
    """The answer about one picture: the verdict, its ticks, and what was read."""

    verdict: str  # a CredentialVerdict verdict or one of PHOTO_VERDICTS
    source: str  # "credential" | "url" | "none" | "other"
    message_zh: str
    message_en: str
    ticks: tuple[Tick, ...] = ()
    read: QrRead | None = None
    credential: CredentialVerdict | None = None
    licence: Mapping[str, Any] | None = None  # the registry's (masked) face, for a URL-only QR
    registry: Mapping[str, Any] | None = None
    url: str | None = None
    host: str | None = None
    checked_at: datetime | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def valid(self) -> bool:
        return self.verdict == "valid"

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "kind": "photo",
            "valid": self.valid,
            "verdict": self.verdict,
            "source": self.source,
            "summary": {"zh": self.message_zh, "en": self.message_en},
            "ticks": [t.as_dict() for t in self.ticks],
            "credential": self.credential.credential.as_dict()
            if self.credential and self.credential.credential
            else None,
            "licence": dict(self.licence) if self.licence is not None else None,
            "registry": dict(self.registry) if self.registry is not None else None,
            "url": self.url,
            "host": self.host,
            "qr_codes": [t[:300] for t in (self.read.texts if self.read else ())][:3],
            "image": self.read.as_dict() if self.read else None,
            "checked_at": self.checked_at.isoformat() if self.checked_at else None,
        }
        out.update(self.extra)
        return out


NO_QR = (
    "未能读取二维码：请将二维码放平、对准焦距后重拍",
    "No readable QR code: hold the QR code flat and in focus and take the picture again",
)


def _tick(name: str, ok: bool | None, zh: str, en: str) -> Tick:
    from .credential_check import Tick

    return Tick(name, ok, zh, en)


def check_photo(data: bytes, deps: PhotoDependencies) -> PhotoVerdict:
    """The verdict on the picture `data` (see the module docstring). Raises for what is not a picture."""
    read = read_qr_codes(data, deps.limits)
    return judge_qr_texts(read, deps)


def judge_qr_texts(read: QrRead, deps: PhotoDependencies) -> PhotoVerdict:
    """The verdict on the QR texts found in a picture: a credential first, then a URL, then the rest."""
    from onestop.licences.credential import looks_like_credential

    at = deps.at if deps.at.tzinfo else deps.at.replace(tzinfo=UTC)
    if not read.texts:
        return PhotoVerdict("no_qr", "none", *NO_QR, read=read, checked_at=at)
    credentials = [t for t in read.texts if looks_like_credential(t)]
    if credentials:
        return _credential_verdict(credentials[0], read, deps, at)
    urls = [t for t in read.texts if t.strip().lower().startswith(("http://", "https://"))]
    if urls:
        judged = [judge_url(u.strip(), deps, at, read) for u in urls]
        # An on-domain one first (a real licence's QR), else the first off-domain warning.
        return next((j for j in judged if j.verdict != "off_domain"), judged[0])
    shown = read.texts[0][:80]
    return PhotoVerdict(
        "not_a_licence",
        "other",
        f"二维码内容（{shown}）不是电子证照的凭证或核验网址，不能据此核验证照。",
        f"The QR code ({shown}) holds neither a licence credential nor a verification link; it cannot "
        "verify a licence.",
        read=read,
        checked_at=at,
    )


def _credential_verdict(text: str, read: QrRead, deps: PhotoDependencies, at: datetime) -> PhotoVerdict:
    from .credential_check import check_credential

    verdict = check_credential(
        text, trust=deps.trust, status_lists=deps.status_lists, at=at, registry_lookup=deps.registry_lookup
    )
    return PhotoVerdict(
        verdict.verdict,
        "credential",
        verdict.message_zh,
        verdict.message_en,
        ticks=verdict.ticks,
        read=read,
        credential=verdict,
        checked_at=at,
    )


# ----------------------------------------------------------------------------- URL-only QR codes


@dataclass(frozen=True)
class Site:
    """The bureau's verify site: scheme, host (ASCII, lower case), port, path prefix."""

    scheme: str
    host: str
    port: int
    prefix: str

    @classmethod
    def of(cls, base_url: str) -> Site:
        parts = urlsplit(base_url)
        scheme = parts.scheme.lower()
        return cls(scheme, _ascii_host(parts.hostname or ""), _port(parts, scheme), parts.path.rstrip("/"))


def _port(parts: Any, scheme: str) -> int:
    try:
        port = parts.port
    except ValueError:
        return -1
    return port if port is not None else (443 if scheme == "https" else 80)


def _ascii_host(host: str) -> str:
    """The host as DNS sees it (IDNA/punycode), lower case: a look-alike in Unicode shows as xn--…."""
    host = host.strip().rstrip(".").lower()
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        return host.encode("ascii", "backslashreplace").decode("ascii")


# Whitespace and control characters: browsers strip or refuse them where Python keeps them; a URL with
# any is judged off the site, its host shown percent-encoded so that the oddity is visible.
_AMBIGUOUS = frozenset(" \t\r\n\x00\x0b\x0c")


def _as_browser_reads(url: str) -> Any:
    """The URL split as a browser reads it: WHATWG treats "\\" as "/" in http(s) URLs, so
    https://evil.example\\@bureau/ goes to evil.example, where Python's urlsplit sees "bureau"."""
    return urlsplit(url.replace("\\", "/"))


def judge_url(url: str, deps: PhotoDependencies, at: datetime, read: QrRead | None = None) -> PhotoVerdict:
    """A URL-only QR: on the bureau's verify site, the registry's answer; elsewhere, a forgery warning."""
    parts = _as_browser_reads(url)
    host = _ascii_host(parts.hostname or "")
    ambiguous = any(c in _AMBIGUOUS for c in url)
    shown_host = quote(parts.netloc.rpartition("@")[2], safe=":[]") if ambiguous else host or url[:80]
    if deps.verify_base_url is None:
        return PhotoVerdict(
            "status_unknown",
            "url",
            f"二维码只含网址（{shown_host}），不含签名凭证；离线时无法确认该网址是否属于局方核验网站。请联网核验。",
            f"The QR code holds only a link (to {shown_host}), no signed credential; offline, it cannot "
            "be told whether that is the bureau's verification site. Verify online.",
            ticks=_url_ticks(None, "离线，未查询登记系统。", "Offline: the registry was not consulted."),
            read=read,
            url=url[:500],
            host=shown_host,
            checked_at=at,
        )
    site = Site.of(deps.verify_base_url)
    scheme = parts.scheme.lower()
    on_site = (
        not ambiguous
        and "@" not in parts.netloc
        and host == site.host
        and scheme == site.scheme
        and _port(parts, scheme) == site.port
    )
    if not on_site:
        return _off_domain(url, shown_host, site, read, at)
    prefix = f"{site.prefix}/verify/"
    if not parts.path.startswith(prefix) or parts.path == prefix:
        return PhotoVerdict(
            "not_a_licence",
            "url",
            "二维码指向局方网站，但不是某一证照的核验地址，不能据此核验证照。",
            "The QR code leads to the bureau's site, but not to a licence's verification page; it cannot "
            "verify a licence.",
            read=read,
            url=url[:500],
            host=host,
            checked_at=at,
        )
    return _look_up(unquote(parts.path[len(prefix) :]), url, host, deps, at, read)


def _off_domain(url: str, host: str, site: Site, read: QrRead | None, at: datetime) -> PhotoVerdict:
    return PhotoVerdict(
        "off_domain",
        "url",
        f"警告：二维码指向 {host}，不是局方核验网站 {site.host}。"
        "这很可能是伪造的证照：请勿采信，也不要打开该网址。",
        f"Warning: the QR code leads to {host}, not to the bureau's verification site {site.host}. "
        "The licence is very likely forged: do not rely on it, and do not open that link.",
        ticks=(
            _tick(
                "integrity",
                False,
                "二维码不含签名凭证，且指向局方以外的网站。",
                "The QR code holds no signed credential and leads off the bureau's site.",
            ),
            _tick(
                "issuer",
                False,
                f"网址的主机 {host} 不是局方的 {site.host}。",
                f"The link's host {host} is not the bureau's {site.host}.",
            ),
        ),
        read=read,
        url=url[:500],
        host=host,
        checked_at=at,
    )


def _url_ticks(registry_ok: bool | None, zh: str, en: str, status: Tick | None = None) -> tuple[Tick, ...]:
    ticks = [
        _tick(
            "integrity",
            None,
            "二维码只含核验网址（较早签发的证照），不含签名数据：纸面内容无法据二维码核对，请与登记信息逐项核对。",
            "The QR code holds only a verification link (a licence issued before signed QR codes): nothing "
            "printed is signed; compare the paper with the registry's entry item by item.",
        ),
        _tick(
            "issuer",
            None,
            "网址属于局方核验网站，但二维码本身没有签名。",
            "The link is on the bureau's verification site, but the QR code itself is not signed.",
        ),
    ]
    if status is not None:
        ticks.append(status)
    ticks.append(_tick("registry", registry_ok, zh, en))
    return tuple(ticks)


def _look_up(
    licence_id: str, url: str, host: str, deps: PhotoDependencies, at: datetime, read: QrRead | None
) -> PhotoVerdict:
    from .service import verify_licence_id

    def verdict(name: str, zh: str, en: str, ticks: tuple[Tick, ...], **kw: Any) -> PhotoVerdict:
        return PhotoVerdict(
            name, "url", zh, en, ticks=ticks, read=read, url=url[:500], host=host, checked_at=at, **kw
        )

    if deps.registry_lookup is None:
        return verdict(
            "status_unknown",
            "二维码只含局方核验网址，不含签名凭证；离线无法查询登记状态，请联网核验。",
            "The QR code holds only the bureau's verification link, no signed credential; offline, the "
            "registry cannot be asked. Verify online.",
            _url_ticks(None, "离线，未查询登记系统。", "Offline: the registry was not consulted."),
        )
    try:
        report = verify_licence_id(licence_id, registry_lookup=deps.registry_lookup, now=at)
    except InvalidInput as exc:
        return verdict(
            "invalid",
            f"二维码指向局方网站，但其中的证照标识无效（{exc.zh}）：证照是伪造或篡改的，请勿采信。",
            "The QR code leads to the bureau's site, but the licence identifier in it is not valid "
            f"({exc.en}): the licence is forged or altered; do not rely on it.",
            _url_ticks(
                False,
                "证照标识格式或校验位错误。",
                "The identifier is malformed or its check character wrong.",
            ),
        )
    from .report import Check, Verdict

    status = report.result(Check.STATUS)
    face = report.licence
    if status.verdict is Verdict.UNKNOWN:
        return verdict(
            "status_unknown",
            "暂时无法查询登记系统，请稍后再试。",
            "The registry cannot be reached right now; try again later.",
            _url_ticks(None, status.reason_zh, status.reason_en),
        )
    if report.registry is None:
        return verdict(
            "invalid",
            "二维码指向局方网站，但登记库中没有这个证照：证照是伪造的或标识被篡改，请勿采信。",
            "The QR code leads to the bureau's site, but the registry has no such licence: it is forged or "
            "its identifier altered; do not rely on it.",
            _url_ticks(False, status.reason_zh, status.reason_en),
            licence=None,
        )
    code = str(report.registry.get("status", ""))
    status_tick = _tick("status", status.passed, status.reason_zh, status.reason_en)
    registered = _url_ticks(
        True,
        "证照已登记。请逐项核对纸面上的证照编号、持证主体、有效期与下列登记信息一致。",
        "The licence is registered. Check that the number, holder and validity on the paper match the "
        "registry's entry below.",
        status_tick,
    )
    if status.passed:
        return verdict(
            "url_only",
            "该证照已登记且状态有效；但二维码只含网址、不含签名，纸面内容须与下列登记信息逐项核对一致方可采信。",
            "The licence is registered and valid; but its QR code holds only a link, nothing signed: rely on "
            "the paper only if it matches the registry's entry below item by item.",
            registered,
            licence=face,
            registry=report.registry,
        )
    name = _STATUS_VERDICTS.get(code, "revoked")
    return verdict(
        name, status.reason_zh, status.reason_en, registered, licence=face, registry=report.registry
    )


# registry status code (LicenceStatus) -> the credential verdict with the same meaning
_STATUS_VERDICTS = {
    "02": "suspended",
    "03": "revoked",
    "04": "revoked",
    "05": "expired",
    "06": "revoked",
    "07": "revoked",
    "99": "revoked",
    "superseded": "superseded",
}


def photo_dependencies(
    *,
    trust: TrustAnchors,
    status_lists: Mapping[str, StatusList] | None = None,
    registry_lookup: RegistryLookup | None = None,
    verify_base_url: str | None = None,
    now: Callable[[], datetime] | datetime | None = None,
    limits: PhotoLimits = DEFAULT_PHOTO_LIMITS,
) -> PhotoDependencies:
    """PhotoDependencies with the time resolved (a clock, a moment, or now)."""
    at = now() if callable(now) else now or datetime.now(UTC)
    return PhotoDependencies(trust, status_lists or {}, at, registry_lookup, verify_base_url, limits)
