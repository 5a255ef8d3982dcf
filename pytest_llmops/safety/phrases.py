"""Phrase rules anchored on a word, shared by the injection and toxicity detectors.

A regular expression that starts with an alternation (``(?:ignore|disregard)...``)
makes `re` try every position of the text; one that starts at a known word only
runs where that word occurs. So each rule names the words its match starts with,
matches from each occurrence of those words, and may require a `before` pattern to
end right where the match begins (for context that comes first, such as the
speaker of a threat).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from pytest_llmops.safety.text_view import ANCHOR_WORDS, TextView


@dataclass(frozen=True, slots=True)
class Phrase:
    label: str
    starts: frozenset[str]
    pattern: re.Pattern[str]
    before: re.Pattern[str] | None = None
    reach: int = 80  # how far back `before` may look
    needs: tuple[str, ...] = ()  # `before` runs only if the window holds one of these


def phrase(
    label: str, starts: str, pattern: str, before: str | None = None, *, reach: int = 80, needs: str = ""
) -> Phrase:
    """`pattern` (lower-case) must match at one of the words in `starts` (space-separated).

    `needs` lists (space-separated) substrings one of which any `before` match must
    contain: a cheap test that spares most regex searches.
    """
    compiled_before = re.compile(rf"(?:{before})\Z") if before else None
    ANCHOR_WORDS.update(starts.split())
    return Phrase(
        label, frozenset(starts.split()), re.compile(pattern), compiled_before, reach, tuple(needs.split())
    )


def find_phrases(view: TextView, phrases: Iterable[Phrase]) -> Iterator[tuple[int, int, str]]:
    """(start, end, label) of every phrase match in `view.lower`."""
    words = view.words
    lower = view.lower
    for rule in phrases:
        for word in rule.starts & words:
            for position in view.word_positions(word):
                match = rule.pattern.match(lower, position)
                if match is None:
                    continue
                if rule.before is not None:
                    window_start = max(0, position - rule.reach)
                    if rule.needs and not any(
                        lower.find(need, window_start, position) >= 0 for need in rule.needs
                    ):
                        continue
                    if not rule.before.search(lower, window_start, position):
                        continue
                yield position, match.end(), rule.label
