"""What the SNS tests share: messages shaped as SNS documents them, signed like SNS signs them
(SHA1withRSA or SHA256withRSA with a locally made key and certificate), and a local HTTPS
server (its own CA) that serves the signing certificate and records every request, including
the confirmations a ``SubscribeURL`` asks for."""

from __future__ import annotations

import base64
import ipaddress
import json
import ssl as ssl_module
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from functions.aws_sns.message import CONFIRMATION_SIGNED, NOTIFICATION_SIGNED
from gateways.hosting.server import server_ssl_context
from tests.kit import free_port

TOPIC = "arn:aws:sns:us-west-2:123456789012:MyTopic"
CERT_PATH = "/SimpleNotificationService-f3ecfb7224c7233fe7bb5f59f96de52f.pem"
CONFIRM_PATH = "/confirm"


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def certificate(
    key: rsa.RSAPrivateKey,
    common_name: str,
    *,
    issuer: tuple[x509.Certificate, rsa.RSAPrivateKey] | None = None,
    ca: bool = False,
    san: list[x509.GeneralName] | None = None,
    valid_days: int = 1,
) -> x509.Certificate:
    now = datetime.now(UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(issuer[0].subject if issuer else _name(common_name))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=2))
        .not_valid_after(now + timedelta(days=valid_days))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if san:
        builder = builder.add_extension(x509.SubjectAlternativeName(san), critical=False)
    return builder.sign(issuer[1] if issuer else key, hashes.SHA256())


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


@dataclass
class Signer:
    """SNS's side: a signing key and its certificate, as SNS publishes them."""

    key: rsa.RSAPrivateKey = field(default_factory=new_key)
    valid_days: int = 1

    def __post_init__(self) -> None:
        self.certificate = certificate(self.key, "sns.amazonaws.com", valid_days=self.valid_days)

    def sign(self, document: dict[str, Any], version: str = "2") -> dict[str, Any]:
        """``document`` with SignatureVersion and Signature over SNS's string to sign."""
        fields = NOTIFICATION_SIGNED if document["Type"] == "Notification" else CONFIRMATION_SIGNED
        text = "".join(f"{n}\n{document[n]}\n" for n in fields if n in document)
        # SNS's SignatureVersion 1 is SHA1withRSA.
        algorithm = hashes.SHA1() if version == "1" else hashes.SHA256()  # noqa: S303
        signature = self.key.sign(text.encode(), padding.PKCS1v15(), algorithm)
        return {
            **document,
            "SignatureVersion": version,
            "Signature": base64.b64encode(signature).decode(),
        }


def notification(
    cert_url: str, message: str = '{"order": 1}', topic: str = TOPIC, **extra: Any
) -> dict[str, Any]:
    """A notification shaped as in SNS's "HTTP/HTTPS notification JSON format"."""
    return {
        "Type": "Notification",
        "MessageId": str(uuid.uuid4()),
        "TopicArn": topic,
        "Message": message,
        "Timestamp": "2012-05-02T00:54:06.655Z",
        "SigningCertURL": cert_url,
        "UnsubscribeURL": "https://sns.us-west-2.amazonaws.com/?Action=Unsubscribe"
        f"&SubscriptionArn={topic}:c9135db0-26c4-47ec-8998-413945fb5a96",
        **extra,
    }


def confirmation(
    cert_url: str, subscribe_url: str, kind: str = "SubscriptionConfirmation", topic: str = TOPIC
) -> dict[str, Any]:
    """A (un)subscribe confirmation shaped as in SNS's documentation."""
    return {
        "Type": kind,
        "MessageId": str(uuid.uuid4()),
        "Token": "2336412f37fb687f5d51e6e241d09c805a5a57b30d712f794cc5f6a988666d92768dd60a74",
        "TopicArn": topic,
        "Message": f"You have chosen to subscribe to the topic {topic}.\n"
        "To confirm the subscription, visit the SubscribeURL included in this message.",
        "SubscribeURL": subscribe_url,
        "Timestamp": "2012-04-26T20:45:04.751Z",
        "SigningCertURL": cert_url,
    }


class SNSHost:
    """A local HTTPS server standing in for SNS's host (own CA): serves the signing
    certificate at CERT_PATH and answers confirmations at CONFIRM_PATH; records every request
    as (host header, path with query)."""

    def __init__(self, directory: Path, signer: Signer) -> None:
        self.signer = signer
        self.port = free_port()
        self.requests: list[tuple[str, str]] = []
        self.cert_status = 200
        ca_key, server_key = new_key(), new_key()
        ca = certificate(ca_key, "gateways-sns-test-ca", ca=True)
        addresses = [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
        server = certificate(
            server_key,
            "127.0.0.1",
            issuer=(ca, ca_key),
            san=[*addresses, x509.DNSName("localhost")],
        )
        self.ca_path = directory / "sns-ca.pem"
        self.ca_path.write_bytes(pem(ca))
        self.cert_file, self.key_file = directory / "sns-host.crt", directory / "sns-host.key"
        self.cert_file.write_bytes(pem(server))
        self.key_file.write_bytes(
            server_key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        self._runner: web.AppRunner | None = None

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"https://{host}:{self.port}{path}"

    @property
    def cert_url(self) -> str:
        return self.url(CERT_PATH)

    @property
    def confirmations(self) -> list[str]:
        return [path for _, path in self.requests if path.startswith(CONFIRM_PATH)]

    @property
    def certificate_fetches(self) -> int:
        return sum(path == CERT_PATH for _, path in self.requests)

    async def start(self) -> SNSHost:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        context = server_ssl_context(str(self.cert_file), str(self.key_file))
        await web.TCPSite(self._runner, "127.0.0.1", self.port, ssl_context=context).start()
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.Response:
        self.requests.append((request.host, request.path_qs))
        if request.path == CERT_PATH:
            return web.Response(status=self.cert_status, body=pem(self.signer.certificate))
        if request.path == CONFIRM_PATH:
            arn = f"{TOPIC}:{request.query.get('Token', '')[:8]}"
            body = (
                '<ConfirmSubscriptionResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/">'
                f"<ConfirmSubscriptionResult><SubscriptionArn>{arn}</SubscriptionArn>"
                "</ConfirmSubscriptionResult></ConfirmSubscriptionResponse>"
            )
            return web.Response(body=body.encode(), content_type="text/xml")
        return web.Response(status=404)


async def post(
    url: str,
    document: Mapping[str, Any] | bytes,
    headers: Mapping[str, str] | None = None,
    ssl: ssl_module.SSLContext | None = None,
) -> tuple[int, dict[str, Any]]:
    """Post as SNS does (``text/plain`` JSON and the x-amz-sns-* headers); (status, JSON)."""
    body = document if isinstance(document, bytes) else json.dumps(document).encode()
    sent = {"content-type": "text/plain; charset=UTF-8"}
    if isinstance(document, Mapping):
        sent["x-amz-sns-message-type"] = str(document.get("Type"))
        sent["x-amz-sns-message-id"] = str(document.get("MessageId"))
        sent["x-amz-sns-topic-arn"] = str(document.get("TopicArn"))
    sent.update(headers or {})
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, data=body, headers=sent, ssl=ssl or True) as reply,
    ):
        text = await reply.read()
        try:
            answer = json.loads(text)
        except ValueError:
            answer = {"raw": text.decode(errors="replace")}
        return reply.status, answer
