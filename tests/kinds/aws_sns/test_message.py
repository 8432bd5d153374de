"""SNS messages -> raw events, the string SNS signs, the signature check and the URL rule
(unit tests; the end-to-end tests are in test_sns.py and test_moto.py)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest

from functions.aws_sns.message import MessageError, parse, string_to_sign, to_raw_event
from functions.aws_sns.signature import (
    MissingSignatureError,
    SignatureError,
    allowed_url,
    public_key,
    signing_certificate_url,
    verify,
)
from gateways.events.builder import build
from gateways.source import Origin
from tests.kinds.aws_sns.support import TOPIC, Signer, confirmation, notification, pem

CERT = "https://sns.us-west-2.amazonaws.com/SimpleNotificationService-f3ecfb72.pem"
SNS_HOSTS = re.compile(r"sns\.us-west-2\.amazonaws\.com(\.cn)?", re.IGNORECASE)


def _body(document: dict[str, object]) -> bytes:
    return json.dumps(document).encode()


def test_notification_becomes_a_raw_event() -> None:
    document = notification(
        CERT,
        message='{"order": 7}',
        Subject="My First Message",
        MessageAttributes={
            "colour": {"Type": "String", "Value": "red"},
            "price": {"Type": "Number", "Value": "9.5"},
            "Order-Id": {"Type": "String", "Value": "A-1"},  # not a valid extension name
            "id": {"Type": "String", "Value": "x"},  # a CloudEvent attribute's name
            "snstopic": {"Type": "String", "Value": "spoof"},  # one of ours
            "blob": {"Type": "Binary", "Value": "AAEC"},
        },
    )
    raw = to_raw_event(parse(_body(document)))
    assert raw.payload == b'{"order": 7}'
    assert raw.id == document["MessageId"]
    assert raw.subject == "My First Message"
    assert raw.action == "notification"
    assert raw.time == datetime(2012, 5, 2, 0, 54, 6, 655000, tzinfo=UTC)
    assert raw.content_type is None  # sniffed by the builder
    extensions = dict(raw.extensions)
    assert json.loads(extensions.pop("snsattributes")) == {
        "Order-Id": {"Type": "String", "Value": "A-1"},
        "id": {"Type": "String", "Value": "x"},
        "snstopic": {"Type": "String", "Value": "spoof"},
    }
    assert extensions == {
        "snstopic": TOPIC,
        "snssubject": "My First Message",
        "snsmessageid": document["MessageId"],
        "colour": "red",
        "price": "9.5",
        "blob": "AAEC",
    }
    event = build(raw, Origin("cloud", "orders", "aws-sns"))
    assert event.type == "dev.gateways.aws-sns.notification"
    assert event.source == "/gateways/cloud/orders"
    assert event.id == document["MessageId"]
    assert event.attributes["datacontenttype"] == "application/json"
    assert event.attributes["time"] == "2012-05-02T00:54:06.655000Z"
    assert event.json() == {"order": 7}


def test_without_subject_the_topic_is_the_subject() -> None:
    raw = to_raw_event(parse(_body(notification(CERT, message="hello"))))
    assert raw.subject == TOPIC
    assert "snssubject" not in raw.extensions and "snsattributes" not in raw.extensions
    event = build(raw, Origin("g", "s", "aws-sns"))
    assert event.attributes["datacontenttype"] == "text/plain; charset=utf-8"
    assert event.data == b"hello"


def test_string_to_sign_follows_snss_documented_order() -> None:
    with_subject = parse(_body(notification(CERT, message="m", Subject="s", MessageId="1")))
    assert string_to_sign(with_subject) == (
        b"Message\nm\nMessageId\n1\nSubject\ns\nTimestamp\n2012-05-02T00:54:06.655Z\n"
        b"TopicArn\n" + TOPIC.encode() + b"\nType\nNotification\n"
    )
    without = parse(_body(notification(CERT, message="m", MessageId="1")))
    assert b"Subject" not in string_to_sign(without)
    document = confirmation(CERT, "https://sns.us-west-2.amazonaws.com/?x")
    confirm = parse(_body(document))
    assert (
        string_to_sign(confirm)
        == "".join(
            f"{name}\n{document[name]}\n"
            for name in ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn")
        ).encode()
        + b"Type\nSubscriptionConfirmation\n"
    )
    assert b"included in this message.\nMessageId\n" in string_to_sign(confirm)
    # Unsigned fields (attributes, UnsubscribeURL) are not part of it.
    assert b"UnsubscribeURL" not in string_to_sign(without)


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b"{not json", "body is not JSON"),
        (b"\xff\xfe\x00", "body is not JSON"),
        (b"[1, 2]", "body is not a JSON object"),
        (b"{}", "Type is missing"),
        (b'{"Type": "Notice"}', "unknown Type 'Notice'"),
        (b'{"Type": 3}', "Type is missing"),
        (b"[" * 100_000, "body is not JSON"),
        (b'{"Type": "Notification", "Message": "\\ud800"}', "not Unicode"),
    ],
)
def test_malformed_bodies(body: bytes, problem: str) -> None:
    with pytest.raises(MessageError, match=re.escape(problem)):
        parse(body)


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"MessageId": None}, "MessageId is missing or not a string"),
        ({"Message": {"nested": 1}}, "Message is missing or not a string"),
        ({"Timestamp": "yesterday"}, "Timestamp 'yesterday' is not ISO-8601"),
        ({"MessageAttributes": []}, "MessageAttributes is not a JSON object"),
        ({"MessageAttributes": {"a": {"Type": "String"}}}, "'a' needs a string Type and Value"),
    ],
)
def test_incomplete_notifications(change: dict[str, object], problem: str) -> None:
    document = {**notification(CERT), **change}
    with pytest.raises(MessageError, match=re.escape(problem)):
        parse(_body({k: v for k, v in document.items() if v is not None}))


def test_confirmations_need_their_url_and_token() -> None:
    document = confirmation(CERT, "https://sns.us-west-2.amazonaws.com/?x")
    del document["Token"]
    with pytest.raises(MessageError, match="Token is missing"):
        parse(_body(document))


# ---------------------------------------------------------------------- signatures


@pytest.mark.parametrize("version", ["1", "2"])
def test_signature_versions_verify(version: str) -> None:
    signer = Signer()
    key = public_key(pem(signer.certificate))
    for document in (
        notification(CERT, Subject="s"),
        notification(CERT),
        confirmation(CERT, "https://sns.us-west-2.amazonaws.com/?Action=ConfirmSubscription"),
        confirmation(CERT, "https://x/", kind="UnsubscribeConfirmation"),
    ):
        message = parse(_body(signer.sign(document, version)))
        verify(message, key)
        tampered = parse(_body({**signer.sign(document, version), "Message": "changed"}))
        with pytest.raises(SignatureError, match="signature does not match"):
            verify(tampered, key)


def test_wrong_key_wrong_version_and_garbage_are_refused() -> None:
    signer, other = Signer(), Signer()
    document = signer.sign(notification(CERT))
    with pytest.raises(SignatureError, match="does not match"):
        verify(parse(_body(document)), public_key(pem(other.certificate)))
    # A version 1 signature does not pass as version 2 (the hash is part of what is signed).
    as_two = {**signer.sign(notification(CERT), "1"), "SignatureVersion": "2"}
    with pytest.raises(SignatureError, match="does not match"):
        verify(parse(_body(as_two)), public_key(pem(signer.certificate)))
    with pytest.raises(SignatureError, match="not base64"):
        verify(parse(_body({**document, "Signature": "%%%"})), public_key(pem(signer.certificate)))
    with pytest.raises(SignatureError, match="is not 1 or 2"):
        signing_certificate_url(parse(_body({**document, "SignatureVersion": "3"})), SNS_HOSTS)
    with pytest.raises(MissingSignatureError):
        signing_certificate_url(parse(_body(notification(CERT))), SNS_HOSTS)


def test_certificates_must_be_valid_now_and_rsa() -> None:
    signer = Signer()
    later = datetime.now(UTC) + timedelta(days=30)
    with pytest.raises(SignatureError, match="not valid now"):
        public_key(pem(signer.certificate), now=later)
    with pytest.raises(SignatureError, match="not a PEM"):
        public_key(b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")


@pytest.mark.parametrize(
    "url",
    [
        "https://sns.us-west-2.amazonaws.com/SimpleNotificationService-1.pem",
        "https://SNS.us-west-2.amazonaws.com:443/x.pem",
        "https://sns.us-west-2.amazonaws.com.cn/x.pem",
    ],
)
def test_allowed_urls(url: str) -> None:
    assert allowed_url(url, SNS_HOSTS, "SigningCertURL").host is not None


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://sns.us-west-2.amazonaws.com/x.pem", "not an https URL"),
        ("ftp://sns.us-west-2.amazonaws.com/x.pem", "not an https URL"),
        ("https://sns.us-east-1.amazonaws.com/x.pem", "is not allowed"),
        ("https://sns.us-west-2.amazonaws.com.evil.example/x.pem", "is not allowed"),
        ("https://evil.example/sns.us-west-2.amazonaws.com/x.pem", "is not allowed"),
        ("https://sns.us-west-2.amazonaws.com@evil.example/x.pem", "user info"),
        ("https://evil.example@sns.us-west-2.amazonaws.com/x.pem", "user info"),
        ("https://evil.example\\@sns.us-west-2.amazonaws.com/x.pem", "not a URL"),
        ("https://evil.example\\.sns.us-west-2.amazonaws.com/x.pem", "not a URL"),
        ("https://sns.us-west-2.amazonaws.com%2eevil.example/x.pem", "is not allowed"),
        ("https:///x.pem", "no plain host"),
        ("not a url", "not an https URL"),
        ("", "not an https URL"),
    ],
)
def test_refused_urls(url: str, why: str) -> None:
    with pytest.raises(SignatureError, match=re.escape(why)):
        allowed_url(url, SNS_HOSTS, "SigningCertURL")
