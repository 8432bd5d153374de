"""Figures of the property tests (cases, slowest case, peak RSS), printed after the run."""

from __future__ import annotations

import resource
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field


@dataclass
class Figures:
    cases: int = 0
    slowest: float = 0.0
    slowest_what: str = ""
    outcomes: Counter[str] = field(default_factory=Counter)


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

    def outcome(self, test: str, outcome: str) -> None:
        self.by_test.setdefault(test, Figures()).outcomes[outcome] += 1

    def lines(self) -> list[str]:
        rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        lines = []
        for name, f in sorted(self.by_test.items()):
            outcomes = ", ".join(f"{k} x{v}" for k, v in sorted(f.outcomes.items()))
            lines.append(
                f"{name}: {f.cases} cases, slowest {f.slowest * 1000:.1f} ms"
                + (f" ({outcomes})" if outcomes else "")
            )
        lines.append(f"peak RSS of the test process: {rss_mb:.0f} MB")
        return lines


STATS = Stats()
