"""Rendezvous hashing: an even spread, and only a leaving or joining member's keys move."""

from __future__ import annotations

from collections import Counter

from gateways.replicas.hashing import assign, preferred

KEYS = [f"gateway-{n % 7}/source-{n}" for n in range(3000)]
MEMBERS = ["file-adapter-0", "file-adapter-1", "file-adapter-2"]


def test_keys_spread_evenly_over_members() -> None:
    shares = Counter(assign(KEYS, MEMBERS).values())
    assert set(shares) == set(MEMBERS)
    for member, count in shares.items():
        assert abs(count - 1000) < 100, (member, count)


def test_a_member_leaving_moves_only_its_own_keys() -> None:
    before = assign(KEYS, MEMBERS)
    after = assign(KEYS, MEMBERS[:2])
    moved = {key for key in KEYS if before[key] != after[key]}
    assert moved == {key for key in KEYS if before[key] == MEMBERS[2]}


def test_a_member_joining_takes_only_keys_it_now_wins() -> None:
    before = assign(KEYS, MEMBERS)
    after = assign(KEYS, [*MEMBERS, "file-adapter-3"])
    moved = [key for key in KEYS if before[key] != after[key]]
    assert all(after[key] == "file-adapter-3" for key in moved)
    assert 600 < len(moved) < 900  # about a quarter


def test_the_answer_depends_on_the_members_not_their_order() -> None:
    assert preferred("g/s", MEMBERS) == preferred("g/s", list(reversed(MEMBERS)))
    assert preferred("g/s", []) is None
    assert assign(["g/s"], []) == {}
