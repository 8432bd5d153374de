"""The JSON log format, as unit tests: one object per record with the context that is known,
tracebacks inside it, and GATEWAYS_LOG_FORMAT read with the variable named when bad."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from gateways import logs
from gateways.errors import SettingsError
from gateways.settings import Settings


@pytest.fixture
def stream() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    output = io.StringIO()
    logs.configure("DEBUG", "json", output)
    try:
        yield output
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in saved[0]:
            root.addHandler(handler)
        root.setLevel(saved[1])
        logging.captureWarnings(False)


def _records(stream: io.StringIO) -> list[dict[str, str]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_a_record_is_one_json_line_with_the_bound_context(stream: io.StringIO) -> None:
    log = logging.getLogger("gateways.test")
    log.info("plain")
    token = logs.bind(gateway="orders", source="eu", kind="kafka")
    try:
        log.warning("event %s refused\nby %s", "e-1", "w", extra={"event_id": "e-1"})
    finally:
        logs.unbind(token)
    log.info("after")
    plain, refused, after = _records(stream)
    assert plain.keys() == {"time", "level", "logger", "message"}
    assert plain["logger"] == "gateways.test" and plain["level"] == "INFO"
    assert refused["message"] == "event e-1 refused\nby w"  # one line on the wire all the same
    assert (refused["gateway"], refused["source"], refused["kind"]) == ("orders", "eu", "kafka")
    assert refused["event_id"] == "e-1"
    assert "gateway" not in after
    assert len(stream.getvalue().splitlines()) == 3


def test_a_traceback_stays_inside_its_record(stream: io.StringIO) -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        logging.getLogger("gateways.test").exception("failed")
    (record,) = _records(stream)
    assert record["level"] == "ERROR" and "ValueError: boom" in record["exception"]


def test_python_warnings_become_json_records(stream: io.StringIO) -> None:
    import warnings

    warnings.warn("old thing", DeprecationWarning, stacklevel=1)
    (record,) = _records(stream)
    assert record["logger"] == "py.warnings" and "old thing" in record["message"]


def test_the_format_setting() -> None:
    assert Settings.from_env({}).log_format == "text"
    assert Settings.from_env({"GATEWAYS_LOG_FORMAT": "JSON"}).log_format == "json"
    with pytest.raises(SettingsError, match="GATEWAYS_LOG_FORMAT: 'xml' is not text or json"):
        Settings.from_env({"GATEWAYS_LOG_FORMAT": "xml"})
