"""Split an answer into sentences, with their offsets, the way a reader would.

Grounding and citation checks judge answers sentence by sentence, so a bad
split is a wrong score: "Dr. Smith said..." cut in two, "3.5%" cut at the
point, or "[Source: a]" after the full stop counted as a sentence of its own.
Rules, in order:

- lines are units of their own (LLM answers use lists and headings), except a
  line that does not end a sentence and is followed by one starting in lower
  case (wrapped prose);
- list markers (`-`, `*`, `1.`) are not part of a sentence;
- a sentence ends at `.`, `!`, `?` or `…` (with closing quotes or brackets) that
  is followed by white space and then a capital letter, digit, quote, bracket
  or list marker; not after a known abbreviation (`e.g.`, `Dr.`, `U.S.`,
  `approx.`) or a single initial (`J. Smith`), and never inside a number,
  URL or e-mail address (there is no white space there);
- citation markers right after the end (`... days. [Source: billing-03]`,
  `... days. [1][2]`) belong to the sentence they follow.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

ABBREVIATIONS = frozenset(
    [
        "mr",
        "mrs",
        "ms",
        "dr",
        "prof",
        "sr",
        "jr",
        "st",
        "mt",
        "ft",
        "vs",
        "etc",
        "e.g",
        "i.e",
        "cf",
        "al",
        "approx",
        "appx",
        "est",
        "no",
        "nos",
        "vol",
        "vols",
        "fig",
        "figs",
        "eq",
        "eqs",
        "ch",
        "sec",
        "dept",
        "inc",
        "ltd",
        "co",
        "corp",
        "llc",
        "plc",
        "bros",
        "univ",
        "assn",
        "jan",
        "feb",
        "mar",
        "apr",
        "jun",
        "jul",
        "aug",
        "sep",
        "sept",
        "oct",
        "nov",
        "dec",
        "mon",
        "tue",
        "wed",
        "thu",
        "fri",
        "sat",
        "sun",
        "u.s",
        "u.k",
        "u.n",
        "e.u",
        "a.m",
        "p.m",
        "ph.d",
        "m.d",
        "b.a",
        "m.a",
        "b.sc",
        "m.sc",
        "gen",
        "col",
        "lt",
        "capt",
        "sgt",
        "rev",
        "hon",
        "gov",
        "sen",
        "rep",
        "pres",
        "min",
        "max",
        "avg",
        "misc",
        "ref",
        "refs",
        "pp",
        "p",
        "para",
        "resp",
        "incl",
        "excl",
        "viz",
        "ca",
        "c",
        "est",
        "dist",
        "ave",
        "blvd",
        "rd",
    ]
)
"""Lower-cased, without the final point. "etc" may still end a sentence: see `_SOFT`."""

_SOFT = frozenset({"etc", "al", "incl", "excl", "resp", "misc", "a.m", "p.m"})
"""Abbreviations that end a sentence when a capital letter follows ("..., etc. The next")."""

_END = re.compile(r"(?:\.{3}|…|[.!?]+)[\"'”’)\]]*")
_CITATION = re.compile(r"\s*(?:\[[^\[\]\n]{1,80}\]|\((?:source|sources|see|ref)\s*:?[^()\n]{1,80}\))", re.I)
_LIST_MARKER = re.compile(r"^[ \t]*(?:[-*•+]|\d{1,3}[.)]|[a-z][.)](?=\s))[ \t]+")
_HEADING = re.compile(r"^[ \t]*#{1,6}[ \t]+")
_WORD = re.compile(r"\w+", re.UNICODE)
_STARTS_SENTENCE = re.compile(r"[\"'“‘(\[A-Z0-9À-ÖØ-Þ]|[-*•]\s")


@dataclass(frozen=True, slots=True)
class Sentence:
    """`text` is `source[start:end]` with list markers and surrounding white space left out."""

    text: str
    start: int
    end: int
    heading: bool = False

    @property
    def is_claim(self) -> bool:
        """Whether the sentence states something that can be checked.

        Headings, lead-ins ending with a colon ("Here is what I found:") and
        fragments without words are not claims.
        """
        if self.heading or not _WORD.search(self.text):
            return False
        stripped = self.text.rstrip()
        return not (stripped.endswith(":") and len(_WORD.findall(stripped)) <= 12)


def split_sentences(text: str) -> list[Sentence]:
    """Sentences of `text` in order, with offsets into `text`."""
    out: list[Sentence] = []
    for line_start, line_end, heading in _logical_lines(text):
        for start, end in _split_line(text, line_start, line_end):
            start, end = _trim(text, start, end)
            if start < end:
                out.append(Sentence(text[start:end], start, end, heading))
    return out


def _logical_lines(text: str) -> list[tuple[int, int, bool]]:
    """(start, end, is_heading) of each line, wrapped prose lines joined, list markers skipped."""
    raw: list[tuple[int, int]] = []
    pos = 0
    for line in text.splitlines(keepends=True):
        body = line.rstrip("\r\n")
        raw.append((pos, pos + len(body)))
        pos += len(line)
    lines: list[tuple[int, int, bool]] = []
    for start, end in raw:
        segment = text[start:end]
        if not segment.strip():
            lines.append((start, start, False))  # a blank line: a paragraph break
            continue
        marker = _LIST_MARKER.match(segment) or _HEADING.match(segment)
        heading = bool(_HEADING.match(segment))
        body_start = start + (marker.end() if marker else 0)
        if lines and not heading and not marker and _continues(text, lines[-1], segment):
            prev_start, _, prev_heading = lines[-1]
            lines[-1] = (prev_start, end, prev_heading)
            continue
        lines.append((body_start, end, heading))
    return [line for line in lines if line[0] < line[1]]


def _continues(text: str, previous: tuple[int, int, bool], segment: str) -> bool:
    """Whether `segment` continues the previous line's sentence (wrapped prose)."""
    start, end, heading = previous
    if heading or start == end:
        return False
    tail = text[start:end].rstrip()
    if not tail or _END.search(tail[-1:]) or tail.endswith(":"):
        return False
    first = segment.lstrip()[:1]
    return bool(first) and first.islower()


