"""Records the fetcher parked for a paused partition are handed out once it is resumed.

This works around a stall in kafka-python 3 (3.0.12, the newest; upstream master too as of
August 2026; no report upstream that we found). Since KAFKA-7548 (dpkp/kafka-python#2981, in
3.0.0) the fetcher keeps what it fetched for a paused partition: a parsed batch that was next in
line when the partition paused is parked, and the partition is not fetched while anything of it
is parked. Parked records go back in line only when the in-line slot is empty, and the fetcher
tests that with ``is None``, but a batch handed out to the end stays in the slot (empty, not
None) until the next batch replaces it. So once any other partition's records went through, a
resumed partition's parked records stay parked and the partition is never fetched again:
nothing is lost (its offsets are not committed past them), but it stalls until the consumer is
closed. Our lanes pause a full partition and resume it at half, which meets this under any burst
that spans partitions; seeking the partition does not help, parked records leave only through
the slot. Here an empty batch in line is cleared before each hand-out, which is
what the fetcher's own loop takes it for. kafka-python 2.x drops a paused partition's fetched
data and fetches it again on resume, so there is nothing to do there.
"""

from __future__ import annotations

import functools
import logging
from typing import Any

from kafka.version import __version__

log = logging.getLogger(__name__)


def restore_resumed(consumer: Any) -> None:
    """Make ``consumer``'s fetcher hand out the records it parked for a resumed partition."""
    fetcher: Any = getattr(consumer, "_fetcher", None)
    if fetcher is None or not hasattr(fetcher, "_paused_partition_records"):
        if int(__version__.split(".")[0]) >= 3:
            _changed()
        return  # 2.x does not park
    fetched_records = getattr(fetcher, "fetched_records", None)
    if fetched_records is None or not hasattr(fetcher, "_next_partition_records"):
        _changed()
        return

    def hand_out(*args: Any, **kwargs: Any) -> Any:
        in_line = fetcher._next_partition_records
        if fetcher._paused_partition_records and in_line is not None and not in_line:
            fetcher._next_partition_records = None
        return fetched_records(*args, **kwargs)

    fetcher.fetched_records = hand_out


@functools.cache
def _changed() -> None:
    log.warning("kafka-python has changed: a resumed partition's parked records may stall it")
