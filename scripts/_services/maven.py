"""Services that run on the JDK from jars Maven fetches (Kafka, ElasticMQ, Hadoop).

A subclass names its cache folder (``home_name``), what it is (``title``), the POM whose
runtime dependencies are the jars (``pom()``), and one jar that must be among them
(``marker_jar``); :meth:`install` fetches them once into the cache, under a file lock.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from .base import Service
from .common import ServiceError, file_lock, need_tool, run, say

MAVEN_DEPENDENCY_PLUGIN = "org.apache.maven.plugins:maven-dependency-plugin:3.6.1"


class MavenService(Service):
    home_name: str
    title: str
    marker_jar: str

    def pom(self) -> str:
        raise NotImplementedError

    @property
    def home(self) -> Path:
        return self.cache / self.home_name

    def java(self) -> str:
        return need_tool("java", "openjdk-17-jre-headless", self.install_log)

    def classpath(self) -> str:
        return str(self.home / "libs" / "*")

    def install(self) -> None:
        self.java()
        if (self.home / ".complete").exists():
            return
        mvn = need_tool("mvn", "maven", self.install_log)
        with file_lock(self.cache / f"{self.home_name}.lock"):
            if (self.home / ".complete").exists():
                return
            say(f"  fetching {self.title} jars with Maven into {self.home}")
            self.home.mkdir(parents=True, exist_ok=True)
            (self.home / "pom.xml").write_text(self.pom())
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
            if not (libs / self.marker_jar).exists():
                raise ServiceError(
                    f"Maven produced no {self.marker_jar}; see {self.home / 'mvn.log'}"
                )
            (self.home / ".complete").write_text(self.home_name + "\n")
