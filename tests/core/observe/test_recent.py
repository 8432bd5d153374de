"""The recorder behind the status page and `gateways tail`: bounded, counting each outcome,
following by sequence number, and rendering events without secrets or markup surprises."""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from gateways.delivery.report import DeliveryReport, WatcherOutcome
from gateways.events.model import CloudEvent
from gateways.observe.recent import DATA_KEPT, RATE_BUCKETS, RATE_STEP, Recorder, SourceLog
from gateways.observe.render import REDACTED, attributes_json, entry_json
from gateways.source import Origin

HOOK = Origin("hooks", "example", "webhook")
TICK = Origin("ticks", "fast", "calendar")
DELIVERED = WatcherOutcome("http://127.0.0.1:1/", ok=True, status=200, attempts=1)
REFUSED = WatcherOutcome("http://127.0.0.1:1/", ok=False, status=503, attempts=3, error="503")
DEAD = WatcherOutcome("http://127.0.0.1:1/", ok=True, status=400, attempts=1, dead_lettered=True)


def event(number: int, data: bytes | None = b"{}", **extra: str) -> CloudEvent:
    attributes = {"specversion": "1.0", "id": f"e-{number}", "source": "/s", "type": "t", **extra}
    return CloudEvent(attributes, data)


def record(recorder: Recorder, origin: Origin, number: int, *outcomes: WatcherOutcome) -> None:
    log = recorder.received(origin)
    built = event(number)
    recorder.finished(log, built, DeliveryReport(built.id, outcomes or (DELIVERED,)))


def everything(origin: Origin) -> bool:
    return True


def test_counts_each_outcome_and_keeps_the_last_n_per_source() -> None:
    recorder = Recorder(per_source=5)
    for number in range(1, 13):
        record(recorder, HOOK, number)
    record(recorder, HOOK, 13, REFUSED)
    record(recorder, HOOK, 14, DELIVERED, DEAD)
    failing = recorder.received(HOOK)
    recorder.failed(failing, None, ValueError("invalid CloudEvent: id: is required"))
    in_flight = recorder.received(HOOK)
    log = recorder.log("hooks", "example")
    assert log is not None and in_flight is log
    assert (log.received, log.delivered, log.failed, log.dead_lettered) == (16, 12, 2, 1)
    assert log.in_flight == 1
    assert [entry.seq for entry in log.recent] == [11, 12, 13, 14, 15]
    entries, gaps = recorder.since(0, everything, 100)
    outcomes = [entry_json(entry)["outcome"] for entry in entries]
    assert outcomes == ["delivered", "delivered", "failed", "dead-lettered", "failed"]
    assert entry_json(entries[-1])["error"] == "invalid CloudEvent: id: is required"
    assert gaps == []


def test_since_follows_in_order_across_sources_and_names_what_fell_out() -> None:
    recorder = Recorder(per_source=3)
    for number in range(1, 7):
        record(recorder, HOOK if number % 2 else TICK, number)
    entries, gaps = recorder.since(2, everything, 100)
    assert [entry.attributes["id"] for entry in entries if entry.attributes] == [
        "e-3",
        "e-4",
        "e-5",
        "e-6",
    ]
    assert gaps == []
    only_ticks, _ = recorder.since(0, lambda origin: origin.source == "fast", 100)
    assert [entry.seq for entry in only_ticks] == [2, 4, 6]
    # A reader that asks for at most 2 gets the oldest two, and resumes from the second.
    first, _ = recorder.since(2, everything, 2)
    assert [entry.seq for entry in first] == [3, 4]
    # With after 0 (the backlog), the newest ones.
    newest, _ = recorder.since(0, everything, 2)
    assert [entry.seq for entry in newest] == [5, 6]
    for number in range(7, 15):
        record(recorder, HOOK, number)
    _, gaps = recorder.since(6, everything, 100)
    assert gaps == [HOOK]


