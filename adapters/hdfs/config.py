"""HDFS source config: the seed era's fields, read over WebHDFS.

``directory`` is listed every ``checkInterval`` (default 1m); a change to an entry whose name
equals ``path``, or matches ``pathRegexp`` (a search, as Go's ``regexp.MatchString``), of the
operation ``type`` (CREATE, WRITE, REMOVE, RENAME or CHMOD; the seed's one name, or a list, as
the file kind takes) becomes an event.

Where the NameNode is: the seed's ``addresses`` are NameNode RPC ``host:port`` pairs (the
native protocol, port 8020); WebHDFS is served by the same hosts on their HTTP port, so each
address becomes ``http://<host>:<webHDFSPort>`` (``webHDFSPort``, default 9870, Hadoop 3's
NameNode HTTP port; the RPC port is not used). ``webHDFSURLs`` names the WebHDFS endpoints
directly instead (``http://`` or ``https://``; with it ``addresses`` may be left out). Several
endpoints are HA NameNodes: a standby is skipped. ``hdfsUser`` is the user WebHDFS acts as
(``user.name``, simple authentication).

The seed's Kerberos fields (``krbCCacheSecret``, ``krbKeytabSecret``, ``krbUsername``,
``krbRealm``, ``krbConfigConfigMap``, ``krbServicePrincipalName``) are read, and each one given
is a problem naming it: this gateway speaks WebHDFS with simple authentication only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta

from gateways.config.common import Backoff, SecretRef, parse_url, split_host_port
from gateways.config.fields import Fields

OPERATIONS = frozenset({"CREATE", "WRITE", "REMOVE", "RENAME", "CHMOD"})
WEBHDFS_PORT = 9870
DEFAULT_CHECK_INTERVAL = timedelta(minutes=1)
KERBEROS_SECRETS = ("krbCCacheSecret", "krbKeytabSecret")
KERBEROS_TEXT = ("krbUsername", "krbRealm", "krbServicePrincipalName")
KERBEROS_CONFIG_MAP = "krbConfigConfigMap"
KERBEROS_REASON = (
    "Kerberos is not supported: this gateway reads HDFS over WebHDFS with simple "
    "authentication (hdfsUser) only; remove the field"
)


@dataclass(frozen=True, slots=True)
class HDFSConfig:
    directory: str
    types: frozenset[str]
    webhdfs_urls: tuple[str, ...]
    hdfs_user: str
    path: str | None = None
    path_regexp: str | None = None
    check_interval: timedelta = DEFAULT_CHECK_INTERVAL
    addresses: tuple[str, ...] = ()
    backoff: Backoff = field(default_factory=Backoff)

    def matches(self, name: str) -> bool:
        """Whether an entry name of ``directory`` is watched."""
        if self.path is not None:
            return name == self.path
        return self.path_regexp is not None and re.search(self.path_regexp, name) is not None

    @classmethod
    def parse(cls, fields: Fields) -> HDFSConfig:
        directory = _directory(fields)
        types = _types(fields)
        path, path_regexp = _paths(fields)
        interval = fields.duration("checkInterval", DEFAULT_CHECK_INTERVAL)
        if interval is None or interval <= timedelta(0):
            fields.problem("checkInterval", "must be positive")
            interval = DEFAULT_CHECK_INTERVAL
        addresses = tuple(fields.str_list("addresses"))
        port = fields.int("webHDFSPort", WEBHDFS_PORT, minimum=1, maximum=65535) or WEBHDFS_PORT
        urls = _urls(fields, addresses, port)
        user = (fields.str("hdfsUser") or "").strip()
        if not user:
            fields.problem("hdfsUser", "is required (the user WebHDFS acts as)")
        _refuse_kerberos(fields)
        return cls(
            directory=directory,
            types=types,
            webhdfs_urls=urls,
            hdfs_user=user,
            path=path,
            path_regexp=path_regexp,
            check_interval=interval,
            addresses=addresses,
            backoff=Backoff.parse(fields),
        )


def _directory(fields: Fields) -> str:
    text = fields.required_str("directory").strip()
    if text and not text.startswith("/"):
        fields.problem("directory", f"{text!r} must be an absolute HDFS path (start with '/')")
    return text.rstrip("/") or "/"


def _types(fields: Fields) -> frozenset[str]:
    choices = ", ".join(sorted(OPERATIONS))
    if not fields.has("type"):
        fields.problem("type", f"is required (one of {choices})")
        return frozenset()
    names = [name.strip().upper() for name in fields.str_list("type")]
    if not names:
        fields.problem("type", f"needs at least one of {choices}")
    for name in names:
        if name not in OPERATIONS:
            fields.problem("type", f"{name!r} is not one of {choices}")
    return frozenset(name for name in names if name in OPERATIONS)


def _paths(fields: Fields) -> tuple[str | None, str | None]:
    path = (fields.str("path") or "").strip() or None
    pattern = fields.str("pathRegexp") or None
    if path is None and pattern is None:
        fields.problem("path", "give path or pathRegexp")
    elif path is not None and pattern is not None:
        fields.problem("pathRegexp", "give path or pathRegexp, not both")
    if path is not None and "/" in path:
        fields.problem("path", f"{path!r} must be a name in directory, without '/'")
    if pattern is not None:
        try:
            re.compile(pattern)
        except re.error as exc:
            fields.problem("pathRegexp", f"{pattern!r} is not a regular expression: {exc}")
    return path, pattern


def _urls(fields: Fields, addresses: tuple[str, ...], port: int) -> tuple[str, ...]:
    urls: list[str] = []
    if fields.has("webHDFSURLs"):
        for index, text in enumerate(fields.str_list("webHDFSURLs")):
            item = f"[{index}]"
            sub = Fields({item: text}, fields.problems, prefix=fields.path("webHDFSURLs"))
            url = parse_url(sub, item, frozenset({"http", "https"})) or ""
            urls.append(url.rstrip("/"))
        return tuple(urls)
    if not addresses:
        fields.problem("addresses", "is required (NameNode host:port), or give webHDFSURLs")
    for index, address in enumerate(addresses):
        try:
            host, _rpc_port = split_host_port(address)
        except ValueError as exc:
            fields.problem(f"addresses[{index}]", str(exc))
            continue
        shown = f"[{host}]" if ":" in host else host
        urls.append(f"http://{shown}:{port}")
    return tuple(urls)


def _refuse_kerberos(fields: Fields) -> None:
    for name in KERBEROS_SECRETS:
        if fields.has(name):
            SecretRef.parse(fields, name)
            fields.problem(name, KERBEROS_REASON)
    for name in KERBEROS_TEXT:
        if fields.str(name) is not None:
            fields.problem(name, KERBEROS_REASON)
    if fields.has(KERBEROS_CONFIG_MAP):
        sub = fields.sub(KERBEROS_CONFIG_MAP)
        if sub is not None:
            sub.str("name")
            sub.str("key")
            sub.finish(ignore=("optional",))
        fields.problem(KERBEROS_CONFIG_MAP, KERBEROS_REASON)
