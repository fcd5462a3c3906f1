"""Time to render + seal one licence with the local signer (the issue path minus storage and KMS).

    .venv/bin/python bench/bench_licence.py [--n 30]

Prints the first (cold: font registration, pyHanko imports warm) render+seal, then median and p90
of `n` warm iterations, split into render and seal. With --anchors, what the figure stands beside:
a bare pyHanko signature with a stamp on the same page (pyHanko's one-call `sign_pdf`, PAdES,
a visible text stamp, the same local key: what any pyHanko user pays for a seal alone, issue 16's
anchor), and the font work the pre-subset font avoids (full-font subsetting of a 17 MB CJK font
costs ~0.6 s per licence).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parents[1] / "layers" / "core")]

from onestop.identifiers.licence_id import make_licence_id  # noqa: E402
from onestop.identifiers.uscc import compose_uscc  # noqa: E402
from onestop.licences.models import HolderKind, LicenceMetadata  # noqa: E402
from onestop.licences.pki import BureauIdentity, make_dev_pki  # noqa: E402
from onestop.licences.render import render_licence  # noqa: E402
from onestop.licences.seal import seal_pdf  # noqa: E402
from onestop.licences.signers import LocalKeySigner  # noqa: E402

BASE45 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"


def _p90(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]


def _bare_pyhanko(pdf: bytes, signer: LocalKeySigner, box: tuple[int, int, int, int]) -> Callable[[], None]:
    """pyHanko's one-call PAdES signature of `pdf` with its default visible text stamp."""
    import io

    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers
    from pyhanko.stamp import TextStampStyle

    def once() -> None:
        meta = signers.PdfSignatureMetadata(
            field_name="Anchor", md_algorithm="sha256", subfilter=fields.SigSeedSubFilter.PADES
        )
        pdf_signer = signers.PdfSigner(
            meta,
            signer=signer,
            stamp_style=TextStampStyle(),
            new_field_spec=fields.SigFieldSpec("Anchor", on_page=0, box=box),
        )
        pdf_signer.sign_pdf(IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False), output=io.BytesIO())

    return once


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=30)
    parser.add_argument(
        "--anchors",
        action="store_true",
        help="also time a bare pyHanko signature with a stamp (interleaved) and the font alternatives",
    )
    parser.add_argument(
        "--qr",
        choices=["credential", "url"],
        default="credential",
        help="QR payload: 320 characters, a credential as issuing puts there (default), or the verify URL",
    )
    args = parser.parse_args()

    bureau_uscc = compose_uscc("11440300", "MB2D0315")
    bureau = BureauIdentity("深圳市商务局", "Shenzhen Municipal Commerce Bureau", bureau_uscc)
    signer = LocalKeySigner.from_dev_pki(make_dev_pki(bureau, now=datetime.now(UTC)))

    def meta(i: int) -> LicenceMetadata:
        serial = f"2025{i:07d}"
        return LicenceMetadata(
            licence_id=make_licence_id(f"{bureau_uscc}001", bureau_uscc, serial),
            number=f"440300-{serial}",
            name_zh="成品油零售经营批准证书",
            name_en="Refined oil retail operation approval certificate",
            type_code=f"{bureau_uscc}001",
            version=1,
            issuer_name=bureau.name_zh,
            issuer_name_en=bureau.name_en,
            issuer_code=bureau_uscc,
            definer_name=bureau.name_zh,
            division_code="440300",
            issue_date=date(2025, 3, 14),
            valid_from=date(2025, 3, 14),
            valid_until=date(2030, 3, 13),
            holder_name=f"深圳市鹏城能源第{i}有限公司",
            holder_code=compose_uscc("91440300", "MA5F0001"),
            holder_kind=HolderKind.ENTERPRISE,
            item_code="refined-oil-retail-qualification",
            item_name="成品油零售经营资格审批",
            application_id=f"app-{i}",
            extra=(("经营地址", "深圳市南山区深南大道9999号"),),
        )

    def qr_text(i: int) -> str | None:
        if args.qr == "url":
            return None
        # base45 text of the size a COSE_Sign1 credential takes ("OS1:" + ~316 characters)
        return "OS1:" + "".join(BASE45[(i * 31 + k * 7) % 45] for k in range(316))

    def once(i: int) -> tuple[float, float, int]:
        m = meta(i)
        url = f"https://onestop.example.gov.cn/verify/{m.licence_id}"
        extra = {} if args.qr == "url" else {"qr_text": qr_text(i)}
        t0 = time.perf_counter()
        rendered = render_licence(m, verify_url=url, **extra)
        t1 = time.perf_counter()
        sealed = seal_pdf(rendered.pdf, signer, seal_box=rendered.seal_box, signer_name=bureau.name_zh)
        t2 = time.perf_counter()
        return t1 - t0, t2 - t1, len(sealed.pdf)

    render0, seal0, size = once(0)
    print(f"first licence (font registration included): {1000 * (render0 + seal0):.1f} ms, {size:,} bytes")
    bare_sign = None
    if args.anchors:
        page = render_licence(meta(0), verify_url="https://onestop.example.gov.cn/verify/x")
        bare_sign = _bare_pyhanko(page.pdf, signer, page.seal_box)
        bare_sign()
    renders, seals, totals, bares = [], [], [], []
    for i in range(1, args.n + 1):
        r, s, _ = once(i)
        renders.append(r)
        seals.append(s)
        totals.append(r + s)
        if bare_sign is not None:  # interleaved, so that both see the same load
            t = time.perf_counter()
            bare_sign()
            bares.append(time.perf_counter() - t)
    print(f"n={args.n}, QR payload: {args.qr}")
    for label, values in (("render+seal", totals), ("render", renders), ("seal", seals)):
        median, p90 = 1000 * statistics.median(values), 1000 * _p90(values)
        print(f"  {label:<12} median {median:6.1f} ms   p90 {p90:6.1f} ms")
    if args.anchors:
        print(f"anchor: bare pyHanko signature with a stamp      {1000 * statistics.median(bares):6.1f} ms")
        _anchors()
    return 0


