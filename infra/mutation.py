"""Mutation testing with mutmut 3 (`make mutate`): run it per group of modules, write docs/mutation.md.

    .venv/bin/python -m infra.mutation run [GROUP ...] [--max-children N]   # mutate, test, report
    .venv/bin/python -m infra.mutation report [GROUP ...]                   # report the last run again

Each group is a set of modules where a silent bug is a security or legal failure, with the unit tests
that cover them. mutmut 3 names a mutant after its file's path relative to where it runs and checks
that against the module the tests import, so a package under layers/core/ cannot be mutated in place:
every group runs in a staging directory, build/mutation/<group>/, that links `onestop`, `tests`,
`infra` and `functions` and carries a pyproject.toml written here (the [tool.mutmut] section of that
file is generated from GROUPS below). mutmut copies everything into build/mutation/<group>/mutants/
and runs the tests there: the working tree is never modified, and a second run reuses the results of
mutants whose function did not change.

What is not mutated (lines, matched by `NOT_MUTATED`): the human-readable text of messages (a line that
is nothing but a string literal containing a blank or a non-ASCII character: the zh/en sentences of
errors and reasons) and log calls. The machine-readable parts next to them, error codes, fields, the
values a message carries, are mutated like any code. docs/mutation.md says why.

To add a group, add an entry to GROUPS.
"""

from __future__ import annotations

import argparse
import ast
import difflib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STAGE = ROOT / "build" / "mutation"
DOC = ROOT / "docs" / "mutation.md"
MUTMUT = Path(sys.executable).with_name("mutmut")
START, END = "<!-- mutation:results:start -->", "<!-- mutation:results:end -->"

# Lines mutmut leaves alone: message text and logging (see the module docstring).
NOT_MUTATED = (
    r"""^\s*(?:f?"[^"]*(?:\s|[^\x00-\x7f])[^"]*"\s*)+[,)\]]*\s*(?:#.*)?$""",
    r"""^\s*(?:logger|log)\.(?:debug|info|warning|error|exception)\(""",
)
# `-p infra.mutation`: this module is also a pytest plugin in the mutants' runs (pytest_configure).
PYTEST_ARGS = [
    "-p",
    "no:cacheprovider",
    "-p",
    "infra.mutation",
    "-q",
    "-x",
    "--hypothesis-seed=0",
    "-W",
    "ignore",
]


@dataclass(frozen=True)
class Group:
    """Modules mutated together and the tests that must kill their mutants."""

    name: str
    sources: tuple[str, ...]  # files under layers/core (globs), mutated
    tests: tuple[str, ...]  # the pytest paths run against the mutants
    target: float  # share of mutants to kill (issue 20)
    # Mutant-name patterns (fnmatch) to run; empty: every mutant of the sources.
    functions: tuple[str, ...] = ()
    # Mutants of these functions count only where a changed line matches `lines` (functions that do
    # more than check a limit); the other mutants are neither run nor counted.
    partial: tuple[str, ...] = ()
    lines: str = ""
    notes: str = ""


_S3 = "onestop.aws.s3.xǁS3BlobStoreǁ"
_UPLOADS = "onestop.applications.uploads.x"

