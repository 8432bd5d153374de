"""NATS source config: one subject (wildcards allowed), core NATS or a JetStream durable consumer.

With ``jetStream`` each message is acknowledged only after delivery, and the durable consumer
resumes after a restart; ``deliverPolicy`` (default ``new``, so a new consumer does not replay
the whole stream) applies only when the durable consumer is first created. Without it,
messages published while the gateway is down are lost (core NATS is at-most-once).
``queue`` spreads messages over the gateway's replicas (a queue group). ``format: s3``: each
message is an S3 event notification (a MinIO bucket's NATS target), one event per record.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta

from gateways.config.common import Backoff, BasicAuth, SecretRef, TLSConfig, parse_url
from gateways.config.fields import Fields
from gateways.events.s3 import FORMATS

SCHEMES = frozenset({"nats", "tls"})
DELIVER_POLICIES = frozenset({"all", "new", "last"})
_NAME = re.compile(r"[^\s.*>/\\]+")  # stream and durable consumer names
_QUEUE = re.compile(r"[^\s*>]+")  # queue groups follow subject rules, without wildcards


def subject_problem(subject: str) -> str | None:
    """Why ``subject`` is not a subscribable NATS subject, or None."""
    if not subject or any(char.isspace() for char in subject):
        return f"{subject!r} is not a NATS subject (tokens separated by '.', no spaces)"
    parts = subject.split(".")
    for index, part in enumerate(parts):
        if not part:
            return f"{subject!r} has an empty token"
        if part not in ("*", ">") and ("*" in part or ">" in part):
            return f"{subject!r}: wildcards '*' and '>' must be whole tokens"
        if part == ">" and index != len(parts) - 1:
            return f"{subject!r}: '>' must be the last token"
    return None


@dataclass(frozen=True, slots=True)
class JetStream:
    """A durable pull consumer; ``stream`` is looked up by subject when omitted."""

    durable: str
    stream: str | None = None
    deliver_policy: str = "new"
    ack_wait: timedelta = timedelta(seconds=30)
    max_ack_pending: int = 1000

    @classmethod
    def parse(cls, fields: Fields, name: str = "jetStream") -> JetStream | None:
        sub = fields.sub(name)
        if sub is None:
            return None
        defaults = cls(durable="")
        durable = _name(sub, "durable", required=True) or ""
        stream = _name(sub, "stream")
        policy = sub.choice("deliverPolicy", DELIVER_POLICIES, defaults.deliver_policy)
        ack_wait = sub.duration("ackWait", defaults.ack_wait)
        if ack_wait is None or ack_wait <= timedelta(0):
            sub.problem("ackWait", "must be positive")
            ack_wait = defaults.ack_wait
        max_ack_pending = sub.int("maxAckPending", defaults.max_ack_pending, minimum=1)
        sub.finish()
        return cls(
            durable,
            stream,
            policy or defaults.deliver_policy,
            ack_wait,
            max_ack_pending or defaults.max_ack_pending,
        )


@dataclass(frozen=True, slots=True)
class NATSAuth:
    """One way to authenticate: user and password (the core's :class:`BasicAuth`), a token, or
    a credentials (JWT + NKey) file; the last two are NATS's own."""

    basic: BasicAuth | None = None
    token: SecretRef | None = None
    credentials_file: str | None = None

    @classmethod
    def parse(cls, fields: Fields, name: str = "auth") -> NATSAuth | None:
        sub = fields.sub(name)
        if sub is None:
            return None
        basic = BasicAuth.read(sub, password_required=True)
        token = SecretRef.parse(sub, "token")
        credentials = sub.str("credentialsFile") or None
        sub.finish()
        given = (("username", basic), ("token", token), ("credentialsFile", credentials))
        ways = [way for way, value in given if value]
        if not ways:
            fields.problem(name, "needs username and password, token or credentialsFile")
        elif len(ways) > 1:
            fields.problem(
                name, f"give one of username, token or credentialsFile, not {' and '.join(ways)}"
            )
        return cls(basic, token, credentials)


@dataclass(frozen=True, slots=True)
class NATSConfig:
    url: str
    subject: str
    queue: str | None = None
    jet_stream: JetStream | None = None
    backoff: Backoff = field(default_factory=Backoff)
    tls: TLSConfig | None = None
    auth: NATSAuth | None = None
    format: str = "raw"

    @property
    def jetstream(self) -> bool:
        """True when messages come from a JetStream durable consumer (acked after delivery)."""
        return self.jet_stream is not None

    @property
    def secure(self) -> bool:
        return self.tls is not None or self.url.lower().startswith("tls://")

    @classmethod
    def parse(cls, fields: Fields) -> NATSConfig:
        url = parse_url(fields, "url", SCHEMES) or ""
        subject = fields.required_str("subject").strip()
        if subject and (problem := subject_problem(subject)):
            fields.problem("subject", problem)
        return cls(
            url=url,
            subject=subject,
            queue=_queue(fields),
            jet_stream=JetStream.parse(fields),
            backoff=Backoff.parse(fields),
            tls=TLSConfig.parse(fields),
            auth=NATSAuth.parse(fields),
            format=fields.choice("format", FORMATS, "raw") or "raw",
        )


def _name(fields: Fields, name: str, *, required: bool = False) -> str | None:
    text = (fields.str(name, required=required) or "").strip()
    if text and not _NAME.fullmatch(text):
        fields.problem(name, f"{text!r} must not contain spaces, '.', '*', '>' or slashes")
    return text or None


def _queue(fields: Fields) -> str | None:
    text = (fields.str("queue") or "").strip()
    if text and not _QUEUE.fullmatch(text):
        fields.problem("queue", f"{text!r} is not a queue group name (no spaces or wildcards)")
    return text or None
