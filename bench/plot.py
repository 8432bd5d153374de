"""Plot a bench.streams run: ``python -m bench.plot results.json out.png``.

One panel per broker: delivered events/s (solid, left axis) and p99 latency (dashed, right axis,
log scale) against the offered load, for every path of the run (the floors, ours deployed and
embedded, the peer), from the ``--sweep`` points. A path without sweep points shows its one
latency point (half its own events/s). Needs matplotlib (the ``bench`` extra).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

COLOURS = {
    "fire": "tab:gray",
    "alo": "tab:blue",
    "deployed": "tab:orange",
    "embedded": "tab:green",
    "peer": "tab:red",
}


def _points(path: dict[str, Any]) -> list[dict[str, Any]]:
    points: list[dict[str, Any]] = path.get("sweep") or []
    if not points and path.get("latency"):
        points = [path["latency"]]
    return sorted(points, key=lambda point: point["offered"])


def plot(results: dict[str, Any], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    brokers = {kind: broker for kind, broker in results["brokers"].items() if broker.get("paths")}
    if not brokers:
        raise SystemExit("no broker in the results has measured paths")
    figure, axes = plt.subplots(1, len(brokers), figsize=(6.5 * len(brokers), 5), squeeze=False)
    for axis, (kind, broker) in zip(axes[0], brokers.items(), strict=True):
        latency_axis = axis.twinx()
        latency_axis.set_yscale("log")
        highest = 0.0
        for path in sorted(broker["paths"], key=lambda path: path["label"]):
            points = _points(path)
            if not points:
                continue
            colour = COLOURS.get(path["path"], "black")
            offered = [point["offered"] for point in points]
            highest = max(highest, *offered, *(point["delivered"] for point in points))
            axis.plot(
                offered,
                [point["delivered"] for point in points],
                marker="o",
                color=colour,
                label=path["label"],
            )
            p99 = [(point["offered"], point["p99_ms"]) for point in points if point["p99_ms"]]
            if p99:
                latency_axis.plot(*zip(*p99, strict=True), "--", marker="x", color=colour)
        axis.plot([0, highest], [0, highest], ":", color="lightgray", label="delivered = offered")
        axis.set_title(broker.get("title", kind), fontsize=9)
        axis.set_xlabel("offered load (events/s)")
        axis.set_ylabel("delivered events/s (solid)")
        latency_axis.set_ylabel("p99 latency, ms (dashed)")
        axis.set_xlim(left=0)
        axis.set_ylim(bottom=0)
        axis.legend(fontsize=7, loc="upper left")
    run = results.get("run", {})
    figure.suptitle(
        f"bench.streams: burst of {run.get('messages', '?')}, {run.get('seconds', '?')} s per "
        f"load, {run.get('machine', {}).get('cpus', '?')} CPUs",
        fontsize=10,
    )
    figure.tight_layout()
    figure.savefig(out, dpi=120)


def main() -> None:
    if len(sys.argv) != 3:
        raise SystemExit("usage: python -m bench.plot results.json out.png")
    source, out = Path(sys.argv[1]), Path(sys.argv[2])
    try:
        results = json.loads(source.read_text())
    except (OSError, ValueError) as exc:
        raise SystemExit(f"{source}: {exc}") from None
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise SystemExit("matplotlib is not installed: pip install -e '.[bench]'") from None
    plot(results, out)
    print(out)


if __name__ == "__main__":
    main()