GROUPS: dict[str, Group] = {
    g.name: g
    for g in (
        Group(
            "identifiers",
            ("onestop/identifiers/*.py",),
            ("tests/unit/test_identifiers.py",),
            0.95,
        ),
        Group(
            "limits",
            (
                "onestop/materials/limits.py",
                "onestop/materials/images.py",
                "onestop/materials/pipeline.py",
                "onestop/materials/reasons.py",
                "onestop/materials/service.py",
                "onestop/aws/s3.py",
                "onestop/applications/uploads.py",
                "onestop/http/verify_api.py",
                "onestop/http/bodies.py",
                "onestop/quality/kpis.py",
                "onestop/quality/reviews.py",
            ),
            (
                "tests/unit/test_limits_boundaries.py",
                "tests/unit/test_materials_images.py",
                "tests/integration/test_limits_boundaries.py",
            ),
            0.90,
            # Counted whole: functions that are nothing but a limit check or its refusal.
            functions=(
                "onestop.materials.reasons.x_too_large_reason__mutmut_*",
                "onestop.materials.service.x__too_large_outcome__mutmut_*",
                f"{_UPLOADS}check_slot_room__mutmut_*",
                "onestop.http.bodies.*",
            ),
            # Counted on their limit lines only.
            partial=(
                "onestop.materials.limits.*",
                "onestop.materials.images.x_load_image__mutmut_*",
                "onestop.materials.pipeline.x_process_upload__mutmut_*",
                "onestop.materials.service.x_ingest_object__mutmut_*",
                f"{_S3}get__mutmut_*",
                f"{_S3}presign_post__mutmut_*",
                f"{_UPLOADS}check_declared__mutmut_*",
                f"{_UPLOADS}request_upload__mutmut_*",
                "onestop.http.verify_api.x_read_pdf_body__mutmut_*",
                "onestop.quality.kpis.xǁPeriodǁof__mutmut_*",
                "onestop.quality.reviews.xǁReviewServiceǁsubmit__mutmut_*",
                "onestop.quality.reviews.xǁReviewServiceǁrecord_step__mutmut_*",
            ),
            lines=r"max_|MAX_|\blimit\b|MiB",
            notes=(
                "upload sizes per slot and global, pixels, /verify body, API body size and depth, quotas, "
                "KPI period, texts"
            ),
        ),
        Group(
            "state",
            ("onestop/applications/state.py",),
            ("tests/unit/test_applications_state.py",),
            0.90,
        ),
        Group(
            "clock",
            ("onestop/applications/clock.py",),
            ("tests/unit/test_clock.py",),
            0.90,
        ),
        Group(
            "licences",
            ("onestop/licences/issuance.py", "onestop/licences/lifecycle.py", "onestop/licences/issuer.py"),
            (
                "tests/unit/test_licence_issuance.py",
                "tests/unit/test_licence_lifecycle.py",
                "tests/unit/test_licence_rules.py",
                "tests/unit/test_licence_issuer.py",
            ),
            0.90,
        ),
        # The verifier, in two groups so that each runs with tests that take seconds: its raw-byte
        # checks, fast path, trust bundle, face data, status and report; then the post-seal policy,
        # the document timestamps and the full path, killed by the attack suites (slower: each
        # mutant verifies attacked files).
        Group(
            "verification",
            tuple(
                f"onestop/verification/{m}.py"
                for m in (
                    "structure",
                    "names",
                    "seal_rules",
                    "status",
                    "fastpath",
                    "face",
                    "anchors",
                    "report",
                )
            ),
            tuple(
                f"tests/unit/test_verification_{t}.py"
                for t in (
                    "structure",
                    "status",
                    "fastpath",
                    "fastpath_seals",
                    "trust_bundle",
                    "rules",
                    "face_status",
                )
            ),
            0.95,
        ),
        Group(
            "verification-policy",
            (
                "onestop/verification/policy.py",
                "onestop/verification/timestamps.py",
                "onestop/verification/checks.py",
            ),
            tuple(f"tests/unit/test_verification_{t}.py" for t in ("structure", "attacks", "forgeries")),
            0.95,
            notes="slow: run it on its own (`make mutate MUTATE_GROUPS=verification-policy`)",
        ),
    )
}

# mutmut's string mutation wraps a literal in this mark ("abc" -> "XXabcXX"); patterns below name it.
MUTMUT_MARK = "X" * 2

