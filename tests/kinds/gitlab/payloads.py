"""GitLab's published webhook examples, shortened, as the tests post them.

Each is written from the payload example of GitLab's "Webhook events" documentation,
https://docs.gitlab.com/user/project/integrations/webhook_events/ (in gitlab-org/gitlab:
doc/user/project/integrations/webhook_events.md), section named beside it, with the request
header that section gives; long lists (commits, labels, builds) are cut to what identifies the
event. The delivery headers are those of https://docs.gitlab.com/user/project/integrations/webhooks/#delivery-headers
with the documentation's own example values.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

INSTANCE = "https://gitlab.com"  # "X-Gitlab-Instance" example
WEBHOOK_UUID = "02affd2d-2cba-4033-917d-ec22d5dc4b38"  # "X-Gitlab-Webhook-UUID" example
EVENT_UUID = "13792a34-cac6-4fda-95a8-c58e00a3954e"  # "X-Gitlab-Event-UUID" example
IDEMPOTENCY_KEY = "f5e5f430-f57b-4e6e-9fac-d9128cd7232f"  # "Idempotency-Key" example


@dataclass(frozen=True)
class Example:
    section: str  # the documentation's section
    header: str  # X-Gitlab-Event
    payload: dict[str, Any]
    type: str  # the CloudEvent type it must become
    subject: str  # the project's path_with_namespace
    project: str  # the project's id


def _project(project_id: int, path: str) -> dict[str, Any]:
    name = path.rsplit("/", 1)[-1]
    return {
        "id": project_id,
        "name": name,
        "web_url": f"http://example.com/{path}",
        "path_with_namespace": path,
        "default_branch": "master",
    }


PUSH = Example(
    "#push-events",
    "Push Hook",
    {
        "object_kind": "push",
        "event_name": "push",
        "before": "95790bf891e76fee5e1747ab589903a6a1f80f22",
        "after": "da1560886d4f094c3e6c9ef40349f7d38b5d27d7",
        "ref": "refs/heads/master",
        "ref_protected": True,
        "checkout_sha": "da1560886d4f094c3e6c9ef40349f7d38b5d27d7",
        "user_id": 4,
        "user_name": "John Smith",
        "user_username": "jsmith",
        "project_id": 15,
        "project": _project(15, "mike/diaspora"),
        "commits": [
            {
                "id": "da1560886d4f094c3e6c9ef40349f7d38b5d27d7",
                "message": "fixed readme",
                "title": "fixed readme",
                "timestamp": "2012-01-03T23:36:29+02:00",
                "url": "http://example.com/mike/diaspora/commit/da1560886d4f094c3e6c9ef40349f7d38b5d27d7",
                "author": {"name": "GitLab dev user", "email": "gitlabdev@dv6700.(none)"},
                "added": ["CHANGELOG"],
                "modified": ["app/controller/application.rb"],
                "removed": [],
            }
        ],
        "total_commits_count": 4,
    },
    "dev.gateways.gitlab.push",
    "mike/diaspora",
    "15",
)

TAG_PUSH = Example(
    "#tag-events",
    "Tag Push Hook",
    {
        "object_kind": "tag_push",
        "event_name": "tag_push",
        "before": "0000000000000000000000000000000000000000",
        "after": "82b3d5ae55f7080f1e6022629cdb57bfae7cccc7",
        "ref": "refs/tags/v1.0.0",
        "ref_protected": True,
        "checkout_sha": "82b3d5ae55f7080f1e6022629cdb57bfae7cccc7",
        "user_id": 1,
        "user_name": "John Smith",
        "project_id": 1,
        "project": _project(1, "jsmith/example"),
        "commits": [],
        "total_commits_count": 0,
    },
    "dev.gateways.gitlab.tag_push",
    "jsmith/example",
    "1",
)

ISSUE = Example(
    "#work-item-events",
    "Issue Hook",
    {
        "object_kind": "issue",
        "event_type": "issue",
        "user": {"id": 1, "name": "Administrator", "username": "root"},
        "project": _project(1, "gitlabhq/gitlab-test"),
        "object_attributes": {
            "id": 301,
            "title": "New API: create/update/delete file",
            "author_id": 51,
            "project_id": 14,
            "created_at": "2013-12-03T17:15:43Z",
            "updated_at": "2013-12-03T17:15:43Z",
            "type": "Issue",
            "iid": 23,
            "url": "http://example.com/diaspora/issues/23",
            "state": "opened",
            "action": "open",
        },
    },
    "dev.gateways.gitlab.issue.open",
    "gitlabhq/gitlab-test",
    "1",
)

NOTE = Example(
    "#comment-on-a-merge-request",
    "Note Hook",
    {
        "object_kind": "note",
        "event_type": "note",
        "user": {"id": 1, "name": "Administrator", "username": "root"},
        "project_id": 5,
        "project": _project(5, "gitlab-org/gitlab-test"),
        "object_attributes": {
            "id": 1244,
            "note": "This MR needs work.",
            "noteable_type": "MergeRequest",
            "author_id": 1,
            "created_at": "2015-05-17 18:21:36 UTC",
            "updated_at": "2015-05-17 18:21:36 UTC",
            "project_id": 5,
            "noteable_id": 7,
            "system": False,
            "action": "create",
            "url": "http://example.com/gitlab-org/gitlab-test/merge_requests/1#note_1244",
        },
        "merge_request": {"id": 7, "iid": 1, "title": "Tempora et eos debitis quae laborum et."},
    },
    "dev.gateways.gitlab.note.create",
    "gitlab-org/gitlab-test",
    "5",
)

MERGE_REQUEST = Example(
    "#merge-request-events",
    "Merge Request Hook",
    {
        "object_kind": "merge_request",
        "event_type": "merge_request",
        "user": {"id": 1, "name": "Administrator", "username": "root"},
        "project": _project(1, "gitlabhq/gitlab-test"),
        "object_attributes": {
            "id": 99,
            "iid": 1,
            "target_branch": "master",
            "source_branch": "ms-viewport",
            "title": "MS-Viewport",
            "created_at": "2013-12-03T17:23:34Z",
            "updated_at": "2013-12-03T17:23:34Z",
            "state": "opened",
            "url": "http://example.com/diaspora/merge_requests/1",
            "action": "open",
            "detailed_merge_status": "mergeable",
        },
    },
    "dev.gateways.gitlab.merge_request.open",
    "gitlabhq/gitlab-test",
    "1",
)

PIPELINE = Example(
    "#pipeline-events",
    "Pipeline Hook",
    {
        "object_kind": "pipeline",
        "object_attributes": {
            "id": 31,
            "iid": 3,
            "name": "Pipeline for branch: master",
            "ref": "master",
            "tag": False,
            "sha": "bcbb5ec396a2c0f828686f14fac9b80b780504f2",
            "source": "merge_request_event",
            "status": "success",
            "stages": ["build", "test", "deploy"],
            "url": "http://example.com/gitlab-org/gitlab-test/-/pipelines/31",
        },
        "user": {"id": 1, "name": "Administrator", "username": "root"},
        "project": _project(1, "gitlab-org/gitlab-test"),
        "builds": [{"id": 377, "stage": "test", "name": "test-image", "status": "success"}],
    },
    "dev.gateways.gitlab.pipeline",
    "gitlab-org/gitlab-test",
    "1",
)

JOB = Example(
    "#job-events",
    "Job Hook",
    {
        "object_kind": "build",
        "ref": "gitlab-script-trigger",
        "tag": False,
        "sha": "2293ada6b400935a1378653304eaf6221e0fdb8f",
        "build_id": 1977,
        "build_name": "test",
        "build_stage": "test",
        "build_status": "created",
        "pipeline_id": 2366,
        "project_id": 380,
        "project_name": "gitlab-org/gitlab-test",
        "project": _project(380, "gitlab-org/gitlab-test"),
    },
    "dev.gateways.gitlab.build",
    "gitlab-org/gitlab-test",
    "380",
)

RELEASE = Example(
    "#release-events",
    "Release Hook",
    {
        "id": 1,
        "created_at": "2020-11-02 12:55:12 UTC",
        "description": "v1.1 has been released",
        "name": "v1.1",
        "tag": "v1.1",
        "object_kind": "release",
        "project": _project(2, "gitlab-org/release-webhook-example"),
        "url": "https://example.com/gitlab-org/release-webhook-example/-/releases/v1.1",
        "action": "create",
    },
    "dev.gateways.gitlab.release.create",
    "gitlab-org/release-webhook-example",
    "2",
)

EXAMPLES = (PUSH, TAG_PUSH, ISSUE, NOTE, MERGE_REQUEST, PIPELINE, JOB, RELEASE)


def headers(
    example: Example,
    token: str | None = None,
    extra: dict[str, str] | None = None,
    omit: tuple[str, ...] = (),
) -> dict[str, str]:
    """The headers GitLab sends with a delivery (webhooks.md, "Delivery headers"), with
    ``extra`` set and the ``omit`` ones left out."""
    sent = {
        "Content-Type": "application/json",
        "User-Agent": "GitLab/17.5.0",
        "X-Gitlab-Event": example.header,
        "X-Gitlab-Instance": INSTANCE,
        "X-Gitlab-Webhook-UUID": WEBHOOK_UUID,
        "X-Gitlab-Event-UUID": EVENT_UUID,
        "Idempotency-Key": IDEMPOTENCY_KEY,
    }
    if token is not None:
        sent["X-Gitlab-Token"] = token
    sent.update(extra or {})
    return {name: value for name, value in sent.items() if name not in omit}
