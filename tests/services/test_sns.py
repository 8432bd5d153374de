"""Smoke test: moto's SNS server from scripts/services, through boto3: subscribe an HTTP
endpoint, publish, and the notification arrives there."""

from __future__ import annotations

import json
import queue
import threading
import uuid
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest

from tests.servicekit import SnsService

pytestmark = [pytest.mark.sns, pytest.mark.timeout(60)]


def test_publish_reaches_a_subscribed_http_endpoint(sns_service: SnsService) -> None:
    received: queue.Queue[dict[str, Any]] = queue.Queue()

    class Endpoint(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["content-length"]))
            received.put(json.loads(body))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            return None

    server = HTTPServer(("127.0.0.1", 0), Endpoint)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    client = sns_service.client()
    topic = client.create_topic(Name=f"gw-smoke-{uuid.uuid4().hex[:12]}")["TopicArn"]
    try:
        url = f"http://127.0.0.1:{server.server_port}/sns"
        arn = client.subscribe(
            TopicArn=topic, Protocol="http", Endpoint=url, ReturnSubscriptionArn=True
        )["SubscriptionArn"]
        listed = client.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
        assert [(s["SubscriptionArn"], s["Endpoint"]) for s in listed] == [(arn, url)]
        message_id = client.publish(TopicArn=topic, Message='{"n": 1}')["MessageId"]
        notification = received.get(timeout=10)  # moto posts while answering Publish
        assert notification["Type"] == "Notification"
        assert notification["MessageId"] == message_id
        assert notification["TopicArn"] == topic
        assert json.loads(notification["Message"]) == {"n": 1}
        assert notification["SignatureVersion"] in ("1", "2")
    finally:
        client.delete_topic(TopicArn=topic)
        server.shutdown()
        server.server_close()