# Survivors argued equivalent (docs/mutation.md gives the arguments): a mutant-name pattern, a piece
# of its change (so that a renumbering of mutants does not lose the match) and the one-line reason.
_ZIP = "the lengths are checked just before, so zip's strict= never fires"
_CODEC = "codec names are case-insensitive"
_BIG = 'int.to_bytes / int.from_bytes default to "big" since Python 3.11'
_CONTAINER = (
    "the container reference only names the object a writer would mark changed (and decrypt with): "
    "nothing is written or decrypted here, the same object is read"
)
_GAP = (
    "the checks below refuse the same gaps: an odd one fails bytes.fromhex or the hex-digit check, one "
    "over the cap contents_problem's size check (this line only spares the decoding)"
)
_OBJ_AT_0 = (
    'differs only for data that begins with " obj", an object header without its number: the signature '
    "dictionary of a PDF is in a numbered object (the full path refuses such data)"
)
_STRING = "the pattern matches only strings, and a string is read without its container reference"
_MISSING_ATTRIBUTE = (
    "a missing attribute: iterating None raises (whole_file_seal then returns None) as surely as [] is "
    "not the one value expected"
)
EQUIVALENT: list[tuple[str, str, str]] = [
    ("onestop.identifiers.uscc.x_uscc_check_char__mutmut_*", "strict=", _ZIP),
    ("onestop.identifiers.uscc.x_org_code_check_char__mutmut_*", "strict=", _ZIP),
    ("onestop.identifiers.resident_id.x_id_check_char__mutmut_*", "strict=", _ZIP),
    (
        "onestop.identifiers.uscc.x_org_code_check_char__mutmut_*",
        ".rindex(c)",
        "every character occurs once in the alphabet: index == rindex",
    ),
    (
        "onestop.identifiers.licence_id.x_make_licence_id__mutmut_*",
        "version <= 1000",
        "version 1000 is refused all the same by the three-digit shape check, with the same reason code",
    ),
    (
        "onestop.identifiers.resident_id.x_resident_id_problems__mutmut_*",
        "number[:18].isascii()",
        "a non-ASCII 18th character is never in '0123456789X' either: the same reason",
    ),
    (
        "onestop.identifiers.resident_id.x_resident_id_problems__mutmut_*",
        f'in "{MUTMUT_MARK}0123456789X{MUTMUT_MARK}"',
        "membership of one character: the same set of characters",
    ),
    *(
        (
            "onestop.materials.images.x_load_image__mutmut_*",
            piece,
            "behind Pillow's own check at the same bound: pixel_limit makes Pillow refuse an image over "
            "max_pixels inside Image.open, so this test only sees sizes within the limit (Pillow opens "
            "no image of zero width or height)",
        )
        for piece in (
            "height <= 0 and width * height",
            "width <= 0 and height <= 0",
            "if width < 0",
            "or height < 0",
            "width / height",
            "ImageRejected(None)",
            "too_many_pixels(None)",
        )
    ),
    *(
        (
            "onestop.materials.service.x__too_large_outcome__mutmut_*",
            piece,
            "a too-large outcome has no digest: ingest_object reads `sha256 or None` and never its "
            "`sniffed`, so neither is observable",
        )
        for piece in ("sniffed=None", "sha256=None", "sniff(None)", f'sniff(b"{MUTMUT_MARK * 2}")')
    ),
    *(
        (
            f"{_S3}get__mutmut_*",
            piece,
            "the read bound is a second guard behind the ContentLength check just above: S3 reports "
            "the object's true length, so a body over max_bytes never reaches the read",
        )
        for piece in ("(max_bytes is None) or True", ".read(None)", ".read(max_bytes + 2)")
    ),
    *(
        (
            "onestop.materials.service.x_ingest_object__mutmut_*",
            piece,
            "the object was sized by head() of this very version, and an older version was turned "
            "away before: the latest version is this one, of the size already checked",
        )
        for piece in (
            "uploads.get(key, None, max_bytes",
            "max_bytes=None)",
            "uploads.get(key, max_bytes=",
            "uploads.get(key, version_id, )",
        )
    ),
    (
        "onestop.licences.issuance.x__reserve__mutmut_*",
        "serial, )",
        "make_licence_id's version defaults to 1, the value dropped",
    ),
    *(
        (
            "onestop.licences.issuance.x__reusable_pdf__mutmut_*",
            piece,
            "head and get name the same version of the key (one writer per key and version id); the "
            "two differ only in a race with a later writer",
        )
        for piece in ("version_id=None)", "store.get(key, )", "obj.version_id and head.version_id")
    ),
    *(
        (
            "onestop.licences.issuance.x_licence_issued_event__mutmut_*",
            piece,
            "only records that were issued are announced: they always have issued_at and a PDF",
        )
        for piece in ("(record.issued_at) or True", "(record.pdf) or True")
    ),
    (
        "onestop.licences.issuance.x_status_changed_event__mutmut_*",
        "(entry.from_status) or True",
        "only status changes are announced; the one entry without a from-status is the reservation",
    ),
    *(
        (
            "onestop.licences.issuance.x_finish_issue__mutmut_*",
            piece,
            "an owed event's owner is read only to log a failed delivery, and finish_issue delivers "
            "with retried=True, where a failure propagates unlogged",
        )
        for piece in ("owner=None)", "(licence_issued_event(record), )", "(superseded, )")
    ),
    (
        "onestop.licences.lifecycle.x_latest_version__mutmut_*",
        "max_hops: int = 1000",
        "versions are three digits (001-999): a chain has at most 998 links, fewer than either bound",
    ),
    (
        "onestop.licences.lifecycle.x_change_status__mutmut_*",
        "(record.history) or True",
        "every record is created with its reservation entry: the history is never empty",
    ),
    (
        "onestop.licences.lifecycle.x__new_version__mutmut_*",
        "guard_application=None",
        "None is as false as False where the registry reads it",
    ),
    (
        "onestop.applications.clock.xǁWorkingDayClockǁworking_days_between__mutmut_*",
        "if b <= a:",
        "for a == b the swap exchanges equal dates and the count is 0 either way (-0 == 0)",
    ),  # The verifier (docs/mutation.md, "The verifier").
    *(
        (f"onestop.verification.{function}__mutmut_*", piece, _CODEC)
        for function, piece in (
            ("anchors.x_to_pem", '.decode("ASCII")'),
            ("anchors.xǁTrustAnchorsǁfrom_trust_document", '.encode("ASCII")'),
            ("anchors.x_bundled_anchors", 'read_text("UTF-8")'),
            ("structure.x_byte_range_problem", '.decode("ASCII")'),
            ("fastpath.x__whole_file_seal", 'gap.decode("ASCII")'),
        )
    ),
    *(
        (
            "onestop.verification.anchors.x_bundled_anchors__mutmut_*",
            piece,
            "paths in one folder sort by name",
        )
        for piece in ("key=None)", "folder.iterdir(), )")
    ),
    (
        "onestop.verification.anchors.x_to_pem__mutmut_*",
        '"certificate", cert.dump()',
        "asn1crypto's pem.armor upper-cases the type name",
    ),
    *(
        ("onestop.verification.fastpath.x__signing_time__mutmut_*", piece, why)
        for piece, why in (
            ('rfind(b" obj", None, at)', "a start of None is a start of 0"),
            ('rfind(b" obj", 1, at)', _OBJ_AT_0),
            ("if start > 0 and", _OBJ_AT_0),
            ("if start >= 1 and", _OBJ_AT_0),
            ("and stop > 0 else", '"endobj" is looked for from the /ByteRange on: never found at 0'),
            ("and stop >= 1 else", '"endobj" is looked for from the /ByteRange on: never found at 0'),
            ("Reference(0))), )", "parse_pdf_date's strict defaults to True"),
            ("io.BytesIO(found[0]), None)", _STRING),
            ("Reference(None))", _STRING),
            ("Reference(1))", _STRING),
        )
    ),
    (
        "onestop.verification.fastpath.x__face__mutmut_*",
        "PdfFileReader(io.BytesIO(data), )",
        "PdfFileReader's strict defaults to True",
    ),
    (
        "onestop.verification.anchors.x__describe__mutmut_*",
        "current: bool = True",
        "only seal entries carry `current`, and every seal entry is described with it",
    ),
    (
        "onestop.verification.face.x__text__mutmut_*",
        "(isinstance(value, generic.IndirectObject)) or True",
        "the get_object() of a direct object is the object itself",
    ),
    (
        "onestop.verification.face.x_read_face_authenticated__mutmut_*",
        "(start >= 0) or True",
        'without "trailer" in the data the pattern, which begins with it, matches nowhere',
    ),
    *(
        ("onestop.verification.face.x_read_face_authenticated__mutmut_*", piece, _CONTAINER)
        for piece in (
            "generic.Reference(None, generation)",
            "generic.Reference(number, None)",
            "generic.Reference(generation)",
            "generic.Reference(number, )",
        )
    ),
    (
        "onestop.verification.face.x_face_from_info__mutmut_*",
        f'(keywords or "{MUTMUT_MARK * 2}")',
        "without keywords the one word, empty or not, is no identifier and no list of three",
    ),
    ("onestop.verification.fastpath.x__der_len__mutmut_*", "// 8, )", _BIG),
    ("onestop.verification.structure.x_der_length__mutmut_*", "2 + count], )", _BIG),
    (
        "onestop.verification.fastpath.x__face__mutmut_*",
        "reader.xrefs.total_revisions + 1",
        "pyHanko's historical resolver reads a revision past the last as the last",
    ),
    *(
        ("onestop.verification.fastpath.x__whole_file_seal__mutmut_*", piece, _GAP)
        for piece in ("if len(gap) % 2 and len(gap) // 2 >", "len(gap) / 2 >", "len(gap) // 3 >")
    ),
    *(
        ("onestop.verification.fastpath.x__whole_file_seal__mutmut_*", piece, _MISSING_ATTRIBUTE)
        for piece in (
            'attrs.get("content_type", None)',
            'attrs.get("content_type", )',
            'attrs.get("message_digest", None)',
            'attrs.get("message_digest", )',
        )
    ),
    (
        "onestop.verification.status.x__mask_code__mutmut_*",
        "max(len(code) - 8, 1)",
        "only codes over 8 characters get there, where len(code) - 8 >= 1",
    ),
    *(
        (
            "onestop.verification.status.x_status_check__mutmut_*",
            piece,
            "a SHA-256 in hex is never 'xxxx': an entry without a fingerprint fails as before",
        )
        for piece in (f'(entry.pdf_sha256 or "{MUTMUT_MARK * 2}")', f'(sealed_sha256 or "{MUTMUT_MARK * 2}")')
    ),
    *(
        (
            "onestop.verification.status.x_status_check__mutmut_*",
            piece,
            "`exact` is read only when a file fingerprint was given; this is the branch without one",
        )
        for piece in ("- exact = False / + exact = None", "- exact = False / + exact = True")
    ),
    (
        "onestop.verification.structure.x_trailing_problem__mutmut_*",
        "tail.strip(None) and any",
        "a tail holding one of the (non-blank) tokens is not blank either way",
    ),
    *(
        (
            "onestop.verification.structure.x_cap_problem__mutmut_*",
            piece,
            '">" is looked for from the "<" of a run of over 2 hex digits: never found at 0 or 1',
        )
        for piece in ("(end if end >= 0 else", "(end if end > 1 else")
    ),
    (
        "onestop.verification.structure.x_contents_problem__mutmut_*",
        "total >= len(contents)",
        "when the DER fills /Contents there is no padding to check: None either way",
    ),
]


