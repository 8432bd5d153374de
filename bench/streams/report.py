"""The printed tables of a run (one per broker, ratios against the floors) and its JSON."""

from __future__ import annotations

from collections.abc import Sequence

from bench.streams.measure import SWEEP, Result

TARGETS = {"deployed": (0.8, 1.5), "embedded": (1.0, 1.2)}  # x (b) events/s, x (b) CPU/event
P99_TARGET_MS = 20.0
_WIDTH = 56
_HEADER = (
    f"{'path':<{_WIDTH}} {'events/s':>9} {'x(b)':>5} {'x(a)':>5}  {'CPU s/1k':>8} {'x(b)':>5}"
    f" {'x(a)':>5}  {'p50 ms':>7} {'p99 ms':>7}  {'lost (503 2 s)':>14}"
)


def _ratio(value: float | None, base: float | None) -> str:
    return f"{value / base:5.2f}" if value is not None and base else f"{'-':>5}"


def _number(value: float | None, format_: str, width: int) -> str:
    return format(value, format_).rjust(width) if value is not None else "-".rjust(width)


def _row(result: Result, alo: Result | None, fire: Result | None) -> str:
    if result.events_per_s is None:
        return f"{result.label:<{_WIDTH}} {result.note or 'not measured'}"
    latency = result.latency
    alo_speed, fire_speed = alo.events_per_s if alo else None, fire.events_per_s if fire else None
    alo_cpu, fire_cpu = alo.cpu_per_1000 if alo else None, fire.cpu_per_1000 if fire else None
    p50, p99 = (latency.p50_ms, latency.p99_ms) if latency else (None, None)
    lost = f"{result.lost}/{result.loss_published}" if result.lost is not None else "-"
    partial = "" if result.delivered >= result.burst else f"  ({result.delivered}/{result.burst})"
    return (
        f"{result.label:<{_WIDTH}} {result.events_per_s:9,.0f}"
        f" {_ratio(result.events_per_s, alo_speed)} {_ratio(result.events_per_s, fire_speed)}"
        f"  {_number(result.cpu_per_1000, '.3f', 8)}"
        f" {_ratio(result.cpu_per_1000, alo_cpu)} {_ratio(result.cpu_per_1000, fire_cpu)}"
        f"  {_number(p50, '.2f', 7)} {_number(p99, '.2f', 7)}  {lost:>14}{partial}"
        + (f"  note: {result.note}" if result.note else "")
    )


def _verdict(result: Result, alo: Result | None) -> str | None:
    if result.path not in TARGETS or result.events_per_s is None or not alo:
        return None
    if not alo.events_per_s or not alo.cpu_per_1000 or result.cpu_per_1000 is None:
        return None
    speed, cpu = TARGETS[result.path]
    ratio = result.events_per_s / alo.events_per_s
    cpu_ratio = result.cpu_per_1000 / alo.cpu_per_1000
    p99 = result.latency.p99_ms if result.latency else None
    checks = [
        f"{ratio:.2f} x events/s (>= {speed}: {'met' if ratio >= speed else 'NOT met'})",
        f"{cpu_ratio:.2f} x CPU/event (<= {cpu}: {'met' if cpu_ratio <= cpu else 'NOT met'})",
    ]
    if p99 is not None:
        met = "met" if p99 < P99_TARGET_MS else "NOT met"
        checks.append(f"p99 {p99:.1f} ms (< {P99_TARGET_MS:.0f}: {met})")
    return f"  {result.path} vs (b): " + ", ".join(checks)


def table(title: str, results: Sequence[Result], messages: int, seconds: float) -> str:
    by_path = {result.path: result for result in results}
    alo, fire = by_path.get("alo"), by_path.get("fire")
    lines = [
        f"{title} -> watcher: burst of {messages:,}, p50/p99 over {seconds:g} s at half each "
        "path's events/s, lost of 4 s at half rate with the watcher answering 503 for 2 s",
        _HEADER,
    ]
    lines += [_row(result, alo, fire) for result in sorted(results, key=lambda r: r.label)]
    lines += [line for result in results if (line := _verdict(result, alo))]
    lines.append(
        "  CPU: the path's own processes and their children (user + system); broker, watcher "
        "and publisher not counted. x(b), x(a): ratio to the at-least-once / fire-and-forget floor."
    )
    swept = [result for result in results if result.sweep]
    if swept and alo and alo.events_per_s:
        lines.append(
            f"  sweep: offered load as a multiple of (b)'s {alo.events_per_s:,.0f} events/s; "
            "delivered events/s / p99 ms"
        )
        lines.append(f"  {'':<{_WIDTH - 2}} " + " ".join(f"{f:>15}" for f in SWEEP))
        for result in sorted(swept, key=lambda r: r.label):
            cells = [
                f"{point.delivered:7,.0f}/{_number(point.p99_ms, '.1f', 7)}"
                for point in result.sweep
            ]
            lines.append(f"  {result.label:<{_WIDTH - 2}} " + " ".join(f"{c:>15}" for c in cells))
    return "\n".join(lines)
