"""GitLab sources in the embedded default over real HTTP: GitLab's documented example deliveries
become CloudEvents at a real watcher with the documented attributes; every refusal delivers
nothing and leaves the other sources serving; the seed era's ConfigMap runs as it is."""

from __future__ import annotations

import json
import ssl
from pathlib import Path
from typing import Any

import pytest
from cloudevents.http import from_http as sdk_from_http

from functions.webhook.app import WebhookFunction
from gateways.function import Request
from gateways.settings import Settings
from tests.kinds.gitlab.gatewaykit import HOOK_TOKEN, Gateway, delivery, documents, post, start
from tests.kinds.gitlab.gitlab_api import GitLabAPI
from tests.kinds.gitlab.payloads import EXAMPLES, INSTANCE, ISSUE, PUSH
from tests.kit import (
    REFERENCE_DATA,
    free_port,
    self_signed,
    start_gateway,
    status_of,
    wait_until,
    write_registry,
)
from tests.watcher import RecordingWatcher

pytestmark = pytest.mark.timeout(60)
SEED = REFERENCE_DATA / "argo-events-v0.10-examples" / "gitlab.yaml"


async def test_documented_examples_arrive_as_cloudevents(
    gateway: Gateway, watcher: RecordingWatcher
) -> None:
    keys = []
    for example in EXAMPLES:
        body, sent = delivery(example)
        status, answer = await post(gateway.hook_url(), body, sent)
        assert status == 200, answer
        assert answer == {"status": "delivered", "events": 1}
        keys.append(sent["Idempotency-Key"])
    received = await watcher.wait_for(len(EXAMPLES))
    for example, key, request in zip(EXAMPLES, keys, received, strict=True):
        event = request.event
        assert event is not None
        assert event.type == example.type
        assert event.source == "/gateways/gitlab-gateway/project"
        assert event.attributes["subject"] == example.subject
        assert event.id == key
        assert event.json() == example.payload
        assert event.attributes["gitlabevent"] == example.header
        assert event.attributes["gitlabproject"] == example.project
        assert event.attributes["gitlabinstance"] == INSTANCE
        assert HOOK_TOKEN not in json.dumps(request.headers) + request.body.decode()
        decoded = sdk_from_http(request.headers, request.body)  # an independent decoder agrees
        assert decoded["type"] == example.type and decoded.data == example.payload


async def test_a_redelivery_keeps_its_id(gateway: Gateway, watcher: RecordingWatcher) -> None:
    body, sent = delivery(PUSH)
    assert (await post(gateway.hook_url(), body, sent))[0] == 200
    assert (await post(gateway.hook_url(), body, sent))[0] == 200
    first, second = await watcher.wait_for(2)
    assert first.event is not None and second.event is not None
    assert first.event.id == second.event.id == sent["Idempotency-Key"]


async def test_events_not_subscribed_are_ignored(
    gateway: Gateway, watcher: RecordingWatcher
) -> None:
    body, sent = delivery(ISSUE)
    assert await post(gateway.hook_url("/pushes"), body, sent) == (
        200,
        {"status": "ignored", "event": "Issue Hook"},
    )
    body, sent = delivery(ISSUE)
    sent["X-Gitlab-Event"] = "Confidential Issue Hook"  # a flag of its own, not subscribed
    assert (await post(gateway.hook_url(), body, sent))[1]["status"] == "ignored"
    sent["X-Gitlab-Event"] = "Emoji Hook"
    assert (await post(gateway.hook_url(), body, sent))[1]["status"] == "ignored"
    body, sent = delivery(PUSH)
    assert (await post(gateway.hook_url("/pushes"), body, sent))[0] == 200
    [request] = await watcher.wait_for(1)
    assert request.event is not None and request.event.type == "dev.gateways.gitlab.push"
    assert len(watcher.requests) == 1


@pytest.mark.parametrize(
    ("change", "status", "message"),
    [
        ({"token": None}, 401, "X-Gitlab-Token header required"),
        ({"token": "hook-s3creT"}, 403, "X-Gitlab-Token does not match"),
        ({"token": HOOK_TOKEN[:-1]}, 403, "X-Gitlab-Token does not match"),
        ({"token": HOOK_TOKEN + "x"}, 403, "X-Gitlab-Token does not match"),
        ({"token": "wrong", "body": b"not json"}, 403, "X-Gitlab-Token does not match"),
        ({"body": b'{"object_kind": "push"'}, 400, "body is not JSON"),
        ({"body": b"[]"}, 400, "body is JSON but not an object (list)"),
        ({"body": b"\xff\xfe{}"}, 400, "body is not UTF-8 text"),
        ({"event": None}, 400, "X-Gitlab-Event header required"),
        ({"event": "  "}, 400, "X-Gitlab-Event header required"),
    ],
)
async def test_refusals_deliver_nothing_and_others_keep_serving(
    gateway: Gateway,
    watcher: RecordingWatcher,
    change: dict[str, Any],
    status: int,
    message: str,
) -> None:
    body, sent = delivery(PUSH, change.get("token", HOOK_TOKEN))
    body = change.get("body", body)
    if "event" in change:
        sent.pop("X-Gitlab-Event")
        if change["event"] is not None:
            sent["X-Gitlab-Event"] = change["event"]
    for endpoint in ("/gitlab", "/pushes"):
        got, answer = await post(gateway.hook_url(endpoint), body, sent)
        assert (got, answer["error"].split(":")[0]) == (status, message)
        assert HOOK_TOKEN not in json.dumps(answer)
    assert watcher.requests == []
    # The process and the other sources are unaffected.
    assert (await post(gateway.hook_url("/other"), b"{}", {"content-type": "x/y"}))[0] == 200
    good_body, good = delivery(PUSH)
    assert (await post(gateway.hook_url(), good_body, good))[0] == 200
    assert len(await watcher.wait_for(2)) == 2
    assert status_of(gateway.runtime, "project").state == "running"