def argued_equivalent(m: Mutant) -> str | None:
    """The argument that `m` is equivalent, if it was argued."""
    from fnmatch import fnmatch

    for pattern, piece, why in EQUIVALENT:
        if fnmatch(m.name, pattern) and piece in m.change:
            return why
    return None


STATUS = {1: "killed", 3: "killed", 0: "survived", 5: "no tests", 33: "no tests", 34: "skipped"}
STATUS.update(dict.fromkeys((36, -24, 24, 152, 255), "timeout"))
STATUS.update(dict.fromkeys((-11, -9), "segfault"))


def _toml_list(values: list[str]) -> str:
    return "[" + ", ".join(json.dumps(v) for v in values) + "]"


def stage(group: Group) -> Path:
    """build/mutation/<group>/ with the links and the generated pyproject.toml."""
    where = STAGE / group.name
    where.mkdir(parents=True, exist_ok=True)
    links = {
        "onestop": ROOT / "layers" / "core" / "onestop",
        "tests": ROOT / "tests",
        "infra": ROOT / "infra",
        "functions": ROOT / "functions",
    }
    # tests/conftest.py finds the corpus beside the checkout: ../shared from mutants/.
    shared = ROOT.parent / "shared"
    if shared.is_dir():
        links["shared"] = shared
    for name, target in links.items():
        link = where / name
        if not link.is_symlink():
            link.symlink_to(target, target_is_directory=True)
    only = [s for s in group.sources]
    config = "\n".join(
        [
            "# Generated by infra/mutation.py for the group " + json.dumps(group.name) + "; do not edit.",
            "[tool.mutmut]",
            'source_paths = ["onestop"]',
            f"only_mutate = {_toml_list(only)}",
            'also_copy = ["infra", "functions", "tests"]',
            f"do_not_mutate_patterns = {_toml_list(list(NOT_MUTATED))}",
            f"pytest_add_cli_args = {_toml_list(PYTEST_ARGS)}",
            f"pytest_add_cli_args_test_selection = {_toml_list(list(group.tests))}",
            "use_git_change_detection = false",
            "",
            "[tool.pytest.ini_options]",
            'pythonpath = ["."]',
            'addopts = "-ra --strict-markers"',
            'markers = ["slow: runs real OCR or a whole stack"]',
            "",
        ]
    )
    (where / "pyproject.toml").write_text(config, encoding="utf-8")
    return where


