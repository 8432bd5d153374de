"""Slack sources over real HTTP in the embedded default: Slack's published examples, signed as
Slack signs them, become CloudEvents at a real watcher; every refusal is a 4xx with nothing
delivered while the other sources keep serving."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml
from cloudevents.http import from_http as sdk_from_http

from gateways.runtime import GatewayRuntime
from tests.kinds.slack import examples
from tests.kinds.slack.examples import form_body, interaction_body, json_body, sign
from tests.kit import (
    REFERENCE_DATA,
    configmap,
    free_port,
    self_signed,
    start_gateway,
    status_of,
    write_registry,
)
from tests.watcher import RecordingWatcher

pytestmark = pytest.mark.timeout(60)

SECRET = "e2e-signing-secret"
Gateway = tuple[GatewayRuntime, str]  # the running gateway and the base URL of its Slack port
JSON = "application/json"
FORM = "application/x-www-form-urlencoded"
# The worked example is from 2018: a window of about eleven years lets it through as it is.
WIDE_WINDOW = "100000h"


async def post(
    url: str, body: bytes, content_type: str = JSON, **headers: str
) -> tuple[int, bytes, dict[str, str]]:
    sent = {"content-type": content_type, **{k.replace("_", "-"): v for k, v in headers.items()}}
    async with aiohttp.ClientSession() as session, session.post(url, data=body, headers=sent) as r:
        return r.status, await r.read(), {k.lower(): v for k, v in r.headers.items()}


def signed(body: bytes, secret: str = SECRET, at: float | None = None) -> dict[str, str]:
    timestamp = str(int(time.time() if at is None else at))
    return {
        "x_slack_request_timestamp": timestamp,
        "x_slack_signature": sign(secret, timestamp, body),
    }


@pytest.fixture
async def gateway(
    tmp_path: Path, watcher: RecordingWatcher, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Gateway]:
    monkeypatch.setenv("SLACK_SIGNING", SECRET)
    monkeypatch.setenv("SLACK_WALKTHROUGH", examples.SIGNING_SECRET)
    monkeypatch.setenv("SLACK_TOKEN", "XXYYZZ")  # the token of the Events API examples
    monkeypatch.setenv("SLACK_BOTH_TOKEN", "9s8d9as89d8as9d8as989")  # block_actions' token
    port = free_port()

    def hook(path: str) -> dict[str, Any]:
        return {"endpoint": path, "port": port}

    registry = write_registry(
        tmp_path / "registry.yaml",
        configmap(
            "chat",
            "slack",
            {
                "events": {
                    "hook": hook("/slack/events"),
                    "signingSecret": {"env": "SLACK_SIGNING"},
                },
                "legacy": {"hook": hook("/slack/legacy"), "token": {"env": "SLACK_TOKEN"}},
                "both": {
                    "hook": hook("/slack/both"),
                    "signingSecret": {"env": "SLACK_SIGNING"},
                    "token": {"env": "SLACK_BOTH_TOKEN"},
                },
                "walkthrough": {
                    "hook": hook("/slack/walkthrough"),
                    "signingSecret": {"env": "SLACK_WALKTHROUGH"},
                    "replayWindow": WIDE_WINDOW,
                },
            },
            watchers=[watcher.url],
            delivery={"retry": 1, "backoffDelay": "PT0.05S"},
        ),
        configmap("hooks", "webhook", {"plain": hook("/plain")}, watchers=[watcher.url]),
    )
    runtime = await start_gateway(registry, tmp_path)
    yield runtime, f"http://127.0.0.1:{port}"
    await runtime.stop()


async def test_events_api_examples_become_cloudevents(
    gateway: Gateway, watcher: RecordingWatcher
) -> None:
    _, base = gateway
    sent = [
        examples.APP_MENTION,
        examples.REACTION_ADDED,
        examples.CHANNEL_CREATED,
        examples.APP_RATE_LIMITED,
    ]
    for document in sent:
        body = json_body(document)
        status, answer, _ = await post(base + "/slack/events", body, **signed(body))
        assert (status, answer) == (200, b""), answer  # a body would be shown to the user
    received = await watcher.wait_for(4)
    events = [r.event for r in received]
    assert all(e is not None for e in events)
    mention, reaction, created, limited = events
    assert mention is not None and reaction is not None
    assert created is not None and limited is not None
    assert mention.type == "dev.gateways.slack.app_mention"
    assert mention.source == "/gateways/chat/events"
    assert mention.id == "Ev123ABC456"
    assert mention.attributes["subject"] == "C123ABC456"
    assert mention.attributes["time"].startswith("1973-11-29T21:33:09")  # event_time 123456789
    assert {k: mention.attributes[k] for k in ("slackteam", "slackevent", "slackchannel")} == {
        "slackteam": "T123ABC456",
        "slackevent": "app_mention",
        "slackchannel": "C123ABC456",
    }
    assert mention.attributes["slackuser"] == "U061F7AUR"
    assert mention.content_type == JSON
    assert mention.json() == {k: v for k, v in examples.APP_MENTION.items() if k != "token"}
    assert (reaction.type, reaction.attributes["subject"]) == (
        "dev.gateways.slack.reaction_added",
        "C123ABC456",
    )
    assert (created.type, created.attributes["subject"]) == (
        "dev.gateways.slack.channel_created",
        "C024BE91L",
    )
    assert (limited.type, limited.attributes["subject"]) == (
        "dev.gateways.slack.app_rate_limited",
        "T123456",
    )
    # An independent decoder agrees, and no verification token reaches a watcher.
    sdk_event = sdk_from_http(received[0].headers, received[0].body)
    assert sdk_event["id"] == "Ev123ABC456" and sdk_event["slackchannel"] == "C123ABC456"
    for request in received:
        assert b"XXYYZZ" not in request.body and b"Jhj5dZrVaK7ZwHHjRyZWjbDl" not in request.body


async def test_url_verification_is_answered_after_verification_and_not_delivered(
    gateway: Gateway, watcher: RecordingWatcher
) -> None:
    _, base = gateway
    body = json_body(examples.URL_VERIFICATION)
    status, answer, headers = await post(base + "/slack/events", body, **signed(body))
    assert (status, answer) == (200, b"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P")
    assert headers["content-type"].startswith("text/plain")
    unsigned, answer, _ = await post(base + "/slack/events", body)
    assert unsigned == 401 and b"3eZbrw" not in answer
    assert (await post(base + "/slack/plain-nowhere", body))[0] == 404
    assert (await post(base + "/plain", b'{"n": 1}'))[0] == 200
    [only] = await watcher.wait_for(1)  # the webhook's; the handshake delivered nothing
    assert only.event is not None and only.event.type == "dev.gateways.webhook.request"


async def test_interactions_and_slash_commands(gateway: Gateway, watcher: RecordingWatcher) -> None:
    _, base = gateway
    bodies = [
        interaction_body(examples.BLOCK_ACTIONS),
        interaction_body(examples.SHORTCUT),
        interaction_body(examples.MESSAGE_ACTION),
        form_body(examples.SLASH_COMMAND),
    ]
    for body in bodies:
        status, answer, _ = await post(base + "/slack/events", body, FORM, **signed(body))
        assert (status, answer) == (200, b"")
    events = [r.event for r in await watcher.wait_for(4)]
    actions, shortcut, message, command = events
    assert actions is not None and shortcut is not None
    assert message is not None and command is not None
    assert actions.type == "dev.gateways.slack.interaction.block_actions"
    assert actions.id == "12321423423.333649436676.d8c1bb837935619ccad0f624c448ffb3"
    assert actions.attributes["subject"] == "CBR2V3XEX"
    assert actions.attributes["slackactionid"] == "WaXA"
    assert actions.json()["actions"][0]["value"] == "click_me_123"
    assert "token" not in actions.json()
    assert shortcut.type == "dev.gateways.slack.interaction.shortcut"
    assert shortcut.attributes["subject"] == "TXXXXXXXX"  # a global shortcut has no channel
    assert shortcut.attributes["slackcallbackid"] == "shortcut_create_task"
    assert message.type == "dev.gateways.slack.interaction.message_action"
    assert message.attributes["subject"] == "D0LFFBKLZ"
    assert command.type == "dev.gateways.slack.command"
    assert command.attributes["subject"] == "/weather"
    assert command.json()["text"] == "94070" and "token" not in command.json()


async def test_the_signing_walk_through_arrives_as_slack_sent_it(
    gateway: Gateway, watcher: RecordingWatcher
) -> None:
    _, base = gateway
    headers = {
        "x_slack_request_timestamp": examples.SIGNING_TIMESTAMP,
        "x_slack_signature": examples.SIGNING_SIGNATURE,
    }
    status, answer, _ = await post(
        base + "/slack/walkthrough", examples.SIGNING_BODY, FORM, **headers
    )
    assert status == 200, answer
    [request] = await watcher.wait_for(1)
    event = request.event
    assert event is not None
    assert event.type == "dev.gateways.slack.command"
    assert event.id == "398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
    assert event.attributes["subject"] == "/webhook-collect"
    assert event.attributes["slackuser"] == "U2CERLKJA"
    assert "xyzz0WbapA4vBCDEFasx0q6G" not in request.body.decode()
    # With the default five-minute window the same request is a replay from 2018.
    status, answer, _ = await post(base + "/slack/events", examples.SIGNING_BODY, FORM, **headers)
    assert status == 403 and b"outside the 300 s window" in answer


async def test_a_slack_retry_keeps_the_id(gateway: Gateway, watcher: RecordingWatcher) -> None:
    _, base = gateway
    body = json_body(examples.APP_MENTION)
    assert (await post(base + "/slack/events", body, **signed(body)))[0] == 200
    retry = {"x_slack_retry_num": "1", "x_slack_retry_reason": "http_timeout"}
    assert (await post(base + "/slack/events", body, **signed(body), **retry))[0] == 200
    first, second = [r.event for r in await watcher.wait_for(2)]
    assert first is not None and second is not None
    assert first.id == second.id == "Ev123ABC456"  # a watcher drops the duplicate by id
    assert second.attributes["slackretry"] == "1"
    assert second.attributes["slackretryreason"] == "http_timeout"


async def test_a_failed_delivery_is_503_so_slack_retries(
    gateway: Gateway, watcher: RecordingWatcher
) -> None:
    _, base = gateway
    watcher.answer(503, 503)
    body = json_body(examples.APP_MENTION)
    status, answer, headers = await post(base + "/slack/events", body, **signed(body))
    assert status == 503, answer
    assert "x-slack-no-retry" not in headers
    status, _, _ = await post(base + "/slack/events", body, **signed(body), x_slack_retry_num="1")
    assert status == 200
    ids = {r.event.id for r in await watcher.wait_for(3) if r.event is not None}
    assert ids == {"Ev123ABC456"}


async def test_the_old_verification_token(gateway: Gateway, watcher: RecordingWatcher) -> None:
    _, base = gateway
    mention = json_body(examples.APP_MENTION)  # token XXYYZZ, as configured; no signature
    assert (await post(base + "/slack/legacy", mention))[0] == 200
    [request] = await watcher.wait_for(1)
    assert request.event is not None and request.event.source == "/gateways/chat/legacy"
    status, _, _ = await post(base + "/slack/legacy", json_body(examples.APP_RATE_LIMITED))
    assert status == 403  # another app's token
    tokenless = json_body({k: v for k, v in examples.APP_MENTION.items() if k != "token"})
    assert (await post(base + "/slack/legacy", tokenless))[0] == 401
    challenge = json_body({**examples.URL_VERIFICATION, "token": "XXYYZZ"})
    status, answer, _ = await post(base + "/slack/legacy", challenge)
    assert (status, answer[:6]) == (200, b"3eZbrw")
    ssl_check = form_body({"ssl_check": "1", "token": "XXYYZZ"})
    assert (await post(base + "/slack/legacy", ssl_check, FORM))[:2] == (200, b"")
    assert len(watcher.requests) == 1


async def test_with_both_the_signature_is_required_and_the_token_checked(
    gateway: Gateway, watcher: RecordingWatcher
) -> None:
    _, base = gateway
    body = interaction_body(examples.BLOCK_ACTIONS)  # carries the configured token
    assert (await post(base + "/slack/both", body, FORM))[0] == 401  # the token alone
    other = interaction_body({**examples.BLOCK_ACTIONS, "token": "not-the-token"})
    assert (await post(base + "/slack/both", other, FORM, **signed(other)))[0] == 403
    assert (await post(base + "/slack/both", body, FORM, **signed(body)))[0] == 200
    [request] = await watcher.wait_for(1)
    assert request.event is not None and request.event.source == "/gateways/chat/both"


async def test_every_refusal_delivers_nothing_and_the_rest_keeps_serving(
    gateway: Gateway, watcher: RecordingWatcher
) -> None:
    runtime, base = gateway
    body = json_body(examples.APP_MENTION)
    good = signed(body)
    now = time.time()
    cases: list[tuple[bytes, str, dict[str, str], int]] = [
        (body, JSON, {}, 401),  # no signature at all
        (body, JSON, {"x_slack_signature": good["x_slack_signature"]}, 401),  # no timestamp
        (body, JSON, {**good, "x_slack_signature": "v0=" + "0" * 64}, 403),  # wrong
        (body, JSON, signed(body, secret="another-app"), 403),  # another app's secret
        (body.replace(b"river", b"rivet"), JSON, good, 403),  # changed after signing
        (body, JSON, signed(body, at=now - 600), 403),  # a captured request, replayed
        (body, JSON, signed(body, at=now + 600), 403),  # from the future
        (body, JSON, {**good, "x_slack_request_timestamp": "soon"}, 401),
        (b"{not json", JSON, signed(b"{not json"), 400),  # signed, but malformed
        (b"payload=%7B", FORM, signed(b"payload=%7B"), 400),
        (b"user_id=U1", FORM, signed(b"user_id=U1"), 400),
        (b"\xff\xfe", JSON, signed(b"\xff\xfe"), 400),
        (b"<a/>", "text/xml", signed(b"<a/>"), 415),
    ]
    for sent, content_type, headers, expected in cases:
        status, answer, answered = await post(base + "/slack/events", sent, content_type, **headers)
        assert status == expected, (headers, answer)
        assert answered["x-slack-no-retry"] == "1"
        assert "error" in json.loads(answer)
    assert watcher.requests == []
    assert status_of(runtime, "events").state == "running"
    assert (await post(base + "/plain", b'{"still": "serving"}'))[0] == 200
    assert (await post(base + "/slack/events", body, **signed(body)))[0] == 200
    kinds = [r.event.type for r in await watcher.wait_for(2) if r.event is not None]
    assert kinds == ["dev.gateways.webhook.request", "dev.gateways.slack.app_mention"]


# ------------------------------------------------------------------ the seed era's ConfigMap


async def test_the_seed_configmap_runs_and_each_source_receives_on_its_port(
    tmp_path: Path, watcher: RecordingWatcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The seed's ConfigMap as it is, but for its ports (free ones, as tests share the machine)
    and its placeholder certificate paths (a real pair); Secrets from the environment."""
    import ssl

    monkeypatch.setenv("SLACK_SECRET_TOKENKEY", "XXYYZZ")
    monkeypatch.setenv("SLACK_SECRET_SIGNINGSECRET", SECRET)
    monkeypatch.setenv("SLACK_SECRET_2_TOKENKEY", "XXYYZZ")
    monkeypatch.setenv("SLACK_SECRET_3_TOKENKEY", "XXYYZZ")
    seed = REFERENCE_DATA / "argo-events-v0.10-examples" / "slack.yaml"
    [document] = [d for d in yaml.safe_load_all(seed.read_text()) if d]
    cert, key = self_signed(tmp_path)
    ports = {}
    for name, text in document["data"].items():
        ports[name] = free_port()
        text = text.replace(f'port: "{_seed_port(text)}"', f'port: "{ports[name]}"')
        text = text.replace('serverCertPath: "some path in pod"', f'serverCertPath: "{cert}"')
        document["data"][name] = text.replace(
            'serverKeyPath: "some path in pod"', f'serverKeyPath: "{key}"'
        )
    path = write_registry(tmp_path / "slack.yaml", document)
    runtime: GatewayRuntime = await start_gateway(
        path, tmp_path, gateway_type="slack", watchers=(watcher.url,)
    )
    try:
        body = json_body(examples.APP_MENTION)
        one = f"http://127.0.0.1:{ports['example-1']}/"
        assert (await post(one, body))[0] == 401  # the signing secret is required
        assert (await post(one, body, **signed(body)))[0] == 200
        assert (await post(f"http://127.0.0.1:{ports['example-2']}/", body))[0] == 200
        context = ssl.create_default_context(cafile=str(cert))
        async with (
            aiohttp.ClientSession() as session,
            session.post(
                f"https://127.0.0.1:{ports['example-3']}/",
                data=body,
                headers={"content-type": JSON},
                ssl=context,
            ) as reply,
        ):
            assert reply.status == 200
        sources = {r.event.source for r in await watcher.wait_for(3) if r.event is not None}
        assert sources == {f"/gateways/slack-event-source/example-{n}" for n in (1, 2, 3)}
    finally:
        await runtime.stop()


def _seed_port(text: str) -> str:
    return str(yaml.safe_load(text)["hook"]["port"])
