"""A Kafka broker of a test's own (one KRaft node in a temp dir), so the test may restart it.

It runs the jars ``scripts/services up kafka`` fetched into its cache.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

from kafka import KafkaAdminClient

from tests.kit import free_port, wait_for_port

CLUSTER_ID = "R2F0ZXdheXNUZXN0S2Fma2"
STORAGE_TOOL = "kafka.tools.StorageTool"


def kafka_home() -> Path | None:
    """The newest complete Kafka runtime in the services cache, or None."""
    default = Path.home() / ".cache" / "gateways-services"
    cache = Path(os.environ.get("GATEWAYS_SERVICES_CACHE", str(default)))
    homes = [h for h in sorted(cache.glob("kafka-*")) if (h / ".complete").exists()]
    return homes[-1] if homes and shutil.which("java") else None


class KafkaBroker:
    def __init__(self, home: Path, directory: Path) -> None:
        self.home = home
        self.directory = directory
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        controller = free_port()
        self.properties = directory / "server.properties"
        self.properties.write_text(
            "process.roles=broker,controller\nnode.id=1\n"
            f"controller.quorum.voters=1@127.0.0.1:{controller}\n"
            f"listeners=PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{controller}\n"
            f"advertised.listeners=PLAINTEXT://127.0.0.1:{self.port}\n"
            "controller.listener.names=CONTROLLER\ninter.broker.listener.name=PLAINTEXT\n"
            "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT\n"
            f"log.dirs={directory / 'data'}\n"
            "offsets.topic.replication.factor=1\noffsets.topic.num.partitions=1\n"
            "transaction.state.log.replication.factor=1\ntransaction.state.log.min.isr=1\n"
            "group.initial.rebalance.delay.ms=0\nauto.create.topics.enable=false\n"
        )
        (directory / "log4j.properties").write_text(
            "log4j.rootLogger=WARN, stdout\n"
            "log4j.appender.stdout=org.apache.log4j.ConsoleAppender\n"
            "log4j.appender.stdout.layout=org.apache.log4j.PatternLayout\n"
        )
        self._java(STORAGE_TOOL, "format", "-t", CLUSTER_ID, "-c", str(self.properties)).wait(60)

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _java(self, *arguments: str) -> subprocess.Popen[bytes]:
        command = [
            "java",
            "-Xms128m",
            "-Xmx512m",
            f"-Dlog4j.configuration=file:{self.directory / 'log4j.properties'}",
            "-cp",
            str(self.home / "libs" / "*"),
            *arguments,
        ]
        log = (self.directory / "kafka.log").open("ab")
        return subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)

    async def start(self) -> None:
        self.process = self._java("kafka.Kafka", str(self.properties))
        await wait_for_port(self.port, timeout=60)
        await asyncio.to_thread(self._wait_ready)

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 60
        while True:
            try:
                admin = KafkaAdminClient(bootstrap_servers=self.bootstrap)
                admin.list_topics()
                admin.close()
                return
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    async def stop(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)  # a controlled shutdown flushes the log
        try:
            await asyncio.to_thread(process.wait, 30)
        except subprocess.TimeoutExpired:
            process.kill()
            await asyncio.to_thread(process.wait, 10)