def pytest_configure(config: object) -> None:
    """In the mutants' runs only: Hypothesis without its per-example deadline (mutmut's trampolines
    and two workers make examples slower; a deadline would fail the clean run, not catch a mutant)."""
    from hypothesis import HealthCheck, settings

    settings.register_profile("mutation", deadline=None, suppress_health_check=[HealthCheck.too_slow])
    settings.load_profile("mutation")


def pytest_sessionfinish(session: object, exitstatus: object) -> None:
    """Stop the shared PDF workers when a run ends. mutmut runs its first passes in its own process
    and forks one child per mutant: a worker left running would be inherited by every child, whose
    Sandbox (not the worker's parent) kills it, and mutmut's wait() would then reap a process it did
    not start."""
    from onestop import sandbox

    for purpose in {key[0] for key in sandbox._SHARED}:
        sandbox.close_shared(purpose)


# ------------------------------------------------------------------------------------ reading results


@dataclass
class Mutant:
    name: str
    status: str
    change: str = ""  # the changed line(s), "- old / + new"
    text: bool = False  # only the text of a message changes: reported, not counted


@dataclass
class Result:
    group: Group
    mutants: list[Mutant] = field(default_factory=list)
    seconds: float | None = None

    def count(self, status: str) -> int:
        return sum(m.status == status for m in self.mutants)


