"""GitHub delivery -> raw event -> CloudEvent, as pure functions; and the signature check."""

from __future__ import annotations

import hmac
import json
from typing import Any
from urllib.parse import urlencode

import pytest

from functions.github.message import (
    DeliveryFormatError,
    action_of,
    read_delivery,
    to_raw_event,
)
from functions.github.source import check_signature
from gateways.events.builder import build
from gateways.function import Request
from gateways.source import Origin

pytestmark = pytest.mark.timeout(30)
ORIGIN = Origin("github-gateway", "example", "github")
DELIVERY = "72d3162e-cc78-11e3-81ab-4c9367dc0958"
PUSH = {"ref": "refs/heads/main", "repository": {"full_name": "octo-org/hello-world"}}
OPENED = {"action": "opened", "issue": {"number": 1}, "repository": {"full_name": "a/b"}}


def request(
    body: bytes, event: str = "push", content_type: str = "application/json", **headers: str
) -> Request:
    found = {
        "content-type": content_type,
        "x-github-event": event,
        "x-github-delivery": DELIVERY,
        "x-github-hook-id": "292430182",
        "user-agent": "GitHub-Hookshot/044aadd",
    }
    found.update({name.replace("_", "-"): value for name, value in headers.items()})
    return Request("POST", "/push", {k: v for k, v in found.items() if v}, body)


def dumps(document: Any) -> bytes:
    return json.dumps(document).encode()


def test_a_push_becomes_the_documented_cloudevent() -> None:
    body = dumps(PUSH)
    event = build(to_raw_event(read_delivery(request(body))), ORIGIN)
    assert event.type == "dev.gateways.github.push"
    assert event.id == DELIVERY
    assert event.source == "/gateways/github-gateway/example"
    assert event.attributes["subject"] == "octo-org/hello-world"
    assert event.attributes["githubevent"] == "push"
    assert event.attributes["githubdelivery"] == DELIVERY
    assert event.attributes["githubhookid"] == "292430182"
    assert event.attributes["githubrepo"] == "octo-org/hello-world"
    assert event.content_type == "application/json"
    assert event.data == body  # the bytes GitHub sent, untouched
    assert "time" in event.attributes


def test_an_action_goes_into_the_type() -> None:
    raw = to_raw_event(read_delivery(request(dumps(OPENED), "issues")))
    assert raw.action == "issues.opened"
    assert build(raw, ORIGIN).type == "dev.gateways.github.issues.opened"


@pytest.mark.parametrize(
    ("action", "expected"),
    [
        ("on-demand-test", "repository_dispatch.on-demand-test"),
        ("deploy.prod", "repository_dispatch"),  # a dot would read as another level
        ("with space", "repository_dispatch"),
        ("", "repository_dispatch"),
        (7, "repository_dispatch"),
        ("x" * 65, "repository_dispatch"),
    ],
)
def test_only_plain_action_names_go_into_the_type(action: Any, expected: str) -> None:
    assert action_of("repository_dispatch", {"action": action}) == expected


def test_without_a_repository_the_subject_is_the_organization_or_nothing() -> None:
    org = {"action": "member_added", "organization": {"login": "octo-org"}}
    raw = to_raw_event(read_delivery(request(dumps(org), "organization")))
    assert raw.subject == "octo-org" and "githubrepo" not in raw.extensions
    bare = to_raw_event(
        read_delivery(request(b'{"action": "revoked"}', "github_app_authorization"))
    )
    assert bare.subject is None and "githubrepo" not in bare.extensions


def test_the_form_content_type_is_decoded_to_its_json() -> None:
    body = urlencode({"payload": json.dumps(OPENED)}).encode()
    raw = to_raw_event(read_delivery(request(body, "issues", "application/x-www-form-urlencoded")))
    assert raw.content_type == "application/json"
    assert json.loads(raw.payload) == OPENED
    assert raw.action == "issues.opened"


def test_missing_delivery_and_hook_headers_leave_their_parts_out() -> None:
    raw = to_raw_event(
        read_delivery(request(dumps(PUSH), x_github_delivery="", x_github_hook_id=""))
    )
    assert raw.id is None  # the builder gives it a fresh id
    assert set(raw.extensions) == {"githubevent", "githubrepo"}


