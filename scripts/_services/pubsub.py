"""Pub/Sub: the Go client library's in-memory server (`pstest`), in a small main built here.

`pstest` (module cloud.google.com/go/pubsub/v2, pinned) serves topics, subscriptions,
publish, pull and streaming pull, ordering keys included; google-cloud-pubsub reaches it
through PUBSUB_EMULATOR_HOST. Its state lives in memory: a restart forgets everything. The
main also answers GET /healthz on a second port by calling ListTopics over gRPC on the first.
"""

from __future__ import annotations

from pathlib import Path

from . import gobuild, probes
from .base import Service
from .common import HOST, Proc

MODULE = "cloud.google.com/go/pubsub/v2"
VERSION = "v2.9.0"
PORT = 18085
HEALTH_PORT = 18086
PROJECT = "gateways-test"

GO_MOD = "module gateways.test/pubsubfake\n\ngo 1.26\n"
MAIN_GO = """\
package main

import (
	"context"
	"flag"
	"log"
	"net/http"
	"time"

	pb "cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"cloud.google.com/go/pubsub/v2/pstest"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8085", "gRPC address")
	health := flag.String("health", "127.0.0.1:8086", "GET /healthz address")
	flag.Parse()
	srv := pstest.NewServerWithAddress(*addr)
	log.Printf("pstest serving on %s", srv.Addr)
	conn, err := grpc.NewClient(*addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		log.Fatal(err)
	}
	publisher := pb.NewPublisherClient(conn)
	http.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		_, err := publisher.ListTopics(ctx, &pb.ListTopicsRequest{Project: "projects/health"})
		if err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("ok\\n"))
	})
	log.Fatal(http.ListenAndServe(*health, nil))
}
"""


class Pubsub(Service):
    name = "pubsub"
    start_timeout = 30.0

    @property
    def home(self) -> Path:
        return self.cache / f"pubsub-{VERSION}"

    @property
    def binary(self) -> Path:
        return self.home / "bin" / "pstest-server"

    def install(self) -> None:
        if self.binary.exists():
            return
        src = self.home / "src"
        src.mkdir(parents=True, exist_ok=True)
        (src / "main.go").write_text(MAIN_GO)
        gobuild.build(
            self.home,
            "pstest-server",
            go_mod=GO_MOD,
            require=f"{MODULE}/pstest@{VERSION}",  # the package: its imports reach go.sum
            package=".",
            note=f"(pstest from {MODULE}@{VERSION}) ",
        )

    def procs(self) -> list[Proc]:
        argv = [str(self.binary), "-addr", f"{HOST}:{PORT}", "-health", f"{HOST}:{HEALTH_PORT}"]
        return [Proc("pstest", argv, self.state)]

    def prepare(self) -> None:
        self.state.mkdir(parents=True, exist_ok=True)

    def healthy(self) -> bool:
        return probes.http_ok(f"http://{HOST}:{HEALTH_PORT}/healthz", expect=b"ok")

    def env(self) -> dict[str, str]:
        return {
            "GATEWAYS_TEST_PUBSUB_EMULATOR_HOST": f"{HOST}:{PORT}",
            "GATEWAYS_TEST_PUBSUB_PROJECT": PROJECT,
        }

    def versions(self) -> str:
        return f"pstest {MODULE}@{VERSION} (in memory)"
