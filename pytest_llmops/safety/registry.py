"""Which detector finds which kind, and how its findings are redacted.

Built-in detectors are imported on first use, so `scan(text, kinds=["email"])`
does not load the injection or toxicity rules. Add your own kinds with
`register_detector`; they take part in `scan` and `redact` like built-ins.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from pytest_llmops.safety.finding import Finding
from pytest_llmops.safety.text_view import TextView

Detector = Callable[[str], Iterable[Finding]]
ViewDetector = Callable[[TextView], Iterable[Finding]]

#: The built-in kinds, in the order `scan` runs them.
KINDS: tuple[str, ...] = (
    "email",
    "phone",
    "credit_card",
    "iban",
    "us_ssn",
    "ip_address",
    "secret",
    "prompt_injection",
    "toxicity",
)


@dataclass(frozen=True, slots=True)
class KindSpec:
    """How one kind is found and redacted.

    `exclusive` kinds share one layer in which no two findings overlap (a card
    number is not also a phone number); the others (`prompt_injection`,
    `toxicity`) mark stretches of text and may overlap findings of other kinds.
    `rank` orders exclusive kinds when two overlap: lower wins.
    """

    name: str
    placeholder: str
    redact_by_default: bool
    exclusive: bool
    rank: int
    target: str | None = None  # "module:function" of a built-in, imported on first use
    detector: ViewDetector | None = None

    def load(self) -> ViewDetector:
        if self.detector is not None:
            return self.detector
        assert self.target is not None
        module, _, function = self.target.partition(":")
        loaded: ViewDetector = getattr(importlib.import_module(module), function)
        return loaded


_PKG = "pytest_llmops.safety"
_SPECS: dict[str, KindSpec] = {
    "secret": KindSpec("secret", "[SECRET]", True, True, 0, f"{_PKG}.secrets_patterns:find_secrets"),
    # an IBAN's digits often hold a Luhn-valid 4-4-4-4 group; mod-97 over the whole is the stronger proof
    "iban": KindSpec("iban", "[IBAN]", True, True, 1, f"{_PKG}.pii:find_ibans"),
    "credit_card": KindSpec("credit_card", "[CREDIT_CARD]", True, True, 2, f"{_PKG}.pii:find_credit_cards"),
    "us_ssn": KindSpec("us_ssn", "[US_SSN]", True, True, 3, f"{_PKG}.pii:find_us_ssns"),
    "email": KindSpec("email", "[EMAIL]", True, True, 4, f"{_PKG}.pii:find_emails"),
    "ip_address": KindSpec("ip_address", "[IP_ADDRESS]", True, True, 5, f"{_PKG}.pii:find_ip_addresses"),
    "phone": KindSpec("phone", "[PHONE]", True, True, 6, f"{_PKG}.pii:find_phones"),
    "prompt_injection": KindSpec(
        "prompt_injection", "[PROMPT_INJECTION]", False, False, 50, f"{_PKG}.injection:find_injections"
    ),
    "toxicity": KindSpec("toxicity", "[TOXICITY]", False, False, 51, f"{_PKG}.toxicity:find_toxicity"),
}
_LOADED: dict[str, ViewDetector] = {}


def register_detector(
    kind: str,
    detector: Detector,
    *,
    placeholder: str | None = None,
    redact_by_default: bool = True,
    exclusive: bool = True,
    replace: bool = False,
) -> None:
    """Add a kind (or, with ``replace=True``, swap a built-in's detector).

    `detector(text)` yields `Finding`s whose `kind` is `kind`. An exclusive kind
    loses overlaps to the built-in PII and secret kinds; `placeholder` defaults to
    ``"[KIND]"``.
    """
    if not kind or not kind.replace("_", "").isalnum():
        raise ValueError(f"safety kind {kind!r} must be a non-empty identifier like 'employee_id'")
    if kind in _SPECS and not replace:
        raise ValueError(f"safety kind {kind!r} already exists; pass replace=True to swap its detector")

    def from_view(view: TextView) -> Iterable[Finding]:
        return detector(view.text)

    previous = _SPECS.get(kind)
    rank = previous.rank if previous else 100 + len(_SPECS)
    _SPECS[kind] = KindSpec(
        kind,
        placeholder or (previous.placeholder if previous else f"[{kind.upper()}]"),
        redact_by_default,
        exclusive,
        rank,
        detector=from_view,
    )
    _LOADED.pop(kind, None)


def unregister_detector(kind: str) -> None:
    """Remove a kind added with `register_detector` (built-ins cannot be removed)."""
    if kind in KINDS:
        raise ValueError(f"{kind!r} is a built-in safety kind and cannot be removed")
    _SPECS.pop(kind, None)
    _LOADED.pop(kind, None)


def available_kinds() -> tuple[str, ...]:
    """Built-in kinds followed by registered ones."""
    return KINDS + tuple(kind for kind in _SPECS if kind not in KINDS)


def spec(kind: str) -> KindSpec:
    try:
        return _SPECS[kind]
    except KeyError:
        known = ", ".join(available_kinds())
        raise ValueError(
            f"unknown safety kind {kind!r}; known kinds: {known} "
            "(add new ones with pytest_llmops.safety.register_detector)"
        ) from None


def detector_for(kind: str) -> ViewDetector:
    loaded = _LOADED.get(kind)
    if loaded is None:
        loaded = _LOADED[kind] = spec(kind).load()
    return loaded