@pytest.mark.parametrize(
    ("req", "status", "message"),
    [
        (request(b"{}", event=""), 400, "X-GitHub-Event header required"),
        (request(b"{}", event="Push Event"), 400, "is not an event name"),
        (request(b"{}", x_github_delivery="a b"), 400, "X-GitHub-Delivery"),
        (request(b"{}", x_github_hook_id="12x"), 400, "X-GitHub-Hook-ID"),
        (request(b"{not json"), 400, "payload is not JSON"),
        (request(b"[1, 2]"), 400, "payload is not a JSON object"),
        (request(b'{"n": NaN}'), 400, "NaN is not JSON"),
        (request(b"\xff\xfe{}"), 400, "payload is not JSON"),
        (request(b"{}", content_type="text/plain"), 415, "GitHub sends application/json"),
        (request(b"{}", content_type=""), 415, "content type none"),
        (
            request(b"payload=%7B", content_type="application/x-www-form-urlencoded"),
            400,
            "not JSON",
        ),
        (request(b"other=1", content_type="application/x-www-form-urlencoded"), 400, "one payload"),
        (
            request(b"payload=1&payload=2", content_type="application/x-www-form-urlencoded"),
            400,
            "exactly one payload",
        ),
        (
            request(b"payload=%FF", content_type="application/x-www-form-urlencoded"),
            400,
            "URL-encoded",
        ),
        (request(b"a=b=c&&", content_type="application/x-www-form-urlencoded"), 400, "URL-encoded"),
    ],
)
def test_what_is_no_github_delivery(req: Request, status: int, message: str) -> None:
    with pytest.raises(DeliveryFormatError) as caught:
        read_delivery(req)
    assert caught.value.status == status
    assert message in str(caught.value)


def _sign(
    body: bytes, key: bytes = b"It's a Secret to Everybody", algorithm: str = "sha256"
) -> str:
    return f"{algorithm}=" + hmac.new(key, body, algorithm).hexdigest()


def test_githubs_documented_signature_example_verifies() -> None:
    # docs.github.com, "Validating webhook deliveries": this secret and payload give this value.
    body = b"Hello, World!"
    expected = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    assert _sign(body) == expected
    signed = request(body, x_hub_signature_256=expected)
    assert check_signature(signed, b"It's a Secret to Everybody", allow_sha1=False) is None


def test_signature_refusals() -> None:
    key, body = b"k", b"{}"
    missing = check_signature(request(body), key, allow_sha1=False)
    assert missing is not None and missing.status == 401
    wrong = check_signature(
        request(body, x_hub_signature_256=_sign(body, b"other")), key, allow_sha1=False
    )
    assert wrong is not None and wrong.status == 403
    tampered = check_signature(
        request(b"{ }", x_hub_signature_256=_sign(body, key)), key, allow_sha1=False
    )
    assert tampered is not None and tampered.status == 403
    garbage = check_signature(
        request(body, x_hub_signature_256="sha256=zz\u00e9"), key, allow_sha1=False
    )
    assert garbage is not None and garbage.status == 403


def test_sha1_only_when_allowed() -> None:
    key, body = b"k", b"{}"
    sha1 = request(body, x_hub_signature=_sign(body, key, "sha1"))
    refused = check_signature(sha1, key, allow_sha1=False)
    assert refused is not None and refused.status == 401
    assert b"sha1 signatures are not accepted" in refused.body
    assert check_signature(sha1, key, allow_sha1=True) is None
    wrong = request(body, x_hub_signature=_sign(body, b"other", "sha1"))
    assert check_signature(wrong, key, allow_sha1=True) is not None
    # With both headers the sha256 one decides, even when sha1 is allowed.
    both = request(
        body,
        x_hub_signature=_sign(body, key, "sha1"),
        x_hub_signature_256=_sign(body, b"other"),
    )
    denied = check_signature(both, key, allow_sha1=True)
    assert denied is not None and denied.status == 403
