"""Per-test figures as JUnit `user_properties`, so `--junitxml` carries them to CI dashboards.

Names: `llm.score.<name>` (mean over runs), `llm.pass_rate` and `llm.runs`
with repeats, `llm.calls`, `llm.tokens.input|output|cached`, `llm.cost_usd`
(omitted when a call has no known price; `llm.unpriced_calls` says how
many), `llm.judge.calls`, `llm.judge.cost_usd`, `llm.latency_p95_ms`,
`llm.prompt` and `llm.model` (comma separated). A test the live canary ran
again (`--llm-live-sample`) adds the live run's figures under `llm.live.`
(`llm.live.score.<name>`, `llm.live.outcome`, `llm.live.calls`,
`llm.live.tokens.output`, `llm.live.cost_usd`, `llm.live.model`,
`llm.live.answer_changed`), or `llm.live.skipped` with the reason. Values are
strings, numbers in Python's `g` format.
"""

from __future__ import annotations

import math

from pytest_llmops.results.gates import BUILTIN_METRICS
from pytest_llmops.results.records import TestRecord

__all__ = ["junit_properties"]


def _number(value: float) -> str:
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.6g}"


def junit_properties(record: TestRecord) -> list[tuple[str, str]]:
    from pytest_llmops.results.baseline import known, measure

    metrics = measure(record)
    out: list[tuple[str, str]] = []
    for name, entry in sorted(metrics.items()):
        if name not in BUILTIN_METRICS:
            out.append((f"llm.score.{name}", _number(entry.value)))
    runs = [r for r in record.runs if r.outcome != "skipped"]
    if len(runs) > 1 and "pass_rate" in metrics:
        out.append(("llm.pass_rate", _number(metrics["pass_rate"].value)))
        out.append(("llm.runs", str(len(runs))))
    app = [c for c in record.calls if c.role == "app"]
    judge = [c for c in record.calls if c.role == "judge"]
    out.append(("llm.calls", str(len(app))))
    out.append(("llm.tokens.input", str(sum(c.input_tokens or 0 for c in app))))
    out.append(("llm.tokens.output", str(sum(c.output_tokens or 0 for c in app))))
    out.append(("llm.tokens.cached", str(sum(c.cached_input_tokens or 0 for c in app))))
    unpriced = sum(1 for c in app if known(c, "cost_usd") is None)
    if unpriced:
        out.append(("llm.unpriced_calls", str(unpriced)))
    else:
        out.append(("llm.cost_usd", _number(math.fsum(known(c, "cost_usd") or 0.0 for c in app))))
    if judge:
        out.append(("llm.judge.calls", str(len(judge))))
        if all(known(c, "cost_usd") is not None for c in judge):
            out.append(("llm.judge.cost_usd", _number(math.fsum(known(c, "cost_usd") or 0.0 for c in judge))))
    if "latency_p95" in metrics:
        out.append(("llm.latency_p95_ms", _number(round(metrics["latency_p95"].value, 3))))
    if record.prompts:
        out.append(("llm.prompt", ",".join(sorted(record.prompts))))
    if record.tags:
        out.append(("llm.tags", ",".join(record.tags)))
    models = sorted({c.model or c.request_model or "?" for c in app})
    if models:
        out.append(("llm.model", ",".join(models)))
    out.extend(_live_properties(record))
    return out


def _live_properties(record: TestRecord) -> list[tuple[str, str]]:
    from pytest_llmops.results.baseline import known, measure

    canary = record.canary
    if canary is None:
        return []
    live = canary.record
    if not canary.ran or live is None:
        return [("llm.live.skipped", canary.reason or "not run")]
    out = [
        (f"llm.live.score.{name}", _number(entry.value))
        for name, entry in sorted(measure(live).items())
        if name not in BUILTIN_METRICS
    ]
    app = [c for c in live.calls if c.role == "app"]
    out.append(("llm.live.outcome", live.outcome))
    out.append(("llm.live.calls", str(len(app))))
    out.append(("llm.live.tokens.output", str(sum(c.output_tokens or 0 for c in app))))
    costs = [known(c, "cost_usd") for c in app]
    if all(c is not None for c in costs):
        out.append(("llm.live.cost_usd", _number(math.fsum(c or 0.0 for c in costs))))
    models = sorted({c.model or c.request_model or "?" for c in app})
    if models:
        out.append(("llm.live.model", ",".join(models)))
    if record.answer is not None and live.answer is not None:
        out.append(("llm.live.answer_changed", str(record.answer.sha256 != live.answer.sha256).lower()))
    return out
