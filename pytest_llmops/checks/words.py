"""What the local scorers compare in a text: content words, numbers, negation, refusals.

Standard library only. Words are lower-cased, stripped of stopwords and
lightly stemmed ("refunds" and "refund", "processed" and "processing" agree);
number words up to the thousands become digits, so "five days" and "5 days"
agree too. Numbers and negation are kept apart because a lexical overlap
cannot see that "5 days" and "10 days" disagree, or "is" and "is not".
"""

from __future__ import annotations

import re
from functools import lru_cache

STOPWORDS = frozenset(
    [
        "a",
        "about",
        "above",
        "after",
        "again",
        "against",
        "all",
        "also",
        "am",
        "an",
        "and",
        "any",
        "are",
        "aren't",
        "as",
        "at",
        "be",
        "because",
        "been",
        "before",
        "being",
        "below",
        "between",
        "both",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "doing",
        "done",
        "down",
        "during",
        "each",
        "either",
        "else",
        "ever",
        "few",
        "for",
        "from",
        "further",
        "get",
        "gets",
        "got",
        "had",
        "has",
        "have",
        "having",
        "he",
        "her",
        "here",
        "hers",
        "herself",
        "him",
        "himself",
        "his",
        "how",
        "however",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "itself",
        "just",
        "let",
        "like",
        "may",
        "me",
        "might",
        "more",
        "most",
        "much",
        "must",
        "my",
        "myself",
        "neither",
        "nor",
        "now",
        "of",
        "off",
        "on",
        "once",
        "one's",
        "only",
        "onto",
        "or",
        "other",
        "others",
        "otherwise",
        "our",
        "ours",
        "ourselves",
        "out",
        "over",
        "own",
        "per",
        "please",
        "quite",
        "rather",
        "really",
        "same",
        "shall",
        "she",
        "should",
        "so",
        "some",
        "such",
        "than",
        "that",
        "that's",
        "the",
        "their",
        "theirs",
        "them",
        "themselves",
        "then",
        "there",
        "there's",
        "therefore",
        "these",
        "they",
        "this",
        "those",
        "though",
        "through",
        "thus",
        "to",
        "too",
        "under",
        "until",
        "up",
        "upon",
        "us",
        "very",
        "via",
        "was",
        "we",
        "were",
        "what",
        "what's",
        "when",
        "where",
        "whether",
        "which",
        "while",
        "who",
        "whom",
        "whose",
        "why",
        "will",
        "with",
        "within",
        "would",
        "yet",
        "you",
        "your",
        "yours",
        "yourself",
        "yourselves",
        "i'm",
        "i've",
        "i'd",
        "i'll",
        "you're",
        "it's",
        "let's",
        "also",
        "simply",
        "basically",
        "actually",
        "generally",
        "typically",
        "usually",
        "answer",
        "question",
        "context",
        "provided",
        "based",
        "according",
    ]
)
"""Function words, plus answer filler ("based on the context") that says nothing about the topic."""

NEGATIONS = frozenset(
    [
        "not",
        "no",
        "never",
        "none",
        "nothing",
        "nobody",
        "nowhere",
        "neither",
        "nor",
        "cannot",
        "can't",
        "won't",
        "don't",
        "doesn't",
        "didn't",
        "isn't",
        "aren't",
        "wasn't",
        "weren't",
        "hasn't",
        "haven't",
        "hadn't",
        "shouldn't",
        "wouldn't",
        "couldn't",
        "mustn't",
        "without",
        "unable",
    ]
)

QUESTION_FILLER = frozenset(
    [
        "long",
        "many",
        "often",
        "take",
        "make",
        "need",
        "want",
        "go",
        "happen",
        "work",
        "find",
        "know",
        "tell",
        "show",
        "give",
        "say",
        "mean",
        "way",
        "thing",
        "good",
        "best",
        "possible",
        "able",
        "doe",
        "kind",
        "type",
        "sort",
    ]
)
"""Stemmed words that shape a question more than they name its topic."""

_ASKS_QUANTITY = re.compile(
    r"\b(?:how\s+(?:many|much|long|often|old|far|big|large|soon|fast)|when|what\s+(?:time|date|year|day|"
    r"price|percentage|percent|amount|number)|which\s+(?:year|date|day))\b",
    re.I,
)


def asks_quantity(question: str) -> bool:
    """Whether the question asks for a number, a duration or a date ("how long", "when", "what price")."""
    return bool(_ASKS_QUANTITY.search(question))


_UNITS = {
    "zero": 0,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
    "dozen": 12,
}
_SCALES = {"hundred": 100, "thousand": 1000, "million": 1_000_000, "billion": 1_000_000_000}

