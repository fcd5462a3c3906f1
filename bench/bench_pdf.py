"""Born-digital PDF: the ingest pipeline per page vs bare pypdf text extraction of the same file.

    .venv/bin/python -m bench.bench_pdf [--repeat 5]

The pipeline (`process_upload`) sniffs, opens the PDF in its sandboxed worker (a forked process with
time and memory caps, reused across files), takes the real text layer, classifies, extracts and validates
fields and writes the normalised PDF and manifest. The anchor is `pypdf.PdfReader(...).pages[i].
extract_text()` in process on the same bytes: the least any text-layer reader does. Measured on a
1-page application form and a 10-page document, so the fixed cost per file and the cost per page
both show.
"""

from __future__ import annotations

import argparse
import functools
import io

from bench.common import Figure, median_time, report


def documents() -> dict[str, bytes]:
    from pypdf import PdfReader, PdfWriter

    from infra import samples

    form = samples.application_form_pdf("技术进出口合同登记")
    writer = PdfWriter()
    for n in range(10):
        page_pdf = samples.generic_certificate_pdf(f"场地使用证明 第{n + 1}页", "深圳市前海星河技术有限公司")
        writer.add_page(PdfReader(io.BytesIO(page_pdf)).pages[0])
    out = io.BytesIO()
    writer.write(out)
    return {"1-page application form": form, "10-page certificate bundle": out.getvalue()}


def bare_pypdf(data: bytes) -> str:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data))
    return "\n".join(page.extract_text() or "" for page in reader.pages)


def run(repeat: int) -> list[Figure]:
    from onestop.materials.pipeline import process_upload

    figures = []
    for name, data in documents().items():
        pages = len(__import__("pypdf").PdfReader(io.BytesIO(data)).pages)
        outcome = process_upload(data, declared={"filename": "a.pdf", "content_type": "application/pdf"})
        assert outcome.status != "rejected", outcome.reason
        assert "ocr" not in outcome.manifest.get("text_sources", []), "a born-digital page must skip OCR"
        ingest = median_time(functools.partial(process_upload, data), repeat)
        anchor = median_time(functools.partial(bare_pypdf, data), repeat)
        figures.append(
            Figure(
                "born-digital PDF",
                f"{name}: ingest pipeline per page",
                ingest / pages * 1000,
                "ms/page",
                "bare pypdf extract_text per page",
                anchor / pages * 1000,
                f"{len(data):,} bytes; status {outcome.status}",
            )
        )
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    figures = run(args.repeat)
    report(
        figures,
        args.json,
        lambda f: f"{f.figure:<60} {f.value:8.1f} ms/page vs {f.anchor_value:7.1f} ({f.ratio:.1f}x)",
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
