"""Slack request -> what it is and the raw event it becomes, on Slack's published examples;
and the signature check on the worked example of "Verifying requests from Slack"."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from slack_sdk.signature import SignatureVerifier

from functions.slack.message import SlackRequestError, parse, to_raw_event
from functions.slack.source import check_signature
from gateways.events.builder import build
from gateways.source import Origin
from tests.kinds.slack import examples
from tests.kinds.slack.examples import form_body, interaction_body, json_body

ORIGIN = Origin("chat", "events", "slack")
JSON = "application/json"
FORM = "application/x-www-form-urlencoded"
WINDOW = timedelta(minutes=5)


def data(raw: Any) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(raw.payload)
    return document


# ------------------------------------------------------------------ the signing walk-through


def test_the_worked_example_verifies_at_its_own_time() -> None:
    verifier = SignatureVerifier(examples.SIGNING_SECRET)
    headers = {
        "x-slack-request-timestamp": examples.SIGNING_TIMESTAMP,
        "x-slack-signature": examples.SIGNING_SIGNATURE,
    }
    now = float(examples.SIGNING_TIMESTAMP) + 10
    assert check_signature(verifier, headers, examples.SIGNING_BODY, now, WINDOW) is None
    # The tests' own signer agrees with Slack's page, so the end-to-end tests sign as Slack does.
    assert (
        examples.sign(examples.SIGNING_SECRET, examples.SIGNING_TIMESTAMP, examples.SIGNING_BODY)
        == examples.SIGNING_SIGNATURE
    )


@pytest.mark.parametrize(
    ("change", "status", "message"),
    [
        ({"x-slack-signature": None}, 401, "are required"),
        ({"x-slack-request-timestamp": None}, 401, "are required"),
        ({"x-slack-request-timestamp": "yesterday"}, 401, "not a Unix time"),
        ({"x-slack-request-timestamp": "9" * 40}, 401, "not a Unix time"),
        ({"x-slack-signature": "v0=" + "0" * 64}, 403, "signature does not match"),
        ({"x-slack-signature": "v0=ünïcode"}, 403, "signature does not match"),
        ({"x-slack-request-timestamp": "1531420619"}, 403, "signature does not match"),
    ],
)
def test_the_worked_example_altered_is_refused(
    change: dict[str, str | None], status: int, message: str
) -> None:
    headers = {
        "x-slack-request-timestamp": examples.SIGNING_TIMESTAMP,
        "x-slack-signature": examples.SIGNING_SIGNATURE,
    }
    for name, value in change.items():
        if value is None:
            del headers[name]
        else:
            headers[name] = value
    verifier = SignatureVerifier(examples.SIGNING_SECRET)
    now = float(examples.SIGNING_TIMESTAMP)
    refused = check_signature(verifier, headers, examples.SIGNING_BODY, now, WINDOW)
    assert refused is not None and refused.status == status
    assert message in json.loads(refused.body)["error"]
    assert refused.headers["x-slack-no-retry"] == "1"


def test_a_changed_body_or_secret_is_refused() -> None:
    headers = {
        "x-slack-request-timestamp": examples.SIGNING_TIMESTAMP,
        "x-slack-signature": examples.SIGNING_SIGNATURE,
    }
    now = float(examples.SIGNING_TIMESTAMP)
    body = examples.SIGNING_BODY.replace(b"text=", b"text=x")
    verifier = SignatureVerifier(examples.SIGNING_SECRET)
    assert check_signature(verifier, headers, body, now, WINDOW).status == 403  # type: ignore[union-attr]
    other = SignatureVerifier("another-secret")
    refused = check_signature(other, headers, examples.SIGNING_BODY, now, WINDOW)
    assert refused is not None and refused.status == 403
    not_utf8 = check_signature(verifier, headers, b"\xff\xfe", now, WINDOW)
    assert not_utf8 is not None and not_utf8.status == 400


@pytest.mark.parametrize(("offset", "verdict"), [(-301, "old"), (301, "future"), (-299, None)])
def test_the_replay_window(offset: int, verdict: str | None) -> None:
    verifier = SignatureVerifier(examples.SIGNING_SECRET)
    headers = {
        "x-slack-request-timestamp": examples.SIGNING_TIMESTAMP,
        "x-slack-signature": examples.SIGNING_SIGNATURE,
    }
    now = float(examples.SIGNING_TIMESTAMP) - offset
    refused = check_signature(verifier, headers, examples.SIGNING_BODY, now, WINDOW)
    if verdict is None:
        assert refused is None
    else:
        assert refused is not None and refused.status == 403
        assert verdict in json.loads(refused.body)["error"]
    wider = check_signature(verifier, headers, examples.SIGNING_BODY, now, timedelta(minutes=10))
    assert wider is None  # the window is the config's, not slack-sdk's fixed five minutes


# ------------------------------------------------------------------ Events API


def test_url_verification_is_a_handshake() -> None:
    parsed = parse(json_body(examples.URL_VERIFICATION), JSON)
    assert parsed.kind == "url_verification"
    assert parsed.challenge == "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"
    assert parsed.token == "Jhj5dZrVaK7ZwHHjRyZWjbDl"
    with pytest.raises(ValueError):
        to_raw_event(parsed)


def test_app_mention() -> None:
    parsed = parse(json_body(examples.APP_MENTION), "application/json; charset=utf-8")
    assert (parsed.kind, parsed.token) == ("event", "XXYYZZ")
    raw = to_raw_event(parsed)
    assert (raw.id, raw.action, raw.subject) == ("Ev123ABC456", "app_mention", "C123ABC456")
    assert raw.time == datetime.fromtimestamp(123456789, UTC)
    assert raw.extensions == {
        "slackteam": "T123ABC456",
        "slackapp": "A123ABC456",
        "slackevent": "app_mention",
        "slackchannel": "C123ABC456",
        "slackuser": "U061F7AUR",
    }
    expected = {k: v for k, v in examples.APP_MENTION.items() if k != "token"}
    assert data(raw) == expected  # the whole envelope, without the verification token
    assert raw.content_type == JSON
    event = build(raw, ORIGIN)
    assert event.type == "dev.gateways.slack.app_mention"
    assert event.source == "/gateways/chat/events"
    assert event.json()["event"]["text"] == "<@U0LAN0Z89> is it everything a river should be?"


def test_reaction_added_takes_the_channel_of_its_item() -> None:
    raw = to_raw_event(parse(json_body(examples.REACTION_ADDED), JSON))
    assert (raw.action, raw.subject) == ("reaction_added", "C123ABC456")
    assert raw.extensions["slackchannel"] == "C123ABC456"
    assert raw.extensions["slackuser"] == "U123ABC456"


def test_channel_created_carries_the_channel_as_an_object() -> None:
    raw = to_raw_event(parse(json_body(examples.CHANNEL_CREATED), JSON))
    assert (raw.action, raw.subject) == ("channel_created", "C024BE91L")
    assert "slackuser" not in raw.extensions  # no user in this event


def test_an_event_without_a_channel_is_about_its_team() -> None:
    document = {**examples.APP_MENTION, "event": {"type": "team_join", "user": {"id": "U9"}}}
    raw = to_raw_event(parse(json_body(document), JSON))
    assert (raw.action, raw.subject, raw.extensions["slackuser"]) == (
        "team_join",
        "T123ABC456",
        "U9",
    )


def test_a_message_subtype_is_kept() -> None:
    event = {"type": "message", "subtype": "channel_join", "channel": "C1", "user": "U1"}
    raw = to_raw_event(parse(json_body({**examples.APP_MENTION, "event": event}), JSON))
    assert (raw.action, raw.extensions["slacksubtype"]) == ("message", "channel_join")


def test_app_rate_limited_is_delivered_under_its_own_type() -> None:
    raw = to_raw_event(parse(json_body(examples.APP_RATE_LIMITED), None))  # sniffed as JSON
    assert (raw.action, raw.subject) == ("app_rate_limited", "T123456")
    assert raw.extensions == {"slackteam": "T123456", "slackapp": "A123456"}
    assert "token" not in data(raw)
    again = to_raw_event(parse(json_body(examples.APP_RATE_LIMITED), JSON))
    assert raw.id == again.id and raw.id is not None and len(raw.id) == 32  # a digest


def test_a_retry_keeps_the_id_and_says_so() -> None:
    first = to_raw_event(parse(json_body(examples.APP_MENTION), JSON))
    retried = to_raw_event(parse(json_body(examples.APP_MENTION), JSON), "2", "http_timeout")
    assert first.id == retried.id == "Ev123ABC456"
    assert retried.extensions["slackretry"] == "2"
    assert retried.extensions["slackretryreason"] == "http_timeout"
    assert "slackretry" not in first.extensions


# ------------------------------------------------------------------ interactivity


def test_block_actions_in_a_message() -> None:
    parsed = parse(interaction_body(examples.BLOCK_ACTIONS), FORM)
    assert (parsed.kind, parsed.token) == ("interaction", "9s8d9as89d8as9d8as989")
    raw = to_raw_event(parsed)
    assert raw.id == "12321423423.333649436676.d8c1bb837935619ccad0f624c448ffb3"
    assert (raw.action, raw.subject) == ("interaction.block_actions", "CBR2V3XEX")
    assert raw.time == datetime.fromtimestamp(1548426417.840180, UTC)
    assert raw.extensions == {
        "slackteam": "T9TK3CUKW",
        "slackchannel": "CBR2V3XEX",
        "slackuser": "UA8RXUSPL",
        "slackapp": "AABA1ABCD",
        "slackactionid": "WaXA",
    }
    assert data(raw) == {k: v for k, v in examples.BLOCK_ACTIONS.items() if k != "token"}
    assert build(raw, ORIGIN).type == "dev.gateways.slack.interaction.block_actions"


def test_a_global_shortcut_has_no_channel() -> None:
    raw = to_raw_event(parse(interaction_body(examples.SHORTCUT), FORM))
    assert raw.id == "944799105734.773906753841.38b5894552bdd4a780554ee59d1f3638"
    assert (raw.action, raw.subject) == ("interaction.shortcut", "TXXXXXXXX")
    assert raw.extensions["slackcallbackid"] == "shortcut_create_task"
    assert "slackchannel" not in raw.extensions
    assert raw.time == datetime.fromtimestamp(1581106241.371594, UTC)


def test_a_message_shortcut() -> None:
    raw = to_raw_event(parse(interaction_body(examples.MESSAGE_ACTION), FORM))
    assert (raw.action, raw.subject) == ("interaction.message_action", "D0LFFBKLZ")
    assert raw.extensions["slackuser"] == "U0D15K92L"
    assert raw.extensions["slackcallbackid"] == "chirp_message"


def test_without_a_trigger_id_the_action_ts_then_a_digest_is_the_id() -> None:
    no_trigger = {k: v for k, v in examples.BLOCK_ACTIONS.items() if k != "trigger_id"}
    assert to_raw_event(parse(interaction_body(no_trigger), FORM)).id == "1548426417.840180"
    closed = {"type": "view_closed", "team": {"id": "T1"}, "view": {"id": "V1", "callback_id": "c"}}
    raw = to_raw_event(parse(interaction_body(closed), FORM))
    assert raw.id == to_raw_event(parse(interaction_body(closed), FORM)).id
    assert raw.extensions["slackcallbackid"] == "c" and raw.subject == "T1"


# ------------------------------------------------------------------ slash commands


def test_the_slash_command_of_the_signing_walk_through() -> None:
    parsed = parse(examples.SIGNING_BODY, FORM)
    assert (parsed.kind, parsed.token) == ("command", "xyzz0WbapA4vBCDEFasx0q6G")
    raw = to_raw_event(parsed)
    assert raw.id == "398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
    assert (raw.action, raw.subject) == ("command", "/webhook-collect")
    assert raw.extensions == {
        "slackteam": "T1DC2JH3J",
        "slackchannel": "G8PSS9T3V",
        "slackuser": "U2CERLKJA",
    }
    fields = data(raw)
    assert "token" not in fields
    assert fields["text"] == "" and fields["response_url"].startswith("https://hooks.slack.com/")
    assert build(raw, ORIGIN).type == "dev.gateways.slack.command"


def test_the_slash_command_page_example() -> None:
    raw = to_raw_event(parse(form_body(examples.SLASH_COMMAND), FORM))
    assert (raw.subject, data(raw)["text"]) == ("/weather", "94070")
    assert raw.id is not None and len(raw.id) == 32  # no trigger_id in this old example


def test_ssl_check_is_a_handshake() -> None:
    parsed = parse(b"ssl_check=1&token=abc", FORM)
    assert (parsed.kind, parsed.token) == ("ssl_check", "abc")


# ------------------------------------------------------------------ malformed bodies


@pytest.mark.parametrize(
    ("body", "content_type", "status", "message"),
    [
        (b"{not json", JSON, 400, "not valid JSON"),
        (b"[1, 2]", JSON, 400, "not a JSON object"),
        (b"[" * 100_000, JSON, 400, "not valid JSON"),
        (b'{"challenge": "x"}', JSON, 400, "type: 'None' is not a Slack type name"),
        (b'{"type": "url_verification"}', JSON, 400, "without a challenge"),
        (b'{"type": "event_callback"}', JSON, 400, "without an event object"),
        (b'{"type": "event_callback", "event": {"type": "a b"}}', JSON, 400, "event.type"),
        (b"\xff\xfe", JSON, 400, "not UTF-8"),
        (b"payload=%7Bnope", FORM, 400, "payload is not valid JSON"),
        (b"payload=%7B%7D", FORM, 400, "payload.type"),
        (b"command=", FORM, 400, "command is empty"),
        (b"command=%2Fa&command=%2Fb", FORM, 400, "given twice"),
        (b"user_id=U1", FORM, 400, "a form without payload"),
        (b"", FORM, 400, "a form without payload"),
        (b"a&&b", FORM, 400, "not a form"),
        (b"<xml/>", "text/xml", 415, "neither JSON nor a form"),
    ],
)
def test_malformed_bodies(body: bytes, content_type: str, status: int, message: str) -> None:
    with pytest.raises(SlackRequestError) as caught:
        parse(body, content_type)
    assert caught.value.status == status
    assert message in str(caught.value)
