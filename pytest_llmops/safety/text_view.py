"""`TextView`: one text plus the derived forms several detectors share, each computed once.

Speed comes from never running a pattern that starts with a character class or an
alternation over the whole text: `re` can only skip ahead quickly to a literal. So
detectors ask this view "does the text contain word X" (`words`), "where does it
start" (`word_positions`, a literal search), or "which digit runs could be a
number we care about" (`number_runs`), and run their patterns only there.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cached_property
from itertools import compress

# Runs of digits with the separators phone, card and SSN formats use.
_NUMBER_RUN = re.compile(r"[0-9][0-9 \-.()/]{5,}[0-9]")
# Runs that are certainly none of those: dates and dotted quads.
_NOT_A_NUMBER = re.compile(
    r"[0-9]{4}([-/.])[0-9]{2}\1[0-9]{2}|[0-9]{2}([-/.])[0-9]{2}\2[0-9]{4}|[0-9]{1,3}(?:\.[0-9]{1,3}){3}"
)
_SEPARATORS = str.maketrans("", "", " -.()/")
_NON_WORD = str.maketrans(
    {
        char: " "
        for char in [chr(code) for code in range(128) if not chr(code).isalnum()]
        + list("“”‘’«»—–…、。！？：；（）\u200b")
        + [chr(code) for code in range(128, 0x3001) if chr(code).isspace()]  # what str.split() splits on
    }
)

_is_alpha: Callable[[str], bool] = str.isalpha
_is_digit: Callable[[str], bool] = str.isdigit

#: Words that phrase rules start at. Their positions are collected in the same pass
#: that builds `TextView.words`; detectors add theirs when imported.
ANCHOR_WORDS: set[str] = set()


def _same_length_lower(text: str) -> str:
    lowered = text.lower()
    if len(lowered) == len(text):
        return lowered
    # A few characters lower-case to two code points (e.g. "İ"); keep offsets aligned.
    return "".join(char.lower() if len(char.lower()) == 1 else char for char in text)


@dataclass(frozen=True, slots=True)
class WordShapes:
    """Words sorted by the detectors that want them, found in one pass over `words`."""

    long: tuple[str, ...]  # 16+ characters: possible encoded blobs and key bodies
    long_heads: frozenset[str]  # their first three characters (key prefixes such as "aki", "eyj")
    mixed: tuple[str, ...]  # 3-14 characters mixing letters and digits: possible leetspeak
    iban_like: tuple[str, ...]  # two letters then two digits: possible IBAN starts


class TextView:
    """Read-only views of `text` whose offsets all match `text`."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._positions: dict[str, list[int]] = {}
        self._indexed: frozenset[str] = frozenset()

    @cached_property
    def lower(self) -> str:
        """`text` lower-cased character by character, same length as `text`."""
        return _same_length_lower(self.text)

    @cached_property
    def words(self) -> frozenset[str]:
        """The distinct lower-case alphanumeric words: a cheap "could this match at all" test.

        Also records where each of `ANCHOR_WORDS` occurs: tokens come in text order, so
        one forward `find` per occurrence suffices, instead of one scan per word.
        """
        spaced = " " + self.lower.translate(_NON_WORD) + " "
        parts = spaced.split()
        anchors = frozenset(ANCHOR_WORDS)
        positions: dict[str, list[int]] = {}
        cursor = 0
        for word in compress(parts, map(anchors.__contains__, parts)):
            cursor = spaced.find(f" {word} ", cursor)
            if cursor < 0:  # cannot happen while every split() separator maps to a space; stay correct anyway
                return frozenset(parts)
            positions.setdefault(word, []).append(cursor)  # the space before is at offset - 1 of `text`
            cursor += len(word) + 1
        self._positions.update(positions)
        self._indexed = anchors
        return frozenset(parts)

    @cached_property
    def shapes(self) -> WordShapes:
        words = self.words
        by_length = sorted(words, key=len)
        long = tuple(by_length[bisect_left(by_length, 16, key=len) :])
        # set algebra and filter() run in C; only the few mixed words reach Python code
        letters_only: Iterator[str] = filter(_is_alpha, words)
        digits_only: Iterator[str] = filter(_is_digit, words)
        mixed = words.difference(letters_only, digits_only)
        iban_like = tuple(
            word for word in mixed if word[2:4].isdigit() and word[:2].isalpha() and word.isascii()
        )
        return WordShapes(
            long,
            frozenset(word[:3] for word in long),
            tuple(word for word in mixed if 3 <= len(word) <= 14),
            iban_like,
        )

    def word_positions(self, word: str) -> list[int]:
        """Where `word` (one of `words`) starts as a whole word in `lower`."""
        found = self._positions.get(word)
        if found is None and word in self._indexed and "words" in self.__dict__:
            return []
        if found is None:
            escaped = re.escape(word)
            # literal first so `re` can skip ahead; the boundary before is a lookbehind after it
            pattern = re.compile(rf"{escaped}(?<![^\W_]{escaped})(?![^\W_])")
            found = [match.start() for match in pattern.finditer(self.lower)]
            self._positions[word] = found
        return found

    @cached_property
    def number_runs(self) -> list[tuple[int, int]]:
        """(start, end) of digit runs that hold 8+ digits and are not a date or a dotted quad."""
        runs = []
        for match in _NUMBER_RUN.finditer(self.text):
            value = match.group()
            if len(value) == 10 and value[4] == value[7] and value[4] in "-/.":
                continue  # 2024-06-11, the most common run by far
            if len(value.translate(_SEPARATORS)) >= 8 and not _NOT_A_NUMBER.fullmatch(value):
                runs.append(match.span())
        return runs
