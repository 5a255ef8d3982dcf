"""`grounding`: is each sentence of the answer supported by the context it was written from?

The score is the share of the answer's claims (sentences that state
something; headings, lead-ins ending in ":" and refusals are not claims)
that the context supports, 0-1. `details["hallucination_rate"]` is
1 - that share, and `details["unsupported"]` lists the unsupported sentences
with their offsets in the answer, so the report can show both. One Score,
not two: the rate is the same measurement seen from the other side, and a
second Score would count twice in pass rates and baselines.

Citation markers ("[Source: a]", "[1]") are left out before comparing, so the
ids do not count as words of the claim. In cascade mode the judge is asked
when any sentence's local support falls in the uncertain band.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from pytest_llmops.checks import core
from pytest_llmops.checks.cascade import assess, band_contains, from_five, judged
from pytest_llmops.checks.core import Assessment
from pytest_llmops.checks.scorer import SUPPORTED_AT, LocalScorer
from pytest_llmops.checks.sentences import Sentence, split_sentences
from pytest_llmops.checks.words import is_refusal
from pytest_llmops.results.scores import Score

Context = str | Sequence[str] | Mapping[str, str]

_MARKERS = re.compile(r"\[[^\[\]\n]{1,80}\]|\((?:source|sources|see|ref|refs|cf\.?)\b[^()\n]{0,80}\)", re.I)


def strip_citations(text: str) -> str:
    """`text` without bracketed citation markers."""
    return " ".join(_MARKERS.sub(" ", text).split())


def context_chunks(context: Context) -> list[str]:
    if isinstance(context, str):
        return [context]
    if isinstance(context, Mapping):
        return [str(v) for v in context.values()]
    if isinstance(context, Sequence):
        return [str(c) for c in context]
    raise TypeError(
        f"context must be a str, a list of str or a mapping id -> text, got {type(context).__name__}"
    )


def evidence_units(chunks: Sequence[str]) -> list[str]:
    """The sentences of every chunk: what a claim is compared with."""
    units: list[str] = []
    for chunk in chunks:
        units += [strip_citations(s.text) for s in split_sentences(chunk) if re.search(r"\w", s.text)]
    return [u for u in units if u]


def claims_of(answer: str) -> list[Sentence]:
    """Sentences of `answer` that state something checkable."""
    return [
        s
        for s in split_sentences(answer)
        if s.is_claim and not is_refusal(s.text) and strip_citations(s.text)
    ]


def grounding(
    answer: str, context: Context, *, threshold: float | None = None, name: str = "grounding"
) -> Score:
    """Share of the answer's sentences supported by `context` (a text, a list of chunks, or id -> text)."""
    __tracebackhide__ = True
    limit = core.check_threshold(name, threshold, 0.0, 1.0)
    core.observe(answer, {"context": context})
    chunks = context_chunks(context)
    claims = claims_of(answer)
    texts = [strip_citations(c.text) for c in claims]
    if not claims:
        result = Assessment(
            1.0,
            "rule",
            "the answer makes no claim to check",
            details={"sentences": 0, "supported": 0, "unsupported": [], "hallucination_rate": 0.0},
        )
        return core.finish(name, result, limit)

    def local(scorer: LocalScorer) -> Assessment:
        values = scorer.support(texts, evidence_units(chunks))
        verdicts = [v >= SUPPORTED_AT for v in values]
        return _result(claims, verdicts, scorer.name, values)

    def judge() -> Assessment:
        numbered = "\n".join(f"{i}. {t}" for i, t in enumerate(texts, 1))
        if isinstance(context, Mapping):
            shown = "\n\n".join(f"[{k}] {v}" for k, v in context.items())
        else:
            shown = "\n\n".join(chunks)
        result, verdict = judged("grounding", {"context": shown, "sentences": numbered}, from_five)
        if verdict.items is None:
            result.details.update(sentences=len(claims), hallucination_rate=1.0 - result.value)
            return result
        bad = {i for i in verdict.items if 1 <= i <= len(claims)}
        listed = _result(claims, [i not in bad for i in range(1, len(claims) + 1)], result.scorer, None)
        listed.details.update(result.details)
        listed.reason = result.reason
        listed.judge_cost_usd = result.judge_cost_usd
        return listed

    def uncertain(first: Assessment) -> bool:
        return any(band_contains(v) for v in first.details.get("sentence_support", []))

    return core.finish(name, assess(local, judge, uncertain=uncertain), limit)


def _result(
    claims: Sequence[Sentence], supported: Sequence[bool], scorer: str, values: Sequence[float] | None
) -> Assessment:
    bad = [
        {"sentence": core.clip(c.text), "start": c.start, "end": c.end}
        | ({"support": round(values[i], 3)} if values is not None else {})
        for i, (c, ok) in enumerate(zip(claims, supported, strict=True))
        if not ok
    ]
    share = (len(claims) - len(bad)) / len(claims)
    details: dict[str, object] = {
        "sentences": len(claims),
        "supported": len(claims) - len(bad),
        "unsupported": bad,
        "hallucination_rate": 1.0 - share,
    }
    if values is not None:
        details["sentence_support"] = [round(v, 3) for v in values]
    reason = (
        f"{len(bad)} of {len(claims)} sentences not supported by the context"
        if bad
        else f"all {len(claims)} sentences supported by the context"
    )
    evidence = [
        f'unsupported: "{b["sentence"]}"' + (f" (support {b['support']})" if "support" in b else "")
        for b in bad
    ]
    return Assessment(share, scorer, reason, evidence=evidence, details=details)
