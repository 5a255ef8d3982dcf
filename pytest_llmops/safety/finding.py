"""`Finding`: one span of sensitive or unsafe content found by `scan`."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Finding:
    """`text[start:end]` is `text`; offsets count code points, as Python slicing does.

    `detail` narrows the kind: a secret's provider (``"openai_key"``), a card's
    brand, an injection technique (``"jailbreak_roleplay"``), a toxicity category.
    """

    kind: str
    start: int
    end: int
    text: str
    detail: str = ""
