"""HDFS config: the seed's fields, how addresses map to WebHDFS, Kerberos refused by field."""

from __future__ import annotations

from datetime import timedelta

import yaml

from adapters.hdfs.config import KERBEROS_REASON, HDFSConfig
from gateways.config.common import Backoff
from tests.kit import REFERENCE_DATA, parser, problem_lister

parse = parser("hdfs", HDFSConfig)
problems = problem_lister("hdfs")
SEED = REFERENCE_DATA / "argo-events-v0.10-examples" / "hdfs.yaml"


def test_the_seed_era_configmap_validates_unchanged() -> None:
    document = yaml.safe_load(SEED.read_text())
    config = parse(document["data"]["example-1"])
    assert config.directory == "/tmp"
    assert (config.types, config.path, config.path_regexp) == (frozenset({"CREATE"}), "x.txt", None)
    assert config.hdfs_user == "root"
    assert config.webhdfs_urls == (
        "http://my-hdfs-namenode-0.my-hdfs-namenode.default.svc.cluster.local:9870",
        "http://my-hdfs-namenode-1.my-hdfs-namenode.default.svc.cluster.local:9870",
    )
    assert config.check_interval == timedelta(minutes=1)
    assert config.matches("x.txt") and not config.matches("y.txt")


def test_every_field() -> None:
    config = parse(
        """
        directory: /data/in/
        type: write
        pathRegexp: '\\.csv$'
        checkInterval: 5s
        addresses: ['nn-0:8020', '[fd00::1]:8020']
        webHDFSPort: 50070
        hdfsUser: gw
        backoff: {duration: 1s, factor: 2, jitter: 0, steps: 3}
        """
    )
    assert config.directory == "/data/in"
    assert config.types == {"WRITE"}
    assert config.webhdfs_urls == ("http://nn-0:50070", "http://[fd00::1]:50070")
    assert config.addresses == ("nn-0:8020", "[fd00::1]:8020")
    assert config.check_interval == timedelta(seconds=5)
    assert config.backoff == Backoff(timedelta(seconds=1), 2.0, 0.0, 3)
    assert config.matches("a.csv") and config.matches("x.csv") and not config.matches("a.txt")


def test_webhdfs_urls_replace_addresses() -> None:
    config = parse(
        """
        directory: /
        type: [remove, RENAME]
        path: a
        webHDFSURLs: ['https://nn-0:9871/', 'http://nn-1:9870']
        hdfsUser: gw
        """
    )
    assert config.webhdfs_urls == ("https://nn-0:9871", "http://nn-1:9870")
    assert config.directory == "/"
    assert config.types == {"REMOVE", "RENAME"}


def test_every_problem_at_once() -> None:
    found = problems(
        """
        directory: relative/dir
        type: TOUCH
        path: a/b
        pathRegexp: '('
        checkInterval: 0s
        addresses: ['nn-0', 'http://nn-1:8020']
        webHDFSPort: 0
        color: blue
        """
    )
    assert found == [
        "directory: 'relative/dir' must be an absolute HDFS path (start with '/')",
        "type: 'TOUCH' is not one of CHMOD, CREATE, REMOVE, RENAME, WRITE",
        "pathRegexp: give path or pathRegexp, not both",
        "path: 'a/b' must be a name in directory, without '/'",
        "pathRegexp: '(' is not a regular expression: missing ), unterminated subpattern "
        "at position 0",
        "checkInterval: must be positive",
        "webHDFSPort: 0 is less than 1",
        "addresses[0]: 'nn-0' is not host:port",
        "addresses[1]: 'http://nn-1:8020' must be host:port, without a scheme",
        "hdfsUser: is required (the user WebHDFS acts as)",
        "color: unknown field",
    ]


def test_required_fields() -> None:
    assert problems("{}") == [
        "directory: is required",
        "type: is required (one of CHMOD, CREATE, REMOVE, RENAME, WRITE)",
        "path: give path or pathRegexp",
        "addresses: is required (NameNode host:port), or give webHDFSURLs",
        "hdfsUser: is required (the user WebHDFS acts as)",
    ]


def test_bad_types() -> None:
    base = "{directory: /, path: a, hdfsUser: u, addresses: ['nn:8020'], type: %s}"
    assert problems(base % "[]") == [
        "type: needs at least one of CHMOD, CREATE, REMOVE, RENAME, WRITE"
    ]
    assert problems(base % "[CREATE, touch]") == [
        "type: 'TOUCH' is not one of CHMOD, CREATE, REMOVE, RENAME, WRITE"
    ]


def test_bad_webhdfs_url() -> None:
    found = problems("{directory: /, type: CREATE, path: a, hdfsUser: u, webHDFSURLs: [ftp://x]}")
    assert found == ["webHDFSURLs[0]: 'ftp://x' must start with http:// or https://"]


def test_kerberos_fields_are_refused_each_by_name() -> None:
    found = problems(
        """
        directory: /tmp/
        type: CREATE
        path: x.txt
        addresses: ['nn:8020']
        hdfsUser: root
        krbCCacheSecret: {name: krb, key: krb5cc_0}
        krbKeytabSecret: {name: krb, key: user1.keytab}
        krbUsername: user1
        krbRealm: MYCOMPANY.COM
        krbConfigConfigMap: {name: my-hdfs-krb5-config, key: krb5.conf}
        krbServicePrincipalName: hdfs/_HOST
        """
    )
    assert found == [
        f"{name}: {KERBEROS_REASON}"
        for name in (
            "krbCCacheSecret",
            "krbKeytabSecret",
            "krbUsername",
            "krbRealm",
            "krbServicePrincipalName",
            "krbConfigConfigMap",
        )
    ]
    assert "Kerberos is not supported" in KERBEROS_REASON
