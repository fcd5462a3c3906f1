"""The offline QR-credential check beside a raw ECDSA P-256 verify, and the printed QR's size.

    .venv/bin/python -m bench.bench_credential [--json] [--repeat N] [--n N]

Figures (median of `--repeat` runs of `--n` checks each, per check):
- offline credential check: `check_credential` on the QR text of a licence (base45, zlib, CBOR,
  COSE_Sign1 signature, the seal's chain to the root, a fresh signed status list), what the CLI and
  the phone page do; anchor: one raw ECDSA P-256/SHA-256 verify with `cryptography` over the same
  COSE Sig_structure (the floor: one signature check);
- status list load: `StatusList.from_document` + its signature check (131,072 entries), once per list
  per cache refresh; anchor: the same raw verify.

Details: the QR text's length, the COSE bytes, the QR version at error-correction level M, the module
size as printed (118 pt on A4) and whether zxing-cpp reads the QR from the rendered licence page at
300, 150, 100 and 72 dpi (a flat print photographed or scanned at that resolution).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from bench.common import Figure, report

QR_POINTS = 118.0  # render.py draws the QR code 118 pt wide
MM_PER_POINT = 25.4 / 72


def _per_call_ms(fn: Callable[[], object], n: int, repeat: int) -> float:
    fn()
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        for _ in range(n):
            fn()
        runs.append((time.perf_counter() - started) / n * 1000)
    return statistics.median(runs)


def run(repeat: int, n: int) -> tuple[list[Figure], str]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from onestop.licences import status_list as status_list_module
    from onestop.licences.credential import (
        credential_for,
        decode_sign1,
        decode_text,
        encode_credential,
        raw_to_der,
    )
    from onestop.licences.jws import seal_key_from_signer
    from onestop.licences.pki import make_dev_pki, to_asn1
    from onestop.licences.signers import LocalKeySigner
    from onestop.licences.status_list import StatusList, build_status_list
    from onestop.verification.anchors import TrustAnchors
    from onestop.verification.credential_check import check_credential

    from tests.unit.test_licence_support import BUREAU, TYPE_CODE, sample_metadata

    pki = make_dev_pki(BUREAU)
    key = seal_key_from_signer(LocalKeySigner.from_dev_pki(pki))
    now = datetime.now(UTC).replace(microsecond=0)
    holder = "深圳市南山区前海深港现代服务业合作区某某石油化工贸易有限责任公司"  # a long enterprise name
    meta = sample_metadata(
        valid_from=now.date(), valid_until=now.date() + timedelta(days=1826), holder_name=holder
    )
    text = encode_credential(credential_for(meta, status_index=123_456, kid=key.kid, issued_at=now), key.sign)
    trust = TrustAnchors(roots=(to_asn1(pki.root_cert),), seals=(to_asn1(pki.seal_cert),))
    status_list = build_status_list(TYPE_CODE, {123_456: 0, 7: 2, 99: 1}, key=key, at=now)
    lists = {TYPE_CODE: status_list}
    assert check_credential(text, trust=trust, status_lists=lists, at=now).verdict == "valid"

    sign1 = decode_sign1(decode_text(text))
    tbs, der = sign1.to_be_signed(), raw_to_der(sign1.signature)
    public = x509.load_der_x509_certificate(to_asn1(pki.seal_cert).dump()).public_key()
    assert isinstance(public, ec.EllipticCurvePublicKey)

    def raw_verify() -> None:
        public.verify(der, tbs, ec.ECDSA(hashes.SHA256()))

    def check() -> None:
        check_credential(text, trust=trust, status_lists=lists, at=now)

    document = status_list.document()

    def load_list() -> None:
        status_list_module._verify.cache_clear()  # the verdict is remembered per list: measure a cold one
        loaded = StatusList.from_document(document)
        assert loaded.verify(trust) is None

    raw_ms = _per_call_ms(raw_verify, n, repeat)
    figures = [
        Figure(
            "QR credential",
            "offline credential check",
            _per_call_ms(check, n, repeat),
            "ms",
            "raw ECDSA P-256 verify (cryptography)",
            raw_ms,
            "check_credential: base45+zlib+CBOR, COSE signature, seal chain, fresh signed status list",
        ),
        Figure(
            "QR credential",
            "status list load + signature check",
            _per_call_ms(load_list, max(1, n // 10), repeat),
            "ms",
            "raw ECDSA P-256 verify (cryptography)",
            raw_ms,
            "131,072 entries (gzip), once per list per cache refresh",
        ),
    ]
    return figures, _qr_details(text, len(decode_text(text)), holder)


def _qr_details(text: str, cose_bytes: int, holder: str) -> str:
    import segno

    qr = segno.make(text, error="m", micro=False, boost_error=False)
    modules = len(qr.matrix)
    module_mm = QR_POINTS * MM_PER_POINT / (modules + 4)  # render.py draws a 2-module border
    reads = _read_rendered(text)
    lines = [
        f"QR text {len(text)} characters (holder name of {len(holder)} characters), COSE_Sign1 {cose_bytes} "
        f"bytes; QR version {qr.version} at level M ({qr.mode}), {modules}x{modules} modules; printed "
        f"{QR_POINTS:.0f} pt = {QR_POINTS * MM_PER_POINT:.1f} mm wide: {module_mm:.2f} mm a module.",
        "zxing-cpp on the rendered licence page: "
        + ", ".join(f"{dpi} dpi {'read' if ok else 'NOT read'}" for dpi, ok in reads),
    ]
    return "\n".join(lines)


def _read_rendered(text: str) -> list[tuple[int, bool]]:
    """Render the licence with this QR text, rasterise the page, decode (as a flat photo or scan)."""
    import pypdfium2
    import zxingcpp
    from onestop.licences.render import render_licence

    from tests.unit.test_licence_support import sample_metadata

    pdf = render_licence(
        sample_metadata(), verify_url="https://onestop.example.gov.cn/verify/x", qr_text=text
    ).pdf
    page = pypdfium2.PdfDocument(pdf)[0]
    out = []
    for dpi in (300, 150, 100, 72):
        image = page.render(scale=dpi / 72).to_pil().convert("L")
        out.append((dpi, any(r.text == text for r in zxingcpp.read_barcodes(image))))
    return out


def _line(f: Figure) -> str:
    ratio = f"{f.ratio:.1f}x" if f.ratio is not None else "-"
    return f"{f.figure}: {f.value:.3f} {f.unit} (anchor {f.anchor}: {f.anchor_value:.3f} {f.unit}, {ratio})"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--n", type=int, default=200)
    args = parser.parse_args(argv)
    figures, details = run(args.repeat, args.n)
    report(figures, args.json, _line, details)


if __name__ == "__main__":
    main()
