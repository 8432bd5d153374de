"""Blocking access to the Kubernetes API for the ConfigMap registry, the resource adapter, the
checkpoints and state kept on ConfigMaps, and the Leases replicas share.

The official client is synchronous; everything here runs on a worker thread. It adds what the
generated client leaves to callers: paged lists that keep their resourceVersion, one watch
request as an iterator of raw JSON events, 410 Gone as its own exception, and errors whose
message is the API server's own (``configmaps "x" is forbidden: User ... cannot watch ...``).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from collections.abc import Iterator
from typing import Any

import urllib3
from kubernetes import client as kube_client
from kubernetes import config as kube_config

from gateways.errors import GatewayError

log = logging.getLogger(__name__)
Object = dict[str, Any]
# Network trouble worth retrying; an ApiError with a retryable status is the other kind.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (urllib3.exceptions.HTTPError, OSError)
_RETRYABLE_STATUS = frozenset({408, 429, 500, 502, 503, 504})


class KubeAPIError(GatewayError):
    """A non-2xx answer; ``message`` is the API server's Status message."""

    def __init__(self, status: int, reason: str, message: str) -> None:
        self.status = status
        self.reason = reason
        self.message = message
        super().__init__(f"{status} {reason}: {message}" if message else f"{status} {reason}")

    @property
    def retryable(self) -> bool:
        return self.status in _RETRYABLE_STATUS


class KubeCredentialsError(GatewayError):
    """Neither a pod's service account nor a kubeconfig could be loaded."""


class GoneError(KubeAPIError):
    """410: the resourceVersion is older than what etcd still keeps; list again."""


def is_transient(exc: BaseException) -> bool:
    return isinstance(exc, TRANSIENT_ERRORS) or (isinstance(exc, KubeAPIError) and exc.retryable)


def load_api_client(kubeconfig: str | None = None) -> kube_client.ApiClient:
    """In a pod, its service account; else ``kubeconfig``, ``$KUBECONFIG`` or ~/.kube/config."""
    configuration = kube_client.Configuration()
    try:
        if kubeconfig is None and os.environ.get("KUBERNETES_SERVICE_HOST"):
            kube_config.load_incluster_config(client_configuration=configuration)
        else:
            # Read $KUBECONFIG now: the client's default is fixed when it is imported.
            path = kubeconfig or os.environ.get("KUBECONFIG") or "~/.kube/config"
            kube_config.load_kube_config(config_file=path, client_configuration=configuration)
    except (kube_config.ConfigException, OSError) as exc:
        raise KubeCredentialsError(
            f"no Kubernetes credentials (no service account, KUBECONFIG or ~/.kube/config): {exc}"
        ) from None
    return kube_client.ApiClient(configuration)


def token_api_client(server: str, token: str, ca_file: str | None = None) -> kube_client.ApiClient:
    """A client for ``server`` authenticated by a bearer token (a service account's, say)."""
    configuration = kube_client.Configuration(host=server)
    configuration.api_key = {"authorization": f"Bearer {token}"}
    configuration.ssl_ca_cert = ca_file
    return kube_client.ApiClient(configuration)