FULL_FONT = Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc")  # apt: fonts-wqy-zenhei


def _anchors() -> None:
    """Register the shipped subset vs the full source font in reportlab (a cold start pays this), and
    fontTools-subsetting the full font per licence (what embedding without a pre-subset font costs)."""
    import io

    from onestop.licences.render import FONT_FILE
    from reportlab.pdfbase.ttfonts import TTFont

    subset_file = Path(__file__).resolve().parents[1] / "layers/core/onestop/licences/fonts" / FONT_FILE
    t = time.perf_counter()
    TTFont("AnchorSubset", str(subset_file))
    print(f"anchor: reportlab register shipped subset font   {1000 * (time.perf_counter() - t):6.1f} ms")
    if not FULL_FONT.exists():
        print(f"anchor: {FULL_FONT} missing (apt-get install fonts-wqy-zenhei) - full-font anchors skipped")
        return
    t = time.perf_counter()
    TTFont("AnchorFull", str(FULL_FONT), subfontIndex=0)
    print(f"anchor: reportlab register full 17 MB font        {1000 * (time.perf_counter() - t):6.1f} ms")
    try:
        import logging

        from fontTools import subset
        from fontTools.ttLib import TTCollection

        logging.getLogger("fontTools.subset").setLevel(logging.ERROR)
    except ImportError:
        print("anchor: fontTools not installed - per-licence subsetting anchor skipped")
        return
    text = "成品油零售经营批准证书深圳市商务局持证主体代码关联事项有效期限颁发机构日期版本经营地址"
    times = []
    for _ in range(3):
        t = time.perf_counter()
        font = TTCollection(str(FULL_FONT)).fonts[0]
        sub = subset.Subsetter()
        sub.populate(text=text)
        sub.subset(font)
        font.save(io.BytesIO())
        times.append(time.perf_counter() - t)
    print(f"anchor: fontTools subset of the full font/licence {1000 * statistics.median(times):6.1f} ms")


if __name__ == "__main__":
    raise SystemExit(main())