_TOKEN = re.compile(r"\d+(?:[.,]\d+)*|[^\W\d_]+(?:['’][^\W\d_]+)?", re.UNICODE)
_NUMBER = re.compile(r"(?<![\w.])[-+]?\d+(?:,\d{3})*(?:\.\d+)?(?![\d])")
_REFUSAL = re.compile(
    r"\b(?:i\s+(?:do\s+not|don't|cannot|can't|am\s+unable\s+to|'m\s+unable\s+to|am\s+not\s+able\s+to)"
    r"\s+(?:know|have\s+(?:enough\s+)?information|help|answer|find|say|provide|assist)|"
    r"(?:not|no)\s+enough\s+information|insufficient\s+information|i'm\s+not\s+sure|i\s+am\s+not\s+sure|"
    r"as\s+an\s+ai\b|unable\s+to\s+(?:answer|help|determine))",
    re.I,
)


@lru_cache(maxsize=8192)
def stem(word: str) -> str:
    """A light suffix stripper: enough for plural and tense agreement, never clever."""
    if len(word) <= 3 or word.isdigit():
        return word
    for suffix, replacement, keep in (
        ("ies", "y", 3),
        ("ied", "y", 3),
        ("sses", "ss", 3),
        ("ing", "", 3),
        ("edly", "", 3),
        ("ly", "", 4),
        ("ed", "", 3),
        ("es", "", 4),
        ("s", "", 3),
    ):
        if word.endswith(suffix) and len(word) - len(suffix) >= keep:
            if suffix == "s" and word.endswith(("ss", "us", "is")):
                return word
            if suffix == "es" and not word.endswith(("ches", "shes", "xes", "zes", "sses", "oes")):
                return word[:-1]  # "rates" -> "rate", not "rat"
            base = word[: -len(suffix)] + replacement
            if suffix in ("ing", "ed") and len(base) > 3 and base[-1] == base[-2] and base[-1] not in "lsz":
                base = base[:-1]  # "stopped" -> "stop"
            return base
    return word


def tokens(text: str) -> list[str]:
    """Lower-cased words and numbers, apostrophes kept inside words ("don't")."""
    return [t.replace("’", "'") for t in _TOKEN.findall(text.lower())]


@lru_cache(maxsize=4096)
def content_words(text: str) -> tuple[str, ...]:
    """Stemmed words that carry meaning, in order; number words as digits."""
    out: list[str] = []
    for token in _numbers_as_digits(tokens(text)):
        if token in STOPWORDS or token in NEGATIONS:
            continue
        if not token[0].isdigit() and len(token) < 2:
            continue
        out.append(token if token[0].isdigit() else stem(token))
    return tuple(out)


def _numbers_as_digits(words: list[str]) -> list[str]:
    """["twenty", "five", "days"] -> ["25", "days"]; digits and other words unchanged.

    A lone "one" is a pronoun more often than a number ("the one I ordered"),
    so it counts only inside a compound ("twenty one", "one hundred").
    """
    out: list[str] = []
    value: int | None = None
    for index, word in enumerate(words):
        nxt = words[index + 1] if index + 1 < len(words) else ""
        if word in _UNITS:
            unit = _UNITS[word]
            if (
                value is not None
                and unit < 100
                and (
                    (value >= 100 and value % 100 == 0)
                    or (value % 100 >= 20 and value % 10 == 0 and unit < 10)
                )
            ):
                value += unit  # "twenty five", "two hundred five"
            elif word == "one" and value is None and nxt not in _SCALES:
                continue
            else:
                if value is not None:
                    out.append(str(value))
                value = unit
            continue
        if word in _SCALES and value is not None:
            value *= _SCALES[word]
            continue
        if word == "and" and value is not None and value >= 100 and nxt in _UNITS:
            continue  # "two hundred and five"
        if value is not None:
            out.append(str(value))
            value = None
        out.append(_normal_number(word) if word[:1].isdigit() else word)
    if value is not None:
        out.append(str(value))
    return out


@lru_cache(maxsize=4096)
def numbers(text: str) -> frozenset[str]:
    """Numbers stated in `text`, normalized ("1,000" -> "1000", "3.50" -> "3.5", "five" -> "5")."""
    found = {_normal_number(m.group(0)) for m in _NUMBER.finditer(text)}
    for token in content_words(text):
        if token.isdigit():
            found.add(token)
    return frozenset(found)


def _normal_number(raw: str) -> str:
    value = raw.replace(",", "").lstrip("+")
    if "." in value:
        value = value.rstrip("0").rstrip(".")
    return value


@lru_cache(maxsize=4096)
def negation_count(text: str) -> int:
    return sum(1 for t in tokens(text) if t in NEGATIONS or t.endswith("n't"))


def is_refusal(text: str) -> bool:
    """ "I don't know", "not enough information", "I cannot help with that"..."""
    return bool(_REFUSAL.search(text))
