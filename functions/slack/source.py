"""Slack sources: one Request URL each (Events API, interactivity, slash commands).

Every request is verified before anything else is read: with a signing secret,
``X-Slack-Signature`` must be slack-sdk's ``SignatureVerifier`` signature (``v0=`` HMAC-SHA256
over ``v0:<timestamp>:<body>``, compared in constant time) and ``X-Slack-Request-Timestamp``
within the replay window; with a verification token (apps made before signing), the body's
``token`` must match it, compared in constant time. When both are configured, both are
checked, so the signature is always required. Refusals are 4xx with ``X-Slack-No-Retry``.

Then the handshakes are answered (``url_verification`` with its challenge, ``ssl_check``) and
everything else is delivered: 200 with an empty body (Slack shows a body to the user, or
reads it as a modal's ``response_action``) only once every watcher took the event, else 503
and Slack retries with the same id. The kind's one declaration, ``KIND``, ends this module.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Mapping
from datetime import timedelta

from slack_sdk.signature import SignatureVerifier

from functions.slack.config import SlackConfig
from functions.slack.message import SlackRequest, SlackRequestError, parse, to_raw_event
from gateways.function import Request, Response
from gateways.hooks.source import HookSource
from gateways.kinds import SourceKind
from gateways.secrets import resolve

SIGNATURE = "x-slack-signature"
TIMESTAMP = "x-slack-request-timestamp"
NO_RETRY = {"x-slack-no-retry": "1"}  # a refusal stays a refusal: Slack need not retry it


class SlackSource(HookSource[SlackConfig]):
    kind = "slack"
    _verifier: SignatureVerifier | None = None
    _token: str | None = None

    async def prepare(self) -> None:
        config = self.config
        if config.signing_secret is not None:
            self._verifier = SignatureVerifier(resolve(config.signing_secret))
        self._token = resolve(config.token) if config.token is not None else None

    async def handle(self, request: Request) -> Response:
        if self._verifier is not None:
            refused = check_signature(
                self._verifier,
                request.headers,
                request.body,
                time.time(),
                self.config.replay_window,
            )
            if refused is not None:
                return refused
        try:
            parsed = parse(request.body, request.header("content-type"))
        except SlackRequestError as exc:
            return _refuse(exc.status, str(exc))
        refused = self._check_token(parsed)
        if refused is not None:
            return refused
        if parsed.kind == "url_verification":
            return Response(200, parsed.challenge.encode(), {"content-type": "text/plain"})
        if parsed.kind == "ssl_check":
            return Response(200)
        raw = to_raw_event(
            parsed, request.header("x-slack-retry-num"), request.header("x-slack-retry-reason")
        )
        answer = await self.deliver([raw])
        return Response(200) if answer.status == 200 else answer

    def _check_token(self, parsed: SlackRequest) -> Response | None:
        if self._token is None:
            return None
        if not parsed.token:
            return _refuse(401, "verification token required")
        if not _same(parsed.token, self._token):
            return _refuse(403, "verification token does not match")
        return None


def check_signature(
    verifier: SignatureVerifier,
    headers: Mapping[str, str],
    body: bytes,
    now: float,
    window: timedelta,
) -> Response | None:
    """None when ``headers`` (lower-case names) sign ``body`` freshly enough, else the refusal.

    The window is checked here (slack-sdk's is fixed at five minutes); the signature is
    slack-sdk's, compared in constant time.
    """
    timestamp, signature = headers.get(TIMESTAMP), headers.get(SIGNATURE)
    if not timestamp or not signature:
        return _refuse(401, "X-Slack-Signature and X-Slack-Request-Timestamp are required")
    try:
        sent = int(timestamp) if len(timestamp) <= 20 else None
    except ValueError:
        sent = None
    if sent is None:
        return _refuse(401, "X-Slack-Request-Timestamp is not a Unix time")
    age = now - sent
    if abs(age) > window.total_seconds():
        when = f"{age:.0f} s old" if age > 0 else f"{-age:.0f} s in the future"
        return _refuse(
            403, f"request timestamp is {when}, outside the {window.total_seconds():g} s window"
        )
    try:
        expected = verifier.generate_signature(timestamp=timestamp, body=body)
    except UnicodeDecodeError:
        return _refuse(400, "the body is not UTF-8 text")
    if expected is None or not _same(signature, expected):
        return _refuse(403, "signature does not match")
    return None


def _refuse(status: int, message: str) -> Response:
    return Response.json(status, {"error": message}, NO_RETRY)


def _same(given: str, expected: str) -> bool:
    """Constant-time equality of two texts (any Unicode, even a lone surrogate from JSON)."""
    return hmac.compare_digest(
        given.encode("utf-8", "surrogatepass"), expected.encode("utf-8", "surrogatepass")
    )


KIND = SourceKind(name="slack", config=SlackConfig, create=SlackSource, served_by="webhook")
