"""Kafka: Apache Kafka's jars from Maven Central, one KRaft node (broker + controller)."""

from __future__ import annotations

import shutil

from . import probes
from .common import HOST, Proc, run
from .maven import MavenService

VERSION = "3.9.1"
SCALA = "2.13"
# Kafka's own jar pulls in its runtime; slf4j-reload4j is what Kafka's tarball logs with.
ARTIFACTS = [
    ("org.apache.kafka", f"kafka_{SCALA}", VERSION),
    ("org.slf4j", "slf4j-reload4j", "1.7.36"),
    ("ch.qos.reload4j", "reload4j", "1.2.25"),
]
PORT = 19092
CONTROLLER_PORT = 19093
CLUSTER_ID = "R2F0ZXdheXNUZXN0S2Fma2"  # fixed: 22 base64url chars, any 16 bytes do
MAIN = "kafka.Kafka"
STORAGE_TOOL = "kafka.tools.StorageTool"


def _pom() -> str:
    deps = "".join(
        f"    <dependency><groupId>{g}</groupId><artifactId>{a}</artifactId>"
        f"<version>{v}</version></dependency>\n"
        for g, a, v in ARTIFACTS
    )
    return (
        '<project xmlns="http://maven.apache.org/POM/4.0.0">\n'
        "  <modelVersion>4.0.0</modelVersion>\n"
        "  <groupId>local.gateways</groupId><artifactId>kafka-runtime</artifactId>\n"
        "  <version>1</version><packaging>pom</packaging>\n"
        f"  <dependencies>\n{deps}  </dependencies>\n</project>\n"
    )


class Kafka(MavenService):
    name = "kafka"
    start_timeout = 120.0

    home_name = f"kafka-{VERSION}"
    title = f"Kafka {VERSION}"
    marker_jar = f"kafka_{SCALA}-{VERSION}.jar"

    def pom(self) -> str:
        return _pom()

    def prepare(self) -> None:
        data = self.state / "data"
        data.mkdir(parents=True, exist_ok=True)
        (self.state / "server.properties").write_text(
            "process.roles=broker,controller\n"
            "node.id=1\n"
            f"controller.quorum.voters=1@{HOST}:{CONTROLLER_PORT}\n"
            f"listeners=PLAINTEXT://{HOST}:{PORT},CONTROLLER://{HOST}:{CONTROLLER_PORT}\n"
            f"advertised.listeners=PLAINTEXT://{HOST}:{PORT}\n"
            "controller.listener.names=CONTROLLER\n"
            "inter.broker.listener.name=PLAINTEXT\n"
            "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT\n"
            f"log.dirs={data}\n"
            "num.partitions=1\n"
            "auto.create.topics.enable=false\n"
            "delete.topic.enable=true\n"
            "offsets.topic.replication.factor=1\n"
            "offsets.topic.num.partitions=4\n"
            "transaction.state.log.replication.factor=1\n"
            "transaction.state.log.min.isr=1\n"
            "group.initial.rebalance.delay.ms=0\n"
            "log.retention.hours=24\n"
        )
        (self.state / "log4j.properties").write_text(
            "log4j.rootLogger=INFO, stdout\n"
            "log4j.appender.stdout=org.apache.log4j.ConsoleAppender\n"
            "log4j.appender.stdout.layout=org.apache.log4j.PatternLayout\n"
            "log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n\n"
            "log4j.logger.org.apache.kafka=INFO\nlog4j.logger.kafka=INFO\n"
            "log4j.logger.state.change.logger=WARN\n"
        )
        if not (data / "meta.properties").exists():
            run(
                [
                    self.java(),
                    "-cp",
                    self.classpath(),
                    *self.jvm_flags(),
                    STORAGE_TOOL,
                    "format",
                    "-t",
                    CLUSTER_ID,
                    "-c",
                    str(self.state / "server.properties"),
                ],
                log=self.state / "format.log",
            )

    def jvm_flags(self) -> list[str]:
        return [
            "-Xms256m",
            "-Xmx768m",
            "-XX:+UseG1GC",
            "-Djava.awt.headless=true",
            f"-Dlog4j.configuration=file:{self.state / 'log4j.properties'}",
            f"-Dkafka.logs.dir={self.state}",
        ]

    def procs(self) -> list[Proc]:
        java = shutil.which("java") or "java"
        argv = [
            java,
            *self.jvm_flags(),
            "-cp",
            self.classpath(),
            MAIN,
            str(self.state / "server.properties"),
        ]
        return [Proc("kafka", argv, self.state)]

    def healthy(self) -> bool:
        return probes.kafka(PORT)

    def env(self) -> dict[str, str]:
        return {"GATEWAYS_TEST_KAFKA_BOOTSTRAP": f"{HOST}:{PORT}"}

    def versions(self) -> str:
        return f"Apache Kafka {VERSION} (Scala {SCALA}, Maven Central jars, KRaft)"