async def test_wrong_method_and_path(gateway: Gateway, watcher: RecordingWatcher) -> None:
    body, sent = delivery(PUSH)
    assert (await post(gateway.hook_url(), body, sent, method="PUT"))[0] == 405
    assert (await post(gateway.hook_url("/gitlab/x"), body, sent))[0] == 404
    assert watcher.requests == []


async def test_watcher_failing_is_a_503(gateway: Gateway, watcher: RecordingWatcher) -> None:
    watcher.answer(503, 503)
    body, sent = delivery(PUSH)
    status, answer = await post(gateway.hook_url(), body, sent)
    assert status == 503 and answer["error"] == "delivery to watchers failed"
    assert len(watcher.requests) == 2  # the first try and one retry; then GitLab may resend
    assert (await post(gateway.hook_url(), body, sent))[0] == 200
    assert watcher.requests[-1].event is not None
    assert watcher.requests[-1].event.id == sent["Idempotency-Key"]


async def test_without_a_secret_token_any_delivery_is_taken(
    tmp_path: Path, api: GitLabAPI, watcher: RecordingWatcher, secrets: None
) -> None:
    """The seed era had no secret token: such a source takes deliveries as they come."""
    gateway = await start(tmp_path, api, watcher, secretToken=None)
    try:
        await wait_until(lambda: status_of(gateway.runtime, "project").state == "running", 10)
        body, sent = delivery(PUSH, token=None)
        assert (await post(gateway.hook_url(), body, sent))[0] == 200
        [hook] = api.project_hooks()
        assert hook["_token"] is None  # and none was registered
    finally:
        await gateway.runtime.stop()


# ---------------------------------------------------------------------- deployed; the seed era


async def test_served_by_the_webhook_function(
    tmp_path: Path, api: GitLabAPI, watcher: RecordingWatcher, secrets: None
) -> None:
    """Deployed, every source shares the function's one port; the hook is registered too."""
    registry = write_registry(tmp_path / "registry.yaml", *documents(free_port(), api, watcher))
    settings = Settings(
        registry_file=registry, state_dir=tmp_path / "state", admin_port=free_port()
    )
    function = WebhookFunction(settings)
    await function.startup()
    try:
        await wait_until(lambda: len(api.project_hooks()) == 1, 10)
        body, sent = delivery(PUSH)
        lower = {name.lower(): value for name, value in sent.items()}
        response = await function.handle(Request("POST", "/gitlab", lower, body))
        assert response.status == 200, response.body
        wrong = {**lower, "x-gitlab-token": "nope"}
        assert (await function.handle(Request("POST", "/gitlab", wrong, body))).status == 403
        [request] = await watcher.wait_for(1)
        assert request.event is not None and request.event.id == sent["Idempotency-Key"]
    finally:
        await function.shutdown()


async def test_seed_era_configmap_runs_and_receives_on_its_own_ports(
    tmp_path: Path, watcher: RecordingWatcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The seed era's gitlab.yaml, only its ports and certificate paths made local: both
    entries receive; registering cannot work (``gitlabBaseUrl: YOUR_GITLAB_URL``) and says so,
    while the endpoints serve."""
    monkeypatch.setenv("GITLAB_ACCESS_ACCESSKEY", "glpat-seed")  # secret gitlab-access/accesskey
    cert, key = self_signed(tmp_path)
    plain, secure = free_port(), free_port()
    text = (
        SEED.read_text()
        .replace('port: "12000"', f'port: "{plain}"')
        .replace('port: "13000"', f'port: "{secure}"')
        .replace('serverCertPath: "some path in pod"', f'serverCertPath: "{cert}"')
        .replace('serverKeyPath: "some path in pod"', f'serverKeyPath: "{key}"')
    )
    registry = tmp_path / "gitlab.yaml"
    registry.write_text(text)
    runtime = await start_gateway(
        registry, tmp_path, gateway_type="gitlab", watchers=(watcher.url,)
    )
    try:
        names = ("example", "example-secure")
        await wait_until(lambda: {status_of(runtime, n).state for n in names} == {"degraded"}, 10)
        for name in names:
            reason = status_of(runtime, name).reason
            assert "gitlabBaseUrl 'YOUR_GITLAB_URL' is not an http or https URL" in reason
        body, sent = delivery(PUSH, token=None)  # the seed era had no secret token
        assert (await post(f"http://127.0.0.1:{plain}/push", body, sent))[0] == 200
        context = ssl.create_default_context(cafile=str(cert))
        body, sent = delivery(PUSH, token=None)
        status, _ = await post(f"https://127.0.0.1:{secure}/push", body, sent, ssl=context)
        assert status == 200
        first, second = await watcher.wait_for(2)
        assert first.event is not None and second.event is not None
        assert first.event.source == "/gateways/gitlab-event-source/example"
        assert second.event.source == "/gateways/gitlab-event-source/example-secure"
        assert first.event.type == second.event.type == "dev.gateways.gitlab.push"
    finally:
        await runtime.stop()
