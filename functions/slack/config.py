"""Slack source config: the seed era's ``hook``, ``token`` and ``signingSecret``, plus the
replay window for ``X-Slack-Request-Timestamp``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from gateways.config.common import SecretRef
from gateways.config.fields import Fields
from gateways.hooks.endpoint import HookEndpoint

# Slack's own advice, and slack-sdk's SignatureVerifier default.
DEFAULT_REPLAY_WINDOW = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class SlackConfig:
    hook: HookEndpoint  # endpoint, port, TLS, maxPayloadSize: the seed era's ``hook`` mapping
    token: SecretRef | None = None  # the app's verification token (deprecated by Slack)
    signing_secret: SecretRef | None = None
    replay_window: timedelta = DEFAULT_REPLAY_WINDOW

    @classmethod
    def parse(cls, fields: Fields) -> SlackConfig:
        hook = HookEndpoint.parse_hook(fields, url=False)  # nothing registers: no public URL
        token = SecretRef.parse(fields, "token")
        signing_secret = SecretRef.parse(fields, "signingSecret")
        window = fields.duration("replayWindow", DEFAULT_REPLAY_WINDOW) or DEFAULT_REPLAY_WINDOW
        if window <= timedelta(0):
            fields.problem("replayWindow", "must be longer than zero")
            window = DEFAULT_REPLAY_WINDOW
        if not (fields.has("token") or fields.has("signingSecret")):
            fields.problem(
                "signingSecret", "is required (or, for an app made before signing, token)"
            )
        return cls(hook, token, signing_secret, window)
