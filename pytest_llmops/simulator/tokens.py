"""A deterministic, approximate tokenizer for the simulator's usage numbers.

This is *not* tiktoken or Anthropic's tokenizer: counts land in the same
ballpark as the real ones for English prose (about 1.3 tokens per word), which
is all the simulator needs. What matters more is that the pieces concatenate
back to the input exactly, so the same pieces serve as stream deltas and as
truncation points, and the usage a stream reports always matches its text.

Rules: whitespace sticks to the piece that follows it; runs of digits split
into groups of three; words of up to 8 ASCII characters are one token, longer
ones split every 4 characters; non-ASCII words split every 2 characters; every
other symbol is a token of its own.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from typing import Any

_PIECE = re.compile(r"\s*(?:[^\W\d_]+|\d+|_+|[^\w\s])|\s+")

_LONG_WORD = 8
_CHUNK = 4
_NON_ASCII_CHUNK = 2
_DIGIT_GROUP = 3


def tokenize(text: str) -> list[str]:
    """Split `text` into token pieces; `"".join(tokenize(t)) == t` always holds."""
    return list(_tokenize_cached(text)) if len(text) <= 4096 else _tokenize(text)


def count_tokens(text: str) -> int:
    """Approximate number of tokens in `text`."""
    return len(_tokenize_cached(text)) if len(text) <= 4096 else len(_tokenize(text))


def count_json_tokens(value: Any) -> int:
    """Tokens of a JSON value as it would appear in a prompt (compact serialization)."""
    return count_tokens(json.dumps(value, separators=(",", ":"), ensure_ascii=False, sort_keys=True))


def truncate(text: str, max_tokens: int) -> tuple[str, bool]:
    """The first `max_tokens` tokens of `text`, and whether anything was cut."""
    pieces = tokenize(text)
    if len(pieces) <= max_tokens:
        return text, False
    return "".join(pieces[: max(max_tokens, 0)]), True


@lru_cache(maxsize=4096)
def _tokenize_cached(text: str) -> tuple[str, ...]:
    return tuple(_tokenize(text))


def _tokenize(text: str) -> list[str]:
    pieces: list[str] = []
    for match in _PIECE.finditer(text):
        piece = match.group()
        core = piece.lstrip()
        lead = piece[: len(piece) - len(core)]
        if not core:
            pieces.append(piece)
            continue
        size = _chunk_size(core)
        if size is None:
            pieces.append(piece)
            continue
        chunks = [core[i : i + size] for i in range(0, len(core), size)]
        chunks[0] = lead + chunks[0]
        pieces.extend(chunks)
    return pieces


def _chunk_size(word: str) -> int | None:
    """How to split one word-like run, or None to keep it whole."""
    if word[0].isdigit():
        return _DIGIT_GROUP if len(word) > _DIGIT_GROUP else None
    if not word.isascii():
        return _NON_ASCII_CHUNK if len(word) > _NON_ASCII_CHUNK else None
    if len(word) > _LONG_WORD:
        return _CHUNK
    return None
