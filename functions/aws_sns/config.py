"""AWS SNS source config: the seed era's ``topicArn``, ``hook``, ``accessKey``/``secretKey``
and ``region``, and what signature checks and the subscription need besides.

``allowedHostPattern`` is the one place that says where the source may fetch from: the host
of every ``SigningCertURL`` and ``SubscribeURL`` must match it in full (both over https
only). By default that is SNS's own host in the configured region.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from gateways.config.common import SecretRef
from gateways.config.fields import Fields
from gateways.hooks.endpoint import HookEndpoint

_REGION = re.compile(r"[a-z0-9-]{1,64}")


def default_host_pattern(region: str) -> str:
    """SNS's own endpoint in ``region`` (``.amazonaws.com.cn`` in the China regions)."""
    return rf"sns\.{re.escape(region)}\.amazonaws\.com(\.cn)?"


@dataclass(frozen=True, slots=True)
class SNSConfig:
    hook: HookEndpoint  # endpoint, port, url (the subscribed URL), TLS, maxPayloadSize
    topic_arn: str
    region: str
    allowed_hosts: re.Pattern[str]  # hosts of SigningCertURL and SubscribeURL
    access_key: SecretRef | None = None  # both or neither; neither: boto3's default chain
    secret_key: SecretRef | None = None
    endpoint: str | None = None  # the SNS API endpoint, for local emulators and private ones
    verify_signatures: bool = True  # false only for local emulators that cannot sign
    ca_cert_path: str | None = None  # trust for the https fetches, instead of the system's
    delete_hook_on_finish: bool = False  # unsubscribe when the source leaves the registry

    @property
    def protocol(self) -> str:
        """The subscription's protocol: the scheme of ``hook.url``."""
        url = self.hook.url or ""
        return "https" if url.startswith("https://") else "http"

    @classmethod
    def parse(cls, fields: Fields) -> SNSConfig:
        topic_arn = fields.required_str("topicArn")
        hook = HookEndpoint.parse_hook(fields)
        if fields.has("hook") and hook.url is None:
            fields.problem(
                "hook.url", "is required: SNS delivers to this URL, subscribed to topicArn"
            )
        access_key = SecretRef.parse(fields, "accessKey")
        secret_key = SecretRef.parse(fields, "secretKey")
        if (access_key is None) != (secret_key is None):
            fields.problem(
                "secretKey" if access_key else "accessKey",
                "accessKey and secretKey go together (or leave both out for the default chain)",
            )
        region = fields.required_str("region").strip()
        if region and not _REGION.fullmatch(region):
            fields.problem("region", f"{region!r} is not an AWS region name")
        endpoint = fields.str("endpoint")
        if endpoint is not None and not endpoint.startswith(("http://", "https://")):
            fields.problem("endpoint", f"{endpoint!r} is not an http or https URL")
        verify = fields.bool("verifySignatures", True)
        allowed = _host_pattern(fields, region)
        ca_cert_path = fields.str("caCertPath")
        delete = fields.bool("deleteHookOnFinish")
        fields.finish()
        return cls(
            hook,
            topic_arn,
            region,
            allowed,
            access_key,
            secret_key,
            endpoint or None,
            verify,
            ca_cert_path or None,
            delete,
        )


def _host_pattern(fields: Fields, region: str) -> re.Pattern[str]:
    text = fields.str("allowedHostPattern", max_length=1024)
    if text is None:
        return re.compile(default_host_pattern(region), re.IGNORECASE)
    if not text.strip():
        fields.problem("allowedHostPattern", "must not be empty (leave it out for SNS's own host)")
        return re.compile(default_host_pattern(region), re.IGNORECASE)
    try:
        return re.compile(text, re.IGNORECASE)
    except re.error as exc:
        fields.problem("allowedHostPattern", f"{text!r} is not a regular expression: {exc}")
        return re.compile(default_host_pattern(region), re.IGNORECASE)
