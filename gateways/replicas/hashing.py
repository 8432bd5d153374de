"""Rendezvous (highest-random-weight) hashing: which member a source key prefers.

Each (key, member) pair gets a pseudo-random weight; the key goes to the member with the
highest. A member that joins takes only the keys it now outweighs; one that leaves hands
only its own keys to the runners-up, so nothing else moves.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable


def weight(key: str, member: str) -> int:
    digest = hashlib.blake2b(f"{member}\x00{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def preferred(key: str, members: Iterable[str]) -> str | None:
    """The member ``key`` goes to (None when there is none); ties go to the smaller name."""
    best: tuple[int, str] | None = None
    for member in members:
        candidate = (weight(key, member), member)
        if best is None or candidate[0] > best[0] or (candidate[0] == best[0] and member < best[1]):
            best = candidate
    return best[1] if best else None


def assign(keys: Iterable[str], members: Iterable[str]) -> dict[str, str]:
    """Every key's preferred member (an empty dict when there are no members)."""
    listed = sorted(set(members))
    if not listed:
        return {}
    return {key: preferred(key, listed) or "" for key in keys}
