"""The `gateways` command: up (the embedded default), validate, status, tail, serve."""

from __future__ import annotations

import argparse
import json
import sys
import urllib.error
import urllib.request
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import cast

from gateways import entrypoints
from gateways.errors import GatewayError
from gateways.hosting.process import run_process
from gateways.registry.validate import check_file
from gateways.settings import Settings

BUNDLED_EXAMPLE = "default.yaml"


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        result: int = args.run(args)
        return result
    except GatewayError as exc:
        print(f"gateways: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gateways", description=__doc__)
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    up = commands.add_parser(
        "up", help="run the whole gateway on this machine from a registry file"
    )
    up.add_argument(
        "--file", "-f", type=Path, help="registry file of ConfigMaps (default: a bundled example)"
    )
    up.add_argument(
        "--type", dest="gateway_type", help="gateway type for ConfigMaps without the type label"
    )
    up.add_argument(
        "--watcher",
        action="append",
        default=[],
        help="extra watcher URL, or 'console' (repeatable)",
    )
    up.add_argument("--host", help="address to listen on (GATEWAYS_HOST, default 127.0.0.1)")
    up.add_argument(
        "--admin-port",
        type=int,
        help="status/health/metrics port (GATEWAYS_ADMIN_PORT, default 7070)",
    )
    up.set_defaults(run=_up)

    validate = commands.add_parser("validate", help="check a registry file; list every problem")
    validate.add_argument("file", type=Path)
    validate.add_argument(
        "--type", dest="gateway_type", help="gateway type for ConfigMaps without the type label"
    )
    validate.set_defaults(run=_validate)

    status = commands.add_parser("status", help="show each source of a running gateway")
    status.add_argument(
        "--admin", default=None, help="admin address (default http://127.0.0.1:GATEWAYS_ADMIN_PORT)"
    )
    status.add_argument("--json", action="store_true", help="print the raw JSON")
    status.set_defaults(run=_status)

    tail = commands.add_parser(
        "tail", help="follow the events of a running gateway, one line each (Ctrl-C stops)"
    )
    tail.add_argument(
        "source", nargs="?", default="", help="only this source: NAME or GATEWAY/NAME"
    )
    tail.add_argument(
        "--admin", default=None, help="admin address (default http://127.0.0.1:GATEWAYS_ADMIN_PORT)"
    )
    tail.add_argument("--json", action="store_true", help="one JSON object per event")
    tail.add_argument(
        "--lines", "-n", type=int, default=10, help="recent events to show first (default 10)"
    )
    tail.set_defaults(run=_tail)

    serve = commands.add_parser("serve", help="host one function (container entry point)")
    serve.add_argument("function", help="webhook, calendar or dispatcher")
    serve.add_argument("--port", type=int, help="port (PORT, default 8080)")
    serve.add_argument("--host", help="address (GATEWAYS_HOST)")
    serve.set_defaults(run=_serve)
    return parser


def _up(args: argparse.Namespace) -> int:
    from gateways.embedded import banner
    from gateways.runtime import GatewayRuntime

    path = args.file
    if path is not None and not path.is_file():
        print(f"gateways: --file {path}: no such file", file=sys.stderr)
        return 2
    if path is None:
        path = Path(str(resources.files("gateways.examples").joinpath(BUNDLED_EXAMPLE)))
    settings = Settings.from_env().with_options(
        registry_file=path,
        gateway_type=args.gateway_type,
        host=args.host,
        admin_port=args.admin_port,
    )
    if args.watcher:
        settings = settings.with_options(watchers=settings.watchers + tuple(args.watcher))
    bundled = args.file is None
    from gateways.adapter.remote import RemoteServers  # grpc: only for a process that runs

    return run_process(
        "gateways",
        lambda: GatewayRuntime(
            settings, remote=RemoteServers(max_in_flight=settings.max_in_flight)
        ),
        settings.log_level,
        lambda runtime: print(banner(cast(GatewayRuntime, runtime), bundled), flush=True),
    )


def _validate(args: argparse.Namespace) -> int:
    checked = check_file(args.file, args.gateway_type)
    for problem in checked.problems:
        print(problem)
    if checked.problems:
        print(f"{args.file}: {len(checked.problems)} problem(s)", file=sys.stderr)
        return 1
    gateways = len(checked.gateways)
    print(f"{args.file}: {checked.sources} source(s) in {gateways} gateway(s), all valid")
    return 0


def _status(args: argparse.Namespace) -> int:
    address = args.admin or f"http://127.0.0.1:{Settings.from_env().admin_port}"
    try:
        with urllib.request.urlopen(f"{address}/status", timeout=5) as reply:  # noqa: S310 (http only)
            document = json.load(reply)
    except (urllib.error.URLError, OSError) as exc:
        print(f"gateways: no gateway answers at {address}: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(document, indent=2))
        return 0
    # OWNER only when replicas share the sources: the replica that runs each exclusive one.
    owners = any(source.get("owner") for source in document["sources"])
    rows = [("GATEWAY", "SOURCE", "KIND", "STATE", *(("OWNER",) if owners else ()), "DETAIL")]
    for source in document["sources"]:
        detail = source.get("reason") or source.get("address", "")
        owner = (source.get("owner", ""),) if owners else ()
        rows.append(
            (source["gateway"], source["name"], source["kind"], source["state"], *owner, detail)
        )
    columns = len(rows[0]) - 1
    widths = [max(len(row[i]) for row in rows) for i in range(columns)]
    for row in rows:
        cells = "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:columns]))
        print(cells + "  " + row[columns])
    for problem in document.get("registryProblems", []):
        print(f"registry: {problem}")
    failing = [s for s in document["sources"] if s["state"] in ("rejected", "failed")]
    return 1 if failing or document.get("registryProblems") else 0


def _tail(args: argparse.Namespace) -> int:
    from gateways.observe.tail import follow

    if args.lines < 0:
        print("gateways: --lines: must be 0 or more", file=sys.stderr)
        return 2
    address = args.admin or f"http://127.0.0.1:{Settings.from_env().admin_port}"
    return follow(address, args.source, args.json, args.lines)


def _serve(args: argparse.Namespace) -> int:
    from gateways.hosting.serve import FunctionService

    factories = entrypoints.group("gateways.functions")
    if args.function not in factories:
        print(
            f"gateways: unknown function {args.function!r} (known: {', '.join(sorted(factories))})",
            file=sys.stderr,
        )
        return 2
    settings = Settings.from_env().with_options(port=args.port, host=args.host)
    factory = factories[args.function].load()
    return run_process(
        f"gateways serve {args.function}",
        lambda: FunctionService(factory(settings), settings),
        settings.log_level,
    )


if __name__ == "__main__":
    raise SystemExit(main())