def _function_sources(path: Path) -> dict[str, list[str]]:
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    out: dict[str, list[str]] = {}
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and "__mutmut_" in node.name:
            body = lines[node.lineno - 1 : node.end_lineno]
            body[0] = body[0].replace(node.name, "f", 1)
            out[node.name] = body
    return out


def _diff(sources: dict[str, list[str]], function: str) -> tuple[list[str], list[str]]:
    """The lines a mutant removes and adds in its function."""
    stem = function.rsplit("__mutmut_", 1)[0]
    original = sources.get(stem + "__mutmut_orig")
    mutated = sources.get(function)
    if original is None or mutated is None:
        return [], []
    diff = list(difflib.unified_diff(original, mutated, lineterm="", n=0))
    removed = [d[1:] for d in diff if d.startswith("-") and not d.startswith("---")]
    added = [d[1:] for d in diff if d.startswith("+") and not d.startswith("+++")]
    return removed, added


def _change(removed: list[str], added: list[str]) -> str:
    return " / ".join(
        [f"- {' '.join(r.split())}" for r in removed] + [f"+ {' '.join(a.split())}" for a in added]
    )


_TOKEN = re.compile(r"""[rbuf]*"(?:[^"\\]|\\.)*"|[rbuf]*'(?:[^'\\]|\\.)*'|\w+|\S""", re.IGNORECASE)


