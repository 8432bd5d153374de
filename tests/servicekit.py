"""Pytest plugin: connection settings for the real servers started by `scripts/services`.

Each `<name>_service` fixture (session scope) returns a frozen dataclass with the settings
of one service, read from the GATEWAYS_TEST_* environment variables if set, else from
`<state>/env.json` (written by `scripts/services up`; state is $GATEWAYS_SERVICES_STATE,
default /tmp/gateways-services). The fixture first checks that the service really answers.
If it doesn't, the test is skipped with the command that starts it, or fails when CI=true.
"""

from __future__ import annotations

import json
import os
import socket
import ssl
import struct
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

HOST = "127.0.0.1"
CHECK_TIMEOUT = 3.0


def state_dir() -> Path:
    return Path(os.environ.get("GATEWAYS_SERVICES_STATE", "/tmp/gateways-services"))


def settings() -> dict[str, str]:
    """All GATEWAYS_TEST_* settings: env.json, overridden by the environment."""
    found: dict[str, str] = {}
    env_json = state_dir() / "env.json"
    if env_json.exists():
        found.update(json.loads(env_json.read_text()))
    found.update({k: v for k, v in os.environ.items() if k.startswith("GATEWAYS_TEST_")})
    return found


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def unavailable(service: str, why: str) -> None:
    msg = f"{service} service unavailable ({why}); start it with `scripts/services up {service}`"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(msg, pytrace=False)
    pytest.skip(msg)


def _require(service: str, keys: list[str]) -> dict[str, str]:
    conf = settings()
    missing = [k for k in keys if not conf.get(k)]
    if missing:
        unavailable(service, f"no settings for {', '.join(missing)}")
    return conf


def _check(service: str, probe: Callable[[], bool]) -> None:
    try:
        ok = probe()
        why = "it did not answer as expected"
    except (OSError, ValueError, struct.error) as exc:
        ok, why = False, f"{type(exc).__name__}: {exc}"
    if not ok:
        unavailable(service, why)


def _hostport(url: str) -> tuple[str, int]:
    netloc = url.split("://", 1)[-1].split("/", 1)[0].rsplit("@", 1)[-1]
    host, port = netloc.rsplit(":", 1)
    return host, int(port)


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError("connection closed")
        data += chunk
    return data


# --------------------------------------------------------------------------- NATS


@dataclass(frozen=True)
class NatsService:
    url: str  # JetStream enabled, no auth
    auth_url: str  # user/password required
    user: str
    password: str


def _nats_answers(url: str) -> bool:
    with socket.create_connection(_hostport(url), timeout=CHECK_TIMEOUT) as sock:
        sock.sendall(b'CONNECT {"verbose":false}\r\nPING\r\n')
        data = b""
        while b"PONG" not in data and b"-ERR" not in data:
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
        return data.startswith(b"INFO ") and b"PONG" in data


@pytest.fixture(scope="session")
def nats_service() -> NatsService:
    keys = [
        "GATEWAYS_TEST_NATS_URL",
        "GATEWAYS_TEST_NATS_AUTH_URL",
        "GATEWAYS_TEST_NATS_USER",
        "GATEWAYS_TEST_NATS_PASSWORD",
    ]
    conf = _require("nats", keys)
    svc = NatsService(*(conf[k] for k in keys))
    _check("nats", lambda: _nats_answers(svc.url))
    return svc


# --------------------------------------------------------------------------- MQTT


@dataclass(frozen=True)
class MqttService:
    host: str
    port: int  # anonymous
    auth_port: int  # username/password
    tls_port: int  # TLS with the CA below, anonymous
    user: str
    password: str
    ca: str  # CA certificate (PEM) that signed the TLS listener's certificate


def _mqtt_answers(host: str, port: int) -> bool:
    body = b"\x00\x04MQTT\x04\x02\x00\x0a" + struct.pack(">H", 11) + b"gw-kitcheck"
    with socket.create_connection((host, port), timeout=CHECK_TIMEOUT) as sock:
        sock.sendall(bytes([0x10, len(body)]) + body)
        connack = _recv_exact(sock, 4)
        sock.sendall(b"\xe0\x00")
        return connack[0] == 0x20 and connack[3] == 0


