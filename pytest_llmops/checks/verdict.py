"""Read a score and a reason out of whatever an LLM judge replied.

Judges are asked for `{"score": n, "reason": "..."}` and usually comply, but
real replies also come fenced in ```json, followed by commentary, as
`Score: 4/5`, `**Score:** 4`, `4 out of 5`, `<score>4</score>`, a bare `4`, or
with the reasoning first and the score last. `parse_verdict` accepts all of
these. It refuses, rather than guesses, when there is no score, when the score
is outside the scale, or when it is given on another scale (`8/10` for a 1-5
rubric): the caller then asks the judge once more for the strict format.

Search order: JSON objects (the last one that has a score), a `"score": n`
fragment (truncated JSON), an XML `<score>` tag, labelled scores (`final` /
`overall` ones first, else the last), `n out of m` / `n/m`, a reply that is
only a number (or a number word).
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

SCORE_KEYS = ("score", "rating", "grade", "final_score", "overall_score", "overall", "value", "result")
REASON_KEYS = (
    "reason",
    "reasoning",
    "rationale",
    "explanation",
    "justification",
    "comment",
    "comments",
    "why",
)
NUMBER_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "zero": 0}

_NUM = r"(\d+(?:\.\d+)?|zero|one|two|three|four|five)"
_FENCE = re.compile(r"```[a-zA-Z]*\s*\n?(.*?)```", re.S)
_SCORE_FRAGMENT = re.compile(
    r"""["'](?:final_|overall_)?(?:score|rating)["']\s*:\s*["']?(\d+(?:\.\d+)?)""", re.I
)
_XML_SCORE = re.compile(
    r"<\s*(?:score|rating)\s*>\s*" + _NUM + r"\s*(?:/\s*(\d+))?\s*<\s*/\s*(?:score|rating)\s*>", re.I
)
_LABELLED = re.compile(
    r"(?P<label>(?:\b(?:final|overall|total)\s+)?\b(?:score|rating|grade|verdict)\b)"
    r"(?:\s*\([^)\n]{0,20}\))?"  # "Score (1-5): 4"
    r"[\s*_#:=\-–—|]*(?:is|of|would\s+be|:)?[\s*_:=]*"
    + r"(?:a\s+)?"
    + _NUM
    + r"(?:\s*(?:/|out\s+of|of)\s*(\d+))?",
    re.I,
)
_OUT_OF = re.compile(r"(?<![\w.])" + _NUM + r"\s*(?:/|out\s+of)\s*(\d+|five)\b", re.I)
_GIVE = re.compile(
    r"\b(?:give|rate|assign|award|score)\s+(?:it|this|the\s+answer|this\s+answer)?\s*(?:an?\s+)?"
    + _NUM
    + r"\b",
    re.I,
)
_ONLY_NUMBER = re.compile(r"^[\s*_`\"']*" + _NUM + r"[\s*_`\"'.!]*$", re.I)
_LEADING_NUMBER = re.compile(r"^[\s*_`\"']*" + _NUM + r"[*_`\"']*\s*(?:[.:)\-–—]\s|\n)", re.I)
_NUMBERED_LIST = re.compile(r"^\s*2[.)]\s", re.M)
_ITEM_LIST = r"\s*[:=]?\s*\[?\s*((?:\d+\s*(?:,|and|\s)\s*)*\d+)?\s*\]?"
_MARKDOWN = re.compile(r"[*_`#>]+")


class VerdictParseError(ValueError):
    """The reply holds no usable score; `problem` says why, in a phrase fit to send back to the judge."""

    def __init__(self, problem: str, text: str) -> None:
        self.problem = problem
        self.text = text
        super().__init__(f"{problem}; the judge replied: {quote(text)}")


@dataclass(slots=True)
class Verdict:
    score: float
    reason: str
    items: list[int] | None = None
    """Numbers listed under the rubric's list key ("unsupported", "missing"); None when not given."""
    raw: str = ""
    source: str = "json"
    """How the score was found: json, fragment, xml, labelled, fraction, phrase, bare."""
    extra: dict[str, Any] = field(default_factory=dict)


def quote(text: str, limit: int = 600) -> str:
    """The judge's reply for an error message: in quotes, one line per line, cut when long."""
    shown = text if len(text) <= limit else text[: limit - 20] + f"... [{len(text) - limit + 20} more chars]"
    return repr(shown)


def parse_verdict(text: str, *, low: int = 1, high: int = 5, list_key: str | None = None) -> Verdict:
    """The judge's score (within `low`-`high`), reason, and listed item numbers; raises VerdictParseError."""
    if not text or not text.strip():
        raise VerdictParseError("the reply was empty", text or "")
    last: tuple[float, int | None, Mapping[str, Any]] | None = None
    for obj in _objects(text):
        found = _score_in(obj)
        if found is not None:
            last = (found[0], found[1], obj)
    if last is not None:
        score, scale, obj = last
        verdict = _checked(score, scale, low, high, text, "json")
        verdict.reason = _reason_in(obj) or _reason_from_text(text)
        if list_key:
            verdict.items = _items_in(obj, list_key)
            if verdict.items is None:
                verdict.items = _items_in_text(text, list_key)
        return verdict
    verdict = _from_text(text, low, high)
    verdict.items = _items_in_text(text, list_key) if list_key else None
    return verdict


