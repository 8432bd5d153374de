"""Calendar config: a cron ``schedule`` or an ``interval``, in a timezone, minus exclusions."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter

from gateways.config.fields import Fields, parse_duration

DESCRIPTORS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
_EXDATE = re.compile(r"^EXDATE(?P<params>(;[A-Z-]+=[^:;]+)*):(?P<values>.+)$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class CatchUp:
    """How far back missed ticks are fired after downtime; older ones are skipped and logged."""

    enabled: bool = True
    max_duration: timedelta = timedelta(hours=1)
    max_ticks: int = 100


@dataclass(frozen=True, slots=True)
class CalendarConfig:
    schedule: str | None
    interval: timedelta | None
    timezone: str
    exclusion_dates: frozenset[date]
    user_payload: Any = None
    catch_up: CatchUp = CatchUp()

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @classmethod
    def parse(cls, fields: Fields) -> CalendarConfig:
        schedule = fields.str("schedule")
        interval = fields.duration("interval")
        if schedule is not None:
            schedule = schedule.strip()
            if schedule.startswith("@every "):
                try:
                    interval, schedule = parse_duration(schedule[len("@every ") :]), None
                except ValueError as exc:
                    fields.problem("schedule", str(exc))
                    schedule = None
            else:
                expression = DESCRIPTORS.get(schedule.lower(), schedule)
                if len(expression.split()) != 5 or not croniter.is_valid(expression):
                    fields.problem(
                        "schedule", f"{schedule!r} is not a 5-field cron expression or @descriptor"
                    )
                schedule = expression
        if schedule is None and interval is None and not fields.problems:
            fields.problem("schedule", "one of schedule or interval is required")
        if schedule is not None and interval is not None:
            fields.problem("interval", "give schedule or interval, not both")
        if interval is not None and interval <= timedelta(0):
            fields.problem("interval", "must be positive")
        timezone = fields.str("timezone", "UTC", max_length=255) or "UTC"
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: no such file name
            fields.problem("timezone", f"{timezone[:60]!r} is not an IANA timezone")
            timezone = "UTC"
        exclusions = _exdates(fields) | _exclusion_dates(fields)
        payload = _user_payload(fields.get("userPayload"))
        return cls(schedule, interval, timezone, frozenset(exclusions), payload, _catch_up(fields))


def _user_payload(value: Any) -> Any:
    """A JSON string is parsed so the payload travels as JSON; anything else is kept as given."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _exdates(fields: Fields) -> set[date]:
    dates: set[date] = set()
    for index, line in enumerate(fields.str_list("recurrence")):
        match = _EXDATE.match(line.strip())
        if not match:
            fields.problem(
                f"recurrence[{index}]",
                f"{line!r} is not an EXDATE line (only exclusion dates are supported)",
            )
            continue
        for value in match.group("values").split(","):
            try:
                dates.add(_date_of(value.strip()))
            except ValueError:
                fields.problem(
                    f"recurrence[{index}]", f"{value!r} is not an iCalendar date or date-time"
                )
    return dates


def _date_of(value: str) -> date:
    for layout in ("%Y%m%dT%H%M%SZ", "%Y%m%dT%H%M%S", "%Y%m%d"):
        try:
            return datetime.strptime(value, layout).date()
        except ValueError:
            continue
    raise ValueError(value)


def _exclusion_dates(fields: Fields) -> set[date]:
    value = fields.get("exclusionDates")
    if value is None:
        return set()
    if not isinstance(value, list):
        fields.problem("exclusionDates", "expected a list of dates (YYYY-MM-DD)")
        return set()
    dates: set[date] = set()
    for index, item in enumerate(value):
        if isinstance(item, datetime):
            dates.add(item.date())
        elif isinstance(item, date):
            dates.add(item)
        else:
            try:
                dates.add(datetime.fromisoformat(str(item)).date())
            except ValueError:
                fields.problem(f"exclusionDates[{index}]", f"{item!r} is not a date (YYYY-MM-DD)")
    return dates


def _catch_up(fields: Fields) -> CatchUp:
    sub = fields.sub("catchUp")
    defaults = CatchUp()  # a slotted dataclass has no class-level defaults
    if sub is None:
        return defaults
    catch_up = CatchUp(
        enabled=sub.bool("enabled", True),
        max_duration=sub.duration("maxDuration", defaults.max_duration) or defaults.max_duration,
        max_ticks=sub.int("maxTicks", defaults.max_ticks, minimum=1) or defaults.max_ticks,
    )
    sub.finish()
    return catch_up
