"""Slack's own published examples, copied from its documentation (each names its page).

Changes to what the pages show: the Events API examples at docs.slack.dev print a trailing
comma inside ``authorizations`` (not JSON); it is left out here. Nothing else is changed.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any
from urllib.parse import urlencode

# "Verifying requests from Slack", the step-by-step walk-through:
# https://docs.slack.dev/authentication/verifying-requests-from-slack
# (formerly https://api.slack.com/authentication/verifying-requests-from-slack). The request is
# a slash command; the signature is what the page says Slack sends for it.
SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
SIGNING_TIMESTAMP = "1531420618"
SIGNING_BODY = (
    b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow"
    b"&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner"
    b"&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands"
    b"%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN"
    b"&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
)
SIGNING_SIGNATURE = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"

# https://api.slack.com/events/url_verification
URL_VERIFICATION: dict[str, Any] = {
    "token": "Jhj5dZrVaK7ZwHHjRyZWjbDl",
    "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
    "type": "url_verification",
}

_AUTHORIZATIONS = [
    {
        "team_id": "T123ABC456",
        "user_id": "U123ABC456",
        "is_bot": False,
        "is_enterprise_install": False,
    }
]

# https://docs.slack.dev/reference/events/app_mention ("includes both the event wrapper and
# the event structure")
APP_MENTION: dict[str, Any] = {
    "token": "XXYYZZ",
    "team_id": "T123ABC456",
    "api_app_id": "A123ABC456",
    "event": {
        "type": "app_mention",
        "user": "U061F7AUR",
        "text": "<@U0LAN0Z89> is it everything a river should be?",
        "ts": "1515449522.000016",
        "channel": "C123ABC456",
        "event_ts": "1515449522000016",
    },
    "type": "event_callback",
    "authorizations": _AUTHORIZATIONS,
    "event_id": "Ev123ABC456",
    "event_time": 123456789,
}

# https://docs.slack.dev/reference/events/reaction_added (the channel is the item's)
REACTION_ADDED: dict[str, Any] = {
    "token": "XXYYZZ",
    "team_id": "T123ABC456",
    "api_app_id": "A123ABC456",
    "event": {
        "type": "reaction_added",
        "user": "U123ABC456",
        "reaction": "thumbsup",
        "item_user": "U222222222",
        "item": {
            "type": "message",
            "channel": "C123ABC456",
            "ts": "1360782400.498405",
            "channel_type": "channel",
        },
        "event_ts": "1360782804.083113",
    },
    "type": "event_callback",
    "authorizations": _AUTHORIZATIONS,
    "event_id": "Ev123ABC456",
    "event_time": 123456789,
}

# https://docs.slack.dev/reference/events/channel_created (the channel is an object)
CHANNEL_CREATED: dict[str, Any] = {
    "token": "XXYYZZ",
    "team_id": "T123ABC456",
    "api_app_id": "A123ABC456",
    "event": {
        "type": "channel_created",
        "channel": {
            "id": "C024BE91L",
            "name": "fun",
            "created": 1360782804,
            "creator": "U024BE7LH",
        },
    },
    "type": "event_callback",
    "authorizations": _AUTHORIZATIONS,
    "event_id": "Ev123ABC456",
    "event_time": 123456789,
}

# https://docs.slack.dev/reference/events/app_rate_limited (no inner event)
APP_RATE_LIMITED: dict[str, Any] = {
    "token": "Jhj5dZrVaK7ZwHHjRyZWjbDl",
    "type": "app_rate_limited",
    "team_id": "T123456",
    "minute_rate_limited": 1518467820,
    "api_app_id": "A123456",
}

# https://docs.slack.dev/reference/interaction-payloads/block_actions-payload, "Examples":
# "A payload from an interactive component used in a message"
BLOCK_ACTIONS: dict[str, Any] = {
    "type": "block_actions",
    "team": {"id": "T9TK3CUKW", "domain": "example"},
    "user": {"id": "UA8RXUSPL", "username": "jtorrance", "team_id": "T9TK3CUKW"},
    "api_app_id": "AABA1ABCD",
    "token": "9s8d9as89d8as9d8as989",
    "container": {
        "type": "message_attachment",
        "message_ts": "1548261231.000200",
        "attachment_id": 1,
        "channel_id": "CBR2V3XEX",
        "is_ephemeral": False,
        "is_app_unfurl": False,
    },
    "trigger_id": "12321423423.333649436676.d8c1bb837935619ccad0f624c448ffb3",
    "channel": {"id": "CBR2V3XEX", "name": "review-updates"},
    "message": {
        "bot_id": "BAH5CA16Z",
        "type": "message",
        "text": "This content can't be displayed.",
        "user": "UAJ2RU415",
        "ts": "1548261231.000200",
    },
    "response_url": "https://hooks.slack.com/actions/AABA1ABCD/1232321423432/D09sSasdasdAS9091209",
    "actions": [
        {
            "action_id": "WaXA",
            "block_id": "=qXel",
            "text": {"type": "plain_text", "text": "View", "emoji": True},
            "value": "click_me_123",
            "type": "button",
            "action_ts": "1548426417.840180",
        }
    ],
}

# https://docs.slack.dev/reference/interaction-payloads/shortcuts-interaction-payload,
# "A payload received when a global shortcut is used" (no channel)
SHORTCUT: dict[str, Any] = {
    "type": "shortcut",
    "token": "XXXXXXXXXXXXX",
    "action_ts": "1581106241.371594",
    "team": {"id": "TXXXXXXXX", "domain": "shortcuts-test"},
    "user": {"id": "UXXXXXXXXX", "username": "aman", "team_id": "TXXXXXXXX"},
    "callback_id": "shortcut_create_task",
    "trigger_id": "944799105734.773906753841.38b5894552bdd4a780554ee59d1f3638",
}

# The same page: "A payload received when a message shortcut is used"
MESSAGE_ACTION: dict[str, Any] = {
    "token": "Nj2rfC2hU8mAfgaJLemZgO7H",
    "callback_id": "chirp_message",
    "type": "message_action",
    "trigger_id": "13345224609.8534564800.6f8ab1f53e13d0cd15f96106292d5536",
    "response_url": "https://hooks.slack.com/app-actions/T0MJR11A4/21974584944/yk1S9ndf35Q1flupVG5JbpM6",
    "team": {"id": "T0MJRM1A7", "domain": "pandamonium"},
    "channel": {"id": "D0LFFBKLZ", "name": "cats"},
    "user": {"id": "U0D15K92L", "name": "dr_maomao"},
    "message": {
        "type": "message",
        "user": "U0MJRG1AL",
        "ts": "1516229207.000133",
        "text": "World's smallest big cat! <https://youtube.com/watch?v=W86cTIoMv2U>",
    },
}

# https://api.slack.com/slash-commands, "Outgoing Data": "The POST data sent along"
SLASH_COMMAND: dict[str, str] = {
    "token": "gIkuvaNzQIHg97ATvDxqgjtO",
    "team_id": "T0001",
    "team_domain": "example",
    "channel_id": "C2147483705",
    "channel_name": "test",
    "user_id": "U2147483697",
    "user_name": "Steve",
    "command": "/weather",
    "text": "94070",
}


def json_body(document: dict[str, Any]) -> bytes:
    return json.dumps(document).encode()


def interaction_body(payload: dict[str, Any]) -> bytes:
    """How Slack posts an interaction: a form whose one field ``payload`` is the JSON."""
    return urlencode({"payload": json.dumps(payload)}).encode()


def form_body(fields: dict[str, str]) -> bytes:
    return urlencode(fields).encode()


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """Slack's v0 signature, written out independently of the code under test."""
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
