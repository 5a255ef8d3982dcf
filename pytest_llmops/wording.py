"""Words that depend on a number: "1 test", "2 tests". One helper for every message and report."""

from __future__ import annotations

__all__ = ["plural"]

# Plurals that adding "s" gets wrong, for the words our messages count.
_IRREGULAR = {
    "entry": "entries",
    "baseline entry": "baseline entries",
    "miss": "misses",
    "cassette miss": "cassette misses",
    "match": "matches",
    "is": "are",
    "was": "were",
    "has": "have",
    "belongs": "belong",
}


def plural(n: float, word: str, many: str | None = None, *, thousands: bool = True) -> str:
    """`n word` with `word` in the plural unless n is exactly 1 ("1 test", "0 tests", "2 misses").

    `many` gives the plural when it is irregular and not known here. n is shown with thousands
    separators ("1,024 tests") unless `thousands` is False.
    """
    form = word if n == 1 else (many or plural_form(word))
    number = f"{n:,}" if thousands else f"{n}"
    if isinstance(n, float) and n.is_integer():
        number = f"{int(n):,}" if thousands else f"{int(n)}"
    return f"{number} {form}"


def plural_form(word: str) -> str:
    """The plural of one of our nouns: irregular ones from the table, -y to -ies, -s/-x/-ch/-sh + es."""
    known = _IRREGULAR.get(word)
    if known:
        return known
    if word.endswith("y") and len(word) > 1 and word[-2] not in "aeiou":
        return word[:-1] + "ies"
    if word.endswith(("s", "x", "ch", "sh")):
        return word + "es"
    return word + "s"
