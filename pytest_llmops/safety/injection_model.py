"""A small linear classifier for prompt injection, run in pure Python.

The phrase rules and weak signals of `injection.py` catch attacks that use a known
shape. This model catches the rest of what public jailbreak and injection corpora look
like: it scores a text by the words, word pairs and letter groups in it, learned from
labeled examples (`benchmarks/train_injection_model.py` trains it; the weights ship as
``data/injection_model.json.gz``, read on the first scan that needs them).

A text's features are its distinct lower-cased tokens, its distinct adjacent token
pairs, and the 4- and 5-letter pieces of each distinct word (with ``<`` and ``>``
marking its ends, so that "ignor" and "instrucc" still count in misspelled or foreign
words). Its score is the logistic of ``bias + sum(weights of its features) /
sqrt(number of features)``; features the model does not know weigh nothing. Long texts are scored
in overlapping windows and the highest window counts, so that an instruction hidden
in a long document is not diluted by the document around it. A window of fewer than
`MIN_WORDS` words is never flagged.
"""

from __future__ import annotations

import gzip
import itertools
import json
import math
import re
import threading
from importlib import resources

#: Scored in windows of this many characters, each starting half a window after the last.
WINDOW = 1500
#: A window of fewer words is never flagged: on texts that short the model's evidence is a
#: handful of letter pieces, and on dev (out-of-fold) it was wrong about as often as right.
MIN_WORDS = 9
_TOKEN = re.compile(r"\w+|[^\w\s]")
_DATA = "injection_model.json.gz"


class Model:
    """Weights of a linear model over `feature_counts`, and the score that flags a text."""

    def __init__(self, bias: float, weights: dict[str, float], threshold: float, version: str) -> None:
        self.bias = bias
        self.weights = weights
        self.threshold = threshold
        self.version = version
        self._words: dict[str, tuple[float, int]] = {}

    def score(self, text: str) -> float:
        """Probability-like score in [0, 1] of the most suspicious window of `text`."""
        return max(self.window_scores(text), default=0.0)

    def window_scores(self, text: str) -> list[float]:
        return [self._score(piece) for piece in windows(text)]

    def flags(self, text: str) -> bool:
        return self.flagged_window(text) is not None

    def flagged_window(self, text: str) -> int | None:
        """Index (into `window_spans`) of the most suspicious window when it is flagged, else None."""
        pieces = windows(text)
        scores = [self._score(piece) if len(piece.split()) >= MIN_WORDS else 0.0 for piece in pieces]
        best = max(range(len(scores)), key=scores.__getitem__, default=None)
        return best if best is not None and scores[best] >= self.threshold else None

    def _score(self, text: str) -> float:
        # the same sum as `feature_counts` would give, with each word's share cached
        tokens = _TOKEN.findall(text.lower())
        if not tokens:
            return 0.0
        weights = self.weights
        pairs = {first + " " + second for first, second in itertools.pairwise(tokens)}
        total = 0.0
        count = len(pairs)
        for pair in pairs:
            total += weights.get(pair, 0.0)
        cache = self._words
        for token in set(tokens):
            share = cache.get(token)
            if share is None:
                if len(cache) > 100_000:
                    cache.clear()
                grams = _grams(token)
                share = cache[token] = (
                    weights.get(token, 0.0) + sum(weights.get(gram, 0.0) for gram in grams),
                    1 + len(grams),
                )
            total += share[0]
            count += share[1]
        margin = self.bias + total / math.sqrt(count)
        return 1.0 / (1.0 + math.exp(-margin)) if margin > -30 else 0.0


def _grams(token: str) -> list[str]:
    """The 4- and 5-letter pieces of a word, ends marked: "ignore" -> "#<ign", ..., "#ore>"."""
    if not token.isalpha():
        return []
    padded = "<" + token + ">"
    size = len(padded)
    return ["#" + padded[index : index + n] for n in (4, 5) for index in range(size - n + 1)]


def feature_counts(text: str) -> dict[str, int]:
    """Each distinct token and adjacent token pair once, plus the letter pieces of each distinct word.

    The model's input is these counts divided by the square root of their sum.
    """
    tokens = _TOKEN.findall(text.lower())
    counts: dict[str, int] = {}
    for first, second in itertools.pairwise(tokens):
        counts[first + " " + second] = 1
    for token in set(tokens):
        counts[token] = counts.get(token, 0) + 1
        for gram in _grams(token):
            counts[gram] = counts.get(gram, 0) + 1
    return counts


def windows(text: str) -> list[str]:
    """`text` itself when short, else overlapping `WINDOW`-character pieces cut at spaces."""
    return [text[start:end] for start, end in window_spans(text)]


def window_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of the pieces `windows` cuts: each starts about half a window after the last."""
    if len(text) <= WINDOW:
        return [(0, len(text))]
    spans: list[tuple[int, int]] = []
    start = 0
    step = WINDOW // 2
    while True:
        end = start + WINDOW
        if end >= len(text):
            spans.append((start, len(text)))
            return spans
        cut = text.rfind(" ", start + step, end)
        end = cut if cut > 0 else end
        spans.append((start, end))
        after = text.find(" ", start + step, end)
        start = after + 1 if after > 0 else start + step


_LOCK = threading.Lock()
_LOADED: list[Model] = []


def load() -> Model:
    """The shipped model, read once (on first use, not at import)."""
    if _LOADED:
        return _LOADED[0]
    with _LOCK:
        if not _LOADED:
            raw = resources.files("pytest_llmops.safety").joinpath("data", _DATA).read_bytes()
            _LOADED.append(from_json(json.loads(gzip.decompress(raw))))
    return _LOADED[0]


def from_json(document: dict[str, object]) -> Model:
    """A `Model` from the JSON the training script writes."""
    weights = document["weights"]
    bias, threshold, version = document["bias"], document["threshold"], document["version"]
    if not (
        isinstance(weights, dict)
        and isinstance(bias, float | int)
        and isinstance(threshold, float | int)
        and isinstance(version, str)
    ):
        raise ValueError("injection model data is malformed (expected bias, threshold, version, weights)")
    return Model(float(bias), {str(k): float(v) for k, v in weights.items()}, float(threshold), version)
