"""The listen path closing its own gaps: MinIO keeps nothing for a listener that is not
connected, so on every start and reconnect a source lists its bucket (``filter.prefix``, then
``filter.suffix``) and delivers the objects modified since the newest event it delivered, as
``ObjectCreated`` events.

- Times are MinIO's: ``since`` is the ``eventTime`` of the newest event delivered, and a listing
  gives modification times to the millisecond. An object's time is fixed a moment before its
  notification is made, so notifications may come slightly out of that order: the listing looks
  back :data:`OVERLAP` before ``since`` and skips the ids delivered in that window.
- A listed object becomes the record its notification would have been: ``eventName``
  ``s3:ObjectCreated:Put`` (``...:CompleteMultipartUpload`` when its ETag is a multipart one),
  the sequencer MinIO gives it (to the millisecond, all the id keeps) and so the same id; the
  extension ``s3listed: true`` tells it came from a listing. Names the source's ``events`` do
  not take are left out.
- A listing shows only what exists now: objects deleted, or overwritten again, while nobody
  listened, and every other kind of event (removals, access, tagging), are not recovered.
- First start (no checkpoint, or one for another target): nothing is delivered; the listing
  sets ``since``, so only what changes from then on counts as missed.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from adapters.artifact.checkpoints import FILE_RECENT, Checkpoint
from adapters.artifact.config import ArtifactConfig
from gateways.checkpoints import CheckpointStore
from gateways.events.s3 import MINIO, event_matches, minio_sequencer, raw_event
from gateways.source import RawEvent

log = logging.getLogger(__name__)
OVERLAP = timedelta(seconds=10)
RECENT_LIMIT = FILE_RECENT  # ids a checkpoint remembers by default
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
LISTED = "s3listed"
_MULTIPART_ETAG = re.compile(r"-\d+$")


@dataclass(frozen=True, slots=True)
class Listed:
    """One object of a bucket listing."""

    key: str
    modified: datetime
    size: int
    etag: str
    content_type: str = ""
    version_id: str = ""


def target_of(config: ArtifactConfig) -> str:
    """What a checkpoint is valid for: a source watching something else starts afresh."""
    return f"{config.endpoint}/{config.bucket}/{config.prefix}*{config.suffix}"


def wanted(config: ArtifactConfig) -> bool:
    """Whether a listing can give this source anything: it takes ObjectCreated events."""
    return config.reconcile and any(
        event_matches(name, config.events)
        for name in ("s3:ObjectCreated:Put", "s3:ObjectCreated:CompleteMultipartUpload")
    )


def listed_event(listed: Listed, config: ArtifactConfig) -> RawEvent:
    """The raw event of a listed object, as its notification would have made it."""
    raw = raw_event(_record(listed, config), config.region, encoded=False)
    return dataclasses.replace(raw, extensions={**raw.extensions, LISTED: "true"})


def _record(listed: Listed, config: ArtifactConfig) -> dict[str, Any]:
    millis = (listed.modified - EPOCH) // timedelta(milliseconds=1)
    obj: dict[str, Any] = {
        "key": listed.key,
        "size": listed.size,
        "eTag": listed.etag,
        "sequencer": minio_sequencer(millis * 1_000_000),
    }
    if listed.content_type:
        obj["contentType"] = listed.content_type
    if listed.version_id:
        obj["versionId"] = listed.version_id
    return {
        "eventVersion": "2.0",
        "eventSource": MINIO,
        "awsRegion": config.region or "",
        "eventTime": _amz_time(listed.modified),
        "eventName": _event_name(listed),
        "s3": {
            "s3SchemaVersion": "1.0",
            "bucket": {"name": config.bucket, "arn": f"arn:aws:s3:::{quote(config.bucket)}"},
            "object": obj,
        },
    }


def _amz_time(moment: datetime) -> str:
    """As MinIO writes ``eventTime``: UTC, milliseconds, ``Z``."""
    text = moment.astimezone(UTC).isoformat(timespec="milliseconds")
    return text.replace("+00:00", "Z")


def _event_name(listed: Listed) -> str:
    multipart = _MULTIPART_ETAG.search(listed.etag)
    return f"s3:ObjectCreated:{'CompleteMultipartUpload' if multipart else 'Put'}"


def _within(key: str, config: ArtifactConfig) -> bool:
    return key.startswith(config.prefix) and key.endswith(config.suffix)


class Progress:
    """One source's checkpoint in memory: loaded once, advanced and saved after each delivery,
    flushed when the source stops (the next owner of the source reads it from the store).

    Used from the source's session thread only (and ``flush`` once that ended); the store
    locks what its sources share. A checkpoint keeps the newest ``recent_limit`` ids.
    """

    def __init__(
        self,
        checkpoints: CheckpointStore[Checkpoint],
        name: str,
        config: ArtifactConfig,
        *,
        recent_limit: int = RECENT_LIMIT,
    ) -> None:
        self.checkpoints, self.name, self.config = checkpoints, name, config
        self.recent_limit = recent_limit
        self.target = target_of(config)
        checkpoint = checkpoints.load(name)
        if checkpoint is not None and checkpoint.target != self.target:
            log.info("artifact %s: watching %s now; starting afresh", name, self.target)
            checkpoint = None
        self.checkpoint = checkpoint

    @property
    def fresh(self) -> bool:
        return self.checkpoint is None

    def begin(self, listing: Iterable[Listed]) -> None:
        """First start: what is listed now is not news; remember its newest time."""
        items = [item for item in listing if _within(item.key, self.config)]
        since = max((item.modified for item in items), default=EPOCH)
        latest = [
            listed_event(item, self.config) for item in items if item.modified >= since - OVERLAP
        ]
        self._save(since, {event.id: event.time for event in latest if event.id and event.time})

    def missed(self, listing: Iterable[Listed]) -> list[RawEvent]:
        """The listed objects not delivered yet (as far as the checkpoint knows), oldest first."""
        checkpoint = self.checkpoint
        assert checkpoint is not None, "begin() first"
        floor = checkpoint.since - OVERLAP
        found = []
        for item in sorted(listing, key=lambda item: (item.modified, item.key)):
            if item.modified < floor or not _within(item.key, self.config):
                continue
            event = listed_event(item, self.config)
            if event.id in checkpoint.recent:
                continue
            if event_matches(event.extensions["s3eventname"], self.config.events):
                found.append(event)
        return found

    def delivered(self, raw: RawEvent) -> None:
        """Move the checkpoint past ``raw`` (an event of this source, just delivered)."""
        checkpoint, moment = self.checkpoint, raw.time
        if checkpoint is None or moment is None:
            return
        if moment.tzinfo is None:  # a record's eventTime without a zone: S3 means UTC
            moment = moment.replace(tzinfo=UTC)
        recent = dict(checkpoint.recent)
        if raw.id:
            recent[raw.id] = moment
        self._save(max(checkpoint.since, moment), recent)

    def _save(self, since: datetime, recent: dict[str, datetime]) -> None:
        kept = sorted(
            ((moment, key) for key, moment in recent.items() if moment >= since - OVERLAP),
            reverse=True,
        )[: self.recent_limit]
        checkpoint = Checkpoint(
            self.target, since, datetime.now(UTC), {key: moment for moment, key in kept}
        )
        self.checkpoint = checkpoint
        try:
            self.checkpoints.save(self.name, checkpoint)
        except OSError as exc:  # kept in memory: a restart may deliver some again
            log.warning("artifact %s: cannot save checkpoint: %s", self.name, exc)

    def flush(self) -> None:
        """Write what the store still holds back (a debounced save): the source stops."""
        self.checkpoints.flush(self.name)
