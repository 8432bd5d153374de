"""The WebHDFS connection of one source: PyPI ``hdfs``'s InsecureClient (simple
authentication as ``hdfsUser``); blocking, so the source calls it on a worker thread.

Several URLs are HA NameNodes: the client tries them in turn and skips a standby.
"""

from __future__ import annotations

import requests
from hdfs import HdfsError, InsecureClient

from adapters.hdfs.config import HDFSConfig
from adapters.hdfs.listing import Entry, Listing
from gateways.errors import GatewayError

TIMEOUT = (5.0, 60.0)  # connect, read (a large directory takes a while to list)


def connect(config: HDFSConfig) -> InsecureClient:
    return InsecureClient(";".join(config.webhdfs_urls), user=config.hdfs_user, timeout=TIMEOUT)


def list_directory(client: InsecureClient, directory: str) -> Listing:
    """The directory's entries by name; GatewayError says why it cannot be listed."""
    try:
        statuses = client.list(directory, status=True)
    except HdfsError as exc:
        raise GatewayError(f"directory {directory}: {describe(exc)}") from None
    except requests.RequestException as exc:
        raise GatewayError(f"WebHDFS: {describe(exc)}") from None
    return {name: Entry.from_status(status) for name, status in statuses}


def describe(exc: BaseException) -> str:
    """An HDFS or HTTP error as a short reason."""
    if isinstance(exc, requests.ConnectionError):
        return "cannot connect"
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return text or type(exc).__name__