@pytest.fixture(scope="session")
def mqtt_service() -> MqttService:
    pre = "GATEWAYS_TEST_MQTT_"
    names = ["HOST", "PORT", "AUTH_PORT", "TLS_PORT", "USER", "PASSWORD", "CA"]
    conf = _require("mqtt", [pre + n for n in names])
    svc = MqttService(
        host=conf[pre + "HOST"],
        port=int(conf[pre + "PORT"]),
        auth_port=int(conf[pre + "AUTH_PORT"]),
        tls_port=int(conf[pre + "TLS_PORT"]),
        user=conf[pre + "USER"],
        password=conf[pre + "PASSWORD"],
        ca=conf[pre + "CA"],
    )
    _check("mqtt", lambda: _mqtt_answers(svc.host, svc.port))
    return svc


# --------------------------------------------------------------------------- AMQP


@dataclass(frozen=True)
class AmqpService:
    url: str  # amqp://user:password@host:port/vhost
    host: str
    port: int
    user: str
    password: str


def _amqp_answers(host: str, port: int) -> bool:
    with socket.create_connection((host, port), timeout=CHECK_TIMEOUT) as sock:
        sock.sendall(b"AMQP\x00\x00\x09\x01")
        kind, _channel, _size = struct.unpack(">BHI", _recv_exact(sock, 7))
        method = struct.unpack(">HH", _recv_exact(sock, 4))
        return kind == 1 and method == (10, 10)  # Connection.Start


@pytest.fixture(scope="session")
def amqp_service() -> AmqpService:
    pre = "GATEWAYS_TEST_AMQP_"
    conf = _require("amqp", [pre + n for n in ("URL", "HOST", "PORT", "USER", "PASSWORD")])
    svc = AmqpService(
        url=conf[pre + "URL"],
        host=conf[pre + "HOST"],
        port=int(conf[pre + "PORT"]),
        user=conf[pre + "USER"],
        password=conf[pre + "PASSWORD"],
    )
    _check("amqp", lambda: _amqp_answers(svc.host, svc.port))
    return svc


# --------------------------------------------------------------------------- Kafka


@dataclass(frozen=True)
class KafkaService:
    bootstrap: str  # host:port of the one broker


def _kafka_answers(bootstrap: str) -> bool:
    host, port = bootstrap.rsplit(":", 1)
    client = b"gw-kitcheck"
    req = struct.pack(">hhiH", 3, 0, 7, len(client)) + client + struct.pack(">i", 0)
    with socket.create_connection((host, int(port)), timeout=CHECK_TIMEOUT) as sock:
        sock.sendall(struct.pack(">i", len(req)) + req)
        (size,) = struct.unpack(">i", _recv_exact(sock, 4))
        correlation, brokers = struct.unpack(">ii", _recv_exact(sock, size)[:8])
        return correlation == 7 and brokers >= 1  # Metadata lists a broker


@pytest.fixture(scope="session")
def kafka_service() -> KafkaService:
    conf = _require("kafka", ["GATEWAYS_TEST_KAFKA_BOOTSTRAP"])
    svc = KafkaService(bootstrap=conf["GATEWAYS_TEST_KAFKA_BOOTSTRAP"])
    _check("kafka", lambda: _kafka_answers(svc.bootstrap))
    return svc


# --------------------------------------------------------------------------- MinIO


@dataclass(frozen=True)
class MinioService:
    endpoint: str  # host:port, as the minio client wants it
    url: str  # http://host:port
    access_key: str
    secret_key: str


def _http_ok(url: str, cafile: str | None = None, token: str | None = None) -> bool:
    req = urllib.request.Request(url)  # noqa: S310 - test settings point at 127.0.0.1
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    ctx = ssl.create_default_context(cafile=cafile) if cafile else None
    with urllib.request.urlopen(req, timeout=CHECK_TIMEOUT, context=ctx) as resp:  # noqa: S310
        return resp.status == 200


