"""Offline safety scanner: PII, secrets, prompt injection and toxic language.

Pure Python and standard library only; nothing here is imported when the plugin
loads, only when a test calls it::

    from pytest_llmops.safety import scan, redact

    assert not scan(answer, kinds=["email", "phone", "secret"])
    cleaned = redact(answer)  # "mail [EMAIL] or call [PHONE]"

`KINDS` lists the built-in kinds; `register_detector` adds your own (for example a
heavier model-based detector) under a new name, and `evaluation` measures any of
them against labeled JSONL sets.
"""

from __future__ import annotations

from pytest_llmops.safety.finding import Finding
from pytest_llmops.safety.registry import KINDS, available_kinds, register_detector, unregister_detector
from pytest_llmops.safety.scanner import redact, scan

__all__ = [
    "KINDS",
    "Finding",
    "available_kinds",
    "redact",
    "register_detector",
    "scan",
    "unregister_detector",
]
