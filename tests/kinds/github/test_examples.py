"""GitHub's own example deliveries (every example of every event type in
``@octokit/webhooks-examples``), signed and posted with GitHub's headers over real HTTP to
``gateways up``'s listener, arrive at a real watcher as the documented CloudEvents."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from cloudevents.http import from_http as sdk_from_http

from gateways.runtime import GatewayRuntime
from gateways.tracing import derived
from tests.kinds.github.support import (
    GATEWAY,
    HOOK_ID,
    SECRET_ENV,
    delivery,
    expected_subject,
    expected_type,
    post,
    registry,
    source,
)
from tests.kit import free_port, start_gateway
from tests.watcher import Recorded, RecordingWatcher

pytestmark = pytest.mark.timeout(180)
Example = tuple[str, int, dict[str, Any]]  # event name, index, payload


def every_example(webhook_examples: list[dict[str, Any]]) -> list[Example]:
    return [
        (kind["name"], index, payload)
        for kind in webhook_examples
        for index, payload in enumerate(kind["examples"])
    ]


@pytest.fixture
async def receiving(
    tmp_path: Path, watcher: RecordingWatcher, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[GatewayRuntime, str]]:
    for name, value in SECRET_ENV.items():
        monkeypatch.setenv(name, value)
    port = free_port()
    runtime = await start_gateway(
        registry(tmp_path, watcher.url, {"example": source(port)}), tmp_path
    )
    yield runtime, f"http://127.0.0.1:{port}/push"
    await runtime.stop()


def _by_delivery(watcher: RecordingWatcher) -> dict[str, Recorded]:
    return {r.headers["ce-id"]: r for r in watcher.requests if "ce-id" in r.headers}


async def test_every_example_of_every_event_type_arrives_as_documented(
    receiving: tuple[GatewayRuntime, str],
    watcher: RecordingWatcher,
    webhook_examples: list[dict[str, Any]],
) -> None:
    _, url = receiving
    examples = every_example(webhook_examples)
    assert len({name for name, _, _ in examples}) >= 50 and len(examples) >= 300
    sent: dict[str, Example] = {}
    async with aiohttp.ClientSession() as session:
        for name, index, payload in examples:
            body, headers = delivery(name, payload)
            status, answer = await post(session, url, body, headers)
            assert status == 200, (name, index, answer)
            if name == "ping":  # answered, never delivered
                assert answer["status"] == "pong" and answer["hookid"] == HOOK_ID
                continue
            assert answer == {
                "status": "delivered",
                "events": 1,
                "delivery": headers["X-GitHub-Delivery"],
            }
            sent[headers["X-GitHub-Delivery"]] = (name, index, payload)
    received = _by_delivery(watcher)
    assert len(watcher.requests) == len(sent) and set(received) == set(sent)
    for delivery_id, (name, index, payload) in sent.items():
        event = received[delivery_id].event
        assert event is not None, (name, index, received[delivery_id].event_error)
        assert event.id == delivery_id
        assert event.type == expected_type(name, payload), (name, index)
        assert event.source == f"/gateways/{GATEWAY}/example"
        assert event.attributes.get("subject") == expected_subject(payload), (name, index)
        assert event.attributes["githubevent"] == name
        assert event.attributes["githubdelivery"] == delivery_id
        assert event.attributes["githubhookid"] == HOOK_ID
        assert event.attributes.get("githubrepo") == (payload.get("repository") or {}).get(
            "full_name"
        )
        assert event.content_type == "application/json"
        assert event.json() == payload, (name, index)  # JSON as JSON, never base64


async def test_a_few_in_full_and_through_an_independent_decoder(
    receiving: tuple[GatewayRuntime, str],
    watcher: RecordingWatcher,
    webhook_examples: list[dict[str, Any]],
) -> None:
    _, url = receiving
    first = {kind["name"]: kind["examples"][0] for kind in webhook_examples}
    chosen = [
        ("push", first["push"]),
        ("issues", next(p for p in _all(webhook_examples, "issues") if p["action"] == "opened")),
        ("pull_request", first["pull_request"]),
        ("installation", first["installation"]),  # no repository: no subject, no githubrepo
    ]
    async with aiohttp.ClientSession() as session:
        for name, payload in chosen:
            body, headers = delivery(name, payload)
            assert (await post(session, url, body, headers))[0] == 200
    requests = await watcher.wait_for(len(chosen))
    for (name, payload), request in zip(chosen, requests, strict=True):
        event = request.event
        assert event is not None
        expected = {
            "specversion": "1.0",
            "id": event.id,
            "source": f"/gateways/{GATEWAY}/example",
            "type": expected_type(name, payload),
            "time": event.attributes["time"],
            "datacontenttype": "application/json",
            "githubevent": name,
            "githubdelivery": event.id,
            "githubhookid": HOOK_ID,
            "traceparent": derived(event.source, event.id).traceparent,  # a trace started here
        }
        if expected_subject(payload) is not None:
            expected["subject"] = expected_subject(payload)
        if payload.get("repository"):
            expected["githubrepo"] = payload["repository"]["full_name"]
        assert event.attributes == expected
        uuid.UUID(event.id)  # the X-GitHub-Delivery GUID
        sdk_event = sdk_from_http(request.headers, request.body)
        assert sdk_event["id"] == event.id and sdk_event["type"] == expected["type"]
        assert sdk_event.data == payload
    push, opened, pull, installation = (r.event for r in requests)
    assert push is not None and push.type == "dev.gateways.github.push"
    assert push.attributes["subject"] == "Codertocat/Hello-World"
    assert opened is not None and opened.type == "dev.gateways.github.issues.opened"
    assert pull is not None and pull.type.startswith("dev.gateways.github.pull_request.")
    assert installation is not None and "subject" not in installation.attributes


async def test_one_example_of_each_type_as_a_form_delivery(
    receiving: tuple[GatewayRuntime, str],
    watcher: RecordingWatcher,
    webhook_examples: list[dict[str, Any]],
) -> None:
    """The hook's "form" content type: the ``payload`` field arrives as its JSON."""
    _, url = receiving
    sent = {}
    async with aiohttp.ClientSession() as session:
        for kind in webhook_examples:
            if kind["name"] == "ping":
                continue
            payload = kind["examples"][-1]
            body, headers = delivery(kind["name"], payload, form=True)
            assert body.startswith(b"payload=")
            assert (await post(session, url, body, headers))[0] == 200, kind["name"]
            sent[headers["X-GitHub-Delivery"]] = (kind["name"], payload)
    received = _by_delivery(watcher)
    assert set(received) == set(sent)
    for delivery_id, (name, payload) in sent.items():
        event = received[delivery_id].event
        assert event is not None and event.content_type == "application/json"
        assert event.type == expected_type(name, payload)
        assert json.loads(received[delivery_id].body) == payload


def _all(webhook_examples: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    return next(kind["examples"] for kind in webhook_examples if kind["name"] == name)
