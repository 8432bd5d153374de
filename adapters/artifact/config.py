"""Artifact source config: MinIO/S3 bucket notifications for one bucket, filtered by key.

``insecure: true`` means plain HTTP (MinIO's ``secure=False``); otherwise the endpoint is
reached over HTTPS, verified with ``tls`` when given. ``reconcile`` (default true) lists the
bucket on every start and reconnect to deliver objects created while no stream was read
(:mod:`adapters.artifact.reconcile`); it needs ``s3:ObjectCreated`` events to do anything.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from gateways.config.common import Backoff, SecretRef, TLSConfig, split_host_port
from gateways.config.fields import Fields

# "s3:" then CamelCase words separated by ":", optionally ending in "*": s3:ObjectCreated:Put,
# s3:ObjectRemoved:*, s3:BucketCreated, s3:Replication:OperationFailedReplication.
_S3_EVENT = re.compile(r"s3:[A-Z][A-Za-z]*(:[A-Z][A-Za-z]*)*(:\*)?")
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")


@dataclass(frozen=True, slots=True)
class ArtifactConfig:
    endpoint: str
    bucket: str
    access_key: SecretRef
    secret_key: SecretRef
    events: tuple[str, ...]
    region: str | None = None
    insecure: bool = False
    prefix: str = ""
    suffix: str = ""
    backoff: Backoff = field(default_factory=Backoff)
    tls: TLSConfig | None = None
    reconcile: bool = True

    @property
    def host(self) -> str:
        return split_host_port(self.endpoint)[0]

    @property
    def port(self) -> int:
        return split_host_port(self.endpoint)[1]

    @property
    def secure(self) -> bool:
        return not self.insecure

    @classmethod
    def parse(cls, fields: Fields) -> ArtifactConfig:
        endpoint = fields.required_str("endpoint").strip()
        if endpoint:
            try:
                split_host_port(endpoint)
            except ValueError as exc:
                fields.problem("endpoint", str(exc))
        bucket = _bucket(fields)
        region = fields.str("region") or None
        insecure = fields.bool("insecure")
        access_key = SecretRef.parse(fields, "accessKey", required=True)
        secret_key = SecretRef.parse(fields, "secretKey", required=True)
        events = _events(fields)
        prefix, suffix = _filter(fields)
        backoff = Backoff.parse(fields)
        tls = TLSConfig.parse(fields)
        reconcile = fields.bool("reconcile", True)
        if tls is not None and insecure:
            fields.problem("tls", "insecure: true means plain HTTP; drop one of tls or insecure")
        return cls(
            endpoint=endpoint,
            bucket=bucket,
            access_key=access_key or SecretRef(),
            secret_key=secret_key or SecretRef(),
            events=events,
            region=region,
            insecure=insecure,
            prefix=prefix,
            suffix=suffix,
            backoff=backoff,
            tls=tls,
            reconcile=reconcile,
        )


def _bucket(fields: Fields) -> str:
    sub = fields.sub("bucket")
    if sub is None:
        if not fields.has("bucket"):
            fields.problem("bucket", "is required ({name: ...})")
        return ""
    name = sub.required_str("name").strip()
    if name and (not _BUCKET.fullmatch(name) or ".." in name):
        sub.problem("name", f"{name!r} is not a bucket name (3-63 of a-z, 0-9, '.', '-')")
    sub.finish()
    return name


def _events(fields: Fields) -> tuple[str, ...]:
    if fields.get("events") in (None, []):
        fields.problem(
            "events", "is required: a list of S3 event names such as 's3:ObjectCreated:*'"
        )
        return ()
    names = fields.str_list("events")
    events: list[str] = []
    for index, name in enumerate(names):
        text = name.strip()
        if not _S3_EVENT.fullmatch(text):
            fields.problem(
                f"events[{index}]",
                f"{name!r} is not an S3 event name such as 's3:ObjectCreated:Put'",
            )
        elif text not in events:
            events.append(text)
    return tuple(events)


def _filter(fields: Fields) -> tuple[str, str]:
    sub = fields.sub("filter")
    if sub is None:
        return "", ""
    prefix = sub.str("prefix", "") or ""
    suffix = sub.str("suffix", "") or ""
    sub.finish()
    return prefix, suffix