def _is_text(token: str) -> bool:
    """A string literal of human-readable text: it holds a blank or a non-ASCII character."""
    body = token.lstrip("rbufRBUF")
    return body[:1] in "\"'" and len(body) >= 2 and bool(re.search(r"\s|[^\x00-\x7f]", body[1:-1]))


def text_only(removed: list[str], added: list[str]) -> bool:
    """Whether a mutant changes nothing but the text of a message (wraps it in XX, changes its case,
    replaces it with None or drops it): the same lines `NOT_MUTATED` keeps mutmut from mutating when
    they stand alone."""
    old, new = _TOKEN.findall(" ".join(removed)), _TOKEN.findall(" ".join(added))
    if not old:
        return False
    touched = False
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=old, b=new, autojunk=False).get_opcodes():
        if op == "equal":
            continue
        gone, came = old[i1:i2], new[j1:j2]
        if not all(_is_text(t) or t == "," for t in gone) or not any(_is_text(t) for t in gone):
            return False
        if not all(t == "," or t == "None" or t[-1:] in "\"'" for t in came):
            return False
        touched = True
    return touched


def _selected(group: Group, name: str) -> bool:
    from fnmatch import fnmatch

    if not group.functions and not group.partial:
        return True
    return any(fnmatch(name, p) for p in group.functions + group.partial)


def _in_scope(group: Group, name: str, change: str) -> bool:
    from fnmatch import fnmatch

    if any(fnmatch(name, p) for p in group.partial):
        return bool(re.search(group.lines, change))
    return _selected(group, name)


def read_results(group: Group) -> Result:
    """Every mutant of the group's last run, with its status and its change."""
    where = STAGE / group.name
    result = Result(group)
    timing = where / "run-seconds.json"
    if timing.is_file():
        result.seconds = float(json.loads(timing.read_text())["seconds"])
    for meta in sorted((where / "mutants").rglob("*.py.meta")):
        data = json.loads(meta.read_text(encoding="utf-8"))
        sources = _function_sources(meta.with_suffix(""))
        for name, code in data.get("exit_code_by_key", {}).items():
            removed, added = _diff(sources, name.rsplit(".", 1)[1])
            change = _change(removed, added)
            if not _in_scope(group, name, change):
                continue
            status = "not checked" if code is None else STATUS.get(code, "suspicious")
            result.mutants.append(Mutant(name, status, change, text_only(removed, added)))
    return result


# ------------------------------------------------------------------------------------ running


def run(group: Group, max_children: int | None) -> float:
    """Run mutmut on one group; returns the wall time in seconds."""
    where = stage(group)
    # A fresh start: mutmut keeps the verdict of a mutant whose function did not change, even when
    # the tests did (a survivor would stay a survivor after the test that kills it was written).
    shutil.rmtree(where / "mutants", ignore_errors=True)
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    args = [str(MUTMUT), "run"]
    if max_children:
        args += ["--max-children", str(max_children)]
    started = time.monotonic()
    if group.functions or group.partial:
        # Generate first (a filter that matches nothing stops mutmut right after generating and the
        # stats run), then run only the selected mutants, of the partial functions only those on a
        # limit line.
        subprocess.run([*args, "onestop.__nothing__"], cwd=where, env=env, check=False)
        names = []
        for meta in sorted((where / "mutants").rglob("*.py.meta")):
            data = json.loads(meta.read_text(encoding="utf-8"))
            sources = _function_sources(meta.with_suffix(""))
            for name in data.get("exit_code_by_key", {}):
                change = _change(*_diff(sources, name.rsplit(".", 1)[1]))
                if _selected(group, name) and _in_scope(group, name, change):
                    names.append(name)
        args += names
    subprocess.run(args, cwd=where, env=env, check=False)
    seconds = time.monotonic() - started
    (where / "run-seconds.json").write_text(json.dumps({"seconds": seconds}))
    return seconds


# ------------------------------------------------------------------------------------ the report


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f} %" if whole else "—"


