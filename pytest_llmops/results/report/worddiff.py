"""A word diff of two answers, for the regression view: which words the model dropped and which it added.

Words are compared without their trailing white space (a re-wrapped answer is
not a change), and each piece keeps the original text, spacing included, so a
printer can lay out either side as it was written.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

__all__ = ["Piece", "word_diff"]

_WORDS = re.compile(r"\S+\s*|\s+")

Op = Literal["=", "-", "+"]


@dataclass(frozen=True, slots=True)
class Piece:
    """A run of words: `=` in both answers, `-` only in the baseline's, `+` only in the current one.

    `text` is as written in the answer the piece belongs to (the current one for `=`); `before` is the
    baseline's spelling of an `=` piece, which may differ in white space only."""

    op: Op
    text: str
    before: str = ""

    @property
    def old(self) -> str:
        """The piece as the baseline's answer has it."""
        return self.before if self.op == "=" else self.text


def _merge(pieces: list[Piece], op: Op, words: list[str], old: Sequence[str] = ()) -> None:
    if not words:
        return
    text, before = "".join(words), "".join(old)
    if pieces and pieces[-1].op == op:
        last = pieces[-1]
        pieces[-1] = Piece(op, last.text + text, last.before + before)
    else:
        pieces.append(Piece(op, text, before))


def word_diff(before: str, after: str) -> list[Piece]:
    """The pieces that rebuild both texts: the `text` of `=` and `+` pieces gives `after`, the `old` of `=`
    and `-` pieces gives `before`."""
    old, new = _WORDS.findall(before), _WORDS.findall(after)
    matcher = difflib.SequenceMatcher(
        None, [w.strip() for w in old], [w.strip() for w in new], autojunk=False
    )
    pieces: list[Piece] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            _merge(pieces, "=", new[j1:j2], old[i1:i2])
        else:
            _merge(pieces, "-", old[i1:i2])
            _merge(pieces, "+", new[j1:j2])
    return pieces
