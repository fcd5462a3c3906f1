"""docs/accuracy.md from the case results: the targets first, then the tables they come from."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from statistics import mean
from typing import Any

from evaluation.run import NOT_DETECTED, CaseResult
from evaluation.scoring import FieldVerdict

SECTIONS = (
    "## Targets",
    "## Character accuracy",
    "## Key fields: exact match per material type and field",
    "## Wrong but accepted",
    "## Classification confusion matrix",
    "## Non-documents, unrelated documents, several documents",
    "## Orientation",
    "## Every case",
)


def _pct(num: int, den: int) -> str:
    return f"{100 * num / den:.1f} % ({num}/{den})" if den else "– (0)"


def _ratio(num: int, den: int) -> float | None:
    return num / den if den else None


def _avg(values: Sequence[float | None]) -> str:
    vals = [v for v in values if v is not None]
    return f"{mean(vals):.3f}" if vals else "–"


def _cell(text: object, limit: int = 70) -> str:
    value = str(text)
    if len(value) > limit:
        value = value[: limit - 1] + "…"
    return value.replace("|", "\\|").replace("\n", " ⏎ ")


@dataclass(frozen=True)
class Headline:
    """The figures the targets are judged on."""

    clean_exact: float | None
    clean_n: int
    damaged_exact: float | None
    damaged_n: int
    wrong_but_accepted: int
    missing_unflagged: int
    non_documents_catalogued: int
    non_documents: int
    rotations_upright: int
    rotations: int
    upright_kept: int
    upright_pages: int
    rotation_reported: bool
    char_accuracy: float | None
    raw_char_accuracy: float | None
    false_alarms: int  # documents with every scored field right that still went to review
    documents: int


def _verdicts(results: Sequence[CaseResult], damaged: bool | None = None) -> list[FieldVerdict]:
    return [v for r in results for v in r.verdicts if damaged is None or r.case.damaged == damaged]


def headline(results: Sequence[CaseResult]) -> Headline:
    clean = _verdicts(results, False)
    damaged = _verdicts(results, True)
    everything = clean + damaged
    others = [r for r in results if r.case.kind != "document"]
    turned = [r for r in results if r.case.kind == "document" and r.case.rotation]
    docs = [r for r in results if r.case.kind == "document"]
    straight = [r for r in results if r.case.kind == "document" and r.case.rotation == 0]
    full_text = [r for r in results if r.case.source == "corpus" and r.char_accuracy is not None]
    return Headline(
        clean_exact=_ratio(sum(v.ok for v in clean), len(clean)),
        clean_n=len(clean),
        damaged_exact=_ratio(sum(v.ok for v in damaged), len(damaged)),
        damaged_n=len(damaged),
        wrong_but_accepted=sum(v.wrong_but_accepted for v in everything),
        missing_unflagged=sum(v.missing_unflagged for v in everything),
        non_documents_catalogued=sum(r.catalogued for r in others),
        non_documents=len(others),
        rotations_upright=sum(bool(r.upright) for r in turned),
        rotations=len(turned),
        upright_kept=sum(bool(r.upright) for r in straight),
        upright_pages=len(straight),
        rotation_reported=any(r.rotated != NOT_DETECTED for r in results),
        false_alarms=sum(
            r.status != "catalogued" and bool(r.verdicts) and all(v.ok for v in r.verdicts) for r in docs
        ),
        documents=sum(bool(r.verdicts) for r in docs),
        char_accuracy=mean([r.char_accuracy for r in full_text if r.char_accuracy is not None])
        if full_text
        else None,
        raw_char_accuracy=(
            mean([r.raw_char_accuracy for r in full_text if r.raw_char_accuracy is not None])
            if any(r.raw_char_accuracy is not None for r in full_text)
            else None
        ),
    )


def _targets(h: Headline) -> list[str]:
    def mark(ok: bool | None) -> str:
        return "–" if ok is None else ("**pass**" if ok else "**FAIL**")

    rows = [
        (
            "key fields exact, clean",
            "≥ 98 %",
            _pct(round((h.clean_exact or 0) * h.clean_n), h.clean_n),
            mark(None if h.clean_exact is None else h.clean_exact >= 0.98),
        ),
        (
            "key fields exact, damaged",
            "≥ 90 %",
            _pct(round((h.damaged_exact or 0) * h.damaged_n), h.damaged_n),
            mark(None if h.damaged_exact is None else h.damaged_exact >= 0.90),
        ),
        ("wrong but accepted", "0", str(h.wrong_but_accepted), mark(h.wrong_but_accepted == 0)),
        (
            "non-documents, unrelated documents and collages catalogued",
            "0",
            f"{h.non_documents_catalogued} of {h.non_documents}",
            mark(h.non_documents_catalogued == 0),
        ),
        (
            "every rotation upright (pages turned 90/180/270; upright pages left upright)",
            "all",
            f"{h.rotations_upright} of {h.rotations} turned; {h.upright_kept} of {h.upright_pages} upright"
            + ("" if h.rotation_reported else " (orientation not detected: no manifest key)"),
            mark(
                h.rotations > 0 and h.rotations_upright == h.rotations and h.upright_kept == h.upright_pages
            ),
        ),
    ]
    out = ["| target | goal | measured | |", "|---|---|---|---|"]
    out += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows]
    out.append("")
    out.append(
        f"Also: missing values with no problem on the field: **{h.missing_unflagged}**; documents with "
        f"every scored field right that were still sent to review: {h.false_alarms} of {h.documents}; "
        f"character accuracy on the corpus's full-text images: pipeline {_fmt(h.char_accuracy)}, "
        f"bare engine {_fmt(h.raw_char_accuracy)}."
    )
    return out


def _fmt(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


def _chars(results: Sequence[CaseResult]) -> list[str]:
    out = [
        "Reading order: 1 − normalised Levenshtein distance (rapidfuzz; divided by the longer string) "
        "between "
        "the truth's full text and the pipeline's text, blanks removed, NFKC. Order-free: each truth line's "
        "best alignment anywhere in the text (rapidfuzz partial_ratio), weighted by length — it separates "
        "characters misread from reading order lost (columns, rotation).",
        "",
        "Corpus (labels.jsonl):",
        "",
        "| file | class | truth | reading order | bare engine | order-free |",
        "|---|---|---|---|---|---|",
    ]
    for r in results:
        if r.case.source != "corpus" or not (r.case.text is not None or r.case.lines):
            continue
        truth = (
            "full text"
            if r.case.text is not None
            else ("first line" if len(r.case.lines) == 1 else "key values")
        )
        out.append(
            f"| {r.case.document} | {r.case.kind} | {truth} | {_fmt(r.char_accuracy)} | "
            f"{_fmt(r.raw_char_accuracy)} | {_fmt(r.line_recall)} |"
        )
    by_condition: dict[str, list[CaseResult]] = defaultdict(list)
    for r in results:
        if r.case.source == "specimen" and r.case.kind == "document":
            by_condition[r.case.condition].append(r)
    if by_condition:
        out += [
            "",
            "Synthetic documents (tests/document_specimens.py), mean over the documents:",
            "",
            "| condition | documents | reading order | order-free |",
            "|---|---|---|---|",
        ]
        for cond, rs in by_condition.items():
            out.append(
                f"| {cond} | {len(rs)} | {_avg([r.char_accuracy for r in rs])} | "
                f"{_avg([r.line_recall for r in rs])} |"
            )
    return out


def _fields(results: Sequence[CaseResult]) -> list[str]:
    table: dict[tuple[str, str], dict[bool, list[FieldVerdict]]] = defaultdict(lambda: {False: [], True: []})
    conditions: dict[str, list[FieldVerdict]] = defaultdict(list)
    for r in results:
        for v in r.verdicts:
            table[(v.material_type, v.field)][r.case.damaged].append(v)
            conditions[r.case.condition].append(v)
    out = [
        "Exact after normalisation (blanks, full-width forms; dates, date ranges and amounts compared as "
        "values). A field the document leaves blank counts as right when nothing is stored. The fields "
        "scored are those the catalogue declares for the true type (all truth fields when the type is not "
        "in the catalogue); a field printed only on the seal is scored only when a value is stored; a "
        "printed value known to be invalid (the corpus ID card's number) counts as right when a problem "
        "names it.",
        "",
        "| material type | field | required | clean | damaged | wrong | missing (unflagged) |",
        "|---|---|---|---|---|---|---|",
    ]
    for (mtype, name), by in sorted(table.items()):
        every = by[False] + by[True]
        wrong = sum(v.verdict in ("wrong", "blank_filled") for v in every)
        missing = sum(v.verdict == "missing" for v in every)
        unflagged = sum(v.missing_unflagged for v in every)
        required = "yes" if every and every[0].required else ""
        out.append(
            f"| {mtype} | {name} | {required} | {_pct(sum(v.ok for v in by[False]), len(by[False]))} | "
            f"{_pct(sum(v.ok for v in by[True]), len(by[True]))} | {wrong} | {missing} ({unflagged}) |"
        )
    out += ["", "Per condition (all scored fields):", "", "| condition | exact |", "|---|---|"]
    for cond, vs in conditions.items():
        out.append(f"| {cond} | {_pct(sum(v.ok for v in vs), len(vs))} |")
    undeclared = sorted({(r.case.truth_type or "", f) for r in results for f in r.undeclared})
    if undeclared:
        out += [
            "",
            "Truth fields the catalogue does not declare for the type (not scored): "
            + ", ".join(f"{t}.{f}" for t, f in undeclared)
            + ".",
        ]
    return out


def _wrong(results: Sequence[CaseResult]) -> list[str]:
    wrong = [v for r in results for v in r.verdicts if v.wrong_but_accepted]
    out = [
        "A stored value that differs from the truth (or a value stored for a field the document leaves "
        "blank) with no problem naming that field: the reviewer is not told to look. The key trust figure.",
        "",
        f"**{len(wrong)}** wrong but accepted.",
    ]
    if wrong:
        out += [
            "",
            "| case | field | truth | stored | confidence | status of the material |",
            "|---|---|---|---|---|---|",
        ]
        by_case = {r.case.name: r for r in results}
        for v in wrong:
            r = by_case[v.case]
            conf = r.confidences.get(v.field)
            out.append(
                f"| {v.case} | {v.field} | {_cell(v.truth)} | {_cell(v.stored)} | "
                f"{'–' if conf is None else f'{conf:.2f}'} | {r.status} |"
            )
    missing = [v for r in results for v in r.verdicts if v.missing_unflagged]
    out += ["", f"Missing with no problem on the field: **{len(missing)}**."]
    if missing:
        counts = Counter((v.material_type, v.field) for v in missing)
        out.append("")
        out.append(", ".join(f"{t}.{f} × {n}" for (t, f), n in sorted(counts.items())) + ".")
    return out


def _truth_label(r: CaseResult) -> str:
    if r.case.truth_type:
        return r.case.truth_type
    return {
        "non_document": "(non-document)",
        "unrelated": "(unrelated document)",
        "collage": "(several documents)",
    }[r.case.kind]


def _predicted_label(r: CaseResult) -> str:
    if r.error:
        return "(error)"
    if r.status == "rejected":
        return f"rejected: {r.reason}"
    return r.material_type or "(none)"


def _confusion(results: Sequence[CaseResult]) -> list[str]:
    matrix: dict[str, Counter[str]] = defaultdict(Counter)
    for r in results:
        matrix[_truth_label(r)][_predicted_label(r)] += 1
    columns = sorted({c for row in matrix.values() for c in row})
    out = [
        "Rows: what the file is; columns: the type the classifier gave (or the rejection). All cases, every "
        "condition.",
        "",
        "| truth \\ read as | " + " | ".join(columns) + " |",
        "|---|" + "---|" * len(columns),
    ]
    for truth in sorted(matrix):
        cells = [str(matrix[truth].get(c, "")) for c in columns]
        out.append(f"| {truth} | " + " | ".join(cells) + " |")
    return out


def _others(results: Sequence[CaseResult]) -> list[str]:
    others = [r for r in results if r.case.kind != "document"]
    out = [
        "What must not be catalogued: non-documents in an `other` slot (street photo, product card, one text "
        "line, corpus posters and text lines), unrelated documents in a typed slot (receipt, lab report, "
        "tickets, invoices, a book page) and several documents in one picture. Expected problems: "
        "`not_a_document`, `material_type_mismatch`, `multiple_documents`.",
        "",
        f"**{sum(r.catalogued for r in others)}** of {len(others)} catalogued: "
        + (", ".join(r.case.name for r in others if r.catalogued) or "none")
        + ".",
        "",
        "| case | kind | slot | status | reason | problems | classified as |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in others:
        conf = f" ({r.confidence:.2f})" if r.confidence is not None else ""
        out.append(
            f"| {r.case.name} | {r.case.kind} | {r.case.slot_type} | {r.status or r.error} | {r.reason} | "
            f"{', '.join(sorted(set(r.problem_codes))) or '–'} | {r.material_type or '–'}{conf} |"
        )
    return out


def _orientation(results: Sequence[CaseResult]) -> list[str]:
    docs = [r for r in results if r.case.kind == "document" and r.case.rotation is not None]
    out = [
        "From the manifest's `orientation` key (the turn applied to each page before OCR). A page turned "
        "by 90/180/270° must be turned back; an upright page must be left alone.",
        "",
        "| page turned by | cases | upright after | turn reported |",
        "|---|---|---|---|",
    ]
    by: dict[int, list[CaseResult]] = defaultdict(list)
    for r in docs:
        by[r.case.rotation or 0].append(r)
    for angle in sorted(by):
        rs = by[angle]
        reported = Counter(str(r.rotated) for r in rs)
        out.append(
            f"| {angle}° | {len(rs)} | {sum(bool(r.upright) for r in rs)} | "
            + ", ".join(f"{k} × {n}" for k, n in sorted(reported.items()))
            + " |"
        )
    skewed = [r for r in results if r.case.kind == "document" and r.case.condition == "skew"]
    if skewed:
        from tests.document_specimens import SKEW_DEG

        straight = sum(r.deskewed is not None and abs(r.deskewed - SKEW_DEG) <= 1.5 for r in skewed)
        shown = Counter("not reported" if r.deskewed is None else f"{r.deskewed:.1f}°" for r in skewed)
        out += [
            "",
            f"Skewed {SKEW_DEG:.0f}° counter-clockwise: straightened (±1.5°) in {straight} of {len(skewed)}; "
            "reported: " + ", ".join(f"{k} × {n}" for k, n in sorted(shown.items())) + ".",
        ]
    return out


def _every(results: Sequence[CaseResult]) -> list[str]:
    out = [
        "| case | slot | status | classified as | fields exact | problems | s |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in results:
        conf = f" ({r.confidence:.2f})" if r.confidence is not None else ""
        exact = f"{sum(v.ok for v in r.verdicts)}/{len(r.verdicts)}" if r.verdicts else "–"
        out.append(
            f"| {r.case.name} | {r.case.slot_type} | {r.status or 'error: ' + str(r.error)} | "
            f"{r.material_type or '–'}{conf} | {exact} | "
            f"{_cell(', '.join(c + (f'({f})' if f else '') for c, f in r.problems) or '–', 300)} | "
            f"{r.seconds:.1f} |"
        )
    return out


_HEADLINE_MARK = "<!-- headline "


def read_headline(markdown: str) -> dict[str, Any] | None:
    """The headline figures a report carries in its last line (for the before/after table)."""
    for line in reversed(markdown.splitlines()):
        if line.startswith(_HEADLINE_MARK) and line.endswith(" -->"):
            data = json.loads(line[len(_HEADLINE_MARK) : -4])
            return data if isinstance(data, dict) else None
    return None


def _compare(h: Headline, before: Mapping[str, Any], name: str) -> list[str]:
    def pct(value: object) -> str:
        return "–" if not isinstance(value, int | float) else f"{100 * value:.1f} %"

    def of(d: Mapping[str, Any], num: str, den: str) -> str:
        return f"{d.get(num, '–')} of {d.get(den, '–')}"

    now = asdict(h)
    rows = [
        ("key fields exact, clean", pct(before.get("clean_exact")), pct(now["clean_exact"])),
        ("key fields exact, damaged", pct(before.get("damaged_exact")), pct(now["damaged_exact"])),
        ("wrong but accepted", str(before.get("wrong_but_accepted", "–")), str(now["wrong_but_accepted"])),
        ("missing with no problem", str(before.get("missing_unflagged", "–")), str(now["missing_unflagged"])),
        (
            "non-documents etc. catalogued",
            of(before, "non_documents_catalogued", "non_documents"),
            of(now, "non_documents_catalogued", "non_documents"),
        ),
        (
            "turned pages upright",
            of(before, "rotations_upright", "rotations"),
            of(now, "rotations_upright", "rotations"),
        ),
        (
            "correct documents sent to review",
            of(before, "false_alarms", "documents"),
            of(now, "false_alarms", "documents"),
        ),
    ]
    out = [f"Before → after ({name}):", "", "| figure | before | now |", "|---|---|---|"]
    out += [f"| {a} | {b} | {c} |" for a, b, c in rows]
    return out


def render(
    results: Sequence[CaseResult],
    *,
    header: Sequence[str],
    baseline: tuple[str, Mapping[str, Any]] | None = None,
) -> str:
    """The report; `baseline`: (its name, the headline of an earlier report) for a before/after table."""
    if not results:
        raise ValueError("no cases were run: a report without cases would pass every target")
    h = headline(results)
    targets = [SECTIONS[0], "", *_targets(h)]
    if baseline is not None:
        targets += ["", *_compare(h, baseline[1], baseline[0])]
    parts: list[list[str]] = [
        list(header),
        targets,
        [SECTIONS[1], "", *_chars(results)],
        [SECTIONS[2], "", *_fields(results)],
        [SECTIONS[3], "", *_wrong(results)],
        [SECTIONS[4], "", *_confusion(results)],
        [SECTIONS[5], "", *_others(results)],
        [SECTIONS[6], "", *_orientation(results)],
        [SECTIONS[7], "", *_every(results)],
        [_HEADLINE_MARK + json.dumps(asdict(h)) + " -->"],
    ]
    return "\n\n".join("\n".join(p) for p in parts).replace("\n\n\n", "\n\n") + "\n"