def render(results: list[Result]) -> str:
    out = [
        START,
        f"Last run: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, mutmut {_mutmut_version()}, "
        "`make mutate` (`python -m infra.mutation run`), 2 workers. Message-text mutants are listed "
        "apart and not counted (see above).",
        "",
        "| group | mutants | killed | survived | equivalent (argued) | no tests | timeout | other "
        "| killed | killed + equivalent | target | message text (killed / all) | run time |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        counted = [m for m in r.mutants if not m.text]
        texts = [m for m in r.mutants if m.text]
        total = len(counted)
        n = Counter(m.status for m in counted)
        equivalent = sum(m.status == "survived" and argued_equivalent(m) is not None for m in counted)
        other = total - n["killed"] - n["survived"] - n["no tests"] - n["timeout"]
        seconds = f"{r.seconds / 60:.1f} min" if r.seconds is not None else "—"
        text_killed = sum(m.status == "killed" for m in texts)
        out.append(
            f"| {r.group.name} | {total} | {n['killed']} | {n['survived'] - equivalent} | {equivalent} "
            f"| {n['no tests']} | {n['timeout']} | {other} | {_pct(n['killed'], total)} "
            f"| {_pct(n['killed'] + equivalent, total)} | {r.group.target:.0%} "
            f"| {text_killed} / {len(texts)} | {seconds} |"
        )
    out.append("")
    for r in results:
        counted = [m for m in r.mutants if not m.text]
        left = [m for m in counted if m.status != "killed" and argued_equivalent(m) is None]
        eq = [m for m in counted if m.status == "survived" and argued_equivalent(m) is not None]
        if not left and not eq:
            continue
        out.append(f"#### {r.group.name}: not killed")
        out.append("")
        for m in left:
            out.append(f"- `{m.name}` ({m.status}): `{m.change}`")
        for m in eq:
            out.append(f"- `{m.name}` (equivalent): `{m.change}` — {argued_equivalent(m)}")
        out.append("")
    out.append(END)
    return "\n".join(out)


def _mutmut_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("mutmut")
    except PackageNotFoundError:
        return "?"


def write_doc(results: list[Result]) -> None:
    """Replace the results section of docs/mutation.md (the prose around it is kept)."""
    done = {r.group.name for r in results}
    # Keep the groups that were not run this time as they were last reported.
    rest = [read_results(g) for name, g in GROUPS.items() if name not in done and (STAGE / name).is_dir()]
    order = list(GROUPS)
    everything = sorted(results + rest, key=lambda r: order.index(r.group.name))
    section = render(everything)
    text = DOC.read_text(encoding="utf-8") if DOC.is_file() else f"# Mutation testing\n\n{START}\n{END}\n"
    if START in text and END in text:
        head, _, tail = text.partition(START)
        _, _, tail = tail.partition(END)
        text = head + section + tail
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    DOC.write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.mutation", description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=("run", "report", "stage"))
    parser.add_argument("groups", nargs="*", help=f"default: all ({', '.join(GROUPS)})")
    parser.add_argument("--max-children", type=int, default=None)
    args = parser.parse_args(argv)
    unknown = [g for g in args.groups if g not in GROUPS]
    if unknown:
        parser.error(f"unknown group(s) {unknown}; known: {', '.join(GROUPS)}")
    groups = [GROUPS[g] for g in (args.groups or GROUPS)]
    if args.command == "stage":
        for g in groups:
            print(stage(g))
        return 0
    if args.command == "run":
        if not MUTMUT.exists():
            print("mutmut is not installed: make mutate installs it", file=sys.stderr)
            return 2
        for g in groups:
            seconds = run(g, args.max_children)
            print(f"{g.name}: {seconds / 60:.1f} min", flush=True)
    results = [read_results(g) for g in groups]
    for r in results:
        counts = Counter(m.status for m in r.mutants if not m.text)
        print(f"{r.group.name}: {dict(counts)}, message text: {sum(m.text for m in r.mutants)}")
    write_doc(results)
    print(f"wrote {DOC.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
