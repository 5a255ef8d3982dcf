"""`scan` and `redact`: run the selected detectors and reconcile what they found."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterable

from pytest_llmops.safety import registry
from pytest_llmops.safety.finding import Finding
from pytest_llmops.safety.text_view import TextView


def _selected(kinds: Iterable[str] | None) -> list[str]:
    if kinds is None:
        return list(registry.available_kinds())
    if isinstance(kinds, str):
        kinds = [kinds]
    selected = list(dict.fromkeys(kinds))
    for kind in selected:
        registry.spec(kind)  # raises a clear error for an unknown kind
    return selected


def _non_overlapping(findings: list[Finding], key: Callable[[Finding], tuple[int, ...]]) -> list[Finding]:
    """Greedy pick in `key` order, dropping anything that overlaps an earlier pick."""
    starts: list[int] = []
    kept: list[Finding] = []
    for finding in sorted(findings, key=key):
        index = bisect_left(starts, finding.start)
        if index > 0 and kept[index - 1].end > finding.start:
            continue
        if index < len(kept) and kept[index].start < finding.end:
            continue
        starts.insert(index, finding.start)
        kept.insert(index, finding)
    return kept


def _resolve(findings: list[Finding]) -> list[Finding]:
    """Exclusive kinds share one overlap-free layer (the more specific kind wins, then
    the longer span); each other kind keeps its own longest non-overlapping spans."""
    exclusive: list[Finding] = []
    marks: dict[str, list[Finding]] = {}
    for finding in findings:
        if registry.spec(finding.kind).exclusive:
            exclusive.append(finding)
        else:
            marks.setdefault(finding.kind, []).append(finding)
    result = _non_overlapping(exclusive, lambda f: (registry.spec(f.kind).rank, f.start - f.end, f.start))
    for group in marks.values():
        result += _non_overlapping(group, lambda f: (f.start - f.end, f.start))
    result.sort(key=lambda f: (f.start, f.end, f.kind))
    return result


def scan(text: str, *, kinds: Iterable[str] | None = None) -> list[Finding]:
    """Find PII, secrets, prompt injection and toxic language in `text`, offline.

    `kinds` limits the search (default: every kind in `available_kinds()`).
    Findings come sorted by start. Exclusive kinds (PII and secrets) never overlap
    each other: where two detectors claim the same characters, the more specific
    kind wins (secret > iban > credit_card > us_ssn > email > ip_address > phone).
    `prompt_injection` and `toxicity` findings mark stretches of text and may
    overlap PII findings, but never another finding of their own kind.
    """
    if not isinstance(text, str):
        raise TypeError(f"scan() needs a str, got {type(text).__name__}")
    detectors = [registry.detector_for(kind) for kind in _selected(kinds)]  # imports register anchor words
    view = TextView(text)
    found: list[Finding] = []
    for detector in detectors:
        found.extend(detector(view))
    return _resolve(found)


def redact(text: str, *, kinds: Iterable[str] | None = None) -> str:
    """`text` with findings replaced by placeholders such as ``[EMAIL]`` or ``[SECRET]``.

    By default only PII and secrets are redacted; prompt injection and toxicity are
    reported by `scan` but left in place, since rewriting them would hide what a
    test should look at. Name them in `kinds` to redact them too (as
    ``[PROMPT_INJECTION]`` / ``[TOXICITY]``). Overlapping findings are merged into one
    placeholder, named after the longest of them (the most specific kind on a tie).
    """
    if kinds is None:
        kinds = [kind for kind in registry.available_kinds() if registry.spec(kind).redact_by_default]
    findings = scan(text, kinds=kinds)
    pieces: list[str] = []
    cursor = 0
    index = 0
    while index < len(findings):
        cluster = [findings[index]]
        start, end = cluster[0].start, cluster[0].end
        index += 1
        while index < len(findings) and findings[index].start < end:
            cluster.append(findings[index])
            end = max(end, findings[index].end)
            index += 1
        best = min(cluster, key=lambda f: (f.start - f.end, registry.spec(f.kind).rank))
        pieces += [text[cursor:start], registry.spec(best.kind).placeholder]
        cursor = end
    pieces.append(text[cursor:])
    return "".join(pieces)
