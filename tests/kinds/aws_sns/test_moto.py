"""SNS sources against moto's SNS server (`scripts/services up sns`): messages published
through boto3 delivered as CloudEvents, moto's own signatures passing our check, and the
seed era's ConfigMap and the shipped example running in `gateways up` (the subscription
itself: test_registration.py).

moto confirms HTTP subscriptions itself (it sends no SubscriptionConfirmation) and names
SNS's real host as its SigningCertURL, which is not reachable from here; so the publish tests
run with ``verifySignatures: false``, the flag for local emulators; signature checks are
proven in test_sns.py, and against moto's own signer by test_motos_signatures_pass_our_check.
"""

from __future__ import annotations

import asyncio
import json
import ssl
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from functions.aws_sns.message import parse
from functions.aws_sns.signature import SignatureError, public_key, verify
from tests.kinds.aws_sns.motokit import Setup
from tests.kinds.aws_sns.support import (
    Signer,
    SNSHost,
    notification,
    post,
)
from tests.kit import (
    REFERENCE_DATA,
    ROOT,
    free_port,
    start_gateway,
    status_of,
    unique,
    wait_until,
    write_registry,
)
from tests.servicekit import SnsService
from tests.watcher import RecordingWatcher

pytestmark = [pytest.mark.sns, pytest.mark.timeout(90)]
SEED = REFERENCE_DATA / "argo-events-v0.10-examples" / "aws-sns.yaml"


async def test_subscribe_publish_and_the_notification_is_delivered(
    setup: Setup, watcher: RecordingWatcher
) -> None:
    await setup.start()
    [subscription] = setup.subscriptions()
    assert subscription["Protocol"] == "http"
    # moto posts to the endpoint before it answers Publish: publish from another thread.
    publish = setup.sns.publish
    plain = await asyncio.to_thread(publish, TopicArn=setup.topic, Message='{"order": 1}')
    titled = await asyncio.to_thread(
        publish, TopicArn=setup.topic, Message="shipped", Subject="Order 1"
    )
    await watcher.wait_for(2)
    first, second = (r.event for r in watcher.requests)
    assert first is not None and second is not None
    assert first.type == "dev.gateways.aws-sns.notification"
    assert first.source == "/gateways/cloud/orders"
    assert first.id == plain["MessageId"] and first.attributes["snsmessageid"] == first.id
    assert first.attributes["subject"] == setup.topic
    assert first.attributes["snstopic"] == setup.topic
    assert first.json() == {"order": 1}
    assert second.id == titled["MessageId"]
    assert second.attributes["subject"] == second.attributes["snssubject"] == "Order 1"
    assert second.data == b"shipped"


async def test_motos_signatures_pass_our_check(
    sns_service: SnsService, make_watcher: Callable[..., Any]
) -> None:
    """moto signs with SignatureVersion 2 as SNS documents it (it leaves Subject out, so
    without one): our string to sign and check agree with an independent signer."""
    endpoint = await make_watcher()
    client = sns_service.client()
    topic = client.create_topic(Name=unique("gw-signed-"))["TopicArn"]
    try:
        client.subscribe(TopicArn=topic, Protocol="http", Endpoint=endpoint.url)
        await asyncio.to_thread(client.publish, TopicArn=topic, Message='{"signed": true}')
        [request] = await endpoint.wait_for(1)
    finally:
        client.delete_topic(TopicArn=topic)
    message = parse(request.body)
    assert message.field("SignatureVersion") == "2"
    # moto serves the certificate under SNS's path; it routes on the credential scope.
    path = urlsplit(message.field("SigningCertURL") or "").path
    fetch = urllib.request.Request(  # noqa: S310 - the moto server on 127.0.0.1
        sns_service.endpoint + path,
        headers={
            "Authorization": f"AWS4-HMAC-SHA256 Credential={sns_service.access_key}/20260101/"
            f"{sns_service.region}/sns/aws4_request, SignedHeaders=host, Signature=x"
        },
    )
    with urllib.request.urlopen(fetch, timeout=10) as reply:  # noqa: S310
        key = public_key(reply.read())
    verify(message, key)
    tampered = parse(json.dumps({**json.loads(request.body), "Message": "{}"}).encode())
    with pytest.raises(SignatureError):
        verify(tampered, key)