@pytest.fixture(scope="session")
def minio_service() -> MinioService:
    pre = "GATEWAYS_TEST_MINIO_"
    conf = _require("minio", [pre + n for n in ("ENDPOINT", "URL", "ACCESS_KEY", "SECRET_KEY")])
    svc = MinioService(
        endpoint=conf[pre + "ENDPOINT"],
        url=conf[pre + "URL"],
        access_key=conf[pre + "ACCESS_KEY"],
        secret_key=conf[pre + "SECRET_KEY"],
    )
    _check("minio", lambda: _http_ok(f"{svc.url}/minio/health/ready"))
    return svc


# --------------------------------------------------------------------------- Kubernetes


@dataclass(frozen=True)
class KubernetesService:
    kubeconfig: str  # admin kubeconfig (system:masters via a static token)
    server: str  # https://127.0.0.1:PORT
    ca: str  # CA certificate of the API server's serving certificate
    token: str  # the admin bearer token

    def request(
        self, method: str, path: str, body: dict[str, Any] | None = None, token: str | None = None
    ) -> tuple[int, dict[str, Any]]:
        """One JSON call to the API server as admin (or as `token`): (status, body)."""
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(  # noqa: S310 - the test API server on 127.0.0.1
            self.server + path,
            data=data,
            method=method,
            headers={
                "Authorization": f"Bearer {token or self.token}",
                "Content-Type": "application/json",
                "Accept": "application/json",
            },
        )
        ctx = ssl.create_default_context(cafile=self.ca)
        try:
            with urllib.request.urlopen(req, timeout=30, context=ctx) as resp:  # noqa: S310
                return resp.status, json.loads(resp.read() or b"{}")
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read() or b"{}")

    def mint_token(
        self, namespace: str, service_account: str, expiration_seconds: int = 3600
    ) -> str:
        """A bearer token for system:serviceaccount:`namespace`:`service_account`.

        Creates the namespace and service account if needed (there is no controller-manager,
        so nothing else makes them) and asks the TokenRequest API for a token. The account
        gets no RBAC rights here: bind a Role to it for tests that need some.
        """
        for path, obj in (
            ("/api/v1/namespaces", {"metadata": {"name": namespace}}),
            (
                f"/api/v1/namespaces/{namespace}/serviceaccounts",
                {"metadata": {"name": service_account}},
            ),
        ):
            status, reply = self.request("POST", path, obj)
            if status not in (201, 409):
                raise RuntimeError(f"POST {path}: {status} {reply.get('message')}")
        path = f"/api/v1/namespaces/{namespace}/serviceaccounts/{service_account}/token"
        status, reply = self.request(
            "POST",
            path,
            {
                "apiVersion": "authentication.k8s.io/v1",
                "kind": "TokenRequest",
                "spec": {"expirationSeconds": expiration_seconds},
            },
        )
        if status != 201:
            raise RuntimeError(f"TokenRequest: {status} {reply.get('message')}")
        return str(reply["status"]["token"])


@pytest.fixture(scope="session")
def kubernetes_service() -> KubernetesService:
    pre = "GATEWAYS_TEST_KUBE"
    keys = [pre + "CONFIG", pre + "_SERVER", pre + "_CA", pre + "_TOKEN"]
    conf = _require("kubernetes", keys)
    svc = KubernetesService(*(conf[k] for k in keys))
    _check("kubernetes", lambda: _http_ok(f"{svc.server}/readyz", svc.ca, svc.token))
    return svc


# --------------------------------------------------------------------------- SNS (moto)


@dataclass(frozen=True)
class SnsService:
    endpoint: str  # http://host:port, boto3's endpoint_url
    region: str
    access_key: str  # moto takes any credentials
    secret_key: str

    def client(self) -> Any:
        """A boto3 SNS client for the server."""
        import boto3

        return boto3.client(
            "sns",
            endpoint_url=self.endpoint,
            region_name=self.region,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
        )


def _sns_answers(svc: SnsService) -> bool:
    req = urllib.request.Request(  # noqa: S310 - test settings point at 127.0.0.1
        svc.endpoint + "/",
        data=b"Action=ListTopics&Version=2010-03-31",
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Authorization": f"AWS4-HMAC-SHA256 Credential={svc.access_key}/20260101/"
            f"{svc.region}/sns/aws4_request, SignedHeaders=host, Signature=kitcheck",
        },
    )
    with urllib.request.urlopen(req, timeout=CHECK_TIMEOUT) as resp:  # noqa: S310
        return resp.status == 200 and b"<ListTopicsResponse" in resp.read()


