"""`citations`: does the answer cite its sources, only real ones, and (optionally) do they back it?

The pattern says what a citation looks like, with `X` where the id goes:
`"[Source: X]"` (the default), `"[X]"` for `[1]` or `[doc-3]`, `"(see X)"`.
White space in the pattern matches any white space, letters match in any
case, and one marker may hold several ids separated by commas or semicolons
(`[1, 2]`, `[Source: a; b]`). A compiled regex with an `id` group works too.

The score (0-1) is the share of the answer's claims that are properly cited:
they cite at least one id, every id they cite is in `sources`, and, with
`check_support=True`, the cited sources support them. Claims are the
sentences that state something: headings, lead-ins ending in ":", refusals
and lines that only list sources are exempt. An answer with no claims scores 1.

With a threshold, an unknown id fails the check whatever the share: a made-up
source is never acceptable. Details: `citations` (ids cited, repeats
counted), `cited_ids`, `unknown_ids`, `sentences`, `cited_sentences`,
`cited_share` (share of claims citing anything), `uncited`, and with
`check_support` `unsupported` (sentence, ids, local support).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pytest_llmops.checks import core
from pytest_llmops.checks.cascade import assess, band_contains, from_five, judged
from pytest_llmops.checks.core import Assessment
from pytest_llmops.checks.grounding_check import evidence_units
from pytest_llmops.checks.scorer import SUPPORTED_AT, LocalScorer
from pytest_llmops.checks.sentences import split_sentences
from pytest_llmops.checks.words import content_words, is_refusal
from pytest_llmops.results.scores import Score

DEFAULT_PATTERN = "[Source: X]"
_LIST_WORDS = frozenset({"source", "reference", "citation", "see", "ref", "cite", "doc", "document"})
_ID_SPLIT = re.compile(r"\s*[,;]\s*|\s+and\s+")


def compile_pattern(pattern: str | re.Pattern[str]) -> re.Pattern[str]:
    """A regex with an `id` group from a pattern like "[Source: X]"; ValueError when there is no X."""
    if isinstance(pattern, re.Pattern):
        if "id" not in pattern.groupindex and pattern.groups != 1:
            raise ValueError(
                f"citation regex {pattern.pattern!r} needs a group named 'id' (or exactly one group)"
            )
        return pattern
    marks = [m.start() for m in re.finditer(r"(?<![A-Za-z])X(?![A-Za-z])", pattern)]
    if len(marks) != 1:
        found = "no" if not marks else "more than one"
        raise ValueError(
            f"citation pattern {pattern!r} has {found} X marking the id; write it like '[Source: X]' or '[X]'"
        )
    prefix, suffix = pattern[: marks[0]], pattern[marks[0] + 1 :]
    if suffix.strip():
        stop = re.escape(suffix.strip()[0])
        ident = rf"[^{stop}\n]{{1,120}}?"
    else:
        ident = r"[\w][\w.\-/#:]*(?<![.:])"
    return re.compile(_literal(prefix) + rf"(?P<id>{ident})" + _literal(suffix), re.I)


def _literal(text: str) -> str:
    out: list[str] = []
    for char in text:
        out.append(r"\s*" if char.isspace() else re.escape(char))
    return "".join(out)


@dataclass(slots=True)
class _Claim:
    number: int
    text: str
    plain: str
    start: int
    end: int
    ids: list[str] = field(default_factory=list)


def _ids_in(regex: re.Pattern[str], text: str) -> list[tuple[str, int, int]]:
    found: list[tuple[str, int, int]] = []
    for m in regex.finditer(text):
        raw = m.group("id") if "id" in regex.groupindex else m.group(1)
        for part in _ID_SPLIT.split(raw or ""):
            part = part.strip().strip("'\"")
            if part:
                found.append((part, m.start(), m.end()))
    return found


def _normal(source_id: object) -> str:
    return " ".join(str(source_id).split()).casefold()


def citations(
    answer: str,
    sources: Mapping[str, str] | Sequence[str] | Sequence[int],
    pattern: str | re.Pattern[str] = DEFAULT_PATTERN,
    *,
    check_support: bool = False,
    threshold: float | None = None,
    name: str = "citations",
) -> Score:
    """Share of the answer's claims citing known sources (and supported by them, with `check_support`)."""
    __tracebackhide__ = True
    limit = core.check_threshold(name, threshold, 0.0, 1.0)
    regex = compile_pattern(pattern)
    if isinstance(sources, str):
        raise TypeError("citations: sources must be a mapping id -> text or a list of ids, not one string")
    core.observe(answer, {"sources": ", ".join(str(s) for s in sources)})
    texts: dict[str, str] = {}
    if isinstance(sources, Mapping):
        known = {_normal(k): str(k) for k in sources}
        texts = {_normal(k): str(v) for k, v in sources.items()}
    else:
        known = {_normal(k): str(k) for k in sources}
        if check_support:
            raise ValueError(
                "citations: check_support needs the sources' texts; pass sources as a mapping id -> text"
            )

    claims: list[_Claim] = []
    all_ids: list[str] = []
    for sentence in split_sentences(answer):
        found = _ids_in(regex, sentence.text)
        all_ids += [i for i, _, _ in found]
        plain = sentence.text
        for start, end in sorted({(s, e) for _, s, e in found}, reverse=True):
            plain = plain[:start] + " " + plain[end:]
        plain = " ".join(plain.split())
        words = set(content_words(plain))
        if not sentence.is_claim or is_refusal(plain) or not words or (found and words <= _LIST_WORDS):
            continue
        claims.append(
            _Claim(
                len(claims) + 1,
                sentence.text,
                plain,
                sentence.start,
                sentence.end,
                list(dict.fromkeys(i for i, _, _ in found)),
            )
        )

    unknown = list(dict.fromkeys(i for i in all_ids if _normal(i) not in known))
    cited = [c for c in claims if c.ids]
    well_cited = [c for c in cited if all(_normal(i) in known for i in c.ids)]
    details: dict[str, object] = {
        "pattern": regex.pattern if isinstance(pattern, re.Pattern) else pattern,
        "citations": len(all_ids),
        "cited_ids": list(dict.fromkeys(all_ids)),
        "unknown_ids": unknown,
        "sentences": len(claims),
        "cited_sentences": len(cited),
        "cited_share": len(cited) / len(claims) if claims else 1.0,
        "uncited": [core.clip(c.text) for c in claims if not c.ids],
    }
    problems: list[str] = []
    evidence: list[str] = [f"unknown source id: {i!r}" for i in unknown]
    evidence += [f'cites nothing: "{core.clip(c.text)}"' for c in claims if not c.ids]
    if unknown:
        problems.append(
            f"{len(unknown)} unknown source id{'s' if len(unknown) > 1 else ''} ({', '.join(unknown)})"
        )
    if len(cited) < len(claims):
        problems.append(f"{len(claims) - len(cited)} of {len(claims)} sentences cite nothing")

    if not check_support or not well_cited:
        value = len(well_cited) / len(claims) if claims else 1.0
        result = Assessment(value, "rule", "; ".join(problems) or _all_cited(len(claims)), evidence, details)
    else:
        result = _with_support(claims, well_cited, texts, details, problems, evidence)
    score_passed: bool | None = None
    if limit is not None:
        score_passed = result.value >= limit and not unknown
    score = _score(name, result, limit, score_passed)
    return core.conclude(score, result.reason, result.evidence)


