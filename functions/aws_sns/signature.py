"""SNS message signatures, and the only URLs the source will fetch.

SNS signs the string of :func:`~functions.aws_sns.message.string_to_sign` with the private key
of a certificate it publishes at ``SigningCertURL``: ``SignatureVersion`` 1 is SHA1withRSA,
2 is SHA256withRSA, both PKCS#1 v1.5. A certificate is only fetched from an https URL whose
host matches the allowed pattern (SNS's own host by default), and a ``SubscribeURL`` is only
visited under the same rule, so a forged message can make the source fetch nothing else.
"""

from __future__ import annotations

import base64
import binascii
import re
from datetime import UTC, datetime
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from yarl import URL

from functions.aws_sns.message import SNSMessage, string_to_sign
from gateways.errors import GatewayError

HASHES: dict[str, type[hashes.HashAlgorithm]] = {"1": hashes.SHA1, "2": hashes.SHA256}


class SignatureError(GatewayError):
    """The message is not signed by SNS, or points somewhere it may not (a 403)."""


class MissingSignatureError(SignatureError):
    """The message carries no signature at all (a 401)."""


def allowed_url(url: str, hosts: re.Pattern[str], what: str) -> URL:
    """``url`` as the client will fetch it, once it is https on an allowed host.

    The host is read by the same parser the HTTP client uses (yarl) and by the standard
    library's; both must agree, and the URL may carry no user info, so no trick of syntax can
    make the check and the fetch see different hosts.
    """
    try:
        parsed = URL(url)
        plain = urlsplit(url)
    except ValueError:
        raise SignatureError(f"{what} is not a URL") from None
    if parsed.scheme != "https" or plain.scheme != "https":
        raise SignatureError(f"{what} is not an https URL")
    host = (parsed.host or "").lower()
    if parsed.user is not None or parsed.password is not None or "@" in plain.netloc:
        raise SignatureError(f"{what} carries user info")
    if not host or host != (plain.hostname or "") or any(c in url for c in "\\\r\n\t "):
        raise SignatureError(f"{what} has no plain host")
    if not hosts.fullmatch(host):
        raise SignatureError(f"{what} host {host[:80]!r} is not allowed ({hosts.pattern})")
    return parsed


def signing_certificate_url(message: SNSMessage, hosts: re.Pattern[str]) -> URL:
    """Where the message's certificate may be fetched; SignatureError if nowhere."""
    url = message.field("SigningCertURL")
    if not url or message.field("Signature") is None:
        raise MissingSignatureError("the message is not signed (Signature, SigningCertURL)")
    version = message.field("SignatureVersion")
    if version not in HASHES:
        raise SignatureError(f"SignatureVersion {str(version)[:20]!r} is not 1 or 2")
    return allowed_url(url, hosts, "SigningCertURL")


def public_key(pem: bytes, now: datetime | None = None) -> rsa.RSAPublicKey:
    """The RSA key of a PEM certificate that is valid now; SignatureError otherwise."""
    try:
        certificate = x509.load_pem_x509_certificate(pem)
    except ValueError:
        raise SignatureError("the signing certificate is not a PEM X.509 certificate") from None
    moment = now or datetime.now(UTC)
    if not certificate.not_valid_before_utc <= moment <= certificate.not_valid_after_utc:
        raise SignatureError("the signing certificate is not valid now")
    key = certificate.public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        raise SignatureError("the signing certificate's key is not RSA")
    return key


def verify(message: SNSMessage, key: rsa.RSAPublicKey) -> None:
    """Check the message's signature with SNS's ``key``; SignatureError when it does not hold."""
    algorithm = HASHES.get(message.field("SignatureVersion") or "")
    if algorithm is None:
        raise SignatureError("SignatureVersion is not 1 or 2")
    try:
        signature = base64.b64decode(message.field("Signature") or "", validate=True)
    except (binascii.Error, ValueError):
        raise SignatureError("Signature is not base64") from None
    try:
        key.verify(signature, string_to_sign(message), padding.PKCS1v15(), algorithm())
    except InvalidSignature:
        raise SignatureError("signature does not match") from None