class KubeAPI:
    """JSON over one ApiClient; safe to share between threads (urllib3 pools are)."""

    def __init__(self, api_client: kube_client.ApiClient, request_timeout: float = 30.0) -> None:
        self.api_client = api_client
        self.request_timeout = request_timeout

    def get(self, path: str, query: list[tuple[str, Any]] | None = None) -> Object:
        response = self._call("GET", path, query or [], None, self.request_timeout)
        return _json(response)

    def post(self, path: str, body: Object) -> Object:
        return _json(self._call("POST", path, [], body, self.request_timeout))

    def put(self, path: str, body: Object) -> Object:
        """Replace the object at ``path``; 409 Conflict when its resourceVersion is stale."""
        return _json(self._call("PUT", path, [], body, self.request_timeout))

    def delete(self, path: str, *, resource_version: str = "", uid: str = "") -> Object:
        """Delete the object at ``path``; with ``resource_version`` (or ``uid``) only that very
        version of it (409 Conflict once it changed since). 404 when it is gone already."""
        preconditions = {
            name: value
            for name, value in (("resourceVersion", resource_version), ("uid", uid))
            if value
        }
        body: Object = {"kind": "DeleteOptions", "apiVersion": "v1"}
        if preconditions:
            body["preconditions"] = preconditions
        return _json(self._call("DELETE", path, [], body, self.request_timeout))

    def list_objects(
        self,
        path: str,
        *,
        label_selector: str = "",
        field_selector: str = "",
        resource_version: str | None = None,
        page_size: int = 500,
    ) -> tuple[list[Object], str]:
        """Every object at ``path`` (all pages) and the list's resourceVersion.

        With ``resource_version`` the list is of that exact version (``resourceVersionMatch=
        Exact``), which raises GoneError once etcd compacted it.
        """
        items: list[Object] = []
        token: str | None = None
        while True:
            query = [*_selectors(label_selector, field_selector), ("limit", page_size)]
            if token:
                query.append(("continue", token))
            elif resource_version is not None:
                query += [("resourceVersion", resource_version), ("resourceVersionMatch", "Exact")]
            page = self.get(path, query)
            # Items of a list carry no kind/apiVersion; watch events do, so add them back.
            kind = str(page.get("kind", "")).removesuffix("List")
            for item in page.get("items") or []:
                item.setdefault("apiVersion", page.get("apiVersion"))
                item.setdefault("kind", kind)
                items.append(item)
            metadata = page.get("metadata") or {}
            token = metadata.get("continue")
            if not token:
                return items, str(metadata.get("resourceVersion") or "")

    def watch(
        self,
        path: str,
        resource_version: str,
        *,
        label_selector: str = "",
        field_selector: str = "",
        timeout_seconds: int = 300,
        idle_seconds: float = 90.0,
    ) -> WatchStream:
        """Open one watch request from ``resource_version`` (BOOKMARKs allowed); returns once
        the API server accepted it, so the caller knows it is watching."""
        query = [
            *_selectors(label_selector, field_selector),
            ("watch", "true"),
            ("resourceVersion", resource_version),
            ("allowWatchBookmarks", "true"),
            ("timeoutSeconds", timeout_seconds),
        ]
        response = self._call("GET", path, query, None, (self.request_timeout, idle_seconds))
        return WatchStream(response, path)

    def _call(
        self,
        method: str,
        path: str,
        query: list[tuple[str, Any]],
        body: Object | None,
        timeout: Any,
    ) -> urllib3.BaseHTTPResponse:
        api = self.api_client
        request = api.param_serialize(
            method,
            path,
            query_params=query,
            header_params={"Accept": "application/json", "Content-Type": "application/json"},
            body=body,
            auth_settings=["BearerToken"],
        )
        result = api.call_api(*request, _request_timeout=timeout)
        response: urllib3.BaseHTTPResponse = result.response
        if not 200 <= response.status <= 299:
            try:
                status = json.loads(response.data or b"{}")
            except ValueError:
                status = {"message": response.data[:200].decode("utf-8", "replace")}
            raise _status_error({"code": response.status, "reason": response.reason, **status})
        return response


class WatchStream:
    """The events of one open watch request, BOOKMARKs included.

    Iteration ends when the server closes the watch (after its timeoutSeconds) or when nothing
    arrived for the idle timeout (a connection that died silently). It raises GoneError when
    the resourceVersion is too old.
    """

    def __init__(self, response: urllib3.BaseHTTPResponse, path: str) -> None:
        self.response = response
        self.path = path

    def __iter__(self) -> Iterator[Object]:
        try:
            for line in _lines(self.response):
                event: Object = json.loads(line)
                if event.get("type") == "ERROR":
                    raise _status_error(event.get("object") or {})
                yield event
        except urllib3.exceptions.ReadTimeoutError:
            log.debug("watch of %s went idle; watching again", self.path)
        finally:
            self.response.close()

    def abort(self) -> None:
        """From another thread: a read blocked in the socket ends only when it is shut down."""
        with contextlib.suppress(OSError):  # already closed
            self.response.shutdown()


def _status_error(status: Object) -> KubeAPIError:
    code = int(status.get("code") or 0)
    cls = GoneError if code == 410 else KubeAPIError
    return cls(code, str(status.get("reason") or ""), str(status.get("message") or ""))


def _selectors(label_selector: str, field_selector: str) -> list[tuple[str, Any]]:
    query: list[tuple[str, Any]] = []
    if label_selector:
        query.append(("labelSelector", label_selector))
    if field_selector:
        query.append(("fieldSelector", field_selector))
    return query


def _json(response: urllib3.BaseHTTPResponse) -> Object:
    try:
        data: Object = json.loads(response.data or b"{}")
    finally:
        response.release_conn()
    return data


def _lines(response: urllib3.BaseHTTPResponse) -> Iterator[bytes]:
    pending = bytearray()
    for chunk in response.stream(amt=None, decode_content=True):
        pending += chunk
        if b"\n" not in chunk:  # a large object arrives in many chunks: split once it is whole
            continue
        *lines, rest = bytes(pending).split(b"\n")
        pending = bytearray(rest)
        yield from (line for line in lines if line.strip())
    if pending.strip():
        yield bytes(pending)
