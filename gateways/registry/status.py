"""What each event source is doing, for `gateways status`, the status endpoint and Events."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any, Literal

# standby: an exclusive source another replica owns (``owner`` names it).
State = Literal["starting", "running", "rejected", "failed", "degraded", "stopped", "standby"]


@dataclass(frozen=True, slots=True)
class SourceStatus:
    gateway: str
    name: str
    kind: str
    state: State
    reason: str = ""
    since: str = ""
    address: str = ""
    owner: str = ""  # the replica that runs an exclusive source (when replicas share them)

    @classmethod
    def now(
        cls,
        gateway: str,
        name: str,
        kind: str,
        state: State,
        reason: str = "",
        address: str = "",
        owner: str = "",
    ) -> SourceStatus:
        stamp = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
        return cls(gateway, name, kind, state, reason, stamp, address, owner)

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v != ""}