def _split_line(text: str, start: int, end: int) -> list[tuple[int, int]]:
    pieces: list[tuple[int, int]] = []
    cursor = start
    for match in _END.finditer(text, start, end):
        if match.start() < cursor:
            continue
        stop = match.end()
        while True:  # citations after the full stop belong to this sentence: "days. [1]", "days.[1][2]"
            citation = _CITATION.match(text, stop, end)
            if not citation:
                break
            stop = citation.end()
        if stop >= end or not text[stop].isspace():
            continue  # 3.5, example.com, e.g.this: no white space, no boundary
        after = stop
        while after < end and text[after].isspace():
            after += 1
        if after >= end or not _boundary(text, start, match, after, end):
            continue
        pieces.append((cursor, stop))
        cursor = stop
    pieces.append((cursor, end))
    return pieces


def _boundary(text: str, line_start: int, end_match: re.Match[str], after: int, line_end: int) -> bool:
    """Whether the punctuation of `end_match` ends a sentence, given what follows at `after`."""
    nxt = text[after:line_end]
    if not _STARTS_SENTENCE.match(nxt):
        return False
    punct = end_match.group(0)
    if not punct.startswith(".") or punct.startswith("..."):
        return True
    word = _word_before(text, line_start, end_match.start())
    if not word:
        return True
    lowered = word.lower()
    if len(word) == 1 and word.isalpha() and word.isupper():
        return False  # an initial: "J. Smith"
    if lowered in ABBREVIATIONS:
        return lowered in _SOFT and nxt[:1].isupper()
    return not ("." in word and all(len(part) <= 2 for part in word.split(".")))  # U.S.A., e.g


def _word_before(text: str, line_start: int, index: int) -> str:
    """The token that ends at `index` (letters, digits and inner points)."""
    begin = index
    while begin > line_start and (text[begin - 1].isalnum() or text[begin - 1] == "."):
        begin -= 1
    return text[begin:index].strip(".")


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end
