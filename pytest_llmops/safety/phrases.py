"""Phrase rules anchored on a word, shared by the injection and toxicity detectors.

A regular expression that starts with an alternation (``(?:ignore|disregard)...``)
makes `re` try every position of the text; one that starts at a known word only
runs where that word occurs. So each rule names the words its match starts with,
matches from each occurrence of those words, and may require a `before` pattern to
end right where the match begins (for context that comes first, such as the
speaker of a threat).

A rule's expressions are compiled the first time one of its words occurs in a
scanned text: most texts hold few of the anchor words, so most of the several
hundred rules are never compiled in a run (compiling them all took about 0.1 s
of the first scan).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache

from pytest_llmops.safety.text_view import ANCHOR_WORDS, TextView


@cache
def _compiled(source: str) -> re.Pattern[str]:
    return re.compile(source)


DECLARED: list[Phrase] = []
"""Every rule made by `phrase`, in order (the tests compile them all)."""


@dataclass(frozen=True, slots=True)
class Phrase:
    label: str
    starts: frozenset[str]
    source: str  # the expression that must match at a start word
    before_source: str | None = None  # the expression that must end where the match begins
    reach: int = 80  # how far back `before` may look
    needs: tuple[str, ...] = ()  # `before` runs only if the window holds one of these

    @property
    def pattern(self) -> re.Pattern[str]:
        return _compiled(self.source)

    @property
    def before(self) -> re.Pattern[str] | None:
        return None if self.before_source is None else _compiled(self.before_source)


def phrase(
    label: str, starts: str, pattern: str, before: str | None = None, *, reach: int = 80, needs: str = ""
) -> Phrase:
    """`pattern` (lower-case) must match at one of the words in `starts` (space-separated).

    `needs` lists (space-separated) substrings one of which any `before` match must
    contain: a cheap test that spares most regex searches.
    """
    before_source = rf"(?:{before})\Z" if before else None
    ANCHOR_WORDS.update(starts.split())
    rule = Phrase(label, frozenset(starts.split()), pattern, before_source, reach, tuple(needs.split()))
    DECLARED.append(rule)
    return rule


def find_phrases(view: TextView, phrases: Iterable[Phrase]) -> Iterator[tuple[int, int, str]]:
    """(start, end, label) of every phrase match in `view.lower`."""
    words = view.words
    lower = view.lower
    for rule in phrases:
        present = rule.starts & words
        if not present:
            continue
        pattern, before = rule.pattern, rule.before
        for word in present:
            for position in view.word_positions(word):
                match = pattern.match(lower, position)
                if match is None:
                    continue
                if before is not None:
                    window_start = max(0, position - rule.reach)
                    if rule.needs and not any(
                        lower.find(need, window_start, position) >= 0 for need in rule.needs
                    ):
                        continue
                    if not before.search(lower, window_start, position):
                        continue
                yield position, match.end(), rule.label
