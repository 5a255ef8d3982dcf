"""The session report: a pure model (`model.py`) and one printer per format.

Nothing here is imported at pytest start-up; `pytest_llmops.results.reporting` loads
it at the end of an `--llm-eval` session.
"""

from __future__ import annotations

from pytest_llmops.results.report.build import build
from pytest_llmops.results.report.junit import junit_properties
from pytest_llmops.results.report.model import FORMAT, Report, ReportOptions, Table

__all__ = ["FORMAT", "Report", "ReportOptions", "Table", "build", "junit_properties"]
