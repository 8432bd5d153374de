"""A group rebalance that ``poll`` began is carried on by the next ``poll`` until it completes.

This works around a race in kafka-python (3.0.12, the newest; 2.3.x has it too). ``poll`` goes
on with a rebalance only while ``ConsumerCoordinator.need_rejoin()`` is true. When the rebalance
was started because the topics' metadata changed (every member that becomes the group's leader
does one right after its first join, once the metadata of its topics arrives), that is true
only while the leader's assignment snapshot differs from the metadata, and the leader makes them
equal halfway through: when it computes the assignment, before SyncGroup. If ``poll``'s timeout
ends between the two, no later ``poll`` finishes the rebalance: the assignment is never applied,
the heartbeats (off during a rebalance) never resume, and the broker drops the member after the
session timeout while it goes on fetching its old partitions. The Java client goes on while a
join is pending (``rejoinNeededOrPending``; KAFKA-9815 fixed a relative of this race there).
Here a join under way counts too: ``rejoining`` is set when a rebalance begins and cleared only
when one completes. An attempt that completed between two polls is not picked up by
kafka-python: it sends another JoinGroup, one more round of the same rebalance.
"""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger(__name__)


def finish_rebalances(consumer: Any) -> None:
    """Make ``consumer``'s polls go on with a rebalance in progress until it completes."""
    coordinator: Any = getattr(consumer, "_coordinator", None)
    needed = getattr(coordinator, "need_rejoin", None)
    if needed is None or not hasattr(coordinator, "rejoining"):
        log.warning("kafka-python has changed: its rebalances are not guarded against a race")
        return

    def need_rejoin() -> bool:
        return bool(needed() or coordinator.rejoining)

    coordinator.need_rejoin = need_rejoin
