"""Smoke test: the MiniDFSCluster from scripts/services, over WebHDFS: write a file (the
DataNode redirect stays on loopback), list it, read it back, rename and delete it."""

from __future__ import annotations

import uuid

import pytest

from tests.servicekit import HdfsService

pytestmark = [pytest.mark.hdfs, pytest.mark.timeout(60)]


def test_write_list_read_rename_delete(hdfs_service: HdfsService) -> None:
    client = hdfs_service.client()
    directory = f"/gw-smoke-{uuid.uuid4().hex[:12]}"
    client.makedirs(directory)
    try:
        client.write(f"{directory}/a.txt", data=b'{"n": 1}')
        [(name, status)] = client.list(directory, status=True)
        assert (name, status["type"], status["length"]) == ("a.txt", "FILE", 8)
        with client.read(f"{directory}/a.txt") as reader:
            assert reader.read() == b'{"n": 1}'
        client.rename(f"{directory}/a.txt", f"{directory}/b.txt")
        [(renamed, after)] = client.list(directory, status=True)
        assert (renamed, after["fileId"]) == ("b.txt", status["fileId"])  # an inode keeps its id
    finally:
        client.delete(directory, recursive=True)
