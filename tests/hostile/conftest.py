"""Hypothesis profiles for the hostile-input tests, and their figures at the end of the run.

``ci`` (the default) runs a few hundred cases per property, enough for every CI run;
``HYPOTHESIS_PROFILE=long`` runs thousands (``scripts/test tests/hostile`` with it set).
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

from tests.hostile.stats import STATS

_COMMON = {
    "deadline": None,  # time is bounded by each test's own limits, not hypothesis's
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
    "derandomize": False,
    "database": None,
}
settings.register_profile("ci", max_examples=300, **_COMMON)
settings.register_profile("long", max_examples=4000, **_COMMON)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if STATS.by_test:
        terminalreporter.write_sep("-", "hostile input: figures")
        for line in STATS.lines():
            terminalreporter.write_line(line)
