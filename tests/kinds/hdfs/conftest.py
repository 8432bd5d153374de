"""Fixtures of the HDFS tests: a fresh directory on the MiniDFSCluster; the ``hdfs`` marker."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.kit import unique
from tests.servicekit import HdfsService


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "hdfs: needs the HDFS test service (scripts/services)")


@pytest.fixture
def webhdfs(hdfs_service: HdfsService) -> Any:
    return hdfs_service.client()


@pytest.fixture
def directory(webhdfs: Any) -> Iterator[str]:
    path = f"/{unique('gw-')}"
    webhdfs.makedirs(path)
    yield path
    webhdfs.delete(path, recursive=True)
