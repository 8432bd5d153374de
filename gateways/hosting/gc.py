"""Garbage-collector settings for long-running servers.

Every event allocates many short-lived objects; with CPython's default thresholds the cyclic
collector runs every few hundred events and each full pass walks every long-lived object
(modules, clients, the registry), which shows up as tail latency. Objects alive after start-up
are frozen out of collection and the young generation collects less often.
"""

from __future__ import annotations

import gc


def tune_for_serving() -> None:
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 50, 100)