def _all_cited(count: int) -> str:
    return f"all {count} sentences cite known sources" if count else "the answer makes no claim to cite"


def _with_support(
    claims: list[_Claim],
    well_cited: list[_Claim],
    texts: Mapping[str, str],
    details: dict[str, object],
    problems: list[str],
    evidence: list[str],
) -> Assessment:
    def local(scorer: LocalScorer) -> Assessment:
        values = [
            scorer.support([c.plain], evidence_units([texts[_normal(i)] for i in c.ids]))[0]
            for c in well_cited
        ]
        return _support_result(claims, well_cited, [v >= SUPPORTED_AT for v in values], values, scorer.name)

    def judge() -> Assessment:
        ids = list(dict.fromkeys(i for c in well_cited for i in c.ids))
        shown_sources = "\n\n".join(f"[{i}] {texts[_normal(i)]}" for i in ids)
        shown_claims = "\n".join(
            f"{n}. {c.plain} (cites: {', '.join(c.ids)})" for n, c in enumerate(well_cited, 1)
        )
        result, verdict = judged(
            "citation_support", {"sources": shown_sources, "claims": shown_claims}, from_five
        )
        if verdict.items is None:
            supported = [verdict.score >= 4] * len(well_cited)  # no list: the overall verdict applies to all
        else:
            bad = set(verdict.items)
            supported = [n not in bad for n in range(1, len(well_cited) + 1)]
        listed = _support_result(claims, well_cited, supported, None, result.scorer)
        listed.details.update(result.details)
        listed.judge_cost_usd = result.judge_cost_usd
        listed.reason = result.reason
        return listed

    def uncertain(first: Assessment) -> bool:
        return any(band_contains(v) for v in first.details.get("support_values", []))

    supported = assess(local, judge, uncertain=uncertain)
    merged_details = {**details, **supported.details}
    unsupported = supported.details.get("unsupported", [])
    assert isinstance(unsupported, list)
    if unsupported:
        problems.append(
            f"{len(unsupported)} cited sentence{'s' if len(unsupported) > 1 else ''} not supported "
            f"by the sources they cite"
        )
    reason = "; ".join(problems) or _all_cited(len(claims)) + " and are supported by them"
    if supported.scorer.startswith("judge:") and supported.reason:
        reason = f"{reason}. Judge: {supported.reason}" if problems else supported.reason
    return Assessment(
        supported.value,
        supported.scorer,
        reason,
        evidence + supported.evidence,
        merged_details,
        supported.judge_cost_usd,
    )


def _support_result(
    claims: Sequence[_Claim],
    well_cited: Sequence[_Claim],
    supported: Sequence[bool],
    values: Sequence[float] | None,
    scorer: str,
) -> Assessment:
    bad: list[dict[str, Any]] = [
        {"sentence": core.clip(c.text), "ids": c.ids} | ({"support": round(values[k], 3)} if values else {})
        for k, (c, ok) in enumerate(zip(well_cited, supported, strict=True))
        if not ok
    ]
    good = sum(1 for ok in supported if ok)
    details: dict[str, object] = {"unsupported": bad}
    if values is not None:
        details["support_values"] = [round(v, 3) for v in values]
    evidence = [f'not supported by {", ".join(b["ids"])}: "{b["sentence"]}"' for b in bad]
    return Assessment(good / len(claims) if claims else 1.0, scorer, "", evidence, details)


def _score(name: str, result: Assessment, threshold: float | None, passed: bool | None) -> Score:
    score = Score(
        name=name,
        value=float(result.value),
        threshold=threshold,
        passed=passed,
        scorer=result.scorer,
        details=core.jsonable(result.details),
        judge_cost_usd=result.judge_cost_usd,
    )
    if result.reason:
        score.details.setdefault("reason", result.reason)
    score.details.setdefault("scale", [0, 1])
    return score
