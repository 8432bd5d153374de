"""GCP Pub/Sub source config: the seed's ``projectID``, ``topicProjectID``, ``topic`` and
``credentialsFile``, plus ``subscription``, ``deleteSubscriptionOnFinish`` and ``endpoint``.

``subscription`` names an existing subscription (in ``projectID``), or the one to create for
``topic`` when it does not exist; without it the source uses (and creates)
``gateways-<gateway>-<source>``, so a restart resumes the same subscription. A created
subscription has message ordering enabled. ``deleteSubscriptionOnFinish`` deletes the
subscription when the source leaves the registry. ``endpoint`` (``host:port``) points at a
Pub/Sub emulator (plain gRPC, no credentials), as the ``PUBSUB_EMULATOR_HOST`` environment
variable does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from gateways.config.common import Backoff
from gateways.config.fields import Fields

# Project ids: 6-30 characters, lowercase letters, digits and hyphens (legacy ones may hold
# dots and a domain prefix, "example.com:project").
_PROJECT = re.compile(r"(?:[a-z][a-z0-9.-]*:)?[a-z][a-z0-9.-]{2,62}")
# Topic and subscription ids: 3-255 characters, a letter first, not starting with "goog".
_RESOURCE = re.compile(r"[A-Za-z][A-Za-z0-9._~+%-]{2,254}")
_ENDPOINT = re.compile(r"[A-Za-z0-9.\[\]:-]+:[0-9]{1,5}")


def resource_problem(text: str) -> str | None:
    """Why ``text`` is not a Pub/Sub topic or subscription id, or None."""
    if not _RESOURCE.fullmatch(text):
        return (
            f"{text!r} is not a Pub/Sub id (3-255 characters: letters, digits, - _ . ~ + %, "
            "a letter first)"
        )
    if text.lower().startswith("goog"):
        return f"{text!r} must not start with 'goog'"
    return None


@dataclass(frozen=True, slots=True)
class PubSubConfig:
    project_id: str
    topic: str | None = None
    topic_project_id: str | None = None
    credentials_file: str | None = None
    subscription: str | None = None
    delete_subscription_on_finish: bool = False
    endpoint: str | None = None
    backoff: Backoff = field(default_factory=Backoff)

    @property
    def topic_project(self) -> str:
        """The topic's project: ``topicProjectID``, else ``projectID``."""
        return self.topic_project_id or self.project_id

    @classmethod
    def parse(cls, fields: Fields) -> PubSubConfig:
        project = _project(fields, "projectID", required=True) or ""
        topic_project = _project(fields, "topicProjectID")
        topic = _resource(fields, "topic")
        credentials = (fields.str("credentialsFile") or "").strip() or None
        subscription = _resource(fields, "subscription")
        if topic is None and subscription is None:
            fields.problem("topic", "is required (or name an existing subscription)")
        if topic_project and topic is None:
            fields.problem("topicProjectID", "needs topic")
        delete = fields.bool("deleteSubscriptionOnFinish")
        endpoint = (fields.str("endpoint") or "").strip() or None
        if endpoint and not _ENDPOINT.fullmatch(endpoint):
            fields.problem("endpoint", f"{endpoint!r} is not host:port")
        return cls(
            project_id=project,
            topic=topic,
            topic_project_id=topic_project,
            credentials_file=credentials,
            subscription=subscription,
            delete_subscription_on_finish=delete,
            endpoint=endpoint,
            backoff=Backoff.parse(fields),
        )


def _project(fields: Fields, name: str, *, required: bool = False) -> str | None:
    text = (fields.str(name, required=required) or "").strip()
    if text and not _PROJECT.fullmatch(text):
        fields.problem(name, f"{text!r} is not a GCP project id")
    return text or None


def _resource(fields: Fields, name: str) -> str | None:
    text = (fields.str(name) or "").strip()
    if text and (problem := resource_problem(text)):
        fields.problem(name, problem)
    return text or None
