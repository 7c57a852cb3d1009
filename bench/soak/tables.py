"""The soak benchmark's figures: one table per scenario, one column per server, and the targets."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

# The targets, for expressio (as app.listen() serves it).
SLOW_PEAK_MB_CEILING = 100.0
FLOOD_P99_MS_CEILING = 50.0

Result = dict[str, Any]
# (title, how to read the figure from one server's result of the scenario, format)
Row = tuple[str, Callable[[Result], Any], str]


def _get(*keys: str) -> Callable[[Result], Any]:
    def read(result: Result) -> Any:
        value: Any = result
        for key in keys:
            if not isinstance(value, dict) or key not in value:
                return None
            value = value[key]
        return value

    return read


def _closed(result: Result) -> str | None:
    closed = result.get("closed_after_s")
    if closed is None:
        return None
    return f"{len(closed)} / {result['slow_clients']}"


def _closed_span(result: Result) -> str | None:
    closed = result.get("closed_after_s")
    if closed is None:
        return None
    if not closed:
        return "never"
    return f"{closed[0]:.1f}-{closed[-1]:.1f}"


def _received(result: Result) -> str | None:
    if "good_received" not in result:
        return None
    note = " (closed)" if result.get("good_closed") else ""
    return f"{result['good_received']} / {result['broadcasts']}{note}"


def _failures(result: Result) -> int | None:
    failures = result.get("failures")
    return sum(failures.values()) if isinstance(failures, dict) else None


def _busy(result: Result) -> str | None:
    server, cores = result.get("server_cpu_share"), result.get("core_busy")
    if server is None or not cores:
        return None
    return f"{server:.0%} / {cores['0']:.0%} / {cores['1']:.0%}"


def _released(result: Result) -> str | None:
    if "sessions_released_after_s" not in result:
        return None
    released = result["sessions_released_after_s"]
    if released is not None:
        return f"{released:.0f}"
    left = result.get("sessions_after_linger")
    return f"> {result['linger_s']:.0f} ({left:,} left)" if left is not None else "-"


def _in_flood(kind: str, read: Callable[[Result], Any]) -> Callable[[Result], Any]:
    """Reads from one kind of flood (`ws`, `polling`), each run on a server of its own."""

    def read_kind(result: Result) -> Any:
        part = result.get(kind)
        if not isinstance(part, dict):
            return None
        return "FAILED" if "error" in part else read(part)

    return read_kind


def _flood_rows(kind: str) -> tuple[Row, ...]:
    name = "websocket CONNECT" if kind == "ws" else "polling handshake"
    rows: tuple[Row, ...] = (
        (f"{name} flood: handshakes/s", _get("flood", "rate_per_s"), "{:,.0f}"),
        ("  failed attempts", lambda r: _failures(r.get("flood", {})), "{:,}"),
        ("  server CPU µs per handshake", _get("server_us_per_handshake"), "{:,.0f}"),
        ("  probe ack p50 ms, quiet", _get("probe", "quiet", "p50_ms"), "{:.2f}"),
        ("  probe ack p50 ms, flood", _get("probe", "flood", "p50_ms"), "{:.2f}"),
        ("  probe ack p99 ms, flood", _get("probe", "flood", "p99_ms"), "{:.2f}"),
        ("  probe ack max ms, flood", _get("probe", "flood", "max_ms"), "{:.1f}"),
        ("  probe acks answered, flood", _get("probe", "flood", "count"), "{:,}"),
        ("  peak RSS above idle, MB", _get("peak_above_idle_mb"), "{:.1f}"),
        ("  server / core 0 / core 1 busy", _busy, "{}"),
        ("  open Engine.IO sessions at end", _get("sessions_at_end"), "{:,}"),
        ("  open socket fds at end", _get("socket_fds_at_end"), "{:,}"),
        ("  sessions released after, s", _released, "{}"),
    )
    return tuple((title, _in_flood(kind, read), number) for title, read, number in rows)


TABLES: dict[str, tuple[str, tuple[Row, ...]]] = {
    "idle": (
        "Idle clients",
        (
            ("idle websocket clients", _get("clients"), "{:,}"),
            ("time to connect them all, s", _get("connect_s"), "{:.2f}"),
            ("KB RSS per idle connection", _get("kb_per_connection"), "{:.1f}"),
            ("RSS idle baseline, MB", lambda r: _mb(r.get("rss_before_kb")), "{:.1f}"),
            ("RSS with all connected, MB", lambda r: _mb(r.get("rss_after_kb")), "{:.1f}"),
        ),
    ),
    "slow": (
        "Slow consumers under large broadcasts",
        (
            ("non-reading clients", _get("slow_clients"), "{:,}"),
            ("broadcasts x size", lambda r: _broadcasts(r), "{}"),
            ("peak RSS above idle, MB", _get("peak_above_idle_mb"), "{:.1f}"),
            ("non-readers closed by the server", _closed, "{}"),
            ("closed after, s (first-last)", _closed_span, "{}"),
            ("reader received", _received, "{}"),
            ("reader's last delivery after, s", _get("good_last_delivery_s"), "{:.1f}"),
            ("broadcast requests acknowledged", _get("blasts_acked"), "{:,}"),
        ),
    ),
    "flood": ("CONNECT / handshake flood", _flood_rows("ws") + _flood_rows("polling")),
    "http": (
        "Anonymous HTTP with sessions",
        (
            ("GET /anon (no session use): requests", _get("anon", "completed"), "{:,}"),
            ("  requests/s", _get("anon", "rate_per_s"), "{:,.0f}"),
            ("  responses with Set-Cookie", _get("anon", "with_set_cookie"), "{:,}"),
            ("  RSS growth, MB", _get("anon", "rss_growth_mb"), "{:.1f}"),
            ("  store entries after", _get("anon", "store_sessions"), "{:,}"),
            ("GET /login (sets a value): requests", _get("login", "completed"), "{:,}"),
            ("  requests/s", _get("login", "rate_per_s"), "{:,.0f}"),
            ("  responses with Set-Cookie", _get("login", "with_set_cookie"), "{:,}"),
            ("  RSS growth, MB", _get("login", "rss_growth_mb"), "{:.1f}"),
            ("  store entries after", _get("login", "store_sessions"), "{:,}"),
        ),
    ),
}


def _mb(kb: Any) -> float | None:
    return kb / 1024 if isinstance(kb, int | float) else None


def _broadcasts(result: Result) -> str | None:
    if "broadcasts" not in result:
        return None
    return f"{result['broadcasts']} x {result['size'] / 1000:,.0f} KB"


def _cell(value: Any, number: str) -> str:
    if value is None:
        return "-"
    if isinstance(value, str):
        return value
    if isinstance(value, float) and not math.isfinite(value):
        return "-"
    return number.format(value)


def render_table(scenario: str, labels: Sequence[str], results: Sequence[Result]) -> str:
    """The scenario's table: a column per server (its label), "FAILED" where it failed."""
    title, rows = TABLES[scenario]
    lines_of_cells = [[title, *labels]]
    for name, read, number in rows:
        cells = [name]
        for result in results:
            cells.append("FAILED" if "error" in result else _cell(read(result), number))
        lines_of_cells.append(cells)
    columns = range(len(labels) + 1)
    widths = [max(len(cells[column]) for cells in lines_of_cells) for column in columns]
    lines = []
    for index, cells in enumerate(lines_of_cells):
        text = [cells[0].ljust(widths[0])]
        text += [cell.rjust(width) for cell, width in zip(cells[1:], widths[1:], strict=True)]
        lines.append("  ".join(text))
        if index == 0:
            lines.append("  ".join("-" * width for width in widths))
    return "\n".join(lines)


def check_targets(expressio: dict[str, Result]) -> list[str]:
    """Each target of expressio's results (by scenario): met / NOT met with the figure."""
    verdicts = []
    slow = expressio.get("slow")
    if slow is not None and "error" not in slow:
        peak = slow["peak_above_idle_mb"]
        verdict = "met" if peak < SLOW_PEAK_MB_CEILING else "NOT met"
        verdicts.append(
            f"slow consumers: peak RSS above idle < {SLOW_PEAK_MB_CEILING:g} MB: "
            f"{peak:.1f} MB {verdict}"
        )
    flood = expressio.get("flood")
    if flood is not None and "error" not in flood:
        for kind in ("ws", "polling"):
            p99 = flood.get(kind, {}).get("probe", {}).get("flood", {}).get("p99_ms")
            if p99 is None:
                verdicts.append(f"{kind} flood: ack p99 not measured")
                continue
            verdict = "met" if p99 < FLOOD_P99_MS_CEILING else "NOT met"
            verdicts.append(
                f"{kind} flood: probe ack p99 < {FLOOD_P99_MS_CEILING:g} ms: {p99:.2f} ms {verdict}"
            )
    return verdicts
