"""Calendar config: schedule or interval, timezone, exclusions, user payload, catch-up."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from functions.calendar.config import CalendarConfig, CatchUp
from gateways.config import ConfigError, parse_source
from tests.kit import parser, problem_lister

parse = parser("calendar", CalendarConfig)
problems = problem_lister("calendar")


def test_schedule_with_everything() -> None:
    config = parse(
        """
        schedule: "0 9 * * 1-5"
        timezone: Europe/Berlin
        recurrence: ["EXDATE;TZID=Europe/Berlin:20241225T090000,20241226T090000"]
        exclusionDates: [2025-01-01, "2025-05-01"]
        userPayload: '{"team": "ops"}'
        catchUp: {enabled: false, maxDuration: 30m, maxTicks: 5}
        """
    )
    assert config.schedule == "0 9 * * 1-5" and config.interval is None
    assert config.zone.key == "Europe/Berlin"
    assert config.exclusion_dates == {
        date(2024, 12, 25),
        date(2024, 12, 26),
        date(2025, 1, 1),
        date(2025, 5, 1),
    }
    assert config.user_payload == {"team": "ops"}
    assert config.catch_up == CatchUp(
        enabled=False, max_duration=timedelta(minutes=30), max_ticks=5
    )


def test_interval_and_defaults() -> None:
    config = parse("interval: 1m30s")
    assert config.interval == timedelta(seconds=90)
    assert config.timezone == "UTC"
    assert config.user_payload is None
    assert config.catch_up == CatchUp()


def test_descriptors_and_every() -> None:
    assert parse("schedule: '@hourly'").schedule == "0 * * * *"
    assert parse("schedule: '@every 5s'").interval == timedelta(seconds=5)


def test_catch_up_partial_keeps_defaults() -> None:
    config = parse("interval: 10s\ncatchUp: {maxTicks: 3}")
    assert config.catch_up == CatchUp(enabled=True, max_duration=timedelta(hours=1), max_ticks=3)


def test_non_json_payload_is_kept() -> None:
    assert parse("interval: 10s\nuserPayload: hello").user_payload == "hello"


def test_every_problem_is_reported_at_once() -> None:
    found = problems(
        """
        schedule: "61 * * * *"
        timezone: Mars/Olympus
        recurrence: ["RRULE:FREQ=DAILY", "EXDATE:2019"]
        exclusionDates: [tomorrow]
        catchUp: {maxTicks: 0, later: true}
        colour: blue
        """
    )
    assert found == [
        "schedule: '61 * * * *' is not a 5-field cron expression or @descriptor",
        "timezone: 'Mars/Olympus' is not an IANA timezone",
        "recurrence[0]: 'RRULE:FREQ=DAILY' is not an EXDATE line "
        "(only exclusion dates are supported)",
        "recurrence[1]: '2019' is not an iCalendar date or date-time",
        "exclusionDates[0]: 'tomorrow' is not a date (YYYY-MM-DD)",
        "catchUp.maxTicks: 0 is less than 1",
        "catchUp.later: unknown field",
        "colour: unknown field",
    ]


def test_schedule_or_interval() -> None:
    assert problems("timezone: UTC") == ["schedule: one of schedule or interval is required"]
    assert problems("schedule: '* * * * *'\ninterval: 10s") == [
        "interval: give schedule or interval, not both"
    ]
    assert problems("interval: -5s") == ["interval: must be positive"]
    assert problems("interval: soon") == [
        "interval: 'soon' is not a duration such as '10s', '1m30s' or '250ms'"
    ]


def test_problems_name_the_source_and_the_field() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_source("calendar", "orders", "timezone: Mars/Olympus\ninterval: 1s")
    assert caught.value.problems == (
        "calendar/orders: timezone: 'Mars/Olympus' is not an IANA timezone",
    )
    assert str(caught.value) == "calendar/orders: timezone: 'Mars/Olympus' is not an IANA timezone"
