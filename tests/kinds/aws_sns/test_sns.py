"""SNS sources in `gateways up`'s machinery over real HTTP, with messages signed like SNS signs
them (a locally made key and certificate, the certificate served over local HTTPS): signed
notifications arrive as CloudEvents, subscriptions are confirmed, and every forged, malformed
or misdirected message is refused with nothing delivered, nothing fetched from a host that is
not allowed, and the other sources serving on."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cloudevents.http import from_http as sdk_from_http

from gateways.runtime import GatewayRuntime
from tests.kinds.aws_sns.support import (
    CERT_PATH,
    CONFIRM_PATH,
    TOPIC,
    Signer,
    SNSHost,
    confirmation,
    notification,
    post,
)
from tests.kit import configmap, free_port, start_gateway, status_of, wait_until, write_registry
from tests.watcher import RecordingWatcher

pytestmark = pytest.mark.timeout(60)


@dataclass
class Gateway:
    runtime: GatewayRuntime
    url: str  # the SNS source's endpoint
    base: str  # http://127.0.0.1:port
    host: SNSHost
    signer: Signer


def _sns_source(port: int, host: SNSHost, **extra: Any) -> dict[str, Any]:
    return {
        "topicArn": TOPIC,
        "hook": {"endpoint": "/sns", "port": port, "url": f"http://127.0.0.1:{port}/sns"},
        "accessKey": {"env": "SNS_TEST_ACCESS_KEY"},
        "secretKey": {"env": "SNS_TEST_SECRET_KEY"},
        "region": "us-west-2",
        # Nothing listens there: registration keeps failing (degraded), the endpoint serves.
        "endpoint": f"http://127.0.0.1:{free_port()}",
        "allowedHostPattern": r"127\.0\.0\.1",
        "caCertPath": str(host.ca_path),
        **extra,
    }


@pytest.fixture
async def gateway(
    tmp_path: Path, watcher: RecordingWatcher, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Gateway]:
    monkeypatch.setenv("SNS_TEST_ACCESS_KEY", "AKIDEXAMPLE")
    monkeypatch.setenv("SNS_TEST_SECRET_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
    signer = Signer()
    host = await SNSHost(tmp_path, signer).start()
    port = free_port()
    registry = write_registry(
        tmp_path / "registry.yaml",
        configmap("cloud", "aws-sns", {"orders": _sns_source(port, host)}, watchers=[watcher.url]),
        configmap(
            "hooks", "webhook", {"plain": {"port": port, "endpoint": "/plain"}}, [watcher.url]
        ),
    )
    runtime = await start_gateway(registry, tmp_path)
    try:
        base = f"http://127.0.0.1:{port}"
        yield Gateway(runtime, base + "/sns", base, host, signer)
    finally:
        await runtime.stop()
        await host.stop()


def _cloudevents(watcher: RecordingWatcher) -> list[Any]:
    return [r.event for r in watcher.requests if r.event is not None]


@pytest.mark.parametrize("version", ["1", "2"])
async def test_signed_notification_arrives_as_a_cloudevent(
    gateway: Gateway, watcher: RecordingWatcher, version: str
) -> None:
    document = gateway.signer.sign(
        notification(
            gateway.host.cert_url,
            message='{"order": 1, "items": ["tea"]}',
            Subject="Order placed",
            MessageAttributes={
                "store": {"Type": "String", "Value": "berlin"},
                "Order-Id": {"Type": "String", "Value": "A-1"},
            },
        ),
        version,
    )
    status, answer = await post(gateway.url, document)
    assert status == 200, answer
    assert answer == {"status": "delivered", "events": 1, "messageId": document["MessageId"]}
    [request] = await watcher.wait_for(1)
    event = request.event
    assert event is not None
    assert event.type == "dev.gateways.aws-sns.notification"
    assert event.source == "/gateways/cloud/orders"
    assert event.id == document["MessageId"]
    assert event.attributes["subject"] == "Order placed"
    assert event.attributes["time"] == "2012-05-02T00:54:06.655000Z"
    assert event.attributes["snstopic"] == TOPIC
    assert event.attributes["snssubject"] == "Order placed"
    assert event.attributes["snsmessageid"] == document["MessageId"]
    assert event.attributes["store"] == "berlin"
    assert json.loads(event.attributes["snsattributes"]) == {
        "Order-Id": {"Type": "String", "Value": "A-1"}
    }
    assert event.content_type == "application/json"
    assert event.json() == {"order": 1, "items": ["tea"]}
    sdk_event = sdk_from_http(request.headers, request.body)  # an independent decoder agrees
    assert sdk_event["id"] == document["MessageId"] and sdk_event.data == event.json()
    assert gateway.host.requests == [(f"127.0.0.1:{gateway.host.port}", CERT_PATH)]


async def test_certificate_is_fetched_once_and_a_redelivery_keeps_its_id(
    gateway: Gateway, watcher: RecordingWatcher
) -> None:
    first = gateway.signer.sign(notification(gateway.host.cert_url, message="one"))
    second = gateway.signer.sign(notification(gateway.host.cert_url, message="two"), "1")
    for document in (first, second, first):  # SNS retries with the same MessageId
        assert (await post(gateway.url, document))[0] == 200
    await watcher.wait_for(3)
    events = _cloudevents(watcher)
    assert [e.data for e in events] == [b"one", b"two", b"one"]
    assert events[0].id == events[2].id == first["MessageId"] != events[1].id
    assert events[0].attributes["subject"] == TOPIC  # no Subject: the topic
    assert gateway.host.certificate_fetches == 1


@pytest.mark.parametrize("version", ["1", "2"])
async def test_subscription_confirmation_visits_subscribe_url(
    gateway: Gateway, watcher: RecordingWatcher, version: str
) -> None:
    subscribe = gateway.host.url(f"{CONFIRM_PATH}?Action=ConfirmSubscription&Token=2336412f")
    document = gateway.signer.sign(confirmation(gateway.host.cert_url, subscribe), version)
    status, answer = await post(gateway.url, document)
    assert status == 200, answer
    assert answer == {"status": "confirmed", "subscriptionArn": f"{TOPIC}:2336412f"}
    assert gateway.host.confirmations == [
        f"{CONFIRM_PATH}?Action=ConfirmSubscription&Token=2336412f"
    ]
    assert watcher.requests == []  # a confirmation is not an event


async def test_forged_and_misdirected_messages_are_refused(
    gateway: Gateway, watcher: RecordingWatcher, make_watcher: Any
) -> None:
    host, signer = gateway.host, gateway.signer
    plain_http = await make_watcher()  # an allowed host, but over plain http
    elsewhere = host.url(CERT_PATH, host="localhost")  # the same server, a disallowed name
    good = signer.sign(notification(host.cert_url))
    subscribe_elsewhere = host.url(f"{CONFIRM_PATH}?Token=x", host="localhost")
    cases: list[tuple[str, Any, int]] = [
        ("tampered message", {**good, "Message": "pay me"}, 403),
        ("tampered subject", {**good, "Subject": "added"}, 403),
        ("signed by another key", Signer().sign(notification(host.cert_url)), 403),
        ("no signature", notification(host.cert_url), 401),
        ("no certificate URL", {k: v for k, v in good.items() if k != "SigningCertURL"}, 401),
        ("signature version 3", {**good, "SignatureVersion": "3"}, 403),
        ("signature not base64", {**good, "Signature": "***"}, 403),
        ("certificate from a disallowed host", signer.sign(notification(elsewhere)), 403),
        (
            "certificate over http",
            signer.sign(notification(plain_http.url + CERT_PATH.lstrip("/"))),
            403,
        ),
        (
            "certificate URL with user info",
            signer.sign(notification(f"https://127.0.0.1@localhost:{host.port}{CERT_PATH}")),
            403,
        ),
        ("another topic", signer.sign(notification(host.cert_url, topic=TOPIC + "-other")), 403),
        (
            "SubscribeURL on a disallowed host",
            signer.sign(confirmation(host.cert_url, subscribe_elsewhere)),
            403,
        ),
        (
            "SubscribeURL over http",
            signer.sign(confirmation(host.cert_url, plain_http.url + "confirm?Token=x")),
            403,
        ),
        ("not JSON", b"Type=Notification&Message=hi", 400),
        ("truncated JSON", json.dumps(good).encode()[:-5], 400),
        ("unknown Type", signer.sign({**notification(host.cert_url), "Type": "Notice"}), 400),
        ("no MessageId", {k: v for k, v in good.items() if k != "MessageId"}, 400),
    ]
    for name, document, expected in cases:
        status, answer = await post(gateway.url, document)
        assert status == expected, (name, status, answer)
        assert "error" in answer, name
    raw = signer.sign(notification(host.cert_url))
    status, _ = await post(gateway.url, raw, {"x-amz-sns-rawdelivery": "true"})
    assert status == 400
    assert watcher.requests == []  # nothing delivered
    assert plain_http.requests == []  # nothing fetched over http
    hosts = {name for name, _ in host.requests}
    assert hosts <= {f"127.0.0.1:{host.port}"}  # nothing fetched from "localhost"
    assert host.confirmations == []
    # The gateway serves on: the same source and the webhook beside it.
    assert (await post(gateway.url, good))[0] == 200
    assert (await post(gateway.base + "/plain", b'{"n": 1}'))[0] == 200
    await watcher.wait_for(2)
    assert [e.source for e in _cloudevents(watcher)] == [
        "/gateways/cloud/orders",
        "/gateways/hooks/plain",
    ]
    assert status_of(gateway.runtime, "plain").state == "running"


async def test_an_expired_certificate_is_refused(
    gateway: Gateway, watcher: RecordingWatcher
) -> None:
    gateway.host.signer = Signer(valid_days=-1)  # not after: yesterday
    document = gateway.host.signer.sign(notification(gateway.host.cert_url))
    status, answer = await post(gateway.url, document)
    assert status == 403 and "not valid now" in answer["error"]
    assert watcher.requests == []


async def test_a_certificate_that_cannot_be_fetched_is_a_502(
    gateway: Gateway, watcher: RecordingWatcher
) -> None:
    gateway.host.cert_status = 404
    document = gateway.signer.sign(notification(gateway.host.cert_url))
    status, answer = await post(gateway.url, document)
    assert status == 502 and "404" in answer["error"]  # SNS retries a 5xx
    gateway.host.cert_status = 200
    assert (await post(gateway.url, document))[0] == 200  # a failure is not cached
    await watcher.wait_for(1)


async def test_a_watcher_failing_is_a_503(gateway: Gateway, watcher: RecordingWatcher) -> None:
    await watcher.down()
    document = gateway.signer.sign(notification(gateway.host.cert_url))
    status, answer = await post(gateway.url, document)
    assert status == 503 and answer["error"] == "delivery to watchers failed"


async def test_registration_failing_leaves_the_endpoint_serving(
    gateway: Gateway, watcher: RecordingWatcher
) -> None:
    await wait_until(lambda: status_of(gateway.runtime, "orders").state == "degraded", 20)
    reason = status_of(gateway.runtime, "orders").reason
    assert reason.startswith("hook registration: ") and "reconnecting in" in reason
    document = gateway.signer.sign(notification(gateway.host.cert_url))
    assert (await post(gateway.url, document))[0] == 200
    await watcher.wait_for(1)
