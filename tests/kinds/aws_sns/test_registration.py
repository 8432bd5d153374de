"""The subscription of an aws-sns source, against moto's SNS server through boto3: reused on
a restart and when it exists already (not duplicated), retried while it fails with the
endpoint serving, unsubscribed on removal only when asked; an unsubscribe shown in the
status until a confirmation clears it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.kinds.aws_sns.motokit import Setup
from tests.kinds.aws_sns.support import CONFIRM_PATH, Signer, SNSHost, confirmation, post
from tests.kit import status_of
from tests.watcher import RecordingWatcher

pytestmark = [pytest.mark.sns, pytest.mark.timeout(90)]


async def test_a_restart_reuses_the_subscription(setup: Setup) -> None:
    await setup.start()
    [before] = setup.subscriptions()
    await setup.stop()
    await setup.start()
    assert setup.subscriptions() == [before]  # no duplicate


async def test_an_existing_subscription_is_reused_and_made_to_sign(setup: Setup) -> None:
    arn = setup.sns.subscribe(
        TopicArn=setup.topic,
        Protocol="http",
        Endpoint=setup.hook_url,
        Attributes={"RawMessageDelivery": "true"},
        ReturnSubscriptionArn=True,
    )["SubscriptionArn"]
    await setup.start()
    assert [s["SubscriptionArn"] for s in setup.subscriptions()] == [arn]
    attributes = setup.sns.get_subscription_attributes(SubscriptionArn=arn)["Attributes"]
    assert attributes["RawMessageDelivery"] == "false"  # raw delivery carries no signature


async def test_removal_unsubscribes_only_when_asked(setup: Setup) -> None:
    await setup.start()
    assert len(setup.subscriptions()) == 1
    setup.write(with_source=False)
    await setup.wait_removed()
    assert len(setup.subscriptions()) == 1  # deleteHookOnFinish is false by default
    await setup.stop()
    setup.extra = {"deleteHookOnFinish": True}
    await setup.start()
    assert len(setup.subscriptions()) == 1  # the same one, reused
    setup.write(with_source=False)
    await setup.wait_removed()
    assert setup.subscriptions() == []


async def test_registration_is_retried_until_the_topic_exists(
    setup: Setup, watcher: RecordingWatcher
) -> None:
    setup.sns.delete_topic(TopicArn=setup.topic)
    runtime = await setup.start(state="degraded")
    reason = status_of(runtime, "orders").reason
    assert reason.startswith("hook registration: ") and "NotFound" in reason, reason
    # The endpoint serves meanwhile, and so does its neighbour.
    status, _ = await post(f"http://127.0.0.1:{setup.port}/other", b"{}")
    assert status == 200
    setup.sns.create_topic(Name=setup.topic.rsplit(":", 1)[1])
    await setup.wait_for("running", timeout=30)
    assert len(setup.subscriptions()) == 1


async def test_unsubscribe_is_shown_and_a_confirmation_clears_it(
    setup: Setup, watcher: RecordingWatcher, tmp_path: Path
) -> None:
    signer = Signer()
    host = await SNSHost(tmp_path, signer).start()
    try:
        setup.extra = {
            "verifySignatures": True,
            "allowedHostPattern": r"127\.0\.0\.1",
            "caCertPath": str(host.ca_path),
        }
        runtime = await setup.start()
        url = f"http://127.0.0.1:{setup.port}/sns"
        subscribe = host.url(f"{CONFIRM_PATH}?Action=ConfirmSubscription&Token=feedbeef")
        gone = signer.sign(
            confirmation(host.cert_url, subscribe, "UnsubscribeConfirmation", setup.topic)
        )
        status, answer = await post(url, gone)
        assert (status, answer) == (200, {"status": "unsubscribed"})
        await setup.wait_for("degraded")
        reason = status_of(runtime, "orders").reason
        assert reason.startswith(f"unsubscribed from {setup.topic}"), reason
        assert host.confirmations == []  # an unsubscribe is not confirmed back
        back = signer.sign(confirmation(host.cert_url, subscribe, topic=setup.topic))
        status, answer = await post(url, back)
        assert status == 200 and answer["status"] == "confirmed"
        await setup.wait_for("running")
        assert len(host.confirmations) == 1
        assert watcher.requests == []  # neither is an event
    finally:
        await host.stop()
