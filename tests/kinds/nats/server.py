"""NATS helpers of the NATS tests: JetStream streams, publishing, and a nats-server of our own
(JetStream, optionally TLS with a private CA) that a test may stop and start again."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from pathlib import Path

from nats.aio.client import Client
from nats.js.api import StorageType, StreamConfig

from tests.kit import free_port, wait_for_port


async def jetstream_stream(client: Client, name: str, subjects: list[str]) -> None:
    await client.jetstream().add_stream(
        StreamConfig(name=name, subjects=subjects, storage=StorageType.FILE)
    )


async def publish(client: Client, subject: str, count: int, **headers: str) -> None:
    js = client.jetstream()
    for number in range(count):
        body = f'{{"n": {number}}}'.encode()
        await js.publish(subject, body, headers={"x-number": str(number), **headers})


class NatsServer:
    """A nats-server of our own (JetStream, file store in ``directory``) we may restart."""

    def __init__(self, directory: Path, tls: tuple[Path, Path] | None = None) -> None:
        self.directory = directory
        self.tls = tls  # (certificate, key): clients must use TLS
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"{'tls' if self.tls else 'nats'}://127.0.0.1:{self.port}"

    async def start(self) -> NatsServer:
        binary = shutil.which("nats-server") or "/usr/sbin/nats-server"
        arguments = ["-a", "127.0.0.1", "-p", str(self.port), "-js", "-sd", str(self.directory)]
        if self.tls:
            arguments += ["--tls", "--tlscert", str(self.tls[0]), "--tlskey", str(self.tls[1])]
        self.process = subprocess.Popen(
            [binary, *arguments],
            stdout=subprocess.DEVNULL,
            stderr=(self.directory / "server.log").open("ab"),
        )
        await wait_for_port(self.port, timeout=10)
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.process = None


def certificates(directory: Path) -> tuple[Path, Path, Path]:
    """A CA, and a certificate for 127.0.0.1 it signed: (ca, certificate, key)."""
    ca_key, ca, key = directory / "ca.key", directory / "ca.crt", directory / "server.key"
    request, certificate = directory / "server.csr", directory / "server.crt"
    extensions = directory / "server.ext"
    extensions.write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    new_key = ["-nodes", "-newkey", "rsa:2048"]
    make_ca = ["req", "-x509", "-new", *new_key, "-days", "2", "-keyout", str(ca_key)]
    make_request = ["req", "-new", *new_key, "-keyout", str(key), "-out", str(request)]
    sign = ["x509", "-req", "-in", str(request), "-CA", str(ca), "-CAkey", str(ca_key)]
    for arguments in (
        [*make_ca, "-out", str(ca), "-subj", "/CN=gateways-test-ca"],
        [*make_request, "-subj", "/CN=127.0.0.1"],
        [
            *sign,
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            str(extensions),
            "-out",
            str(certificate),
        ],
    ):
        subprocess.run(["openssl", *arguments], check=True, capture_output=True)
    return ca, certificate, key
