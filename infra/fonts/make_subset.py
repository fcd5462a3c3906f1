"""Make the pre-subset CJK font the licence renderer embeds (run once; commit the output).

Why: reportlab parses a TrueType font when it is registered and embeds only the glyphs a document
uses, but registering a full CJK font (17 MB, 45k glyphs) costs ~0.6 s per cold start and per
licence when fonts are re-registered. A subset holding the characters a licence can need keeps that
cost near 10 ms and the layer small.

Coverage: GB 2312 levels 1 and 2 (6,763 hanzi, which covers nearly all enterprise and personal names),
the GB 2312 symbol rows (CJK punctuation, full-width forms), printable ASCII, and every non-ASCII
character found in the licence package sources, the settings defaults (bureau names) and the
catalogue data files (service item and licence names), so labels and item names never fall back.
Characters outside the subset are drawn with a fallback font by the renderer and reported.

Source font: WenQuanYi Zen Hei (Debian package fonts-wqy-zenhei), TrueType (glyf) outlines,
GPL-2 with the font embedding exception; see layers/core/onestop/licences/fonts/README.md.

    apt-get install -y fonts-wqy-zenhei
    .venv/bin/pip install fonttools
    .venv/bin/python infra/fonts/make_subset.py            # writes the font + prints coverage
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import re
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTCollection, TTFont

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "layers" / "core" / "onestop"
OUTPUT = PACKAGE / "licences" / "fonts" / "onestop-cjk.ttf"
SOURCE = Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc")
SOURCE_INDEX = 0  # "WenQuanYi Zen Hei" (1 is the Mono, 2 the bitmap-hinted Sharp variant)
FAMILY = "Onestop CJK (WenQuanYi Zen Hei subset)"

# Text files whose non-ASCII characters must all be in the font.
SCANNED = [
    *sorted((PACKAGE / "licences").glob("*.py")),
    PACKAGE / "settings.py",
    *sorted((PACKAGE / "catalogue").rglob("*.yaml")),
    *sorted((PACKAGE / "catalogue").rglob("*.yml")),
    *sorted((PACKAGE / "catalogue").rglob("*.json")),
]
_NON_ASCII = re.compile(r"[^\x00-\x7f]")


def gb2312(rows: range) -> set[str]:
    """The characters of GB 2312 rows given as lead bytes (0xA1-0xA9 symbols, 0xB0-0xD7 level 1, …)."""
    out: set[str] = set()
    for hi in rows:
        for lo in range(0xA1, 0xFF):
            try:
                out.add(bytes([hi, lo]).decode("gb2312"))
            except UnicodeDecodeError:
                continue
    return out


def wanted_characters(extra_files: list[Path]) -> tuple[set[str], dict[str, set[str]]]:
    """All characters to keep, and which scanned file asked for characters beyond GB 2312."""
    base = gb2312(range(0xA1, 0xAA)) | gb2312(range(0xB0, 0xF8)) | {chr(c) for c in range(0x20, 0x7F)}
    beyond: dict[str, set[str]] = {}
    chars = set(base)
    for path in [*SCANNED, *extra_files]:
        if not path.is_file():
            continue
        found = {c for c in _NON_ASCII.findall(path.read_text(encoding="utf-8")) if c.isprintable()}
        chars |= found
        if found - base:
            beyond[str(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)] = found - base
    return chars, beyond


def make_subset(chars: set[str], source: Path, index: int, output: Path) -> tuple[int, set[str]]:
    """Write the subset; return its glyph count and the wanted characters the source lacks."""
    font = TTCollection(str(source)).fonts[index] if source.suffix.lower() == ".ttc" else TTFont(source)
    cmap = font.getBestCmap()
    missing = {c for c in chars if ord(c) not in cmap and c.isprintable() and not c.isspace()}
    opts = subset.Options()
    # Bitmap strikes and hinting only matter for screen rendering at tiny sizes; outlines stay.
    opts.drop_tables += ["EBDT", "EBLC", "EBSC", "BDF", "FFTM"]
    opts.hinting = False
    opts.notdef_outline = True
    opts.name_IDs = ["*"]
    opts.name_languages = ["*"]
    subsetter = subset.Subsetter(opts)
    subsetter.populate(unicodes=sorted(ord(c) for c in chars if ord(c) in cmap))
    subsetter.subset(font)
    name = font["name"]
    # A modified font must not pose as the original (GPL-2 section 2a spirit, and font hygiene).
    for rec in name.names:
        if rec.nameID in (1, 4, 16):
            rec.string = FAMILY
        elif rec.nameID == 6:
            rec.string = "OnestopCJK-Regular"
    output.parent.mkdir(parents=True, exist_ok=True)
    font.recalcTimestamp = False  # same input, same bytes: re-running does not churn the repository
    font.save(str(output))
    return int(font["maxp"].numGlyphs), missing


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=SOURCE)
    parser.add_argument("--index", type=int, default=SOURCE_INDEX, help="font index inside a .ttc")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    parser.add_argument("--text-file", type=Path, action="append", default=[], help="more text to cover")
    args = parser.parse_args(argv)
    logging.getLogger("fontTools.subset").setLevel(logging.ERROR)  # "BDF not subset; dropped" noise

    chars, beyond = wanted_characters(args.text_file)
    glyphs, missing = make_subset(chars, args.source, args.index, args.output)
    data = args.output.read_bytes()
    print(f"wrote {args.output} ({len(data):,} bytes, {glyphs} glyphs, {len(chars)} characters wanted)")
    print(f"sha256 {hashlib.sha256(data).hexdigest()}")
    for path, found in sorted(beyond.items()):
        print(f"beyond GB 2312 from {path}: {''.join(sorted(found))}")
    if missing:
        print(f"not in the source font (the renderer falls back for these): {''.join(sorted(missing))}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