@pytest.fixture(scope="session")
def sns_service() -> SnsService:
    pre = "GATEWAYS_TEST_SNS_"
    conf = _require("sns", [pre + n for n in ("ENDPOINT", "REGION", "ACCESS_KEY", "SECRET_KEY")])
    svc = SnsService(
        endpoint=conf[pre + "ENDPOINT"],
        region=conf[pre + "REGION"],
        access_key=conf[pre + "ACCESS_KEY"],
        secret_key=conf[pre + "SECRET_KEY"],
    )
    _check("sns", lambda: _sns_answers(svc))
    return svc


# --------------------------------------------------------------------------- Pub/Sub (pstest)


@dataclass(frozen=True)
class PubsubService:
    emulator_host: str  # host:port, as PUBSUB_EMULATOR_HOST takes it (plain gRPC)
    project: str

    def publisher(self, *, ordering: bool = False) -> Any:
        """A google-cloud-pubsub publisher for the server (message ordering when asked)."""
        import grpc
        from google.cloud import pubsub_v1
        from google.pubsub_v1.services.publisher.transports import PublisherGrpcTransport

        transport = PublisherGrpcTransport(channel=grpc.insecure_channel(self.emulator_host))
        options = pubsub_v1.types.PublisherOptions(enable_message_ordering=ordering)
        return pubsub_v1.PublisherClient(publisher_options=options, transport=transport)

    def subscriber(self) -> Any:
        """A google-cloud-pubsub subscriber for the server."""
        import grpc
        from google.cloud import pubsub_v1
        from google.pubsub_v1.services.subscriber.transports import SubscriberGrpcTransport

        transport = SubscriberGrpcTransport(channel=grpc.insecure_channel(self.emulator_host))
        return pubsub_v1.SubscriberClient(transport=transport)


def _pubsub_answers(svc: PubsubService) -> bool:
    publisher = svc.publisher()
    try:
        publisher.list_topics(request={"project": f"projects/{svc.project}"}, timeout=CHECK_TIMEOUT)
    except Exception as exc:  # the client's errors are not OSErrors
        raise OSError(f"ListTopics: {exc}") from None
    finally:
        publisher.transport.close()
    return True


@pytest.fixture(scope="session")
def pubsub_service() -> PubsubService:
    pre = "GATEWAYS_TEST_PUBSUB_"
    conf = _require("pubsub", [pre + "EMULATOR_HOST", pre + "PROJECT"])
    svc = PubsubService(emulator_host=conf[pre + "EMULATOR_HOST"], project=conf[pre + "PROJECT"])
    _check("pubsub", lambda: _pubsub_answers(svc))
    return svc


# --------------------------------------------------------------------------- SQS (ElasticMQ)


@dataclass(frozen=True)
class SqsService:
    endpoint: str  # http://host:port, boto3's endpoint_url
    region: str
    access_key: str  # ElasticMQ takes any credentials
    secret_key: str

    def client(self) -> Any:
        """A boto3 SQS client for the server."""
        import boto3

        return boto3.client(
            "sqs",
            endpoint_url=self.endpoint,
            region_name=self.region,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
        )


