"""Regression gates: how far a metric may move from its baseline value before the session fails.

`--llm-fail-on` (ini `llm_fail_on`) is parsed once into `Gate` objects:

    relevance:-0.3,pass_rate:-5%,cost_usd:+10%,latency_p95:off

Each part is `METRIC:CHANGE`. The sign says which way the gate watches and the
number how far the metric may move that way: `-0.3` fails when the value falls
by more than 0.3; `+10%` fails when it rises by more than 10% of the baseline
value. A move the other way never trips that gate. `off` disables the gate
(built-in default included). A bare number is an absolute change in the
metric's own unit (pass_rate is a fraction, so `pass_rate:-0.05` allows five
points); `%` is relative to the baseline value, and from a baseline of 0 any
move the watched way exceeds a relative allowance.

Metrics no gate names get `default_gate`: modest limits on purpose, so a
replayed run (deterministic) only fails on a real change.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "BUILTIN_METRICS",
    "DEFAULT_GATES",
    "DEFAULT_SCORE_TOLERANCE",
    "Direction",
    "Gate",
    "GateSet",
    "default_gate",
    "parse_gates",
]

Direction = Literal["up", "down"]

# Metrics every llm test has besides its scores, with whether higher is better.
BUILTIN_METRICS: dict[str, bool] = {
    "pass_rate": True,
    "cost_usd": False,
    "input_tokens": False,
    "output_tokens": False,
    "latency_p95": False,
}

DEFAULT_SCORE_TOLERANCE = 0.10  # a score may get 10% worse than its baseline value

_PART = re.compile(r"^(?P<metric>[A-Za-z_][\w.\-]*):(?P<change>.*)$")
_CHANGE = re.compile(r"^(?P<sign>[+-])(?P<number>\d+(?:\.\d*)?|\.\d+)(?P<pct>%?)$")
_EPSILON = 1e-12


@dataclass(frozen=True, slots=True)
class Gate:
    """How far `metric` may move in `direction`; `direction` None means the gate is off."""

    metric: str
    direction: Direction | None
    amount: float = 0.0
    relative: bool = False
    default: bool = False

    @property
    def text(self) -> str:
        if self.direction is None:
            return f"{self.metric}:off"
        number = f"{self.amount * 100:g}%" if self.relative else f"{self.amount:g}"
        return f"{self.metric}:{'+' if self.direction == 'up' else '-'}{number}"

    def allowance(self, baseline: float) -> float:
        """The largest move the watched way that passes, in the metric's unit."""
        return self.amount * abs(baseline) if self.relative else self.amount

    def exceeded(self, baseline: float, current: float) -> bool:
        if self.direction is None:
            return False
        move = current - baseline if self.direction == "up" else baseline - current
        size = baseline if baseline >= 0 else -baseline
        noise = _EPSILON * (size if size > 1.0 else 1.0)  # float noise is no move
        if move <= noise:
            return False
        return move > (self.amount * size if self.relative else self.amount) + noise


def default_gate(metric: str, higher_is_better: bool) -> Gate:
    """The gate of a metric no `--llm-fail-on` part names."""
    builtin = DEFAULT_GATES.get(metric)
    if builtin is not None:
        return builtin
    return Gate(metric, "down" if higher_is_better else "up", DEFAULT_SCORE_TOLERANCE, True, default=True)


DEFAULT_GATES: dict[str, Gate] = {
    "pass_rate": Gate("pass_rate", "down", 0.0, False, default=True),
    "cost_usd": Gate("cost_usd", "up", 0.25, True, default=True),
    "input_tokens": Gate("input_tokens", "up", 0.25, True, default=True),
    "output_tokens": Gate("output_tokens", "up", 0.25, True, default=True),
    "latency_p95": Gate("latency_p95", "up", 0.50, True, default=True),
}


@dataclass(frozen=True, slots=True)
class GateSet:
    """The gates of one session: those the user named, and the defaults for every other metric."""

    named: tuple[Gate, ...] = ()

    def for_metric(self, metric: str, higher_is_better: bool) -> Gate:
        for gate in self.named:
            if gate.metric == metric:
                return gate
        return default_gate(metric, higher_is_better)

    @property
    def text(self) -> str:
        return ",".join(g.text for g in self.named)


def _parse_part(part: str, position: int) -> Gate:
    where = f"part {position} {part!r}"
    match = _PART.match(part)
    if match is None:
        raise ValueError(
            f"{where} is not METRIC:CHANGE; write e.g. relevance:-0.3, pass_rate:-5%, cost_usd:+10% "
            "or latency_p95:off"
        )
    metric, change = match["metric"], match["change"].strip()
    if change.lower() == "off":
        return Gate(metric, None)
    found = _CHANGE.match(change)
    if found is None:
        hint = " (a sign is required: - watches falls, + watches rises)" if change[:1].isdigit() else ""
        raise ValueError(f"{where}: {change!r} is not a signed change like -0.3, +10% or off{hint}")
    amount = float(found["number"])
    relative = bool(found["pct"])
    if relative:
        amount /= 100.0
    if not math.isfinite(amount):
        raise ValueError(f"{where}: {change!r} is not a finite number")
    direction: Direction = "up" if found["sign"] == "+" else "down"
    higher_is_better = BUILTIN_METRICS.get(metric)
    if higher_is_better is not None and (direction == "up") == higher_is_better:
        better = "rise" if higher_is_better else "fall"
        worse = "-" if higher_is_better else "+"
        raise ValueError(
            f"{where}: a {better} in {metric} is an improvement, never a regression; "
            f"write {metric}:{worse}{found['number']}{found['pct']} to limit how far it may get worse"
        )
    return Gate(metric, direction, amount, relative)


def parse_gates(text: str | None) -> GateSet:
    """Parse a `--llm-fail-on` spec; a ValueError names the bad part (argparse shows it as the option's
    error, the ini reader with the file)."""
    if text is None or not text.strip():
        return GateSet()
    parts = [p for p in re.split(r"[,\s]+", text.strip()) if p]
    gates: list[Gate] = []
    seen: dict[str, int] = {}
    for position, part in enumerate(parts, start=1):
        gate = _parse_part(part, position)
        if gate.metric in seen:
            raise ValueError(
                f"part {position} {part!r}: {gate.metric} already has a gate (part {seen[gate.metric]}); "
                "give each metric one gate"
            )
        seen[gate.metric] = position
        gates.append(gate)
    return GateSet(tuple(gates))
