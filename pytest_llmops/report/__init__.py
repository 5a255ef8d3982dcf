"""The session report: a pure model (`model.py`) and one printer per format.

Nothing here is imported at pytest start-up; `pytest_llmops.reporting` loads
it at the end of an `--llm-eval` session.
"""

from __future__ import annotations

from pytest_llmops.report.build import build
from pytest_llmops.report.junit import junit_properties
from pytest_llmops.report.model import FORMAT, Report, ReportOptions, Table

__all__ = ["FORMAT", "Report", "ReportOptions", "Table", "build", "junit_properties"]
