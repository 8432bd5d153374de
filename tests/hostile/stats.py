"""Figures of the property tests (cases, slowest case, peak RSS), printed after the run."""

from __future__ import annotations

import resource
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field


@dataclass
class Figures:
    cases: int = 0
    slowest: float = 0.0
    slowest_what: str = ""


@dataclass
class Stats:
    by_test: dict[str, Figures] = field(default_factory=dict)

    @contextmanager
    def case(self, test: str, what: str = "") -> Iterator[None]:
        figures = self.by_test.setdefault(test, Figures())
        started = time.perf_counter()
        try:
            yield
        finally:
            took = time.perf_counter() - started
            figures.cases += 1
            if took > figures.slowest:
                figures.slowest, figures.slowest_what = took, what[:60]

    def lines(self) -> list[str]:
        rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        lines = [
            f"{name}: {f.cases} cases, slowest {f.slowest * 1000:.1f} ms"
            for name, f in sorted(self.by_test.items())
        ]
        lines.append(f"peak RSS of the test process: {rss_mb:.0f} MB")
        return lines


STATS = Stats()
