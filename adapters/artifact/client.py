"""The MinIO side of one artifact source: its client (credentials from secret references, TLS
from config), its listen request and its bucket listing.

A listen request may stay silent for as long as the bucket is idle, so reads have no timeout;
TCP keepalive finds a connection whose peer went away instead. A MinIO release answers a listen
request at once and flushes each notification as it is written. Builds of MinIO's source after
its last release (RELEASE.2025-10-15T17-29-55Z; minio#21651) flush nothing: the answer and the
notifications come in ~4 KB pieces, so a request blocks until then, and :meth:`ListenStream.open`
logs a warning naming the cause when no answer came within :data:`ANSWER_WITHIN`. While it
blocks there is no response object to close: stopping shuts the sockets of the source's own
connection pool instead (:meth:`ConnectionPool.shut`).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import threading
import weakref
from collections.abc import Iterator
from typing import Any

import certifi
import urllib3
from minio import Minio
from urllib3.connection import HTTPConnection
from urllib3.connectionpool import HTTPConnectionPool
from urllib3.response import BaseHTTPResponse

from adapters.artifact.config import ArtifactConfig
from adapters.artifact.reconcile import Listed
from gateways.secrets import resolve

log = logging.getLogger(__name__)
CONNECT_TIMEOUT = 10.0
ANSWER_WITHIN = 5.0  # seconds: a MinIO release answers a listen request within one keepalive
_KEEPALIVE = [
    (socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1),
    *(
        (socket.IPPROTO_TCP, getattr(socket, name), value)
        for name, value in (("TCP_KEEPIDLE", 30), ("TCP_KEEPINTVL", 10), ("TCP_KEEPCNT", 3))
        if hasattr(socket, name)
    ),
]


class ConnectionPool(urllib3.PoolManager):
    """One source's HTTP connections, remembered so that :meth:`shut` can end a blocked read."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self._opened: weakref.WeakSet[Any] = weakref.WeakSet()
        self._lock = threading.Lock()  # connections open on the source's thread, shut from the loop

    def _new_pool(
        self, scheme: str, host: str, port: int, request_context: dict[str, Any] | None = None
    ) -> HTTPConnectionPool:
        pool = super()._new_pool(scheme, host, port, request_context)
        new_connection = pool._new_conn

        def remembered() -> Any:
            connection = new_connection()
            with self._lock:
                self._opened.add(connection)
            return connection

        pool._new_conn = remembered  # type: ignore[method-assign]
        return pool

    def shut(self) -> None:
        """End every read on these connections (from any thread): the reader gets an error."""
        with self._lock:
            connections = list(self._opened)
        for connection in connections:
            sock = getattr(connection, "sock", None)
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)


def http_pool(config: ArtifactConfig) -> ConnectionPool:
    options: dict[str, Any] = {
        "timeout": urllib3.Timeout(connect=CONNECT_TIMEOUT, read=None),
        "maxsize": 2,
        "retries": urllib3.Retry(total=0),  # the source retries with the config's backoff
        "socket_options": [*HTTPConnection.default_socket_options, *_KEEPALIVE],
    }
    tls = config.tls
    if config.secure:
        verify = not (tls is not None and tls.insecure_skip_verify)
        options["cert_reqs"] = "CERT_REQUIRED" if verify else "CERT_NONE"
        ca = tls.ca_cert_path if tls is not None else None
        options["ca_certs"] = ca or os.environ.get("SSL_CERT_FILE") or certifi.where()
        if tls is not None and tls.client_cert_path:
            options["cert_file"] = tls.client_cert_path
            options["key_file"] = tls.client_key_path
    return ConnectionPool(**options)


def build_client(config: ArtifactConfig, pool: ConnectionPool | None = None) -> Minio:
    """Raises SecretNotFoundError (a GatewayError) when a key cannot be resolved."""
    return Minio(
        config.endpoint,
        access_key=resolve(config.access_key),
        secret_key=resolve(config.secret_key),
        secure=config.secure,
        region=config.region,
        http_client=pool or http_pool(config),
    )