def _checked(score: float, scale: int | None, low: int, high: int, text: str, source: str) -> Verdict:
    if scale is not None and scale != high:
        raise VerdictParseError(
            f"the score was given out of {scale}, but this rubric scores from {low} to {high}", text
        )
    if not low <= score <= high:
        raise VerdictParseError(f"the score {score:g} is outside the scale {low}-{high}", text)
    return Verdict(score=float(score), reason="", raw=text, source=source)


def _from_text(text: str, low: int, high: int) -> Verdict:
    fragment = list(_SCORE_FRAGMENT.finditer(text))
    if fragment:
        verdict = _checked(float(fragment[-1].group(1)), None, low, high, text, "fragment")
        verdict.reason = _reason_fragment(text) or _reason_from_text(text, fragment[-1])
        return verdict
    xml = list(_XML_SCORE.finditer(text))
    if xml:
        m = xml[-1]
        verdict = _checked(_number(m.group(1)), _scale(m.group(2)), low, high, text, "xml")
        tag = re.search(r"<\s*(?:reason|reasoning|explanation)\s*>(.*?)<\s*/", text, re.S | re.I)
        verdict.reason = _clean(tag.group(1)) if tag else _reason_from_text(text, m)
        return verdict
    labelled = [m for m in _LABELLED.finditer(text)]
    if labelled:
        final = [m for m in labelled if re.match(r"(final|overall|total)", m.group("label"), re.I)]
        m = (final or labelled)[-1]
        verdict = _checked(_number(m.group(2)), _scale(m.group(3)), low, high, text, "labelled")
        verdict.reason = _reason_from_text(text, m)
        return verdict
    fractions = list(_OUT_OF.finditer(text))
    if fractions:
        m = fractions[-1]
        verdict = _checked(_number(m.group(1)), _scale(m.group(2)), low, high, text, "fraction")
        verdict.reason = _reason_from_text(text, m)
        return verdict
    phrases = list(_GIVE.finditer(text))
    if phrases:
        m = phrases[-1]
        verdict = _checked(_number(m.group(1)), None, low, high, text, "phrase")
        verdict.reason = _reason_from_text(text, m)
        return verdict
    first_line = text.strip().splitlines()[0]
    bare = _ONLY_NUMBER.match(first_line)
    if bare:
        verdict = _checked(_number(bare.group(1)), None, low, high, text, "bare")
        verdict.reason = _clean(" ".join(text.strip().splitlines()[1:]))
        return verdict
    leading = _LEADING_NUMBER.match(text.strip() + "\n")
    if leading and not _NUMBERED_LIST.search(text):  # "4 - The answer ...", "Four. The answer ..."
        verdict = _checked(_number(leading.group(1)), None, low, high, text, "leading")
        verdict.reason = _clean(text.strip()[leading.end() :])
        return verdict
    raise VerdictParseError("it holds no score", text)


def _number(raw: str) -> float:
    raw = raw.strip().lower()
    return float(NUMBER_WORDS[raw]) if raw in NUMBER_WORDS else float(raw)


def _scale(raw: str | None) -> int | None:
    if raw is None:
        return None
    raw = raw.strip().lower()
    return NUMBER_WORDS.get(raw) if raw in NUMBER_WORDS else int(raw)


# -- JSON objects -----------------------------------------------------------------------------------


def _objects(text: str) -> Iterator[Mapping[str, Any]]:
    """Mappings found in the reply: fenced blocks first, then every `{` that starts a valid object."""
    seen: set[int] = set()
    candidates = [m.group(1) for m in _FENCE.finditer(text)] + [text]
    for chunk in candidates:
        for obj in _objects_in(chunk):
            if id(obj) not in seen:
                seen.add(id(obj))
                yield obj


def _objects_in(chunk: str) -> Iterator[Mapping[str, Any]]:
    decoder = json.JSONDecoder()
    pos = 0
    while True:
        start = chunk.find("{", pos)
        if start < 0:
            return
        obj: Any = None
        end = start + 1
        try:
            obj, end = decoder.raw_decode(chunk, start)
        except ValueError:
            closing = _matching_brace(chunk, start)
            if closing is not None:
                try:
                    obj = ast.literal_eval(chunk[start : closing + 1])  # {'score': 4} written Python-style
                    end = closing + 1
                except (ValueError, SyntaxError, MemoryError, RecursionError):
                    obj = None
        if isinstance(obj, Mapping):
            yield obj
            for value in obj.values():  # {"evaluation": {"score": 4, ...}}
                if isinstance(value, Mapping):
                    yield value
            pos = end
        else:
            pos = start + 1


def _matching_brace(text: str, start: int) -> int | None:
    depth = 0
    quote_char: str | None = None
    for index in range(start, min(len(text), start + 20000)):
        char = text[index]
        if quote_char:
            if char == "\\":
                continue
            if char == quote_char and text[index - 1] != "\\":
                quote_char = None
        elif char in "\"'":
            quote_char = char
        elif char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return index
    return None


