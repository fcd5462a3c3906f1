"""Verify from a photo of the printed licence: decode + verify from a 12-megapixel photo beside a raw
zxing-cpp decode of the same image, and the decode success rate over the synthetic photo set.

    .venv/bin/python -m bench.bench_photo [--repeat 5] [--json]

The licence is issued through the real issue path (tests/photo_specimens.py: in-memory ports, dev
PKI), printed at 220 dpi (pypdfium2) and photographed synthetically: a 3000 x 4000 JPEG of the page on
a desk with a slight tilt, noise, quality 88 (what a phone stores). Figures:

- `check_photo` online (the service's path: bytes, format and declared-pixel checks, JPEG decoded at
  reduced DCT scale, EXIF orientation, zxing, then `check_credential` with the registry), and offline
  (the CLI's: a signed status list instead of the registry); anchor: the raw decode any QR reader
  pays: Pillow's full decode of the same JPEG to greyscale and `zxingcpp.read_barcodes` with its
  defaults (QR only);
- the decode success rate over the synthetic set (24 pictures with the QR code in them: perspective,
  rotation, blur, motion, glare, low light, JPEG quality, scale, 12 MP, WebP, PNG, screenshots), ours
  beside the raw decode at full size; the pictures not read are listed in the details.
"""

from __future__ import annotations

import argparse
import io
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from bench.common import Figure, report


def _times(fn: Callable[[], object], repeat: int) -> tuple[float, float]:
    """Median wall and CPU seconds of `fn` over `repeat` runs after one untimed."""
    fn()
    wall, cpu = [], []
    for _ in range(repeat):
        w, c = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - w)
        cpu.append(time.process_time() - c)
    return statistics.median(wall), statistics.median(cpu)


def raw_decode(data: bytes) -> list[str]:
    """The anchor: a plain full decode and zxing with its defaults (QR codes only)."""
    import zxingcpp
    from PIL import Image

    grey = Image.open(io.BytesIO(data)).convert("L")
    return [r.text for r in zxingcpp.read_barcodes(grey, formats=zxingcpp.BarcodeFormat.QRCode)]


def run(repeat: int, names: tuple[str, ...] | None = None) -> tuple[list[Figure], str]:
    from onestop.licences.jws import seal_key_from_signer
    from onestop.licences.pki import to_asn1
    from onestop.licences.signers import LocalKeySigner
    from onestop.licences.status_list import build_status_list
    from onestop.verification import TrustAnchors
    from onestop.verification.photo import PhotoDependencies, PhotoLimits, check_photo, read_qr_codes

    from tests import photo_specimens as P

    licence = P.issued_licence()
    anchors = TrustAnchors(roots=(to_asn1(licence.pki.root_cert),), seals=(to_asn1(licence.pki.seal_cert),))
    at = P.APPROVED_AT + timedelta(days=30)
    key = seal_key_from_signer(LocalKeySigner.from_dev_pki(licence.pki))
    lists = {
        licence.record.metadata.type_code: build_status_list(
            licence.record.metadata.type_code, {}, key=key, at=at - timedelta(hours=1)
        )
    }
    online = PhotoDependencies(anchors, {}, at, licence.registry.get, P.ISSUER.public_base_url)
    offline = PhotoDependencies(anchors, lists, at, None, P.ISSUER.public_base_url)

    photo = P.specimen(licence.pdf, "phone_12mp")
    data = photo.data
    verdicts = {"online": check_photo(data, online).verdict, "offline": check_photo(data, offline).verdict}
    assert verdicts == {"online": "valid", "offline": "valid"}, verdicts
    assert raw_decode(data), "the raw decoder does not read the 12 MP photo"

    raw_s, raw_cpu = _times(lambda: raw_decode(data), repeat)
    online_s, online_cpu = _times(lambda: check_photo(data, online), repeat)
    offline_s, offline_cpu = _times(lambda: check_photo(data, offline), repeat)
    read_s, _ = _times(lambda: read_qr_codes(data), repeat)
    read = read_qr_codes(data)
    size = f"3000x4000 JPEG, {len(data) // 1024} KB"
    figures = [
        Figure(
            "photo",
            f"decode + verify online, 12 MP photo ({size})",
            online_s * 1000,
            "ms",
            "raw zxing-cpp decode of the same image",
            raw_s * 1000,
            f"CPU {online_cpu * 1000:.0f} ms vs {raw_cpu * 1000:.0f} ms; of which reading the QR code "
            f"{read_s * 1000:.0f} ms (pass {read.passes}, decoded at {read.decoded_side} px long side); "
            "the rest the credential check and registry look-up (in memory)",
        ),
        Figure(
            "photo",
            f"decode + verify offline (signed status list), 12 MP photo ({size})",
            offline_s * 1000,
            "ms",
            "raw zxing-cpp decode of the same image",
            raw_s * 1000,
            f"CPU {offline_cpu * 1000:.0f} ms vs {raw_cpu * 1000:.0f} ms",
        ),
    ]

    limits = PhotoLimits(max_bytes=40 << 20)
    specimens = P.photo_set(licence.pdf, names or P.PHOTO_NAMES)
    ours_ok, raw_ok, ours_ms = [], [], []
    for spec in specimens:
        result = read_qr_codes(spec.data, limits)
        ours_ms.append(result.ms)
        if any(t.startswith("OS1:") for t in result.texts):
            ours_ok.append(spec.name)
        if any(t.startswith("OS1:") for t in raw_decode(spec.data)):
            raw_ok.append(spec.name)
    n = len(specimens)
    figures.append(
        Figure(
            "photo",
            f"QR codes read over the synthetic photo set ({n} pictures)",
            100.0 * len(ours_ok) / n,
            "%",
            "raw zxing-cpp decode at full size",
            100.0 * len(raw_ok) / n,
            f"{len(ours_ok)}/{n} vs {len(raw_ok)}/{n}; median read {statistics.median(ours_ms):.0f} ms",
        )
    )
    names_all = [s.name for s in specimens]
    details = (
        f"Decode success rate: {len(ours_ok)}/{n} ({100.0 * len(ours_ok) / n:.1f} %); raw zxing at full "
        f"size {len(raw_ok)}/{n}. Not read: {', '.join(sorted(set(names_all) - set(ours_ok))) or 'none'}"
        f"; raw not read: {', '.join(sorted(set(names_all) - set(raw_ok))) or 'none'}. "
        f"Credential QR: {len(read.texts[0]) if read.texts else 0} characters. Checked at {_now()}."
    )
    return figures, details


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _line(f: Figure) -> str:
    ratio = f" ({f.ratio:.2f}x)" if f.ratio is not None else ""
    return f"{f.figure}: {f.value:.1f} {f.unit} vs {f.anchor} {f.anchor_value:.1f} {f.unit}{ratio}  {f.note}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--only", nargs="*", help="photo set names (default: all)")
    args = parser.parse_args(argv)
    figures, details = run(args.repeat, tuple(args.only) if args.only else None)
    report(figures, args.json, _line, details)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
