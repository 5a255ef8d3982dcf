"""Measure the scanner against labeled JSONL sets (yours or the project's own).

Two row shapes, one JSON object per line:

- span rows: ``{"id": "...", "text": "...", "spans": [{"kind": "email", "start": 3, "end": 19}]}``;
  every occurrence of an evaluated kind in ``text`` must be listed, so an unlisted
  finding counts as a false positive. A span may repeat its ``"text"``; the loader
  checks it, which catches offsets broken by an edit.
- label rows: ``{"id": "...", "text": "...", "label": true}``: does the text contain
  the kind at all (used for prompt injection and toxicity, whose extent is fuzzy).

Committed data must not hold key-shaped secrets (they trip leak checks), so a text
may contain ``{{fake:NAME}}`` placeholders (names in `FAKE_SECRETS`). The loader
replaces each with a fake secret generated from the row id, and shifts the spans
(written against the text as stored) to match.

Span matching is exact: same kind, same start, same end.
"""

from __future__ import annotations

import base64
import json
import random
import re
import string
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pytest_llmops.safety.finding import Finding
from pytest_llmops.safety.scanner import scan

ScanFunction = Callable[..., list[Finding]]

_PLACEHOLDER = re.compile(r"\{\{fake:([a-z0-9_]+)\}\}")
_ALNUM = string.ascii_letters + string.digits
_URLSAFE = _ALNUM + "-_"


@dataclass(frozen=True, slots=True)
class LabeledSpan:
    kind: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Example:
    id: str
    text: str
    spans: tuple[LabeledSpan, ...] = ()
    label: bool | None = None
    note: str = ""


@dataclass(slots=True)
class Counts:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    misses: list[str] = field(default_factory=list)
    false_alarms: list[str] = field(default_factory=list)

    @property
    def precision(self) -> float:
        found = self.tp + self.fp
        return self.tp / found if found else 1.0

    @property
    def recall(self) -> float:
        relevant = self.tp + self.fn
        return self.tp / relevant if relevant else 1.0

    @property
    def support(self) -> int:
        return self.tp + self.fn


def _random_string(rng: random.Random, alphabet: str, length: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(length))


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _fake_jwt(rng: random.Random) -> str:
    header = _b64url(b'{"alg":"HS256","typ":"JWT"}')
    claims = json.dumps(
        {
            "sub": str(rng.randint(1, 10**6)),
            "name": "Test User",
            "iat": rng.randint(1_600_000_000, 1_800_000_000),
        },
        separators=(",", ":"),
    )
    signature = _b64url(bytes(rng.getrandbits(8) for _ in range(32)))
    return f"{header}.{_b64url(claims.encode())}.{signature}"


def _fake_pem(rng: random.Random) -> str:
    label = rng.choice(["RSA PRIVATE KEY", "PRIVATE KEY", "EC PRIVATE KEY", "OPENSSH PRIVATE KEY"])
    body = base64.b64encode(bytes(rng.getrandbits(8) for _ in range(rng.randint(120, 300)))).decode()
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    return "\n".join([f"-----BEGIN {label}-----", *lines, f"-----END {label}-----"])


# Prefixes are split ("sk-" + "proj-") so that this file holds no key-shaped literal.
FAKE_SECRETS: dict[str, Callable[[random.Random], str]] = {
    "openai": lambda r: "sk-" + _random_string(r, _ALNUM, 48),
    "openai_project": lambda r: "sk-" + "proj-" + _random_string(r, _URLSAFE, 64),
    "openai_service": lambda r: "sk-" + "svcacct-" + _random_string(r, _URLSAFE, 64),
    "anthropic": lambda r: "sk-" + "ant-" + "api03-" + _random_string(r, _URLSAFE, 93) + "AA",
    "aws_access_key_id": lambda r: "AK" + "IA" + _random_string(r, string.ascii_uppercase + "234567", 16),
    "aws_session_key_id": lambda r: "AS" + "IA" + _random_string(r, string.ascii_uppercase + "234567", 16),
    "aws_secret_access_key": lambda r: _random_string(r, _ALNUM + "+/", 40),
    "github_classic": lambda r: "gh" + "p_" + _random_string(r, _ALNUM, 36),
    "github_oauth": lambda r: "gh" + "o_" + _random_string(r, _ALNUM, 36),
    "github_server": lambda r: "gh" + "s_" + _random_string(r, _ALNUM, 36),
    "github_fine_grained": lambda r: (
        "github" + "_pat_" + _random_string(r, _ALNUM, 22) + "_" + _random_string(r, _ALNUM, 59)
    ),
    "slack_bot": lambda r: (
        "xo"
        + "xb-"
        + _random_string(r, string.digits, 12)
        + "-"
        + _random_string(r, string.digits, 13)
        + "-"
        + _random_string(r, _ALNUM, 24)
    ),
    "slack_user": lambda r: (
        "xo"
        + "xp-"
        + _random_string(r, string.digits, 12)
        + "-"
        + _random_string(r, string.digits, 12)
        + "-"
        + _random_string(r, string.digits, 13)
        + "-"
        + _random_string(r, "0123456789abcdef", 32)
    ),
    "stripe": lambda r: "sk" + "_live_" + _random_string(r, _ALNUM, 24),
    "google_api_key": lambda r: "AI" + "za" + _random_string(r, _URLSAFE, 35),
    "jwt": _fake_jwt,
    "pem": _fake_pem,
    "opaque_token": lambda r: _random_string(r, _ALNUM, 20) + "." + _random_string(r, _URLSAFE, 24),
}


