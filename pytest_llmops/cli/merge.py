"""`pytest-llmops merge`: one report from the JSON reports of CI shards, with the baseline gates applied once.

Each shard runs part of the suite (`-k`, node ids, a test splitter, with or without xdist) and writes
`--llm-report-json`. The JSON report (format 2) carries every test's record and the settings of its
session, so the merged report is built by the same code as a single run's: measured, compared with the
baseline, written as JSON, Markdown or HTML, with the same exit status.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import pytest

__all__ = ["MergeError", "load_shards", "register", "run"]


class MergeError(Exception):
    """A shard report that cannot be merged, naming the file and why."""


@dataclass
class _Settings:
    """The `reporting.Settings` of the merged run: the shards' settings, then the command's options."""

    baseline: Path
    rootdir: Path
    fail_on: str | None
    fail_on_new: bool
    alpha: float
    primary_metric: str
    guard_metrics: tuple[str, ...]
    report_json: Path | None = None
    report_md: Path | None = None
    report_html: Path | None = None
    update_baseline: bool = False
    baseline_include_errors: bool = False
    invocation_paths: tuple[str, ...] = ()
    max_recording_age_days: int | None = None
    scrubber: Any = field(default=None)
    live_sample: str | None = None
    fail_on_drift: str | None = None


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "merge",
        help="combine the JSON reports of CI shards into one report, gated against the baseline once",
        description="Combine --llm-report-json files of shards of one suite into one report: compare it "
        "with the baseline once, print the LLM evaluation section, write the reports asked for, and exit "
        "as a single run would (1 on a regression, 4 on an unusable baseline, 2 if a shard report cannot "
        "be read).",
    )
    parser.add_argument("reports", nargs="+", metavar="REPORT.json", type=Path, help="a shard's JSON report")
    parser.add_argument(
        "--baseline",
        metavar="PATH",
        type=Path,
        default=Path(".llm-baseline.json"),
        help="baseline file (default .llm-baseline.json in the current folder)",
    )
    parser.add_argument(
        "--fail-on", metavar="GATES", help="regression gates, as --llm-fail-on (default: the shards' gates)"
    )
    parser.add_argument("--report-json", metavar="OUT", type=Path, help="write the merged JSON report")
    parser.add_argument("--report-md", metavar="OUT", type=Path, help="write the merged Markdown report")
    parser.add_argument("--report-html", metavar="OUT", type=Path, help="write the merged HTML report")
    parser.add_argument(
        "--partial",
        action="store_true",
        help="the shards are not the whole suite: do not list baseline entries of tests that did not run",
    )
    parser.set_defaults(func=run)


def load_shards(paths: list[Path]) -> tuple[list[Any], dict[str, Any]]:
    """The records of every shard (a test in two shards is an error) and the first shard's settings."""
    from pytest_llmops.results.records import TestRecord

    records: dict[str, tuple[TestRecord, Path]] = {}
    settings: dict[str, Any] | None = None
    for path in paths:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise MergeError(f"{path}: cannot read the JSON report: {exc}") from None
        if not isinstance(data, dict) or not isinstance(data.get("format"), int):
            raise MergeError(f"{path}: not a pytest-llmops JSON report (no `format`)")
        if data["format"] < 2 or not isinstance(data.get("records"), list):
            raise MergeError(
                f"{path}: report format {data['format']} has no per-test records; write the shard reports "
                "with this version of pytest-llmops (--llm-report-json, format 2)"
            )
        shard = data.get("settings") or {}
        if settings is None:
            settings = shard
        elif {k: v for k, v in shard.items() if k != "full_run"} != {
            k: v for k, v in settings.items() if k != "full_run"
        }:
            raise MergeError(f"{path}: its settings {shard} differ from the first shard's {settings}")
        for i, item in enumerate(data["records"]):
            try:
                record = TestRecord.from_report_dict(item)
            except (TypeError, ValueError, KeyError) as exc:
                raise MergeError(f"{path}: records[{i}] is not a test record: {exc}") from None
            if record.nodeid in records:
                raise MergeError(
                    f"{record.nodeid} ran in two shards ({records[record.nodeid][1]} and {path}): "
                    "shards must split the suite without overlap"
                )
            records[record.nodeid] = (record, path)
    return [r for r, _ in records.values()], settings or {}


def run(args: argparse.Namespace, out: IO[str] | None = None, err: IO[str] | None = None) -> int:
    from pytest_llmops.recording.secrets import Scrubber
    from pytest_llmops.results import reporting
    from pytest_llmops.results.gates import parse_gates

    out = out or sys.stdout
    err = err or sys.stderr
    try:
        records, shard = load_shards(list(args.reports))
    except MergeError as exc:
        print(f"error: {exc}", file=err)
        return 2
    fail_on = args.fail_on if args.fail_on is not None else shard.get("fail_on")
    try:
        parse_gates(fail_on)
    except ValueError as exc:
        print(f"error: --fail-on {fail_on}: {exc}", file=err)
        return int(pytest.ExitCode.USAGE_ERROR)
    settings = _Settings(
        baseline=args.baseline.resolve(),
        rootdir=Path.cwd(),
        fail_on=fail_on,
        fail_on_new=bool(shard.get("fail_on_new", False)),
        alpha=float(shard.get("alpha", 0.05)),
        primary_metric=str(shard.get("primary_metric", "pass_rate")),
        guard_metrics=tuple(shard.get("guard_metrics") or ()),
        max_recording_age_days=shard.get("max_recording_age_days"),
        report_json=args.report_json,
        report_md=args.report_md,
        report_html=args.report_html,
        scrubber=Scrubber.with_extra([], [], []),
        live_sample=shard.get("live_sample"),
        fail_on_drift=shard.get("fail_on_drift"),
    )
    comparisons: list[Any] = []
    if any(r.variant for r in records):
        from pytest_llmops.experiments import comparisons as ab

        comparisons = ab.tables(records, settings)
    outcome = reporting.finish(records, settings, full_run=not args.partial, comparisons=comparisons)
    reporting.print_summary(_Writer(out), outcome, verbose=False)
    status = outcome.exit_status
    return int(status) if status is not None else 0


class _Writer:
    """The little of pytest's TerminalReporter that `print_summary` uses, writing plain text."""

    def __init__(self, out: IO[str]) -> None:
        self.out = out

    def write_sep(self, sep: str, title: str) -> None:
        self.out.write(f" {title} ".center(80, sep) + "\n")

    def write_line(self, line: str, **markup: bool) -> None:
        self.out.write(line + "\n")