class ListenStream:
    """One ``listen_bucket_notification`` request of a bucket, read one notification at a time.

    The request is sent, and MinIO's answer awaited, on a thread of its own (:meth:`send`), so
    the reader can go on while a build that holds its answer back keeps it waiting: MinIO keeps
    every record for the stream from the moment the request arrived. Read from one thread.
    Unlike minio's own iterator, a stream that ends is not opened again behind the caller's
    back: :meth:`notifications` returns, and the source decides (after its backoff) whether to
    open another. To stop a reader, set ``stopping`` and shut the pool.
    """

    def __init__(
        self, client: Minio, config: ArtifactConfig, stopping: threading.Event, label: str
    ) -> None:
        # minio builds the request (signing, query) and opens it lazily; we open it ourselves.
        self._open = client.listen_bucket_notification(
            config.bucket, prefix=config.prefix, suffix=config.suffix, events=config.events
        )._func
        self._stopping = stopping
        self._label = label
        self._sender: threading.Thread | None = None
        self._failure: BaseException | None = None
        self._response: BaseHTTPResponse | None = None
        self._closed = False
        self._lock = threading.Lock()  # the answer arrives on the sender, close() on the reader
        self.reconciled = False  # set by the source once it listed the bucket for this stream

    def send(self) -> None:
        """Send the request (once), on a thread that waits for MinIO's answer."""
        if self._sender is None and not self._stopping.is_set():
            self._sender = threading.Thread(target=self._send, name=f"{self._label} listen")
            self._sender.daemon = True
            self._sender.start()

    def answered(self, within: float | None) -> bool:
        """Wait up to ``within`` seconds (None: for ever) for MinIO's answer; True once it came.
        Raises what the request raised (a refused request, a socket that was shut)."""
        if self._sender is not None:
            self._sender.join(within)
        if self._failure is not None:
            raise self._failure
        return self._response is not None

    def _send(self) -> None:
        late = threading.Timer(ANSWER_WITHIN, self._late)
        late.daemon = True
        late.start()
        try:
            response = self._open()
        except BaseException as exc:  # handed to the reader by answered()
            self._failure = exc
            return
        finally:
            late.cancel()
        with self._lock:
            if not self._closed:
                self._response, response = response, None
        if response is not None:  # closed meanwhile: nobody will read it
            _give_up(response)

    def _late(self) -> None:
        log.warning(
            "%s: MinIO has not answered the listen request after %.0fs: a MinIO built from "
            "source after RELEASE.2025-10-15T17-29-55Z holds notifications back until about "
            "4 KB are waiting (minio#21651); use a release, or a bucket target (see the README)",
            self._label,
            ANSWER_WITHIN,
        )

    def notifications(self) -> Iterator[dict[str, Any]]:
        """Each notification with records, as MinIO sends it; returns when the stream ended.

        Blocks until MinIO first answers, then between notifications; raises when the
        connection breaks (or its socket was shut).
        """
        self.send()
        self.answered(None)
        response = self._response
        while response is not None and not self._stopping.is_set():
            line = response.readline()
            if not line:
                break
            text = line.strip()  # MinIO keeps the stream alive with spaces between records
            if not text:
                continue
            notification = json.loads(text)
            if isinstance(notification, dict) and notification.get("Records"):
                yield notification
        self.close()

    def close(self) -> None:
        """Give the connection up (on the reading thread, or once no thread reads); an answer
        still awaited is given up when it comes (shut the pool to end the wait)."""
        with self._lock:
            self._closed = True
            response, self._response = self._response, None
        if response is not None:
            _give_up(response)


def _give_up(response: BaseHTTPResponse) -> None:
    with contextlib.suppress(Exception):
        response.close()
        response.release_conn()


def listing(client: Minio, config: ArtifactConfig) -> list[Listed]:
    """Every object under ``filter.prefix`` (MinIO's extension adds each one's content type)."""
    found = []
    for item in client.list_objects(
        config.bucket, prefix=config.prefix or None, recursive=True, include_user_meta=True
    ):
        if item.is_dir or item.object_name is None or item.last_modified is None:
            continue
        metadata = item.metadata or {}
        content_type = next(
            (str(v) for k, v in metadata.items() if k.lower() == "content-type"), ""
        )
        found.append(
            Listed(
                key=item.object_name,
                modified=item.last_modified,
                size=item.size or 0,
                etag=(item.etag or "").strip('"'),
                content_type=content_type,
                version_id=item.version_id or "",
            )
        )
    return found
