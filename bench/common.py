"""What every benchmark of `python -m bench` reports: figures, each with the anchor it is judged by."""

from __future__ import annotations

import json
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
for _path in (str(ROOT), str(ROOT / "layers" / "core")):
    if _path not in sys.path:
        sys.path.insert(0, _path)


@dataclass
class Figure:
    """One measured figure next to its anchor, both measured in the same run.

    `ratio` is value / anchor. For times, lower is better and the ratio says how many times the anchor
    the figure costs; for rates (unit ending in "/s") higher is better and the ratio is the share of
    the anchor's rate reached.
    """

    area: str
    figure: str
    value: float | None
    unit: str
    anchor: str
    anchor_value: float | None
    note: str = ""

    @property
    def ratio(self) -> float | None:
        if self.value is None or not self.anchor_value:
            return None
        return self.value / self.anchor_value

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ratio": self.ratio}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Figure:
        return cls(**{k: v for k, v in d.items() if k != "ratio"})


def median_time(fn: Callable[[], object], repeat: int, warm: int = 1) -> float:
    """Median wall time of `fn` over `repeat` runs after `warm` untimed ones."""
    for _ in range(warm):
        fn()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def emit(figures: list[Figure], details: str = "") -> None:
    """The machine-readable output `python -m bench` collects (last line of stdout)."""
    print(json.dumps({"figures": [f.as_dict() for f in figures], "details": details}, ensure_ascii=False))


def report(figures: list[Figure], as_json: bool, line: Callable[[Figure], str], details: str = "") -> None:
    """`emit` for `python -m bench` (--json), else one readable `line` per figure and the details."""
    if as_json:
        emit(figures, details)
        return
    for f in figures:
        print(line(f))
    if details:
        print(details)