def _sqs_answers(svc: SqsService) -> bool:
    req = urllib.request.Request(  # noqa: S310 - test settings point at 127.0.0.1
        svc.endpoint + "/",
        data=b"Action=ListQueues&Version=2012-11-05",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    with urllib.request.urlopen(req, timeout=CHECK_TIMEOUT) as resp:  # noqa: S310
        return resp.status == 200 and b"ListQueuesResponse" in resp.read()


@pytest.fixture(scope="session")
def sqs_service() -> SqsService:
    pre = "GATEWAYS_TEST_SQS_"
    conf = _require("sqs", [pre + n for n in ("ENDPOINT", "REGION", "ACCESS_KEY", "SECRET_KEY")])
    svc = SqsService(
        endpoint=conf[pre + "ENDPOINT"],
        region=conf[pre + "REGION"],
        access_key=conf[pre + "ACCESS_KEY"],
        secret_key=conf[pre + "SECRET_KEY"],
    )
    _check("sqs", lambda: _sqs_answers(svc))
    return svc


# --------------------------------------------------------------------------- HDFS (MiniDFSCluster)


@dataclass(frozen=True)
class HdfsService:
    namenode: str  # host:port of the NameNode's RPC (the seed's `addresses`)
    webhdfs: str  # http://host:port, the NameNode's WebHDFS
    user: str  # simple authentication: the user WebHDFS acts as

    def client(self) -> Any:
        """A PyPI `hdfs` WebHDFS client acting as `user`."""
        from hdfs import InsecureClient

        return InsecureClient(self.webhdfs, user=self.user)


def _webhdfs_answers(svc: HdfsService) -> bool:
    url = f"{svc.webhdfs}/webhdfs/v1/?op=GETFILESTATUS&user.name={svc.user}"
    with urllib.request.urlopen(url, timeout=CHECK_TIMEOUT) as resp:  # noqa: S310 - loopback
        return bool(json.loads(resp.read())["FileStatus"]["type"] == "DIRECTORY")


@pytest.fixture(scope="session")
def hdfs_service() -> HdfsService:
    pre = "GATEWAYS_TEST_HDFS_"
    conf = _require("hdfs", [pre + n for n in ("NAMENODE", "WEBHDFS", "USER")])
    svc = HdfsService(
        namenode=conf[pre + "NAMENODE"], webhdfs=conf[pre + "WEBHDFS"], user=conf[pre + "USER"]
    )
    _check("hdfs", lambda: _webhdfs_answers(svc))
    return svc


# --------------------------------------------------------------------------- MinIO of a test's own

MINIO_START_TIMEOUT = 60.0


def _minio_ready(url: str) -> bool:
    try:
        return _http_ok(f"{url}/minio/health/ready")
    except (OSError, ValueError):
        return False


@pytest.fixture
def own_minio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., MinioService]]:
    """Starts MinIO servers of the test's own: the `minio` service's build and credentials on a
    free port with a fresh drive, plus the environment given (``MINIO_NOTIFY_*`` targets, ...);
    each is stopped after the test. ``start(env)`` returns once the server is ready."""
    pre = "GATEWAYS_TEST_MINIO_"
    conf = _require("minio", [pre + n for n in ("BINARY", "ACCESS_KEY", "SECRET_KEY")])
    binary = Path(conf[pre + "BINARY"])
    if not binary.exists():
        unavailable("minio", f"no MinIO build at {binary}")
    processes: list[subprocess.Popen[bytes]] = []

    def start(env: Mapping[str, str] | None = None) -> MinioService:
        folder = tmp_path_factory.mktemp("minio")
        port = free_port()
        svc = MinioService(
            endpoint=f"{HOST}:{port}",
            url=f"http://{HOST}:{port}",
            access_key=conf[pre + "ACCESS_KEY"],
            secret_key=conf[pre + "SECRET_KEY"],
        )
        settings = {
            "MINIO_ROOT_USER": svc.access_key,
            "MINIO_ROOT_PASSWORD": svc.secret_key,
            "MINIO_BROWSER": "off",
            "MINIO_UPDATE": "off",
            **(env or {}),
        }
        argv = [str(binary), "server", "--address", svc.endpoint, str(folder / "data")]
        with (folder / "minio.log").open("wb") as log:
            process = subprocess.Popen(
                argv, env={"PATH": os.environ.get("PATH", ""), **settings}, stdout=log, stderr=log
            )
        processes.append(process)
        deadline = time.monotonic() + MINIO_START_TIMEOUT
        while not _minio_ready(svc.url):
            if process.poll() is not None or time.monotonic() > deadline:
                tail = (folder / "minio.log").read_text(errors="replace")[-2000:]
                pytest.fail(f"MinIO on {svc.endpoint} did not start:\n{tail}", pytrace=False)
            time.sleep(0.05)
        return svc

    yield start
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