async def test_the_seed_era_configmap_registers_and_receives_on_each_port(
    sns_service: SnsService,
    tmp_path: Path,
    watcher: RecordingWatcher,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The seed era's file as it is, but for its ports (12000 and 13000 may be taken here, and
    two of its sources share 13000, one with TLS and one without), its TLS paths ("some path
    in pod", here a certificate made for the test), its placeholder topic (a topic on moto)
    and three added fields: ``endpoint`` (moto), and ``allowedHostPattern`` and
    ``caCertPath`` so that the signing certificate comes from the local HTTPS server.
    Signatures are verified, as by default."""
    secrets = {
        "AWS_SECRET_ACCESSKEY": sns_service.access_key,
        "AWS_SECRET_SECRETKEY": sns_service.secret_key,
        "AWS_SECRET_ACCESS": sns_service.access_key,
        "AWS_SECRET_SECRET": sns_service.secret_key,
        "AWS_ACCESS_KEY_ID": sns_service.access_key,  # the default chain, for the third
        "AWS_SECRET_ACCESS_KEY": sns_service.secret_key,
    }
    for name, value in secrets.items():
        monkeypatch.setenv(name, value)
    client = sns_service.client()
    topic = client.create_topic(Name=unique("gw-seed-"))["TopicArn"]
    signer = Signer()
    host = await SNSHost(tmp_path, signer).start()
    ports = {"12000": free_port(), "13000": free_port()}
    third = free_port()
    text = SEED.read_text()
    for seed_port, port in ports.items():
        text = text.replace(f'port: "{seed_port}"', f'port: "{port}"', 1)
    text = text.replace('port: "13000"', f'port: "{third}"')
    text = text.replace('serverCertPath: "some path in pod"', f'serverCertPath: "{host.cert_file}"')
    text = text.replace('serverKeyPath: "some path in pod"', f'serverKeyPath: "{host.key_file}"')
    added = (
        f"    endpoint: {sns_service.endpoint}\n"
        "    allowedHostPattern: '127\\.0\\.0\\.1'\n"
        f"    caCertPath: {host.ca_path}\n"
    )
    text = text.replace('    topicArn: "topic-arn"\n', f'    topicArn: "{topic}"\n{added}')
    [document] = [d for d in yaml.safe_load_all(text) if d]
    document["metadata"]["annotations"] = {"gateways.dev/watchers": yaml.safe_dump([watcher.url])}
    path = write_registry(tmp_path / "seed.yaml", document)
    runtime = await start_gateway(path, tmp_path, gateway_type="aws-sns")
    try:
        await wait_until(
            lambda: [s.state for s in runtime.reconciler.status()] == ["running"] * 3,
            20,
            runtime.reconciler.status,
        )
        listed = client.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
        assert sorted(s["Endpoint"] for s in listed) == [
            "http://myfakeurl.fake",
            "http://mysecondfakeurl.fake",  # two sources share it: subscribed once
        ]
        trust = ssl.create_default_context(cafile=str(host.ca_path))
        urls = [
            (f"http://127.0.0.1:{ports['12000']}/", None),
            (f"https://127.0.0.1:{ports['13000']}/", trust),
            (f"http://127.0.0.1:{third}/", None),
        ]
        for url, context in urls:
            document = signer.sign(notification(host.cert_url, topic=topic))
            assert (await post(url, document, ssl=context))[0] == 200, url
        events = [r.event for r in await watcher.wait_for(3)]
        assert sorted(e.source for e in events if e is not None) == [
            "/gateways/aws-sns-event-source/example",
            "/gateways/aws-sns-event-source/example-with-secure-connection",
            "/gateways/aws-sns-event-source/example-without-credentials",
        ]
    finally:
        await runtime.stop()
        await host.stop()
        client.delete_topic(TopicArn=topic)


async def test_the_shipped_example_receives_a_publish(
    sns_service: SnsService,
    tmp_path: Path,
    watcher: RecordingWatcher,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """examples/aws-sns.yaml as its comments run it, on a free port and with the watcher in
    place of the console."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", sns_service.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", sns_service.secret_key)
    [document] = [d for d in yaml.safe_load_all((ROOT / "examples" / "aws-sns.yaml").read_text())]
    text = document["data"]["orders"]
    topic_name = unique("gateways-orders-")
    port = free_port()
    text = text.replace("12000", str(port)).replace("gateways-orders", topic_name)
    text = text.replace("http://127.0.0.1:14566", sns_service.endpoint)
    document["data"]["orders"] = text
    document["metadata"]["annotations"] = {"gateways.dev/watchers": yaml.safe_dump([watcher.url])}
    client = sns_service.client()
    topic = client.create_topic(Name=topic_name)["TopicArn"]
    runtime = await start_gateway(write_registry(tmp_path / "r.yaml", document), tmp_path)
    try:
        await wait_until(lambda: status_of(runtime, "orders").state == "running", 20)
        sent = await asyncio.to_thread(
            client.publish, TopicArn=topic, Message='{"order": 1}', Subject="Order placed"
        )
        [request] = await watcher.wait_for(1)
        event = request.event
        assert event is not None and event.id == sent["MessageId"]
        assert (event.type, event.attributes["subject"]) == (
            "dev.gateways.aws-sns.notification",
            "Order placed",
        )
        assert event.json() == {"order": 1}
    finally:
        await runtime.stop()
        client.delete_topic(TopicArn=topic)
