"""Words that depend on a number: "1 test", "2 tests". One helper for every message and report."""

from __future__ import annotations

__all__ = ["plural", "plural_form", "shorten"]

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


_BREAKS = (" ", "/", "\\", "::", ",", ";")
ELLIPSIS = "…"


def shorten(text: str, limit: int) -> str:
    """`text` in at most `limit` characters, never cut inside a word or a path segment.

    One token (a path, a node id, no spaces) keeps its start and its end, the middle elided at
    separators: "tests/…/test_app.py::test_x". Prose is cut after its last whole word or path
    segment that fits, then "…".
    """
    if len(text) <= limit:
        return text
    if limit <= 1:
        return ELLIPSIS[:limit]
    if " " not in text.strip():
        return _middle(text, limit)
    room = limit - len(ELLIPSIS)
    cut = max((text.rfind(sep, 0, room + 1) for sep in _BREAKS), default=-1)
    if cut <= room // 2:  # no break in the second half of the room: cut the long token in its middle
        head = text[:room]
        space = head.rfind(" ")
        if space <= 0:
            return _middle(text, limit)
        return head[:space].rstrip() + " " + _middle(text[space + 1 :].split(" ", 1)[0], limit - space - 1)
    return text[:cut].rstrip(" ,;:") + ELLIPSIS


def _middle(token: str, limit: int) -> str:
    """The start and end of one long token with the middle elided, at separators where it can."""
    if len(token) <= limit:
        return token
    room = limit - len(ELLIPSIS)
    tail_room = room // 2 + room % 2
    head_room = room - tail_room
    head = token[:head_room]
    tail = token[-tail_room:] if tail_room else ""
    # Prefer to end the head just after a separator and start the tail just at one.
    for sep in ("/", "\\", "::"):
        at = head.rfind(sep)
        if at >= head_room // 2:
            head = head[: at + len(sep)]
            break
    for sep in ("/", "\\", "::"):
        at = tail.find(sep)
        if 0 <= at <= tail_room // 2:
            tail = tail[at:]
            break
    return head + ELLIPSIS + tail
