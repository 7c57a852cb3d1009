"""The realtime benchmark's figures: the side-by-side table, ratios, targets and notes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Peer:
    name: str
    label: str
    argv: tuple[str, ...]  # the server's command; the runner appends "--port N"


@dataclass
class PeerResults:
    peer: Peer
    results: dict[str, dict[str, Any]] = field(default_factory=dict)  # by scenario


# The ratio columns and the targets: each of ours against each of these peers.
OURS = ("expressio", "expressio-asgi")
THEIRS = ("psio", "node")

# (scenario, key, title, number format); "rate" figures are higher-is-better.
FIGURES = (
    ("acks", "rate_per_s", "ack round-trips/s", "{:,.0f}"),
    ("broadcast", "rate_per_s", "broadcast deliveries/s", "{:,.0f}"),
    ("broadcast_ack", "plain_round_ms", "ms per broadcast round (1000 clients)", "{:,.2f}"),
    ("broadcast_ack", "ack_round_ms", "ms per broadcast-with-acks round", "{:,.2f}"),
    ("broadcast_ack", "ack_over_plain", "with acks / plain round time", "{:,.2f}"),
    ("connect", "rate_per_s", "connections/s", "{:,.0f}"),
    ("idle", "kb_per_connection", "KB RSS per idle connection", "{:,.1f}"),
    ("acks", "server_us_per_op", "server CPU µs per ack", "{:,.1f}"),
    ("broadcast", "server_us_per_op", "server CPU µs per delivery", "{:,.2f}"),
    ("broadcast_ack", "server_us_per_op", "server CPU µs per delivery with ack", "{:,.2f}"),
    ("connect", "server_us_per_op", "server CPU µs per connection", "{:,.0f}"),
    # "share" rows: the process's CPU share of its core / everything that ran on that core.
    ("acks", "server", "server / core 0 busy, acks", "share"),
    ("broadcast", "server", "server / core 0 busy, broadcast", "share"),
    ("connect", "server", "server / core 0 busy, connect", "share"),
    ("acks", "loadgen", "generator / core 1 busy, acks", "share"),
    ("broadcast", "loadgen", "generator / core 1 busy, broadcast", "share"),
    ("connect", "loadgen", "generator / core 1 busy, connect", "share"),
)
TARGETS = (
    # (scenario, key, peer, minimum ratio expressio/peer) or an absolute ceiling below
    ("acks", "rate_per_s", "psio", 2.5),
    ("broadcast", "rate_per_s", "psio", 4.0),
    ("broadcast", "rate_per_s", "node", 0.9),
)
IDLE_KB_CEILING = 25.0


def figure(results: dict[str, dict[str, Any]], scenario: str, key: str) -> float | None:
    value = results.get(scenario, {}).get(key)
    return float(value) if isinstance(value, int | float) else None


def format_share(result: dict[str, Any], role: str) -> str:
    process, core = result.get(f"{role}_cpu_share"), result.get(f"{role}_core_total_share")
    if not isinstance(process, float) or not isinstance(core, float):
        return "-"
    return f"{process:.0%} / {core:.0%}"


def render_table(runs: Sequence[PeerResults], scenarios: Sequence[str]) -> str:
    by_name = {run.peer.name: run for run in runs}
    pairs = [
        (ours, theirs) for ours in OURS for theirs in THEIRS if {ours, theirs} <= by_name.keys()
    ]
    header = ["", *(run.peer.label for run in runs)]
    header += [f"{ours}/{theirs}" for ours, theirs in pairs]
    rows = [header]
    for scenario, key, title, number in FIGURES:
        if scenario not in scenarios:
            continue
        row = [title]
        for run in runs:
            if "error" in run.results.get(scenario, {}):
                row.append("FAILED")
            elif number == "share":
                row.append(format_share(run.results.get(scenario, {}), key))
            else:
                value = figure(run.results, scenario, key)
                row.append("-" if value is None else number.format(value))
        for ours, theirs in pairs:
            mine = figure(by_name[ours].results, scenario, key)
            other = figure(by_name[theirs].results, scenario, key)
            ratio = mine / other if mine is not None and other else None
            row.append("" if number == "share" else "-" if ratio is None else f"{ratio:.2f}x")
        rows.append(row)
    widths = [max(len(row[column]) for row in rows) for column in range(len(header))]
    lines = []
    for index, row in enumerate(rows):
        cells = [row[0].ljust(widths[0])]
        cells += [cell.rjust(width) for cell, width in zip(row[1:], widths[1:], strict=True)]
        lines.append("  ".join(cells))
        if index == 0:
            lines.append("  ".join("-" * width for width in widths))
    return "\n".join(lines)


def check_targets(runs: Sequence[PeerResults]) -> list[str]:
    by_name = {run.peer.name: run.results for run in runs}
    labels = {run.peer.name: run.peer.label for run in runs}
    verdicts = []
    for ours in OURS:
        mine = by_name.get(ours)
        if mine is None:
            continue
        for scenario, key, peer, minimum in TARGETS:
            if peer not in by_name or scenario not in mine:
                continue
            value, theirs = figure(mine, scenario, key), figure(by_name[peer], scenario, key)
            label = f"{scenario} {ours}/{labels[peer]} >= {minimum}x"
            if value is None or not theirs:
                verdicts.append(f"{label}: not measured")
            else:
                ratio = value / theirs
                verdict = "met" if ratio >= minimum else "NOT met"
                verdicts.append(f"{label}: {ratio:.2f}x {verdict}")
        kb = figure(mine, "idle", "kb_per_connection")
        if kb is not None:
            verdict = "met" if kb <= IDLE_KB_CEILING else "NOT met"
            verdicts.append(
                f"idle {ours} <= {IDLE_KB_CEILING:g} KB per connection: {kb:.1f} KB {verdict}"
            )
    return verdicts


def best_of(scenario: str, kept: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """The better of two rounds of one scenario: the higher rate, or the smaller idle footprint."""
    if "error" in new:
        return kept
    if "error" in kept:
        return new
    if scenario == "idle":
        return new if new["kb_per_connection"] < kept["kb_per_connection"] else kept
    return new if new["rate_per_s"] > kept["rate_per_s"] else kept


def anomalies(runs: Sequence[PeerResults]) -> list[str]:
    """Signs that a figure does not measure the server alone."""
    notes = []
    for run in runs:
        for scenario, result in run.results.items():
            label = f"{run.peer.label} {scenario}"
            if result.get("deliveries_missing"):
                notes.append(f"{label}: {result['deliveries_missing']} deliveries never arrived")
            if result.get("stalls"):
                notes.append(f"{label}: {result['stalls']} stalls (no delivery for 0.5 s)")
            if result.get("failures"):
                notes.append(f"{label}: {result['failures']} connection attempts failed")
            server, core = result.get("server_cpu_share"), result.get("server_core_total_share")
            if isinstance(server, float) and isinstance(core, float) and core - server > 0.15:
                notes.append(
                    f"{label}: core 0 was {core:.0%} busy but the server used {server:.0%}: "
                    "other load on the machine; compare the CPU µs per operation instead"
                )
            generator = result.get("loadgen_cpu_share")
            if isinstance(generator, float) and generator > 0.9:
                notes.append(f"{label}: the load generator used {generator:.0%} of its core")
    return notes
