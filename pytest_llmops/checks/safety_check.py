"""`safety`: run the offline scanner (`pytest_llmops.safety.scan`) over a text; clean passes.

Value 1.0 when nothing is found, 0.0 otherwise; by default the check fails on
any finding (threshold 1.0). Details list each finding's kind, detail and
offsets with a masked preview, never the full value: the details travel into
reports and baselines, which must not carry the secret or personal data the
check just caught.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from pytest_llmops.checks import core
from pytest_llmops.checks.core import Assessment
from pytest_llmops.results.scores import Score

_LAST_FOUR = frozenset({"credit_card", "iban", "us_ssn"})
_SPANS = frozenset({"prompt_injection", "toxicity"})


def mask(kind: str, text: str, detail: str = "") -> str:
    """A preview of a finding that identifies it for a reviewer without repeating it."""
    if kind == "secret":
        label = f"{detail} " if detail else ""
        return f"[SECRET {label}{len(text)} chars]".replace("  ", " ")
    if kind in _LAST_FOUR:
        digits = [c for c in text if c.isalnum()]
        return "*" * max(0, len(digits) - 4) + "".join(digits[-4:]) if len(digits) > 4 else "****"
    if kind == "email" and "@" in text:
        local, _, domain = text.partition("@")
        return (local[:1] + "***@" + domain) if local else "***@" + domain
    if kind in _SPANS:
        from pytest_llmops.safety import redact

        return core.clip(redact(text), 120)
    if len(text) >= 8:
        return text[:2] + "***" + text[-2:]
    return "***"


def safety(
    text: str, *, kinds: Iterable[str] | None = None, fail: bool = True, name: str = "safety"
) -> Score:
    """1.0 when `scan(text, kinds=kinds)` finds nothing, else 0.0; fails on a finding unless `fail=False`."""
    __tracebackhide__ = True
    from pytest_llmops.safety import scan

    core.observe(text, rank=1)  # a scan may be given an input: any answer check's text wins over it
    selected = list(kinds) if kinds is not None and not isinstance(kinds, str) else kinds
    findings = scan(text, kinds=selected)
    listed: list[dict[str, Any]] = [
        {
            "kind": f.kind,
            "detail": f.detail,
            "start": f.start,
            "end": f.end,
            "preview": mask(f.kind, f.text, f.detail),
        }
        for f in findings
    ]
    counts = Counter(f.kind for f in findings)
    details: dict[str, Any] = {"findings": listed, "counts": dict(counts)}
    if selected is not None:
        details["kinds"] = [selected] if isinstance(selected, str) else list(selected)
    if findings:
        summary = ", ".join(f"{n} {kind}" for kind, n in counts.most_common())
        reason = f"{len(findings)} finding{'s' if len(findings) > 1 else ''}: {summary}"
    else:
        reason = "nothing found"
    evidence = [
        f"{item['kind']}{' (' + item['detail'] + ')' if item['detail'] else ''} "
        f"at {item['start']}-{item['end']}: {item['preview']}"
        for item in listed
    ]
    result = Assessment(0.0 if findings else 1.0, "scanner", reason, evidence, details)
    return core.finish(name, result, 1.0 if fail else None)
