"""The rendered deploy manifests, once per session: ``kustomize build`` of knative/ and openfaas/
(see manifests.py; without the pinned kustomize the tests using them skip, or fail under CI)."""

from __future__ import annotations

import pytest

from tests.deploy.manifests import KUSTOMIZATIONS, Manifest, load

Rendered = dict[str, tuple[Manifest, ...]]


@pytest.fixture(scope="session")
def rendered() -> Rendered:
    """The objects of each kustomization by its folder's name (``knative``, ``openfaas``)."""
    return {folder.name: load(folder) for folder in KUSTOMIZATIONS}


@pytest.fixture(scope="session")
def all_objects(rendered: Rendered) -> tuple[Manifest, ...]:
    """Every rendered object of both kustomizations."""
    return tuple(m for objects in rendered.values() for m in objects)