def _score_in(obj: Mapping[str, Any]) -> tuple[float, int | None] | None:
    lowered = {str(k).lower().strip(): v for k, v in obj.items()}
    for key in SCORE_KEYS:
        if key not in lowered:
            continue
        value = lowered[key]
        if isinstance(value, bool):
            continue
        if isinstance(value, int | float):
            return float(value), None
        if isinstance(value, str):
            m = re.fullmatch(r"\s*" + _NUM + r"\s*(?:(?:/|out\s+of)\s*(\d+))?\s*", value, re.I)
            if m:
                return _number(m.group(1)), _scale(m.group(2))
    return None


def _reason_in(obj: Mapping[str, Any]) -> str:
    lowered = {str(k).lower().strip(): v for k, v in obj.items()}
    for key in REASON_KEYS:
        value = lowered.get(key)
        if isinstance(value, str) and value.strip():
            return _clean(value)
        if isinstance(value, list) and value:
            return _clean(" ".join(str(v) for v in value))
    return ""


def _items_in(obj: Mapping[str, Any], list_key: str) -> list[int] | None:
    lowered = {str(k).lower().strip(): v for k, v in obj.items()}
    value = lowered.get(list_key.lower())
    if value is None:
        return None
    if isinstance(value, int | str) and not isinstance(value, bool):
        value = [value]
    if not isinstance(value, list):
        return None
    items: list[int] = []
    for item in value:
        if isinstance(item, bool):
            return None
        if isinstance(item, int):
            items.append(item)
        elif isinstance(item, float) and item.is_integer():
            items.append(int(item))
        elif isinstance(item, str) and item.strip().lstrip("#").isdigit():
            items.append(int(item.strip().lstrip("#")))
        elif isinstance(item, Mapping):
            number = next(
                (item[k] for k in ("number", "id", "index", "sentence", "claim") if k in item), None
            )
            if isinstance(number, int) and not isinstance(number, bool):
                items.append(number)
            else:
                return None
        else:
            return None  # a quoted sentence instead of its number: unusable, fall back to the score
    return sorted(set(items))


def _items_in_text(text: str, list_key: str) -> list[int] | None:
    """`Unsupported: [2, 5]`, `missing: 3 and 4`, `Unsupported: none`; the last such statement wins."""
    found: list[int] | None = None
    for m in re.finditer(r"\b" + re.escape(list_key) + r"\b[^\n\[\]:=]{0,30}" + _ITEM_LIST, text, re.I):
        if m.group(1) is not None:
            found = sorted({int(n) for n in re.findall(r"\d+", m.group(1))})
        elif "[]" in m.group(0).replace(" ", "") or re.match(
            r"\s*(?:none|n/a)\b", text[m.end() : m.end() + 8], re.I
        ):
            found = []
    return found


# -- reasons ----------------------------------------------------------------------------------------


def _clean(text: str, limit: int = 800) -> str:
    cleaned = " ".join(_MARKDOWN.sub("", text).split()).strip(" -:")
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 3] + "..."


def _reason_fragment(text: str) -> str:
    m = re.search(
        r"""["']?(?:reason|reasoning|rationale|explanation)["']?\s*:\s*["'](.*?)(?:["']\s*[,}]|$)""",
        text,
        re.S | re.I,
    )
    return _clean(m.group(1)) if m else ""


def _reason_from_text(text: str, score_match: re.Match[str] | None = None) -> str:
    """The reply without its score statement, headings, fences and JSON, as one line.

    The sentence that states the score goes too when it says little else
    ("I would rate this answer 4 out of 5."); in a longer one only the score is cut.
    """
    body = text
    if score_match is not None:
        start, end = _sentence_around(text, score_match.start(), score_match.end())
        rest = (text[start : score_match.start()] + text[score_match.end() : end]).strip()
        if len(rest) <= 100:
            body = text[:start] + " " + text[end:]
        else:
            body = text[: score_match.start()] + " " + text[score_match.end() :]
    body = _FENCE.sub(" ", body)
    body = re.sub(r"\{[^{}]*\}", " ", body)
    lines = [line for line in body.splitlines() if not re.match(r"\s*#", line)]
    body = _MARKDOWN.sub("", "\n".join(lines))
    body = re.sub(
        r"^\s*(?:reason(?:ing)?|explanation|rationale|justification)\s*[:\-]", " ", body, flags=re.I | re.M
    )
    return _clean(body)


def _sentence_around(text: str, start: int, end: int) -> tuple[int, int]:
    """Bounds of the sentence (or line) holding text[start:end]."""
    found = [(text.rfind("\n", 0, start), 1)] + [(text.rfind(p + " ", 0, start), 2) for p in ".!?"]
    begin = max((index + skip for index, skip in found if index >= 0), default=0)
    stops = [i for i in (text.find("\n", end), *(text.find(p, end) for p in ".!?")) if i >= 0]
    finish = min(stops) + 1 if stops else len(text)
    return begin, finish