def fake_secret(name: str, seed: str) -> str:
    """A deterministic fake secret of type `name` (a key of `FAKE_SECRETS`)."""
    try:
        make = FAKE_SECRETS[name]
    except KeyError:
        known = ", ".join(sorted(FAKE_SECRETS))
        raise ValueError(f"unknown fake secret {name!r}; use one of: {known}") from None
    return make(random.Random(seed))


def expand_placeholders(text: str, spans: Sequence[LabeledSpan], seed: str) -> tuple[str, list[LabeledSpan]]:
    """Replace ``{{fake:NAME}}`` placeholders, moving span offsets along with the text."""
    pieces: list[str] = []
    moves: list[tuple[int, int, int]] = []  # (raw start, raw end, length change)
    last = 0
    for index, match in enumerate(_PLACEHOLDER.finditer(text)):
        value = fake_secret(match.group(1), f"{seed}:{index}")
        pieces += [text[last : match.start()], value]
        moves.append((match.start(), match.end(), len(value) - (match.end() - match.start())))
        last = match.end()
    if not moves:
        return text, list(spans)
    pieces.append(text[last:])

    def moved(position: int) -> int:
        if any(start < position < end for start, end, _ in moves):
            raise ValueError(f"row {seed!r}: a span boundary falls inside a {{{{fake:...}}}} placeholder")
        return position + sum(change for _, end, change in moves if end <= position)

    return "".join(pieces), [LabeledSpan(s.kind, moved(s.start), moved(s.end)) for s in spans]


def load_examples(path: str | Path) -> list[Example]:
    """Read a labeled JSONL file; errors name the file and line to fix."""
    path = Path(path)
    examples: list[Example] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{where}: not valid JSON ({exc})") from None
        text = row.get("text")
        if not isinstance(text, str):
            raise ValueError(f"{where}: every row needs a string 'text'")
        spans: list[LabeledSpan] = []
        for span in row.get("spans", []):
            start, end = span["start"], span["end"]
            if not 0 <= start < end <= len(text):
                raise ValueError(f"{where}: span {span} lies outside the text")
            if "text" in span and text[start:end] != span["text"]:
                raise ValueError(f"{where}: span {span} covers {text[start:end]!r}; fix start/end")
            spans.append(LabeledSpan(span["kind"], start, end))
        row_id = str(row.get("id", f"{path.stem}:{number}"))
        text, spans = expand_placeholders(text, spans, row_id)
        label = row.get("label")
        if label is not None and not isinstance(label, bool):
            raise ValueError(f"{where}: 'label' must be true or false")
        examples.append(Example(row_id, text, tuple(spans), label, str(row.get("note", ""))))
    return examples


def span_scores(
    examples: Iterable[Example], kinds: Sequence[str], scan_fn: ScanFunction = scan
) -> dict[str, Counts]:
    """Exact-match precision/recall per kind over span-labeled examples."""
    scores = {kind: Counts() for kind in kinds}
    for example in examples:
        gold = {(s.kind, s.start, s.end) for s in example.spans if s.kind in scores}
        found = {(f.kind, f.start, f.end) for f in scan_fn(example.text, kinds=kinds)}
        for kind, start, end in found | gold:
            counts = scores[kind]
            shown = f"{example.id}: {example.text[start:end]!r}"
            if (kind, start, end) in gold and (kind, start, end) in found:
                counts.tp += 1
            elif (kind, start, end) in found:
                counts.fp += 1
                counts.false_alarms.append(shown)
            else:
                counts.fn += 1
                counts.misses.append(shown)
    return scores


def label_scores(examples: Iterable[Example], kind: str, scan_fn: ScanFunction = scan) -> Counts:
    """Text-level precision/recall: does `scan` report `kind` anywhere in the text."""
    counts = Counts()
    for example in examples:
        if example.label is None:
            raise ValueError(f"row {example.id!r} has no 'label'; label_scores needs label rows")
        predicted = bool(scan_fn(example.text, kinds=[kind]))
        shown = f"{example.id}: {example.text[:100]!r}"
        if predicted and example.label:
            counts.tp += 1
        elif predicted:
            counts.fp += 1
            counts.false_alarms.append(shown)
        elif example.label:
            counts.fn += 1
            counts.misses.append(shown)
    return counts
