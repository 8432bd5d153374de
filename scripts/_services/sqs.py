"""SQS: ElasticMQ (an SQS-compatible server) from Maven Central's jars, on the JDK."""

from __future__ import annotations

import shutil
from pathlib import Path

from . import probes
from .base import Service
from .common import HOST, Proc, ServiceError, file_lock, need_tool, run, say

VERSION = "1.6.14"
SCALA = "2.13"
MAVEN_DEPENDENCY_PLUGIN = "org.apache.maven.plugins:maven-dependency-plugin:3.6.1"
ARTIFACT = ("org.elasticmq", f"elasticmq-server_{SCALA}", VERSION)
PORT = 19324
REGION = "us-east-1"
ACCOUNT = "000000000000"
ACCESS_KEY = "gateways-sqs"  # ElasticMQ takes any credentials
SECRET_KEY = "gateways-sqs-secret"  # noqa: S105 - fixed test credential
MAIN = "org.elasticmq.server.Main"


def _pom() -> str:
    group, artifact, version = ARTIFACT
    return (
        '<project xmlns="http://maven.apache.org/POM/4.0.0">\n'
        "  <modelVersion>4.0.0</modelVersion>\n"
        "  <groupId>local.gateways</groupId><artifactId>elasticmq-runtime</artifactId>\n"
        "  <version>1</version><packaging>pom</packaging>\n"
        f"  <dependencies>\n    <dependency><groupId>{group}</groupId>"
        f"<artifactId>{artifact}</artifactId><version>{version}</version></dependency>\n"
        "  </dependencies>\n</project>\n"
    )


class Sqs(Service):
    name = "sqs"
    start_timeout = 90.0

    @property
    def home(self) -> Path:
        return self.cache / f"elasticmq-{VERSION}"

    def java(self) -> str:
        return need_tool("java", "openjdk-17-jre-headless", self.install_log)

    def install(self) -> None:
        self.java()
        if (self.home / ".complete").exists():
            return
        mvn = need_tool("mvn", "maven", self.install_log)
        with file_lock(self.cache / f"elasticmq-{VERSION}.lock"):
            if (self.home / ".complete").exists():
                return
            say(f"  fetching ElasticMQ {VERSION} jars with Maven into {self.home}")
            self.home.mkdir(parents=True, exist_ok=True)
            (self.home / "pom.xml").write_text(_pom())
            libs = self.home / "libs"
            shutil.rmtree(libs, ignore_errors=True)
            run(
                [
                    mvn,
                    "-B",
                    "-q",
                    "-f",
                    str(self.home / "pom.xml"),
                    f"{MAVEN_DEPENDENCY_PLUGIN}:copy-dependencies",
                    "-DincludeScope=runtime",
                    f"-DoutputDirectory={libs}",
                ],
                log=self.home / "mvn.log",
            )
            if not (libs / f"elasticmq-server_{SCALA}-{VERSION}.jar").exists():
                raise ServiceError(f"Maven produced no ElasticMQ jar; see {self.home / 'mvn.log'}")
            (self.home / ".complete").write_text(VERSION + "\n")

    def prepare(self) -> None:
        self.state.mkdir(parents=True, exist_ok=True)
        # In memory: queues live as long as the server (tests make their own queues).
        (self.state / "elasticmq.conf").write_text(
            'include classpath("application.conf")\n'
            f'node-address {{ protocol = http, host = "{HOST}", port = {PORT}, '
            'context-path = "" }\n'
            f'rest-sqs {{ enabled = true, bind-port = {PORT}, bind-hostname = "{HOST}", '
            "sqs-limits = strict }\n"
            "rest-stats { enabled = false }\n"
            f'aws {{ region = "{REGION}", accountId = "{ACCOUNT}" }}\n'
        )

    def procs(self) -> list[Proc]:
        java = shutil.which("java") or "java"
        argv = [
            java,
            "-Xms64m",
            "-Xmx384m",
            "-Djava.awt.headless=true",
            f"-Dconfig.file={self.state / 'elasticmq.conf'}",
            "-cp",
            str(self.home / "libs" / "*"),
            MAIN,
        ]
        return [Proc("elasticmq", argv, self.state)]

    def healthy(self) -> bool:
        return probes.sqs(PORT)

    def env(self) -> dict[str, str]:
        return {
            "GATEWAYS_TEST_SQS_ENDPOINT": f"http://{HOST}:{PORT}",
            "GATEWAYS_TEST_SQS_REGION": REGION,
            "GATEWAYS_TEST_SQS_ACCESS_KEY": ACCESS_KEY,
            "GATEWAYS_TEST_SQS_SECRET_KEY": SECRET_KEY,
        }

    def versions(self) -> str:
        return f"ElasticMQ {VERSION} (Scala {SCALA}, Maven Central jars)"
