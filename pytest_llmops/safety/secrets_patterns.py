"""Credential detectors: provider API keys, tokens, private keys, URL passwords.

Every pattern starts with a fixed prefix (``sk-``, ``AKIA``, ``ghp_``...) and is
searched only when the text's words show that prefix can occur. Spans
cover the secret itself, not the ``Bearer`` keyword or the ``user:`` of a URL.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from pytest_llmops.safety.finding import Finding
from pytest_llmops.safety.text_view import TextView


@dataclass(frozen=True, slots=True)
class _Rule:
    """`pattern` starts with a literal (so `re` can skip ahead to it); a match counts
    only when the character before it is not a word character or one of `left`
    (no check when `left` is None). `gate` tells from the text's words whether the
    pattern can match at all."""

    detail: str
    gate: Callable[[TextView], bool]
    pattern: re.Pattern[str]
    left: str | None = "-"
    on_lower: bool = False  # match the lower-cased text (case-insensitive keywords)


def _words(*names: str) -> Callable[[TextView], bool]:
    wanted = frozenset(names)
    return lambda view: not wanted.isdisjoint(view.words)


def _heads(*heads: str) -> Callable[[TextView], bool]:
    """Some 16+ character word starts with one of `heads` (3 lower-case characters)."""
    wanted = frozenset(heads)
    return lambda view: not wanted.isdisjoint(view.shapes.long_heads)


_T = r"[A-Za-z0-9_\-]"
_RULES: tuple[_Rule, ...] = (
    _Rule("anthropic_key", _words("ant"), re.compile(rf"sk-ant-{_T}{{20,}}")),
    _Rule("openai_key", _words("sk"), re.compile(rf"sk-(?!ant-){_T}{{20,}}")),
    _Rule("aws_access_key_id", _heads("aki"), re.compile(r"AKIA[A-Z0-9]{16}(?![A-Za-z0-9])"), left=""),
    _Rule("aws_access_key_id", _heads("asi"), re.compile(r"ASIA[A-Z0-9]{16}(?![A-Za-z0-9])"), left=""),
    _Rule(
        "aws_secret_access_key",
        _words("secret", "secretaccesskey", "awssecretaccesskey"),
        re.compile(
            r"(?:aws_?secret(?:_?access)?_?key|secret_?access_?key)[\"']?\s*[:=]\s*[\"']?"
            r"(?P<secret>[a-z0-9/+=]{40})(?![a-z0-9/+=])"
        ),
        left=None,
        on_lower=True,
    ),
    _Rule(
        "github_token",
        _words("ghp", "gho", "ghs", "ghu", "ghr"),
        re.compile(r"gh[pousr]_[A-Za-z0-9]{36,255}(?![A-Za-z0-9_])"),
        left="",
    ),
    _Rule(
        "github_token", _words("pat"), re.compile(r"github_pat_[A-Za-z0-9_]{50,255}(?![A-Za-z0-9_])"), left=""
    ),
    _Rule(
        "slack_token",
        _words("xoxa", "xoxb", "xoxp", "xoxo", "xoxs", "xoxr", "xoxe"),
        re.compile(r"xox[abposre]-\d{6,}-[A-Za-z0-9\-]{8,}"),
    ),
    _Rule(
        "slack_webhook",
        _words("hooks"),
        re.compile(r"https://hooks\.slack\.com/services/T[A-Z0-9]+/B[A-Z0-9]+/[A-Za-z0-9]{16,}"),
        left=None,
    ),
    _Rule("stripe_key", _words("sk"), re.compile(r"sk_(?:live|test)_[A-Za-z0-9]{16,}")),
    _Rule("stripe_key", _words("rk"), re.compile(r"rk_(?:live|test)_[A-Za-z0-9]{16,}")),
    _Rule("google_api_key", _heads("aiz"), re.compile(rf"AIza{_T}{{35}}(?![\w\-])")),
    _Rule(
        "private_key",
        _words("private"),
        re.compile(
            r"-----BEGIN (?P<label>(?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?)-----"
            r"(?:[\s\S]{0,20000}?-----END (?P=label)-----|(?:\r?\n[A-Za-z0-9+/=:\- ]+)+)"
        ),
        left=None,
    ),
    _Rule("jwt", _heads("eyj"), re.compile(rf"eyJ{_T}{{8,}}\.ey{_T}{{8,}}\.(?:{_T}{{8,}})?(?![\w\-])")),
    _Rule(
        "bearer_token",
        _words("bearer"),
        re.compile(r"bearer[ \t]+(?P<secret>[a-z0-9._~+/\-]{20,}=*)(?![\w.~+/\-])"),
        left="",
        on_lower=True,
    ),
    _Rule(
        "url_credentials",
        lambda view: "@" in view.text,
        re.compile(r"://[^\s:/@]{1,64}:(?P<secret>[^\s/@]{3,128})@[\w\-]+(?:\.[\w\-]+)*"),
        left=None,
    ),
)
_PLACEHOLDER_PASSWORDS = frozenset(
    {"password", "passwd", "pass", "secret", "xxx", "xxxx", "****", "changeme"}
)


def find_secrets(view: TextView) -> Iterator[Finding]:
    text = view.text
    for rule in _RULES:
        if not rule.gate(view):
            continue
        haystack = view.lower if rule.on_lower else text
        for match in rule.pattern.finditer(haystack):
            before = text[match.start() - 1] if match.start() else " "
            if rule.left is not None and (before.isalnum() or before == "_" or before in rule.left):
                continue
            start, end = match.span("secret") if "secret" in rule.pattern.groupindex else match.span()
            value = text[start:end]
            if rule.detail == "bearer_token" and not _looks_random(value):
                continue
            if rule.detail == "url_credentials" and (
                value.lower() in _PLACEHOLDER_PASSWORDS or value[0] in "$<{%*[" or value.count("*") > 2
            ):
                continue
            yield Finding("secret", start, end, value, rule.detail)


def _looks_random(token: str) -> bool:
    """A token mixes at least two of lower case, upper case and digits (not a long word)."""
    classes = (
        any(c.islower() for c in token) + any(c.isupper() for c in token) + any(c.isdigit() for c in token)
    )
    return classes >= 2
