"""A GitLab delivery -> its raw event: type, subject, id, extensions; bodies that are refused."""

from __future__ import annotations

import json

import pytest

from functions.gitlab.message import PayloadError, action, event_id, parse_payload, to_raw_event
from gateways.events.builder import build
from gateways.source import Origin
from tests.kinds.gitlab.payloads import (
    EVENT_UUID,
    EXAMPLES,
    IDEMPOTENCY_KEY,
    INSTANCE,
    PUSH,
    TAG_PUSH,
    WEBHOOK_UUID,
    Example,
    headers,
)

ORIGIN = Origin("gitlab-gateway", "project", "gitlab")


def _lower(sent: dict[str, str]) -> dict[str, str]:
    return {name.lower(): value for name, value in sent.items()}


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda e: e.header)
def test_documented_examples(example: Example) -> None:
    body = json.dumps(example.payload).encode()
    raw = to_raw_event(_lower(headers(example, "secret")), body, parse_payload(body))
    event = build(raw, ORIGIN)
    assert event.type == example.type
    assert event.source == "/gateways/gitlab-gateway/project"
    assert event.attributes["subject"] == example.subject
    assert event.id == IDEMPOTENCY_KEY
    assert event.content_type == "application/json"
    assert event.json() == example.payload  # JSON as JSON
    assert event.attributes["gitlabevent"] == example.header
    assert event.attributes["gitlabproject"] == example.project
    assert event.attributes["gitlabinstance"] == INSTANCE
    assert event.attributes["gitlabeventuuid"] == EVENT_UUID
    assert event.attributes["gitlabwebhookuuid"] == WEBHOOK_UUID
    assert "secret" not in json.dumps(event.attributes)  # the token never travels on


def test_id_ladder() -> None:
    body = json.dumps(PUSH.payload).encode()
    payload = parse_payload(body)
    everything = _lower(headers(PUSH, extra={"webhook-id": "msg_2k"}))
    assert event_id(everything, payload, body) == IDEMPOTENCY_KEY
    no_key = _lower(headers(PUSH, extra={"webhook-id": "msg_2k"}, omit=("Idempotency-Key",)))
    assert event_id(no_key, payload, body) == "msg_2k"
    uuid_only = _lower(headers(PUSH, omit=("Idempotency-Key",)))
    assert event_id(uuid_only, payload, body) == EVENT_UUID


def test_push_without_delivery_headers_is_identified_by_ref_and_commit() -> None:
    bare = {"x-gitlab-event": "Push Hook", "content-type": "application/json"}
    body = json.dumps(PUSH.payload).encode()
    expected = "push:15:refs/heads/master:da1560886d4f094c3e6c9ef40349f7d38b5d27d7"
    assert event_id(bare, PUSH.payload, body) == expected
    # Re-serialised (another GitLab worker, other whitespace): still the same push.
    again = json.dumps(PUSH.payload, indent=2).encode()
    assert event_id(bare, PUSH.payload, again) == expected
    tag = json.dumps(TAG_PUSH.payload).encode()
    assert event_id(bare, TAG_PUSH.payload, tag).startswith("tag_push:1:refs/tags/v1.0.0:82b3")


def test_other_events_without_delivery_headers_are_identified_by_their_body() -> None:
    bare = {"x-gitlab-event": "Issue Hook"}
    first = b'{"object_kind": "issue", "object_attributes": {"id": 301, "action": "open"}}'
    second = b'{"object_kind": "issue", "object_attributes": {"id": 301, "action": "close"}}'
    one = event_id(bare, parse_payload(first), first)
    assert one == event_id(bare, parse_payload(first), first)  # a redelivery: the same id
    assert one != event_id(bare, parse_payload(second), second)  # a new event on the issue
    assert one.startswith("issue:sha256:")


@pytest.mark.parametrize(
    ("payload", "header", "expected"),
    [
        ({"object_kind": "push"}, "Push Hook", "push"),
        ({"object_kind": "issue", "object_attributes": {"action": "reopen"}}, "", "issue.reopen"),
        ({"object_kind": "release", "action": "delete"}, "Release Hook", "release.delete"),
        ({"object_kind": "pipeline", "object_attributes": {"status": "ok"}}, "", "pipeline"),
        ({}, "Feature Flag Hook", "feature_flag"),  # no object_kind: from the header
        ({}, "", "event"),
        (
            {"object_kind": "Merge Request", "object_attributes": {"action": "Approved!"}},
            "",
            ("merge_request.approved"),
        ),
        ({"object_kind": 7, "object_attributes": "x"}, "Note Hook", "note"),
    ],
)
def test_action(payload: dict[str, object], header: str, expected: str) -> None:
    assert action(payload, header) == expected


def test_payload_without_project_has_no_subject() -> None:
    body = b'{"object_kind": "push", "after": "abc", "ref": "refs/heads/x"}'
    raw = to_raw_event({"x-gitlab-event": "Push Hook"}, body, parse_payload(body))
    assert raw.subject is None and "gitlabproject" not in raw.extensions
    assert "gitlabinstance" not in raw.extensions  # not sent, not made up
    assert raw.id == "push::refs/heads/x:abc"


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b"", "body is not JSON"),
        (b"{not json", "body is not JSON"),
        (b"[1, 2]", "body is JSON but not an object (list)"),
        (b'"push"', "body is JSON but not an object (str)"),
        (b"\xff\xfe{}", "body is not UTF-8 text"),
    ],
)
def test_malformed_bodies(body: bytes, problem: str) -> None:
    with pytest.raises(PayloadError, match=problem.replace("(", r"\(").replace(")", r"\)")):
        parse_payload(body)


def test_text_that_cannot_travel_in_a_header_is_left_out() -> None:
    """JSON may escape a lone surrogate; such text never becomes an attribute."""
    body = (
        b'{"object_kind": "push", "after": "\\ud800", "ref": "refs/heads/x",'
        b' "project": {"id": 1, "path_with_namespace": "a/\\udfff"}}'
    )
    raw = to_raw_event({"x-gitlab-event": "Push Hook"}, body, parse_payload(body))
    assert raw.subject is None
    assert raw.id is not None and raw.id.startswith("push:sha256:")
    event = build(raw, ORIGIN)
    assert event.attributes["gitlabproject"] == "1"