def test_memory_stays_bounded_by_sources_and_data_kept() -> None:
    recorder = Recorder(per_source=2, max_sources=3)
    for number in range(10):
        log = recorder.received(Origin("g", f"s{number}", "webhook"))
        big = event(number, b"x" * 100_000)
        recorder.finished(log, big, DeliveryReport(big.id, (DELIVERED,)))
    assert [log.origin.source for log in recorder.logs()] == ["s7", "s8", "s9"]
    entry = recorder.logs()[-1].recent[-1]
    assert entry.data is not None and len(entry.data) == DATA_KEPT + 1 and entry.size == 100_000
    shown = entry_json(entry)
    assert shown["dataTruncated"] and shown["dataSize"] == 100_000
    assert shown["data"] == "x" * DATA_KEPT
    recorder.forget("g")
    assert recorder.logs() == []


def test_rate_ring_counts_per_step_and_forgets_old_steps() -> None:
    log = SourceLog(HOOK, 5)
    start = 1_000_000.0  # a multiple of RATE_STEP
    for offset in (0.0, 1.0, RATE_STEP + 0.5):
        log.count(start + offset)
    series = log.rate(start + RATE_STEP + 1)
    assert len(series) == RATE_BUCKETS and series[-2:] == [2, 1] and sum(series) == 3
    later = log.rate(start + RATE_STEP * RATE_BUCKETS)  # the first step has left the window
    assert sum(later) == 1
    assert sum(log.rate(start + RATE_STEP * (2 * RATE_BUCKETS))) == 0


def test_data_shown_as_text_cut_on_a_character_boundary_or_as_base64() -> None:
    recorder = Recorder()
    cut = "a" + "é" * DATA_KEPT  # é is two bytes: the cut at DATA_KEPT falls inside one
    for data in (cut.encode(), b"\xff\x00\x01binary", None):
        log = recorder.received(HOOK)
        built = event(1, data)
        recorder.finished(log, built, DeliveryReport(built.id, (DELIVERED,)))
    text, binary, empty = (entry_json(entry) for entry in recorder.since(0, everything, 10)[0])
    assert text["data"] == "a" + "é" * (DATA_KEPT // 2 - 1) and text["dataTruncated"]
    assert binary["dataBase64"] == "/wABYmluYXJ5" and not binary["dataTruncated"]
    assert "data" not in empty and "dataSize" not in empty


def test_secret_headers_query_parameters_and_extensions_are_redacted() -> None:
    headers = {
        "content-type": "application/json",
        "x-hub-signature-256": "sha256=abc123sig",
        "x-gitlab-token": "gl-token-value",
        "x-api-key": "key-value",
        "cookie": "session=cookie-value",
        "x-request-id": "r-1",
    }
    shown = attributes_json(
        {
            "id": "1",
            "httpheaders": json.dumps(headers),
            "httpquery": "page=2&access_token=query-token&q=a%20b&api_key=k2",
            "authtoken": "ext-secret",
        }
    )
    text = json.dumps(shown)
    for secret in ("abc123sig", "gl-token-value", "key-value", "cookie-value", "query-token"):
        assert secret not in text
    kept = json.loads(shown["httpheaders"])
    assert kept["x-request-id"] == "r-1" and kept["x-api-key"] == REDACTED
    assert shown["httpquery"] == f"page=2&access_token={REDACTED}&q=a%20b&api_key={REDACTED}"
    assert shown["authtoken"] == REDACTED
    assert attributes_json({"httpheaders": "not json"})["httpheaders"] == REDACTED


async def test_wait_returns_on_a_matching_event_on_timeout_or_on_close() -> None:
    recorder = Recorder()
    record(recorder, TICK, 1)
    waiting = asyncio.create_task(recorder.wait(1, lambda o: o.source == "example", 10))
    await asyncio.sleep(0)
    record(recorder, TICK, 2)  # not the source waited for
    await asyncio.sleep(0.05)
    assert not waiting.done()
    record(recorder, HOOK, 3)
    await asyncio.wait_for(waiting, 2)
    started = time.monotonic()
    await recorder.wait(3, everything, 0.2)
    assert 0.15 < time.monotonic() - started < 2
    closing = asyncio.create_task(recorder.wait(3, everything, 30))
    await asyncio.sleep(0)
    recorder.close()
    await asyncio.wait_for(closing, 2)
    await asyncio.wait_for(recorder.wait(3, everything, 30), 1)  # closed: at once


@pytest.mark.parametrize("name", ["authorization", "xsignature", "password", "sessionid"])
def test_secret_looking_extension_names(name: str) -> None:
    assert attributes_json({name: "v"})[name] == REDACTED
