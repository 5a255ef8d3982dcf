"""`--llm-report-json`: the whole report model as JSON (format documented in docs/report-and-baseline.md)."""

from __future__ import annotations

import json
from collections.abc import Iterator

from pytest_llmops.results.report.model import Report

__all__ = ["render"]

_ROW = json.JSONEncoder(allow_nan=False, separators=(",", ":")).encode


def render(report: Report) -> str:
    """Indented at the top; lists of objects (tests, regressions, ...) one compact object per line, so the
    file greps and diffs well. Rows go through the C encoder one at a time into one list of pieces, joined
    once: a 10,000-test report is written in a fraction of a second."""
    pieces: list[str] = ["{"]
    first = True
    for key, value in report.json_fields():
        pieces.append(("\n " if first else ",\n ") + json.dumps(key) + ": ")
        first = False
        rows = value if isinstance(value, Iterator) else None
        if rows is None and isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            rows = iter(value)
        if rows is None:
            pieces.append(json.dumps(value, indent=1, allow_nan=False).replace("\n", "\n "))
            continue
        pieces.append("[")
        empty = True
        for row in rows:
            pieces.append("\n  " + _ROW(row) if empty else ",\n  " + _ROW(row))
            empty = False
        pieces.append("]" if empty else "\n ]")
    pieces.append("\n}\n")
    return "".join(pieces)
