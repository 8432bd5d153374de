"""Kubernetes label and field selectors: parsed, checked, and written back as text.

Label selectors take ``=``, ``==``, ``!=``, ``in (...)``, ``notin (...)``, ``key`` (exists) and
``!key``; field selectors only the three equality operators, as the API server does.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

OPERATORS = frozenset({"=", "!=", "in", "notin", "exists", "!"})
OPERATOR_ALIASES = {"": "=", "==": "=", "=": "=", "!=": "!=", "in": "in", "notin": "notin"}
OPERATOR_ALIASES |= {"exists": "exists", "!": "!", "doesnotexist": "!"}

DNS_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
DNS_SUBDOMAIN = re.compile(rf"{DNS_LABEL}(\.{DNS_LABEL})*")
_LABEL_NAME = re.compile(r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?")
_FIELD_PATH = re.compile(r"[A-Za-z][A-Za-z0-9]*(\.[A-Za-z][A-Za-z0-9]*)*")
_FIELD_VALUE = re.compile(r"[^\s,()=!]*")
_TERM_SET = re.compile(r"(?P<key>[^\s!=(),]+)\s+(?P<op>in|notin)\s*\((?P<values>[^()]*)\)")
_TERM_COMPARE = re.compile(r"(?P<key>[^\s!=(),]+)\s*(?P<op>==|!=|=)\s*(?P<value>[^\s!=(),]*)")
_TERM_KEY = re.compile(r"(?P<not>!)?\s*(?P<key>[^\s!=(),]+)")


@dataclass(frozen=True, slots=True)
class Requirement:
    """One selector term, in Kubernetes semantics (``!=`` and ``notin`` match a missing key)."""

    key: str
    operator: str
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        present = self.key in labels
        if self.operator == "exists":
            return present
        if self.operator == "!":
            return not present
        found = present and labels[self.key] in self.values
        return found if self.operator in ("=", "in") else not found

    def __str__(self) -> str:
        if self.operator == "exists":
            return self.key
        if self.operator == "!":
            return f"!{self.key}"
        if self.operator in ("in", "notin"):
            return f"{self.key} {self.operator} ({','.join(self.values)})"
        return f"{self.key}{self.operator}{self.values[0]}"


def selector_text(requirements: tuple[Requirement, ...]) -> str:
    """Requirements in the API server's selector syntax ("" selects everything)."""
    return ",".join(str(requirement) for requirement in requirements)


def parse_selector(text: str, *, field: bool = False) -> tuple[Requirement, ...]:
    """A label selector (or, with ``field``, a field selector); ValueError names the bad term."""
    requirements = []
    for term in _split_terms(text):
        requirements.append(_requirement(term, field=field))
    return tuple(requirements)


def _split_terms(text: str) -> list[str]:
    terms, depth, start = [], 0, 0
    for index, char in enumerate(text):
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if depth not in (0, 1):
            raise ValueError(f"unbalanced parentheses in {text!r}")
        if char == "," and depth == 0:
            terms.append(text[start:index].strip())
            start = index + 1
    if depth:
        raise ValueError(f"unbalanced parentheses in {text!r}")
    terms.append(text[start:].strip())
    if terms == [""]:
        return []
    if "" in terms:
        raise ValueError(f"empty requirement in {text!r}")
    return terms


def _requirement(term: str, *, field: bool) -> Requirement:
    if match := _TERM_SET.fullmatch(term):
        values = tuple(value.strip() for value in match.group("values").split(","))
        if values == ("",):
            raise ValueError(f"{term!r}: {match.group('op')} needs at least one value")
        requirement = Requirement(match.group("key"), match.group("op"), values)
    elif match := _TERM_COMPARE.fullmatch(term):
        requirement = Requirement(
            match.group("key"), OPERATOR_ALIASES[match.group("op")], (match.group("value"),)
        )
    elif match := _TERM_KEY.fullmatch(term):
        requirement = Requirement(match.group("key"), "!" if match.group("not") else "exists")
    else:
        raise ValueError(
            f"{term!r} is not a requirement such as 'key=value', 'key in (a,b)' or '!key'"
        )
    check_requirement(requirement, term, field=field)
    return requirement


def check_requirement(requirement: Requirement, term: str, *, field: bool) -> None:
    if field:
        if requirement.operator not in ("=", "!="):
            raise ValueError(f"{term!r}: field selectors support only =, == and !=")
        if not _FIELD_PATH.fullmatch(requirement.key):
            raise ValueError(
                f"{term!r}: {requirement.key!r} is not a field path such as 'metadata.name'"
            )
        if not all(_FIELD_VALUE.fullmatch(value) for value in requirement.values):
            raise ValueError(f"{term!r}: invalid field value")
        return
    prefix, _, name = requirement.key.rpartition("/")
    if (prefix and (len(prefix) > 253 or not DNS_SUBDOMAIN.fullmatch(prefix))) or not _label_name(
        name
    ):
        raise ValueError(f"{term!r}: {requirement.key!r} is not a label key")
    for value in requirement.values:
        if value and not _label_name(value):
            raise ValueError(f"{term!r}: {value!r} is not a label value")


def _label_name(text: str) -> bool:
    return len(text) <= 63 and bool(_LABEL_NAME.fullmatch(text))
