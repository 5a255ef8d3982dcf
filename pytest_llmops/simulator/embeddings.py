"""Deterministic embeddings: unit vectors built from hashes of the input's words.

Each word (lower-cased) hashes to a fixed pseudo-random direction and a text's
vector is the normalized sum of its words' directions (feature hashing). So
equal texts get equal vectors, and cosine similarity grows with shared
vocabulary: enough for retrieval and similarity checks to behave sensibly
without a model. Empty text hashes as a whole.
"""

from __future__ import annotations

import base64
import hashlib
import math
import re
import struct
from array import array
from functools import lru_cache

_WORD = re.compile(r"\w+")


def embed(text: str, dimensions: int) -> list[float]:
    """A unit vector of `dimensions` floats for `text`."""
    words = _WORD.findall(text.lower()) or [text]
    total = [0.0] * dimensions
    for word in words:
        direction = _direction(word, dimensions)
        total = [a + b for a, b in zip(total, direction, strict=True)]
    norm = math.sqrt(sum(v * v for v in total)) or 1.0
    # Round-trip through float32, as the API's vectors are float32 (base64 and float agree).
    return list(array("f", (v / norm for v in total)))


def to_base64(vector: list[float]) -> str:
    """The API's `encoding_format: base64`: little-endian float32 bytes."""
    return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode("ascii")


@lru_cache(maxsize=8192)
def _direction(word: str, dimensions: int) -> tuple[float, ...]:
    raw = hashlib.shake_256(f"{dimensions}:{word}".encode()).digest(2 * dimensions)
    return tuple(v / 32768.0 for v in struct.unpack(f"<{dimensions}h", raw))
