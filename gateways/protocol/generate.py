"""Regenerate the Python code of ``eventing.proto``: ``python -m gateways.protocol.generate``.

The proto is compiled from the repository root, so the generated gRPC module imports its
messages as ``gateways.protocol.eventing_pb2``.
"""

from __future__ import annotations

import sys
from pathlib import Path

PROTO = Path("gateways/protocol/eventing.proto")
ROOT = Path(__file__).resolve().parents[2]
GENERATED = ("eventing_pb2.py", "eventing_pb2.pyi", "eventing_pb2_grpc.py")


def generate(out_dir: Path) -> list[Path]:
    """Compile the proto into ``out_dir`` (as ``out_dir/gateways/protocol/...``); the files made."""
    from grpc_tools import protoc  # a dev dependency, needed only here

    out_dir.mkdir(parents=True, exist_ok=True)
    arguments = [
        "grpc_tools.protoc",
        f"--proto_path={ROOT}",
        f"--python_out={out_dir}",
        f"--pyi_out={out_dir}",
        f"--grpc_python_out={out_dir}",
        str(PROTO),
    ]
    if protoc.main(arguments) != 0:
        raise RuntimeError(f"protoc failed on {PROTO}")
    return [out_dir / PROTO.parent / name for name in GENERATED]


def main() -> int:
    for path in generate(ROOT):
        print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
