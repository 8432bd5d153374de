"""Talking to the test API server as admin, and the webhook gateway the registry tests run."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from tests.servicekit import KubernetesService

CONFIGMAPS = "/api/v1/namespaces/{namespace}/configmaps"


async def call(
    kube: KubernetesService,
    method: str,
    path: str,
    body: dict[str, Any] | None = None,
    *,
    expect: tuple[int, ...] = (200, 201),
    token: str | None = None,
) -> dict[str, Any]:
    """One admin request (off the event loop); fails the test on an unexpected status."""
    status, reply = await asyncio.to_thread(kube.request, method, path, body, token)
    assert status in expect, f"{method} {path}: {status} {reply.get('message')}"
    return reply


async def put_configmap(kube: KubernetesService, namespace: str, document: dict[str, Any]) -> None:
    """Create the ConfigMap, or replace it when it exists."""
    path = CONFIGMAPS.format(namespace=namespace)
    name = document["metadata"]["name"]
    status, current = await asyncio.to_thread(kube.request, "GET", f"{path}/{name}")
    if status == 404:
        await call(kube, "POST", path, document)
        return
    body = {**document, "metadata": {**document["metadata"], **_version(current)}}
    await call(kube, "PUT", f"{path}/{name}", body)


async def delete(kube: KubernetesService, namespace: str, name: str) -> None:
    await call(kube, "DELETE", f"{CONFIGMAPS.format(namespace=namespace)}/{name}")


async def events_about(kube: KubernetesService, namespace: str, name: str) -> list[dict[str, Any]]:
    """The core/v1 Events whose involvedObject is the ConfigMap ``name``."""
    selector = f"involvedObject.kind=ConfigMap,involvedObject.name={name}"
    reply = await call(
        kube, "GET", f"/api/v1/namespaces/{namespace}/events?fieldSelector={selector}"
    )
    return list(reply.get("items") or [])


async def grant(
    kube: KubernetesService, namespace: str, account: str, rules: list[dict[str, Any]]
) -> None:
    """A Role with ``rules`` bound to the service account ``account``."""
    role = f"{account}-role"
    await call(
        kube,
        "POST",
        f"/apis/rbac.authorization.k8s.io/v1/namespaces/{namespace}/roles",
        {"metadata": {"name": role}, "rules": rules},
    )
    await call(
        kube,
        "POST",
        f"/apis/rbac.authorization.k8s.io/v1/namespaces/{namespace}/rolebindings",
        {
            "metadata": {"name": f"{account}-binding"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": role},
            "subjects": [{"kind": "ServiceAccount", "name": account, "namespace": namespace}],
        },
    )


async def wait_until_async(probe: Callable[[], Awaitable[Any]], timeout: float = 10.0) -> None:
    """Poll an async ``probe`` until it returns something truthy."""
    async with asyncio.timeout(timeout):
        while not await probe():
            await asyncio.sleep(0.1)


def _version(current: dict[str, Any]) -> dict[str, Any]:
    return {"resourceVersion": current["metadata"]["resourceVersion"]}
